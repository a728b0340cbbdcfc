//! Resource limits: no single record may make an import hold unbounded memory. A record (a
//! CSV row, an NDJSON line, one JSON item) larger than [`Limits::max_record_bytes`], or a
//! delimited header with more than [`Limits::max_columns`] columns, is refused with a message
//! naming the limit and the `[import]` key that raises it — found while streaming, before the
//! record is held. An NDJSON line over the limit is rejected alone (reading resumes at the
//! next line); in CSV and JSON nothing after it can be located reliably, so the file is
//! refused.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use vitals_core::config::ImportConfig;

/// Bounds on what one import holds in memory at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest record, in bytes (`[import] max_record_bytes`, default 64 MiB).
    pub max_record_bytes: u64,
    /// The most columns a delimited file's header may have (`[import] max_columns`,
    /// default 10 000).
    pub max_columns: usize,
}

impl From<&ImportConfig> for Limits {
    fn from(c: &ImportConfig) -> Self {
        Limits {
            max_record_bytes: c.max_record_bytes,
            max_columns: usize::try_from(c.max_columns).unwrap_or(usize::MAX),
        }
    }
}

/// The configuration's defaults: 64 MiB and 10 000 columns.
impl Default for Limits {
    fn default() -> Self {
        Limits::from(&ImportConfig::default())
    }
}

impl Limits {
    /// The refusal of a record over the size limit.
    pub fn record_message(&self) -> String {
        format!(
            "a record is larger than {} bytes, the limit ([import] max_record_bytes)",
            self.max_record_bytes
        )
    }

    /// The refusal of a header over the column limit.
    pub fn columns_message(&self) -> String {
        format!(
            "the header has more than {} columns, the limit ([import] max_columns)",
            self.max_columns
        )
    }
}

/// The refusal an over-limit reader reports, kept so the caller can tell it from a real I/O
/// error (the CSV layer wraps it).
#[derive(Default)]
pub(crate) struct Refusal(Cell<Option<&'static str>>);

impl Refusal {
    /// `Some("record")` or `Some("columns")` once a limit was hit.
    pub fn get(&self) -> Option<&'static str> {
        self.0.get()
    }
}

/// A delimited file's bytes with the limits applied as they stream past: the header may not
/// have more than `max_columns` columns, and no record may run longer than
/// `max_record_bytes` past the last record boundary the caller marked.
pub(crate) struct Guarded<R> {
    inner: R,
    limits: Limits,
    delimiter: u8,
    /// Bytes read so far.
    total: u64,
    /// Where the current record started (the caller marks it after each record).
    pub mark: Rc<Cell<u64>>,
    /// Set when a limit refused the input.
    pub refusal: Rc<Refusal>,
    /// Header scan: (state, fields so far); `None` once the header has ended.
    header: Option<(Scan, usize)>,
}

/// Where the header scan is within a field (quotes count only at a field's start, and `""`
/// inside quotes is a quote, as the CSV layer reads them).
#[derive(Clone, Copy)]
enum Scan {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: Read> Guarded<R> {
    /// Guards `inner`, a delimited file with `delimiter`.
    pub fn new(inner: R, delimiter: u8, limits: Limits) -> Self {
        Guarded {
            inner,
            limits,
            delimiter,
            total: 0,
            mark: Rc::new(Cell::new(0)),
            refusal: Rc::new(Refusal::default()),
            header: Some((Scan::FieldStart, 1)),
        }
    }

    fn refuse(&self, what: &'static str, message: String) -> io::Error {
        self.refusal.0.set(Some(what));
        io::Error::new(io::ErrorKind::InvalidData, message)
    }

