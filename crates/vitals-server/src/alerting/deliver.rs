//! Posting one outbox row to its channel: the stored body as it is, `Content-Type:
//! application/json` and the idempotency key as the `Idempotency-Key` header, over `ureq` (the
//! workspace's small blocking client; deliveries run on the alert thread or the CLI, never on
//! the async runtime). Any 2xx answer is a delivery; anything else is retried with backoff.

use std::time::Duration;

use vitals_query::alerts::Delivery;

/// The first retry waits this long; each further one twice as long.
pub const FIRST_RETRY_SECS: i64 = 2;
/// No retry waits longer than this.
pub const MAX_RETRY_SECS: i64 = 3600;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts `delivery`; `Err` says why it was not accepted.
pub fn post(delivery: &Delivery) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        .redirects(0)
        .build();
    let answer = agent
        .post(&delivery.url)
        .set("Content-Type", "application/json")
        .set("Idempotency-Key", &delivery.key)
        .set("User-Agent", concat!("vitals/", env!("CARGO_PKG_VERSION")))
        .send_string(&delivery.body);
    match answer {
        Ok(r) if (200..300).contains(&r.status()) => Ok(()),
        Ok(r) => Err(format!("{} answered {}", delivery.url, r.status())),
        Err(ureq::Error::Status(code, _)) => Err(format!("{} answered {code}", delivery.url)),
        Err(e) => Err(format!("{}: {e}", delivery.url)),
    }
}

/// When to try again after the attempt made at `now_us` (the `attempts`-th failure in a row):
/// 2 s, 4 s, 8 s, … up to an hour.
pub fn retry_at(now_us: i64, attempts: u32) -> i64 {
    let doubling = attempts.saturating_sub(1).min(20);
    let secs = (FIRST_RETRY_SECS << doubling).min(MAX_RETRY_SECS);
    now_us + secs * 1_000_000
}

/// Attempts every due row once; `note` records each outcome (delivered, or the error and when
/// to retry). Returns how many were delivered.
pub fn attempt_all(
    due: &[Delivery],
    now_us: i64,
    mut note: impl FnMut(&Delivery, Result<(), (String, i64)>),
) -> usize {
    let mut delivered = 0;
    for d in due {
        match post(d) {
            Ok(()) => {
                delivered += 1;
                note(d, Ok(()));
            }
            Err(e) => note(d, Err((e, retry_at(now_us, d.attempts + 1)))),
        }
    }
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        let s = |attempts| retry_at(0, attempts) / 1_000_000;
        assert_eq!([s(1), s(2), s(3), s(4)], [2, 4, 8, 16]);
        assert_eq!(s(40), MAX_RETRY_SECS);
    }
}
