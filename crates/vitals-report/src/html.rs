//! The HTML report: one self-contained file (inline CSS, SVG charts drawn by [`crate::svg`], a
//! small inline script for the calculator form; nothing from the network), rendered from a
//! minijinja template. The default template is embedded; `--template DIR` reads
//! `DIR/report.html` instead (`vitals report --write-template DIR` writes the default there to
//! start from). Every number carries its machine-readable value in `data-*` attributes.
//! [`render_mail_html`] renders the default template as a mail body: no script or form (mail
//! clients drop them), the charts inline SVG, and absolute links to the server.

use std::path::Path;

use minijinja::{context, Environment, Value};
use serde::Serialize;

use crate::model::ReportModel;
use crate::period::Grain;
use crate::svg::line_chart;
use crate::ReportError;

/// The default template.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/report.html");

/// The template file name inside a `--template` folder.
pub const TEMPLATE_FILE: &str = "report.html";

/// Writes the default template into `dir` (creating it).
pub fn write_default_template(dir: &Path) -> Result<std::path::PathBuf, ReportError> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(TEMPLATE_FILE);
    std::fs::write(&path, DEFAULT_TEMPLATE)?;
    Ok(path)
}

/// The `whole` filter: a number without decimals when it is whole (`535.0` → `535`), else
/// with up to two; anything else as it is.
fn whole(value: Value) -> Value {
    match f64::try_from(value.clone()) {
        Ok(v) if v.fract() == 0.0 && v.abs() < 1e15 => Value::from(format!("{v:.0}")),
        Ok(v) if value.as_i64().is_none() => Value::from(format!("{v:.2}")),
        _ => value,
    }
}

/// The absolute links of a report sent by mail (empty without `reporting.public_url`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailLinks {
    /// The dashboard.
    pub dashboard: Option<String>,
    /// The report's workbook download.
    pub xlsx: Option<String>,
    /// The report's HTML (with its calculator) download.
    pub html: Option<String>,
}

/// Renders the report as HTML with the default template or `DIR/report.html`.
pub fn render_html(
    model: &ReportModel,
    template_dir: Option<&Path>,
) -> Result<String, ReportError> {
    render(model, template_dir, None)
}

/// Renders the report with the default template as the body of an e-mail: no script or form,
/// and `links` (absolute) to the dashboard and the downloads.
pub fn render_mail_html(model: &ReportModel, links: &MailLinks) -> Result<String, ReportError> {
    render(model, None, Some(links))
}

fn render(
    model: &ReportModel,
    template_dir: Option<&Path>,
    mail: Option<&MailLinks>,
) -> Result<String, ReportError> {
    let source = match template_dir {
        Some(dir) => std::fs::read_to_string(dir.join(TEMPLATE_FILE)).map_err(|e| {
            ReportError::Template(format!("{}: {e}", dir.join(TEMPLATE_FILE).display()))
        })?,
        None => DEFAULT_TEMPLATE.to_string(),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_filter("whole", whole);
    env.add_template_owned(TEMPLATE_FILE, source)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let v = &model.volume;
    let x_label = match model.grain {
        Grain::Month => format!("Day of month ({})", model.month),
        Grain::Week => format!("Day ({}, Monday to Sunday)", model.month),
    };
    let categories = line_chart(
        "Tickets per category per day",
        &v.days,
        &v.categories,
        "Tickets per day",
        &x_label,
    );
    let channels = line_chart(
        "Tickets per channel per day",
        &v.days,
        &v.channels,
        "Tickets per day",
        &x_label,
    );
    let calculators = serde_json::to_string(&model.calculators)
        .map_err(|e| ReportError::Internal(e.to_string()))?;
    env.get_template(TEMPLATE_FILE)
        .and_then(|t| {
            t.render(context! {
                r => Value::from(minijinja::value::Serde(model)),
                category_chart => Value::from_safe_string(categories),
                channel_chart => Value::from_safe_string(channels),
                calculators_json => Value::from_safe_string(calculators.replace("</", "<\\/")),
                mail => mail.map(|m| Value::from(minijinja::value::Serde(m))),
            })
        })
        .map_err(|e| ReportError::Template(format!("{e:#}")))
}