    /// Counts the header's fields in `bytes` until its line ends.
    fn scan_header(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some((mut state, mut fields)) = self.header else {
            return Ok(());
        };
        for &b in bytes {
            let delimiter = b == self.delimiter;
            state = match (state, b) {
                (Scan::Quoted, b'"') => Scan::QuoteInQuoted,
                (Scan::Quoted, _) => Scan::Quoted,
                (Scan::QuoteInQuoted, b'"') | (Scan::FieldStart, b'"') => Scan::Quoted,
                (_, b'\n') => {
                    self.header = None;
                    return Ok(());
                }
                _ if delimiter => {
                    fields += 1;
                    if fields > self.limits.max_columns {
                        return Err(self.refuse("columns", self.limits.columns_message()));
                    }
                    Scan::FieldStart
                }
                _ => Scan::Unquoted,
            };
        }
        self.header = Some((state, fields));
        Ok(())
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan_header(&buf[..n])?;
        self.total += n as u64;
        // The CSV layer reads ahead by its buffer, so allow that much beyond the record.
        let slack = 1 << 16;
        if self.total.saturating_sub(self.mark.get()) > self.limits.max_record_bytes + slack {
            return Err(self.refuse("record", self.limits.record_message()));
        }
        Ok(n)
    }
}

/// One line as read by [`read_line`].
pub(crate) enum Line {
    /// The end of the input.
    End,
    /// A line (in the buffer, with its line end).
    Read,
    /// A line longer than the limit: skipped up to its end, its length in bytes.
    TooLong(u64),
}

/// Reads one line into `buf` (cleared first), holding at most `limit` bytes: a longer line
/// is consumed without being kept.
pub(crate) fn read_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: u64,
) -> io::Result<Line> {
    buf.clear();
    let mut skipped: Option<u64> = None;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(match skipped {
                Some(n) => Line::TooLong(n),
                None if buf.is_empty() => Line::End,
                None => Line::Read,
            });
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        match &mut skipped {
            Some(n) => *n += chunk as u64,
            None if (buf.len() + chunk) as u64 > limit => {
                skipped = Some((buf.len() + chunk) as u64);
                buf.clear();
                buf.shrink_to(1 << 16);
            }
            None => buf.extend_from_slice(&available[..chunk]),
        }
        reader.consume(chunk);
        if done {
            return Ok(match skipped {
                Some(n) => Line::TooLong(n),
                None => Line::Read,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(bytes: u64, columns: usize) -> Limits {
        Limits {
            max_record_bytes: bytes,
            max_columns: columns,
        }
    }

    #[test]
    fn long_lines_are_skipped_whole() {
        let text = b"short\nthis line is far too long\nok\nend";
        let mut reader = io::BufReader::with_capacity(4, &text[..]);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match read_line(&mut reader, &mut buf, 10).unwrap() {
                Line::End => break,
                Line::Read => seen.push(String::from_utf8_lossy(&buf).to_string()),
                Line::TooLong(n) => seen.push(format!("<{n}>")),
            }
        }
        assert_eq!(seen, ["short\n", "<26>", "ok\n", "end"]);
    }

    #[test]
    fn wide_headers_and_long_records_are_refused() {
        let mut wide = Guarded::new(&b"a,\"b,c\",d\n1,2,3\n"[..], b',', limits(1 << 20, 2));
        // A quote inside an unquoted field is text: the header still ends at its line end.
        let stray = Guarded::new(
            &b"a,b\"c,d\n1,2,3,4,5,6,7,8\n"[..],
            b',',
            limits(1 << 20, 3),
        );
        assert!(drain(stray).is_ok());
        let err = drain(&mut wide).unwrap_err();
        assert!(err.to_string().contains("more than 2 columns"), "{err}");
        assert_eq!(wide.refusal.get(), Some("columns"));

        let ok = Guarded::new(&b"a,\"b,c\",d\n1,2,3,4,5\n"[..], b',', limits(1 << 20, 3));
        assert!(drain(ok).is_ok());

        let long = vec![b'x'; (1 << 16) + 100];
        let mut guarded = Guarded::new(&long[..], b',', limits(10, 3));
        assert!(drain(&mut guarded).is_err());
        assert_eq!(guarded.refusal.get(), Some("record"));
    }

    /// Reads everything (in small chunks, as the CSV layer does).
    fn drain(mut r: impl Read) -> io::Result<()> {
        let mut buf = [0u8; 7];
        while r.read(&mut buf)? > 0 {}
        Ok(())
    }
}
