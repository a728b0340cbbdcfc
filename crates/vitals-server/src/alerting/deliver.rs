//! Delivering one outbox row to its channel. A webhook or Slack row is posted: the stored body
//! as it is, `Content-Type: application/json` and the idempotency key as the `Idempotency-Key`
//! header, over `ureq` (the workspace's small blocking client; deliveries run on the alert
//! thread or the CLI, never on the async runtime); any 2xx answer is a delivery. An `email`
//! row is a mail through `[smtp]` (`vitals-mail`) whose `Message-ID` is derived from the
//! idempotency key, so a retry is recognisably the same message; the SMTP server's acceptance
//! is a delivery. Anything else is retried with backoff.

use std::time::Duration;

use serde::Deserialize;
use vitals_core::config::{Channel, Config, MAILTO};
use vitals_mail::{Mail, MailError, Mailer};
use vitals_query::alerts::Delivery;

/// Delivers outbox rows to every kind of channel: HTTP for webhooks and Slack, and the
/// configured SMTP server for e-mail.
pub struct Courier {
    /// The mailer, when a rule has an `email` channel (the configuration then has `[smtp]`).
    mailer: Option<Mailer>,
}

/// An `email` row's stored body: the composed message.
#[derive(Deserialize)]
struct MailBody {
    subject: String,
    text: String,
    html: String,
}

impl Courier {
    /// A courier for `config`'s rules: with a mailer when any rule mails (credentials from the
    /// environment, as for digests).
    pub fn new(config: &Config) -> Result<Courier, MailError> {
        let mails = config
            .alerts
            .iter()
            .any(|r| r.channels.iter().any(|c| c.kind == "email"));
        let mailer = match (&config.smtp, mails) {
            (Some(smtp), true) => Some(Mailer::from_config(smtp)?),
            _ => None,
        };
        Ok(Courier { mailer })
    }

    /// Delivers `delivery` once; `Err` says why it was not accepted.
    pub fn deliver(&self, delivery: &Delivery) -> Result<(), String> {
        match delivery.url.strip_prefix(MAILTO) {
            Some(to) if delivery.kind == Channel::Email(Vec::new()).kind() => {
                self.mail(delivery, to)
            }
            _ => post(delivery),
        }
    }

    fn mail(&self, delivery: &Delivery, to: &str) -> Result<(), String> {
        let mailer = self
            .mailer
            .as_ref()
            .ok_or("no [smtp] section to send the mail through")?;
        let body: MailBody = serde_json::from_str(&delivery.body)
            .map_err(|e| format!("the stored mail is not readable: {e}"))?;
        let mail = Mail {
            to: to.split(',').map(str::to_string).collect(),
            subject: body.subject,
            text: body.text,
            html: Some(body.html),
            attachments: Vec::new(),
            idempotency_key: delivery.key.clone(),
        };
        mailer.send(&mail).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Attempts every due row once; `note` records each outcome (delivered, or the error and
    /// when to retry). Returns how many were delivered.
    pub fn attempt_all(
        &self,
        due: &[Delivery],
        now_us: i64,
        mut note: impl FnMut(&Delivery, Result<(), (String, i64)>),
    ) -> usize {
        let mut delivered = 0;
        for d in due {
            match self.deliver(d) {
                Ok(()) => {
                    delivered += 1;
                    note(d, Ok(()));
                }
                Err(e) => note(d, Err((e, retry_at(now_us, d.attempts + 1)))),
            }
        }
        delivered
    }
}

/// The first retry waits this long; each further one twice as long.
pub const FIRST_RETRY_SECS: i64 = 2;
/// No retry waits longer than this.
pub const MAX_RETRY_SECS: i64 = 3600;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts `delivery`; `Err` says why it was not accepted.
fn post(delivery: &Delivery) -> Result<(), String> {
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
