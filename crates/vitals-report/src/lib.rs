//! vitals-report: the monthly report (issue 10, the articles' three-tab template and more), and
//! the same report for an ISO week ([`period`]: a weekly digest's).
//! [`build`] turns query-library results into a [`ReportModel`] — every number from
//! `vitals_query` (`run_query`, `spikes`, `staffing`) — and the renderers lay it out:
//! [`render_xlsx`] (a workbook with native charts and a live calculator) and [`render_html`]
//! (one self-contained page from an overridable template). The CLI (`vitals report`) and the
//! server call the same functions; [`digest::compose`] makes a digest's mail of them.
#![deny(missing_docs)]

mod build;
pub mod calculator;
mod cells;
pub mod digest;
pub mod format;
pub mod html;
pub mod model;
pub mod moved;
pub mod period;
mod svg;
mod tables;
pub mod xlsx;
mod xlsx_formulas;
mod xlsx_moved;
mod xlsx_numbers;

pub use build::{build, ReportRequest};
pub use html::{render_html, render_mail_html, write_default_template, MailLinks};
pub use model::ReportModel;
pub use xlsx::render_xlsx;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The period has no data.
    #[error("no data in {month}; {unit}s with data: {}", if months.is_empty() { "none (import data first)".to_string() } else { months.join(", ") })]
    NoData {
        /// The period asked (a month or a week).
        month: String,
        /// Periods of the same length that have data.
        months: Vec<String>,
        /// `month` or `week`.
        unit: String,
    },
    /// A query failed (a bad month or week, zone or team, or the engine).
    #[error(transparent)]
    Query(#[from] vitals_query::QueryError),
    /// The workbook could not be written.
    #[error("workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The HTML template could not be read or rendered.
    #[error("template: {0}")]
    Template(String),
    /// A file could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A bug.
    #[error("internal: {0}")]
    Internal(String),
}

impl ReportError {
    /// Whether the error is the user's to fix.
    pub fn is_user_error(&self) -> bool {
        match self {
            ReportError::NoData { .. } | ReportError::Template(_) => true,
            ReportError::Query(q) => q.is_user_error(),
            _ => false,
        }
    }
}
