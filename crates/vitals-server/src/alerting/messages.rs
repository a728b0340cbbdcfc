//! What an alert says, and how each channel carries it. A notice is first composed into a
//! channel-neutral [`Message`] — a subject, a plain text and an HTML body — and the webhook's
//! JSON (every field, for machines) and Slack's incoming-webhook JSON (`text` and `blocks`) are
//! written from it. An e-mail channel takes the same [`Message`] to its mailer.

use chrono::DateTime;
use serde_json::{json, Value};
use vitals_core::config::{AlertRule, Channel};
use vitals_query::alerts::{NoticeKind, Observation, SeriesState, WhyHint};

/// One notice, with everything a channel may show.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    /// The rule.
    pub rule: &'a AlertRule,
    /// The series' state after the evaluation.
    pub state: &'a SeriesState,
    /// The observation behind it (none when the series vanished).
    pub observation: Option<&'a Observation>,
    /// Firing, repeat or resolved.
    pub kind: NoticeKind,
    /// The idempotency key.
    pub key: String,
    /// The link to the dashboard's view of the series and period.
    pub link: String,
    /// The top segments of "why did it move".
    pub why: Vec<WhyHint>,
    /// When it was decided (UTC µs).
    pub at_us: i64,
}

/// A channel-neutral message: what an e-mail would carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// One line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn why_line(h: &WhyHint) -> String {
    format!(
        "{} = {}: {:+.4}{}",
        h.dimension,
        h.segment.as_deref().unwrap_or("(none)"),
        h.contribution,
        h.share_of_change
            .map(|s| format!(" ({:.0}% of the change)", 100.0 * s))
            .unwrap_or_default()
    )
}

/// The dashboard link of a series: its period as custom dates and the filter bar's filters of
/// the rule and the series' segment.
pub fn dashboard_link(base: &str, rule: &AlertRule, observation: Option<&Observation>) -> String {
    // An SLA rule's series are open targets: the SLA tab lists them.
    let tab = if rule.condition.is_sla() {
        "sla"
    } else {
        "overview"
    };
    let mut params = vec![format!("tab={tab}")];
    if let Some(o) = observation {
        params.push(format!("period=custom&from={}&to={}", o.from, o.to));
    }
    let mut filters: Vec<(String, String)> = rule
        .filters
        .iter()
        .filter_map(|f| f.split_once('='))
        .filter(|(d, _)| !d.ends_with('!'))
        .map(|(d, v)| (d.to_string(), v.to_string()))
        .collect();
    if let Some((d, Some(v))) = observation.and_then(|o| o.segment.clone()) {
        filters.push((d, v));
    }
    for (dimension, values) in filters {
        let name = dimension.rsplit(':').next().unwrap_or(&dimension);
        let encoded: Vec<String> = values.split(',').map(percent).collect();
        params.push(format!("f.{name}={}", encoded.join(",")));
    }
    format!("{}/?{}", base.trim_end_matches('/'), params.join("&"))
}

