//! JSON source files, streamed item by item in bounded memory: an API page
//! (`{"tickets": [...]}`, Chatwoot's `{"data": {"payload": [...]}}`), a bare array, pages
//! concatenated, or one item per line (NDJSON). Only one item is held at a time, so a 100 MB
//! export costs no more memory than its largest item — and an item may not be larger than
//! the import's `max_record_bytes` (an NDJSON line over it is rejected; in a JSON document it
//! refuses the file, since nothing after it can be located).

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Emitter;
use crate::limits::{read_line, Line};
use crate::{ImportError, RejectCode};

/// Counts the bytes read from the file, for progress.
struct Counted<R> {
    inner: R,
    bytes: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
}

/// Where items go; an error stops the walk.
type Sink<'w> = dyn FnMut(Value) -> Result<(), ImportError> + 'w;

struct Walk<'w> {
    list_keys: &'w [&'w str],
    sink: &'w mut Sink<'w>,
    failure: &'w mut Option<ImportError>,
}

impl<'w> Walk<'w> {
    fn item(&mut self, value: Value) -> Result<(), ImportError> {
        (self.sink)(value)
    }

    fn reborrow(&mut self) -> Walk<'_> {
        Walk {
            list_keys: self.list_keys,
            sink: &mut *self.sink,
            failure: &mut *self.failure,
        }
    }
}

