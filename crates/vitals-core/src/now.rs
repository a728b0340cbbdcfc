//! "Now" for everything that depends on it (open SLA targets, at-risk lists): the system
//! clock, or the instant in `VITALS_NOW` (RFC 3339) so that runs can be reproduced.

/// The current instant in UTC µs; `VITALS_NOW` overrides it. A `VITALS_NOW` that is not
/// RFC 3339 is an error the caller reports.
pub fn now_us() -> Result<i64, String> {
    match std::env::var("VITALS_NOW") {
        Ok(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| t.timestamp_micros())
            .map_err(|_| format!("VITALS_NOW=`{text}` is not an RFC 3339 instant")),
        Err(_) => Ok(chrono::Utc::now().timestamp_micros()),
    }
}