/// Percent-encodes everything but unreserved characters.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Notice<'_> {
    fn headline(&self) -> String {
        let word = match self.kind {
            NoticeKind::Firing => "FIRING",
            NoticeKind::Repeat => "STILL FIRING",
            NoticeKind::Resolved => "RESOLVED",
        };
        format!(
            "[vitals] {word}: {} ({})",
            self.rule.name, self.state.series
        )
    }

    /// The channel-neutral message.
    pub fn message(&self) -> Message {
        let summary = &self.state.summary;
        let why: Vec<String> = self.why.iter().map(why_line).collect();
        let mut text = format!(
            "{}\n\n{summary}\ncondition: {}\n",
            self.headline(),
            self.rule.condition.name()
        );
        if !why.is_empty() {
            text.push_str(&format!("\nWhat moved it:\n- {}\n", why.join("\n- ")));
        }
        text.push_str(&format!("\n{}\n", self.link));
        let items: String = why
            .iter()
            .map(|w| format!("<li>{}</li>", escape(w)))
            .collect();
        let html = format!(
            "<h2>{}</h2><p>{}</p><p>condition: {}</p>{}<p><a href=\"{}\">Open in vitals</a></p>",
            escape(&self.headline()),
            escape(summary),
            self.rule.condition.name(),
            if items.is_empty() {
                String::new()
            } else {
                format!("<p>What moved it:</p><ul>{items}</ul>")
            },
            escape(&self.link)
        );
        Message {
            subject: self.headline(),
            text,
            html,
        }
    }

    /// The webhook's JSON: the rule, the series, the values, the condition, the link, the top
    /// segments and the idempotency key.
    pub fn webhook(&self) -> Value {
        let o = self.observation;
        json!({
            "idempotency_key": self.key,
            "status": self.kind.name(),
            "rule": self.rule.name,
            "metric": self.rule.metric,
            "filters": self.rule.filters,
            "by": self.rule.by,
            "series": self.state.series,
            "segment": o.and_then(|o| o.segment.as_ref().map(|(d, v)| json!({"dimension": d, "value": v}))),
            "condition": self.rule.condition.name(),
            "value": self.state.value,
            "n": o.map(|o| o.n),
            "reference": o.and_then(|o| o.reference),
            "summary": self.state.summary,
            "period": o.map(|o| json!({"from": o.from, "to": o.to})),
            "firing_since": self.state.since_us.and_then(rfc3339),
            "at": rfc3339(self.at_us),
            "link": self.link,
            "why": self.why,
        })
    }

    /// Slack's incoming-webhook JSON.
    pub fn slack(&self) -> Value {
        let m = self.message();
        let mut lines = vec![format!("*{}*", m.subject), self.state.summary.clone()];
        if !self.why.is_empty() {
            lines.push(format!(
                "What moved it:\n• {}",
                self.why
                    .iter()
                    .map(why_line)
                    .collect::<Vec<_>>()
                    .join("\n• ")
            ));
        }
        json!({
            "text": format!("{}: {}", m.subject, self.state.summary),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}},
                {"type": "context", "elements": [
                    {"type": "mrkdwn", "text": format!("<{}|Open in vitals> · {}", self.link, self.key)}
                ]}
            ]
        })
    }

    /// The body posted to a channel.
    pub fn body(&self, channel: &Channel) -> String {
        match channel {
            Channel::Webhook(_) => self.webhook(),
            Channel::Slack(_) => self.slack(),
            Channel::Email(_) => {
                let m = self.message();
                json!({"subject": m.subject, "text": m.text, "html": m.html})
            }
        }
        .to_string()
    }
}

fn rfc3339(us: i64) -> Option<String> {
    DateTime::from_timestamp_micros(us).map(|t| t.to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::config::Condition;
    use vitals_query::alerts::AlertState;

    #[test]
    fn every_channel_says_the_rule_the_series_the_numbers_and_the_link() {
        let rule = AlertRule {
            name: "frt <phone>".into(),
            metric: "first_response_time".into(),
            filters: vec!["ticket:channel=phone".into()],
            by: Some("ticket:team".into()),
            condition: Condition::Above(3600.0),
            window_days: 1,
            for_evaluations: 1,
            cooldown_secs: 60.0,
            channels: vec![Channel::Webhook("http://127.0.0.1:9/".into())],
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let observation = Observation {
            rule: rule.name.clone(),
            series: "ticket:team=Tier 2".into(),
            segment: Some(("ticket:team".into(), Some("Tier 2".into()))),
            active: true,
            value: Some(7200.0),
            n: 40,
            reference: Some(3600.0),
            summary: "first_response_time is 2 h 0 min".into(),
            from: day,
            to: day.succ_opt().unwrap(),
        };
        let state = SeriesState {
            rule: rule.name.clone(),
            series: observation.series.clone(),
            state: AlertState::Firing,
            consecutive: 1,
            since_us: Some(0),
            last_sent_us: Some(0),
            fingerprint: "f".into(),
            value: Some(7200.0),
            summary: observation.summary.clone(),
            evaluated_us: 0,
        };
        let link = dashboard_link("http://vitals.test/", &rule, Some(&observation));
        assert_eq!(
            link,
            "http://vitals.test/?tab=overview&period=custom&from=2026-03-02&to=2026-03-03&f.channel=phone&f.team=Tier%202"
        );
        let notice = Notice {
            rule: &rule,
            state: &state,
            observation: Some(&observation),
            kind: NoticeKind::Firing,
            key: "f-firing-0".into(),
            link,
            why: vec![WhyHint {
                dimension: "ticket:category".into(),
                segment: Some("billing".into()),
                contribution: 1800.0,
                share_of_change: Some(0.5),
            }],
            at_us: 0,
        };
        let hook = notice.webhook();
        assert_eq!(hook["status"], "firing");
        assert_eq!(hook["value"], 7200.0);
        assert_eq!(hook["why"][0]["segment"], "billing");
        let slack = notice.slack();
        assert!(slack["text"].as_str().unwrap().contains("FIRING"));
        assert_eq!(slack["blocks"][0]["type"], "section");
        let m = notice.message();
        assert!(m.html.contains("frt &lt;phone&gt;") && m.text.contains("50% of the change"));
    }
}