/// A value that is either a list of items, an object holding one, or an item itself.
struct Level<'w> {
    walk: Walk<'w>,
    /// Whether a plain object here is an item (top level) or just a wrapper's field.
    object_is_item: bool,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            if let Err(e) = self.walk.item(value) {
                *self.walk.failure = Some(e);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        let mut own = Map::new();
        let mut found_list = false;
        while let Some(key) = map.next_key::<String>()? {
            if self.walk.list_keys.contains(&key.as_str()) {
                let inner = Level {
                    walk: self.walk.reborrow(),
                    object_is_item: false,
                };
                found_list |= map.next_value_seed(inner)?;
            } else {
                own.insert(key, map.next_value::<Value>()?);
            }
        }
        if !found_list && self.object_is_item {
            if let Err(e) = self.walk.item(Value::Object(own)) {
                *self.walk.failure = Some(e);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(found_list || self.object_is_item)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
}

/// Streams the items of the JSON file `path` to `on_item`. Lists are found at the top level
/// or under `list_keys` (at any depth of wrapper objects); a top-level object holding none of
/// them is itself an item. `.ndjson` / `.jsonl` files are read line by line: a line that is
/// not valid JSON is rejected with its line number and reading goes on. Any other file is one
/// or more JSON documents (pages may be concatenated); a syntax error stops the import, since
/// nothing after it can be trusted.
pub(crate) fn read_items<'a, 's>(
    path: &Path,
    list_keys: &[&str],
    out: &mut Emitter<'a, 's>,
    mut on_item: impl FnMut(Value, u64, &mut Emitter<'a, 's>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = Rc::new(Cell::new(0));
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counted {
            inner: file,
            bytes: bytes.clone(),
        },
    );
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let limits = out.limits();
    let line_mode = matches!(
        path.extension()
            .map(|x| x.to_string_lossy().to_lowercase())
            .as_deref(),
        Some("ndjson" | "jsonl")
    );
    out.begin_file(path);
    let lines = Rc::new(Cell::new(0u64));
    if line_mode {
        let mut buf = Vec::new();
        loop {
            let read = read_line(&mut reader, &mut buf, limits.max_record_bytes).map_err(io)?;
            lines.set(lines.get() + 1);
            let line = lines.get();
            match read {
                Line::End => break,
                Line::Read => {}
                Line::TooLong(n) => {
                    out.row();
                    let reason = format!("{} ({n} bytes)", limits.record_message());
                    out.reject_with(RejectCode::TooLarge, line, None, reason, String::new())?;
                    continue;
                }
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // The whole line must be one JSON value before any item of it counts.
            let result = match serde_json::from_slice::<serde::de::IgnoredAny>(&buf) {
                Err(e) => Err(Stop::Syntax(e)),
                Ok(_) => walk(
                    &mut serde_json::Deserializer::from_slice(&buf),
                    list_keys,
                    &mut |value| {
                        out.row();
                        out.advance(bytes.get());
                        on_item(value, line, out)
                    },
                ),
            };
            let reason = match result {
                Ok(true) => continue,
                Ok(false) => "the line holds no JSON object or array".to_string(),
                Err(problem) => problem.into_reason()?,
            };
            out.row();
            let raw = String::from_utf8_lossy(&buf).trim().to_string();
            out.reject_with(RejectCode::Unreadable, line, None, reason, raw)?;
        }
    } else {
        loop {
            // Skip whitespace between top-level documents, counting lines.
            let at_end = loop {
                let buf = reader.fill_buf().map_err(io)?;
                if buf.is_empty() {
                    break true;
                }
                let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let ends = buf[..blank].iter().filter(|b| **b == b'\n').count() as u64;
                lines.set(lines.get() + ends);
                let whole = blank == buf.len();
                reader.consume(blank);
                if !whole {
                    break false;
                }
            };
            if at_end {
                break;
            }
            let item_bytes = Cell::new(0);
            let counted = LineCounter {
                inner: &mut reader,
                lines: &lines,
                item_bytes: &item_bytes,
                limit: limits.max_record_bytes,
            };
            let mut de = serde_json::Deserializer::from_reader(counted);
            let result = walk(&mut de, list_keys, &mut |value| {
                item_bytes.set(0);
                out.row();
                out.advance(bytes.get());
                on_item(value, lines.get() + 1, out)
            });
            let reason = match result {
                Ok(true) => continue,
                Ok(false) => "expected JSON objects or arrays, found a bare value".to_string(),
                Err(_) if item_bytes.get() > limits.max_record_bytes => {
                    format!("refused: {}", limits.record_message())
                }
                Err(problem) => problem.into_reason()?,
            };
            return Err(ImportError::Format {
                path: path.to_path_buf(),
                message: format!("near line {}: {reason}", lines.get() + 1),
            });
        }
    }
    out.end_file();
    Ok(())
}

/// Why a walk stopped: the JSON was bad, or handling an item failed.
enum Stop {
    Syntax(serde_json::Error),
    Failed(ImportError),
}

impl Stop {
    /// The syntax error as a reject reason; a failure passes through.
    fn into_reason(self) -> Result<String, ImportError> {
        match self {
            Stop::Syntax(e) => Ok(format!("invalid JSON: {e}")),
            Stop::Failed(e) => Err(e),
        }
    }
}

/// Walks one top-level JSON value, handing its items to `sink`; false when the value is
/// neither a list nor an object (a bare number, text, `null`), so it holds no item.
fn walk<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    list_keys: &[&str],
    sink: &mut Sink<'_>,
) -> Result<bool, Stop> {
    let mut failure = None;
    let level = Level {
        walk: Walk {
            list_keys,
            sink,
            failure: &mut failure,
        },
        object_is_item: true,
    };
    let result = level.deserialize(&mut *de);
    match (failure, result) {
        (Some(e), _) => Err(Stop::Failed(e)),
        (None, Err(e)) => Err(Stop::Syntax(e)),
        (None, Ok(holds_items)) => Ok(holds_items),
    }
}

/// Counts the line ends that serde_json consumes (it reads one byte at a time), and the
/// bytes since the last item, which may not pass `limit`.
struct LineCounter<'r, R> {
    inner: &'r mut R,
    lines: &'r Rc<Cell<u64>>,
    item_bytes: &'r Cell<u64>,
    limit: u64,
}

impl<R: Read> Read for LineCounter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.item_bytes.get() > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "an item over the size limit",
            ));
        }
        let n = self.inner.read(buf)?;
        let ends = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + ends);
        self.item_bytes.set(self.item_bytes.get() + n as u64);
        Ok(n)
    }
}

/// Text of a JSON value: strings as they are, numbers and booleans written out, null and
/// empty strings as `None` (ids are numbers in most APIs).
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The value at a path of object keys.
pub(crate) fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}
