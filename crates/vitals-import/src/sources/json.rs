//! JSON source files, streamed item by item in bounded memory: an API page
//! (`{"tickets": [...]}`, Chatwoot's `{"data": {"payload": [...]}}`), a bare array, pages
//! concatenated, or one item per line (NDJSON). Only one item is held at a time, so a 100 MB
//! export costs no more memory than its largest item.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Emitter;
use crate::ImportError;

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
/// them is itself an item (NDJSON). A line of NDJSON that is not valid JSON is rejected and
/// reading goes on at the next line; a broken multi-line document stops the import.
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
    let lines = Rc::new(Cell::new(0));
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counted {
            inner: file,
            bytes: bytes.clone(),
        },
    );
    out.begin_file(path);
    loop {
        // Skip whitespace between top-level values, counting lines.
        let at_end = loop {
            let buf = reader.fill_buf().map_err(|source| ImportError::Io {
                path: path.to_path_buf(),
                source,
            })?;
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
        let start_line = lines.get();
        let mut failure = None;
        let result = {
            let counted = LineCounter {
                inner: &mut reader,
                lines: &lines,
            };
            let mut de = serde_json::Deserializer::from_reader(counted);
            let mut sink = |value: Value| -> Result<(), ImportError> {
                out.row();
                out.advance(bytes.get());
                on_item(value, lines.get() + 1, out)
            };
            let level = Level {
                walk: Walk {
                    list_keys,
                    sink: &mut sink,
                    failure: &mut failure,
                },
                object_is_item: true,
            };
            level.deserialize(&mut de)
        };
        if let Some(e) = failure {
            return Err(e);
        }
        match result {
            Ok(_) => {}
            Err(e) if lines.get() == start_line => {
                // One broken NDJSON line: reject it and go on at the next line.
                let mut rest = Vec::new();
                let _ = reader.read_until(b'\n', &mut rest);
                lines.set(lines.get() + 1);
                out.row();
                out.reject(
                    start_line + 1,
                    None,
                    format!("invalid JSON: {e}"),
                    String::from_utf8_lossy(&rest).trim().to_string(),
                )?;
            }
            Err(e) => {
                return Err(ImportError::Format {
                    path: path.to_path_buf(),
                    message: format!("invalid JSON near line {}: {e}", lines.get() + 1),
                })
            }
        }
    }
    out.end_file();
    Ok(())
}

/// Counts the line ends that serde_json consumes (it reads one byte at a time).
struct LineCounter<'r, R> {
    inner: &'r mut R,
    lines: &'r Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCounter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let ends = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + ends);
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
