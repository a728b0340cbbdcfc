//! Raw cell values as readers deliver them, typed values as the store keeps them, and the
//! parsing between the two (RFC 3339 instants, dates, booleans, numbers).

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::schema::ColumnType;

/// A cell as a reader found it, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// Text (CSV cells, JSON strings).
    Text(String),
    /// A JSON number.
    Number(f64),
    /// A JSON boolean.
    Bool(bool),
    /// An instant already known to be UTC microseconds (Parquet `TIMESTAMPTZ`).
    Instant(i64),
}

impl RawValue {
    /// The value as it would be written back to a rejects file.
    pub fn display(&self) -> String {
        match self {
            RawValue::Text(s) => s.clone(),
            RawValue::Number(n) => format_number(*n),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Instant(us) => DateTime::from_timestamp_micros(*us)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| us.to_string()),
        }
    }
}

/// A validated, typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent.
    Null,
    /// Text.
    Text(String),
    /// UTC microseconds since the Unix epoch.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i32),
    /// A boolean.
    Bool(bool),
    /// A finite number.
    Number(f64),
    /// A whole number.
    Integer(i64),
}

impl Value {
    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The instant, if this is a timestamp.
    pub fn as_timestamp(&self) -> Option<i64> {
        match self {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        }
    }
    /// The number, if this is numeric.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// True when absent.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Writes a number the way a person would (no trailing `.0` on whole numbers).
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Parses one raw cell into the column's type. `default_zone` interprets timestamps written
/// without an offset; without it they are an error. The error is the reason a person reads.
pub fn parse_value(
    raw: &RawValue,
    ty: ColumnType,
    default_zone: Option<Tz>,
) -> Result<Value, String> {
    match ty {
        ColumnType::Text => Ok(Value::Text(raw.display())),
        ColumnType::LowerText => Ok(Value::Text(raw.display().to_lowercase())),
        ColumnType::Enum(allowed) => {
            let text = raw.display().to_lowercase();
            if allowed.contains(&text.as_str()) {
                Ok(Value::Text(text))
            } else {
                Err(format!(
                    "`{}` is not one of {}",
                    raw.display(),
                    allowed.join(", ")
                ))
            }
        }
        ColumnType::Timestamp => match raw {
            RawValue::Instant(us) => Ok(Value::Timestamp(*us)),
            RawValue::Text(s) => parse_timestamp(s, default_zone).map(Value::Timestamp),
            other => Err(format!(
                "`{}` is not an RFC 3339 timestamp",
                other.display()
            )),
        },
        ColumnType::Date => match raw {
            RawValue::Text(s) => parse_date(s).map(Value::Date),
            other => Err(format!("`{}` is not a date (YYYY-MM-DD)", other.display())),
        },
        ColumnType::Bool => match raw {
            RawValue::Bool(b) => Ok(Value::Bool(*b)),
            RawValue::Number(n) if *n == 0.0 || *n == 1.0 => Ok(Value::Bool(*n == 1.0)),
            RawValue::Text(s) => match s.trim().to_lowercase().as_str() {
                "true" | "t" | "1" | "yes" | "y" => Ok(Value::Bool(true)),
                "false" | "f" | "0" | "no" | "n" => Ok(Value::Bool(false)),
                _ => Err(format!("`{s}` is not a boolean (true/false)")),
            },
            other => Err(format!(
                "`{}` is not a boolean (true/false)",
                other.display()
            )),
        },
        ColumnType::Number => {
            let n = match raw {
                RawValue::Number(n) => *n,
                RawValue::Text(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{s}` is not a number"))?,
                other => return Err(format!("`{}` is not a number", other.display())),
            };
            if n.is_finite() {
                Ok(Value::Number(n))
            } else {
                Err(format!("`{}` is not a finite number", raw.display()))
            }
        }
        ColumnType::Integer => {
            let n = match raw {
                RawValue::Number(n) => *n,
                RawValue::Text(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{s}` is not a whole number"))?,
                other => return Err(format!("`{}` is not a whole number", other.display())),
            };
            if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.0e15 {
                Ok(Value::Integer(n as i64))
            } else {
                Err(format!("`{}` is not a whole number", raw.display()))
            }
        }
    }
}

/// Parses an RFC 3339 timestamp (a space may stand for `T`). Without an offset, the local time
/// is read in `default_zone`; a local time that does not exist or is ambiguous there (a DST
/// change) is an error rather than a guess.
pub fn parse_timestamp(text: &str, default_zone: Option<Tz>) -> Result<i64, String> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    let with_t = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Ok(t.timestamp_micros());
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&with_t, f).ok());
    match (naive, default_zone) {
        (Some(local), Some(zone)) => match zone.from_local_datetime(&local) {
            LocalResult::Single(t) => Ok(t.timestamp_micros()),
            LocalResult::Ambiguous(_, _) => Err(format!(
                "`{text}` is ambiguous in {zone} (a daylight-saving change); give an offset"
            )),
            LocalResult::None => Err(format!(
                "`{text}` does not exist in {zone} (a daylight-saving gap)"
            )),
        },
        (Some(_), None) => Err(format!(
            "`{text}` has no UTC offset; add one (e.g. +02:00 or Z) or import with --tz ZONE"
        )),
        (None, _) => Err(format!("`{text}` is not an RFC 3339 timestamp")),
    }
}

