//! A digest as a mail: the report of one period (`[[digests]]`: its team, its formats) built
//! by [`crate::build`], its HTML as the message body ([`crate::render_mail_html`]: mail-safe,
//! with absolute links when `reporting.public_url` is set), its workbook attached, and a plain
//! text part with the headline numbers. The idempotency key is the digest and the period, so
//! every attempt to send one period's digest carries the same `Message-ID`.

use vitals_core::catalogue::Catalogue;
use vitals_core::config::{Config, DigestConfig, DigestFormat};
use vitals_mail::{Attachment, Mail};
use vitals_query::{Engine, OperationalReads};

use crate::html::{render_mail_html, MailLinks};
use crate::model::ReportModel;
use crate::{build, render_xlsx, ReportError, ReportRequest};

/// The workbook's media type.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The idempotency key of a digest's period.
pub fn idempotency_key(digest: &DigestConfig, period: &str) -> String {
    format!("digest:{}:{period}", digest.name)
}

/// Builds the mail of `digest` for `period` (`YYYY-MM`, or `YYYY-Www` for a weekly digest).
pub fn compose(
    engine: &dyn Engine,
    reads: &dyn OperationalReads,
    catalogue: &Catalogue,
    config: &Config,
    digest: &DigestConfig,
    period: &str,
) -> Result<Mail, ReportError> {
    let request = ReportRequest {
        period: period.to_string(),
        team: digest.team.clone(),
        timezone: None,
    };
    let model = build(engine, reads, catalogue, config, &request)?;
    let links = links(config.reporting.public_url.as_deref(), &request);
    let html = if digest.formats.contains(&DigestFormat::Html) {
        Some(render_mail_html(&model, &links)?)
    } else {
        None
    };
    let mut attachments = Vec::new();
    if digest.formats.contains(&DigestFormat::Xlsx) {
        let team = digest
            .team
            .as_deref()
            .map(|t| format!("-{}", file_safe(t)))
            .unwrap_or_default();
        attachments.push(Attachment {
            filename: format!("vitals-report-{period}{team}.xlsx"),
            content_type: XLSX_TYPE.into(),
            bytes: render_xlsx(&model)?,
        });
    }
    let team = digest
        .team
        .as_deref()
        .map(|t| format!(", team {t}"))
        .unwrap_or_default();
    Ok(Mail {
        to: digest.recipients.clone(),
        subject: format!(
            "Customer service report — {}{team}{}",
            model.month_title,
            if model.partial { " (partial)" } else { "" }
        ),
        text: text(&model, &links),
        html,
        attachments,
        idempotency_key: idempotency_key(digest, period),
    })
}

/// The links of a report at `public_url` (none without it).
fn links(public_url: Option<&str>, request: &ReportRequest) -> MailLinks {
    let Some(base) = public_url.map(|u| u.trim_end_matches('/')) else {
        return MailLinks::default();
    };
    let team = request
        .team
        .as_deref()
        .map(|t| format!("&team={}", query_escape(t)))
        .unwrap_or_default();
    let download = |format: &str| {
        format!(
            "{base}/api/v1/report?{}={}{team}&format={format}",
            if request.period.contains("-W") {
                "week"
            } else {
                "month"
            },
            request.period
        )
    };
    MailLinks {
        dashboard: Some(format!("{base}/")),
        xlsx: Some(download("xlsx")),
        html: Some(download("html")),
    }
}

/// The plain-text part: the title, every metric's value for the period (with its change),
/// and the links.
fn text(model: &ReportModel, links: &MailLinks) -> String {
    let mut out = format!("Customer service report — {}", model.month_title);
    if let Some(team) = &model.team {
        out.push_str(&format!(", team {team}"));
    }
    out.push_str(&format!(" ({})\n", model.timezone));
    for note in &model.notes {
        out.push_str(&format!("Note: {note}\n"));
    }
    for group in &model.groups {
        out.push_str(&format!("\n{}\n", group.title));
        for row in group.rows.iter().filter(|r| r.breakdown.is_none()) {
            let shown = row.display.last().map(String::as_str).unwrap_or("");
            if shown.is_empty() {
                continue;
            }
            let change = if row.shown.change.is_empty() {
                String::new()
            } else {
                format!(" ({} on the {} before)", row.shown.change, model.words.unit)
            };
            out.push_str(&format!("  {}: {shown}{change}\n", row.label));
        }
    }
    if let (Some(dashboard), Some(xlsx)) = (&links.dashboard, &links.xlsx) {
        out.push_str(&format!("\nDashboard: {dashboard}\nWorkbook: {xlsx}\n"));
    }
    out
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Percent-encodes a query parameter's value.
fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_absolute_and_escaped() {
        let request = ReportRequest {
            period: "2026-06".into(),
            team: Some("tier 2".into()),
            timezone: None,
        };
        let l = links(Some("https://vitals.example.com/"), &request);
        assert_eq!(l.dashboard.as_deref(), Some("https://vitals.example.com/"));
        assert_eq!(
            l.xlsx.as_deref(),
            Some(
                "https://vitals.example.com/api/v1/report?month=2026-06&team=tier%202&format=xlsx"
            )
        );
        assert!(links(None, &request).dashboard.is_none());
    }
}
