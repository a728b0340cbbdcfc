//! What vitals sends by mail: the SMTP server (`[smtp]`; the user and password come only from
//! the environment, never the file) and scheduled report digests (`[[digests]]`: a cron
//! schedule parsed by `croner` in the reporting zone, recipients, an optional team, the period
//! and the formats). Checked at load; the schedule's next runs and the period a run reports on
//! are worked out here, so the CLI and the server's scheduler agree.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;

use super::ConfigError;

/// The environment variable holding the SMTP user name.
pub const SMTP_USER_ENV: &str = "VITALS_SMTP_USER";
/// The environment variable holding the SMTP password.
pub const SMTP_PASSWORD_ENV: &str = "VITALS_SMTP_PASSWORD";

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text (a relay on the same host or a test server).
    None,
    /// Plain text upgraded with STARTTLS, required (port 587 by default).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Tls,
}

impl TlsMode {
    /// The usual port of the mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// `[smtp]`: where mail is sent from. Credentials: [`SMTP_USER_ENV`], [`SMTP_PASSWORD_ENV`].
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name (or address).
    pub host: String,
    /// Its port (default: the TLS mode's usual port).
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    pub tls: TlsMode,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// Seconds to wait for the server (default 30).
    pub timeout_secs: Option<f64>,
    /// A PEM file of certificates to trust for the server's TLS besides the system's (a
    /// private CA, or a self-signed server); with `tls = "starttls"` or `"tls"` only.
    pub ca_file: Option<String>,
}

impl SmtpConfig {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: format!("smtp.{key}"),
            message,
        };
        if self.host.trim().is_empty() {
            return Err(invalid(
                "host",
                "required: the SMTP server's host name".into(),
            ));
        }
        if self.port == Some(0) {
            return Err(invalid("port", "0: expected a port from 1 to 65535".into()));
        }
        check_address(&self.from).map_err(|m| invalid("from", m))?;
        if let Some(t) = self.timeout_secs {
            if !(t.is_finite() && t > 0.0 && t <= super::MAX_TIMEOUT_SECS) {
                return Err(invalid(
                    "timeout_secs",
                    format!("{t}: expected seconds above 0"),
                ));
            }
        }
        if let Some(file) = &self.ca_file {
            if self.tls == TlsMode::None {
                return Err(invalid(
                    "ca_file",
                    "trusts certificates for TLS, but tls = \"none\"; use starttls or tls".into(),
                ));
            }
            let text = std::fs::read_to_string(file)
                .map_err(|e| invalid("ca_file", format!("cannot read {file}: {e}")))?;
            if !text.contains("-----BEGIN CERTIFICATE-----") {
                return Err(invalid(
                    "ca_file",
                    format!("{file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
                ));
            }
        }
        Ok(())
    }
}

/// The period a digest reports on: the last complete one when it runs.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DigestPeriod {
    /// The last complete calendar month.
    #[default]
    Month,
    /// The last complete ISO week, Monday to Sunday.
    Week,
}

/// A digest's formats: the HTML inline, the workbook attached.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DigestFormat {
    /// The report's HTML as the message body.
    Html,
    /// The report's workbook as an attachment.
    Xlsx,
}

fn default_formats() -> Vec<DigestFormat> {
    vec![DigestFormat::Html, DigestFormat::Xlsx]
}

/// `[[digests]]`: a report mailed on a schedule.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// The digest's name (`vitals digest send NAME`).
    pub name: String,
    /// A cron expression (`0 8 1 * *`: 08:00 on the 1st), in the reporting zone.
    pub schedule: String,
    /// Who receives it.
    pub recipients: Vec<String>,
    /// Limit ticket metrics to one team.
    #[serde(default)]
    pub team: Option<String>,
    /// `month` (default) or `week`.
    #[serde(default)]
    pub period: DigestPeriod,
    /// `html` and/or `xlsx` (default both).
    #[serde(default = "default_formats")]
    pub formats: Vec<DigestFormat>,
}