/// Parses a `YYYY-MM-DD` date into days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i32, String> {
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))?;
    Ok(days_from_epoch(d))
}

/// Days since 1970-01-01 for a date.
pub fn days_from_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid epoch")).num_days() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> RawValue {
        RawValue::Text(s.into())
    }

    #[test]
    fn timestamps_in_several_offsets_are_the_same_instant() {
        let a = parse_timestamp("2026-03-02T09:15:00+02:00", None).unwrap();
        let b = parse_timestamp("2026-03-02T07:15:00Z", None).unwrap();
        let c = parse_timestamp("2026-03-02 02:15:00-05:00", None).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn offsetless_timestamps_need_a_zone_and_respect_dst() {
        assert!(parse_timestamp("2026-03-02T09:15:00", None)
            .unwrap_err()
            .contains("--tz"));
        let hel: Tz = "Europe/Helsinki".parse().unwrap();
        let winter = parse_timestamp("2026-03-02T09:15:00", Some(hel)).unwrap();
        assert_eq!(
            winter,
            parse_timestamp("2026-03-02T07:15:00Z", None).unwrap()
        );
        let summer = parse_timestamp("2026-04-02T09:15:00", Some(hel)).unwrap();
        assert_eq!(
            summer,
            parse_timestamp("2026-04-02T06:15:00Z", None).unwrap()
        );
        // 2026-03-29 03:30 does not exist in Helsinki; 2026-10-25 03:30 happens twice.
        assert!(parse_timestamp("2026-03-29T03:30:00", Some(hel))
            .unwrap_err()
            .contains("gap"));
        assert!(parse_timestamp("2026-10-25T03:30:00", Some(hel))
            .unwrap_err()
            .contains("ambiguous"));
    }

    #[test]
    fn typed_parsing() {
        assert_eq!(
            parse_value(&text("Yes"), ColumnType::Bool, None),
            Ok(Value::Bool(true))
        );
        assert!(parse_value(&text("maybe"), ColumnType::Bool, None).is_err());
        assert_eq!(
            parse_value(&text("4.5"), ColumnType::Number, None),
            Ok(Value::Number(4.5))
        );
        assert!(parse_value(&text("NaN"), ColumnType::Number, None).is_err());
        assert!(parse_value(&text("4.5"), ColumnType::Integer, None).is_err());
        assert_eq!(
            parse_value(&RawValue::Number(7.0), ColumnType::Text, None),
            Ok(Value::Text("7".into()))
        );
        assert_eq!(
            parse_value(&text("EMAIL"), ColumnType::LowerText, None),
            Ok(Value::Text("email".into()))
        );
        assert!(parse_value(&text("teleport"), ColumnType::Enum(&["message"]), None).is_err());
        assert_eq!(
            parse_value(&text("1970-01-02"), ColumnType::Date, None),
            Ok(Value::Date(1))
        );
    }
}