impl DigestConfig {
    /// The parsed schedule.
    pub fn cron(&self) -> Result<Cron, String> {
        self.schedule
            .parse::<Cron>()
            .map_err(|e| format!("`{}` is not a cron expression: {e}", self.schedule))
    }

    /// The first run strictly after `after`, in `zone`.
    pub fn next_run(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Tz>> {
        let cron = self.cron().ok()?;
        cron.find_next_occurrence(&after.with_timezone(&zone), false)
            .ok()
    }

    /// The latest run at or before `now`, in `zone` (`None` when the schedule never ran).
    pub fn last_run(&self, now: DateTime<Utc>, zone: Tz) -> Option<DateTime<Tz>> {
        let cron = self.cron().ok()?;
        cron.find_previous_occurrence(&now.with_timezone(&zone), true)
            .ok()
    }

    /// The period a run at `at` reports on: the last month complete at `at`, `YYYY-MM`, or
    /// for a weekly digest the last complete ISO week, `YYYY-Www`.
    pub fn period_at(&self, at: DateTime<Tz>) -> String {
        match self.period {
            DigestPeriod::Month => last_complete_month(at.date_naive()),
            DigestPeriod::Week => last_complete_week(at.date_naive()),
        }
    }

    /// Whether `period` (the one due) was sent when `last` is the last period sent: the same
    /// or a later period of the same length. A period of the other length (the digest changed
    /// from monthly to weekly, or back) does not count as sent.
    pub fn already_sent(last: &str, period: &str) -> bool {
        last.contains("-W") == period.contains("-W") && last >= period
    }

    /// The period due at `now`: the one its latest run reports on.
    pub fn due_period(&self, now: DateTime<Utc>, zone: Tz) -> Option<String> {
        self.last_run(now, zone).map(|at| self.period_at(at))
    }

    fn check(&self, i: usize) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: format!("digests[{i}].{key}"),
            message,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name", "required".into()));
        }
        self.cron().map_err(|m| invalid("schedule", m))?;
        if self.recipients.is_empty() {
            return Err(invalid("recipients", "at least one address".into()));
        }
        for r in &self.recipients {
            check_address(r).map_err(|m| invalid("recipients", m))?;
        }
        if self.formats.is_empty() {
            return Err(invalid("formats", "at least one of html, xlsx".into()));
        }
        Ok(())
    }
}

/// The month before the one of `date`, `YYYY-MM`.
pub fn last_complete_month(date: NaiveDate) -> String {
    let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
    first
        .checked_sub_months(Months::new(1))
        .unwrap_or(first)
        .format("%Y-%m")
        .to_string()
}

/// The ISO week before the one of `date`, `YYYY-Www` (weeks run Monday to Sunday; the label's
/// year is the ISO year, so the week of 29 December 2025 is `2026-W01`).
pub fn last_complete_week(date: NaiveDate) -> String {
    let monday = date - chrono::Duration::days(date.weekday().num_days_from_monday().into());
    let week = (monday - chrono::Duration::days(7)).iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The current instant (`VITALS_NOW` overrides it), as a date-time.
pub fn now() -> Result<DateTime<Utc>, String> {
    let us = crate::now::now_us()?;
    Utc.timestamp_micros(us)
        .single()
        .ok_or_else(|| format!("{us} µs is out of range"))
}

/// A mail address as written (`Name <a@b.example>` or `a@b.example`): one `@` with text on
/// both sides, no spaces in the address. The mailer parses it fully.
pub(super) fn check_address(text: &str) -> Result<(), String> {
    let address = match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => text.trim(),
    };
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !address.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!("`{text}` is not a mail address (name@example.com)")),
    }
}

/// Checks `[smtp]`, `[[digests]]` and `reporting.public_url`: each digest valid, names
/// unique, a server to send through when any digest exists, and links absolute.
pub(super) fn check(config: &super::Config) -> Result<(), ConfigError> {
    if let Some(url) = &config.reporting.public_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                key: "reporting.public_url".into(),
                message: format!("`{url}`: expected an absolute http:// or https:// address"),
            });
        }
    }
    let (smtp, digests) = (config.smtp.as_ref(), &config.digests);
    if let Some(s) = smtp {
        s.check()?;
    }
    for (i, d) in digests.iter().enumerate() {
        d.check(i)?;
        if digests[..i].iter().any(|o| o.name == d.name) {
            return Err(ConfigError::Invalid {
                key: format!("digests[{i}].name"),
                message: format!("`{}`: another digest has this name", d.name),
            });
        }
    }
    if !digests.is_empty() && smtp.is_none() {
        return Err(ConfigError::Invalid {
            key: "digests".into(),
            message: "digests need an [smtp] section (host, from) to send through".into(),
        });
    }
    Ok(())
}

/// A credential written in the file's `[smtp]` is refused with where it belongs.
pub(super) fn refuse_credentials(value: &toml::Value) -> Result<(), ConfigError> {
    let Some(smtp) = value.get("smtp").and_then(toml::Value::as_table) else {
        return Ok(());
    };
    for (key, env) in [
        ("user", SMTP_USER_ENV),
        ("username", SMTP_USER_ENV),
        ("password", SMTP_PASSWORD_ENV),
    ] {
        if smtp.contains_key(key) {
            return Err(ConfigError::Invalid {
                key: format!("smtp.{key}"),
                message: format!(
                    "credentials are never read from the file: set {env} in the environment"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    const SMTP: &str = "[smtp]\nhost = 'mail.example.com'\nfrom = 'vitals <vitals@example.com>'\n";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{SMTP}{text}"), "t")
    }

    #[test]
    fn a_digest_loads_with_its_defaults() {
        let c = parse("[[digests]]\nname = 'monthly'\nschedule = '0 8 1 * *'\nrecipients = ['lead@example.com']\n").unwrap();
        let d = &c.digests[0];
        assert_eq!(d.period, DigestPeriod::Month);
        assert_eq!(d.formats, [DigestFormat::Html, DigestFormat::Xlsx]);
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.tls, smtp.port()), (TlsMode::Starttls, 587));
    }

    #[test]
    fn bad_digests_are_refused_at_load_with_their_key() {
        let bad = [
            ("schedule = 'every monday'", "digests[0].schedule"),
            ("schedule = '0 8 1 * *'\nperiod = 'fortnight'", "fortnight"),
            ("schedule = '0 8 1 * *'\nformats = ['pdf']", "pdf"),
            ("schedule = '0 8 1 * *'\nformats = []", "digests[0].formats"),
        ];
        for (extra, expected) in bad {
            let e = parse(&format!(
                "[[digests]]\nname = 'd'\nrecipients = ['a@example.com']\n{extra}\n"
            ))
            .unwrap_err();
            assert!(e.to_string().contains(expected), "{extra}: {e}");
        }
        let e = parse("[[digests]]\nname = 'd'\nschedule = '0 8 1 * *'\nrecipients = ['nobody']\n")
            .unwrap_err();
        assert!(e.to_string().contains("not a mail address"), "{e}");
        let twice =
            "[[digests]]\nname = 'd'\nschedule = '0 8 1 * *'\nrecipients = ['a@example.com']\n";
        let e = parse(&format!("{twice}{twice}")).unwrap_err();
        assert!(e.to_string().contains("another digest"), "{e}");
        let e = Config::parse(twice, "t").unwrap_err();
        assert!(e.to_string().contains("need an [smtp] section"), "{e}");
        let e = parse(
            "[[digests]]\nname = 'd'\nschedule = '0 8 1 * *'\nrecipient = ['a@example.com']\n",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("did you mean `digests[0].recipients`"),
            "{e}"
        );
    }

    #[test]
    fn smtp_is_checked_and_credentials_stay_out_of_the_file() {
        let e = Config::parse("[smtp]\nhost = 'h'\nfrom = 'x'\n", "t").unwrap_err();
        assert!(e.to_string().contains("smtp.from"), "{e}");
        let e =
            Config::parse("[smtp]\nhost = 'h'\nfrom = 'a@b.c'\ntls = 'ssl'\n", "t").unwrap_err();
        assert!(e.to_string().contains("ssl"), "{e}");
        let e =
            Config::parse("[smtp]\nhost = 'h'\nfrom = 'a@b.c'\npassword = 's'\n", "t").unwrap_err();
        assert!(e.to_string().contains(SMTP_PASSWORD_ENV), "{e}");
        let e = Config::parse("[reporting]\npublic_url = 'vitals.example.com'\n", "t").unwrap_err();
        assert!(e.to_string().contains("reporting.public_url"), "{e}");
        let e = Config::parse("[smtp]\nhots = 'h'\n", "t").unwrap_err();
        assert!(e.to_string().contains("did you mean `smtp.host`"), "{e}");
        let e = Config::parse(
            "[smtp]\nhost = 'h'\nfrom = 'a@b.c'\ntls = 'none'\nca_file = '/x.pem'\n",
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("smtp.ca_file"), "{e}");
        let e = Config::parse(
            "[smtp]\nhost = 'h'\nfrom = 'a@b.c'\nca_file = '/no/such.pem'\n",
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot read /no/such.pem"), "{e}");
        let e =
            Config::parse("[smtp]\nhost = 'h'\nfrom = 'a@b.c'\nca_fil = 'x'\n", "t").unwrap_err();
        assert!(e.to_string().contains("did you mean `smtp.ca_file`"), "{e}");
    }

    #[test]
    fn runs_follow_the_cron_in_the_zone_and_report_the_last_complete_month() {
        let c = parse("[reporting]\ntimezone = 'Europe/Helsinki'\n[[digests]]\nname = 'm'\nschedule = '0 8 1 * *'\nrecipients = ['a@example.com']\n").unwrap();
        let (d, zone) = (&c.digests[0], c.reporting_zone());
        let now = DateTime::parse_from_rfc3339("2026-07-01T04:59:00Z")
            .unwrap()
            .to_utc();
        // 08:00 in Helsinki on 1 July is 05:00 UTC: a minute before, June's run is not due yet.
        assert_eq!(d.due_period(now, zone).as_deref(), Some("2026-05"));
        let next = d.next_run(now, zone).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-07-01T08:00:00+03:00");
        assert_eq!(d.period_at(next), "2026-06");
        let later = DateTime::parse_from_rfc3339("2026-07-01T05:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(d.due_period(later, zone).as_deref(), Some("2026-06"));
        assert_eq!(
            last_complete_month(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()),
            "2025-12"
        );
    }

    #[test]
    fn a_weekly_digest_reports_the_last_complete_iso_week() {
        let c = parse("[reporting]\ntimezone = 'Europe/Helsinki'\n[[digests]]\nname = 'w'\nschedule = '0 8 * * MON'\nperiod = 'week'\nrecipients = ['a@example.com']\n").unwrap();
        let (d, zone) = (&c.digests[0], c.reporting_zone());
        assert_eq!(d.period, DigestPeriod::Week);
        // Monday 8 June 2026, 05:00 UTC is 08:00 in Helsinki: the run reports on 1–7 June.
        let at = DateTime::parse_from_rfc3339("2026-06-08T05:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(d.due_period(at, zone).as_deref(), Some("2026-W23"));
        // A minute before, the latest run was the Monday before, for 25–31 May.
        let before = at - chrono::Duration::minutes(1);
        assert_eq!(d.due_period(before, zone).as_deref(), Some("2026-W22"));
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(last_complete_week(date("2026-01-04")), "2025-W52");
        assert_eq!(last_complete_week(date("2026-01-05")), "2026-W01");
        assert_eq!(last_complete_week(date("2027-01-10")), "2026-W53");
        assert!(DigestConfig::already_sent("2026-W23", "2026-W23"));
        assert!(DigestConfig::already_sent("2026-W23", "2026-W09"));
        assert!(!DigestConfig::already_sent("2026-W23", "2026-W24"));
        assert!(!DigestConfig::already_sent("2026-W23", "2026-06"));
        assert!(!DigestConfig::already_sent("2026-06", "2026-W01"));
    }
}
