//! The report model: everything both renderers show, as plain serde data (the HTML template
//! reads it as is; the server can serve it as JSON). Every number in it comes from the query
//! library ([`crate::build`]); renderers only lay it out.

use serde::Serialize;
use vitals_query::staffing::StaffingReport;
use vitals_query::Spike;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportModel {
    /// The period, `YYYY-MM` (or `YYYY-Www` in a weekly report: the fields keep their
    /// monthly names so templates written for the monthly report read a weekly one).
    pub month: String,
    /// The period in words (`March 2026`, `week 2026-W23 (1 June – 7 June 2026)`).
    pub month_title: String,
    /// The six periods shown, oldest first (the report's last).
    pub months: Vec<String>,
    /// `month` or `week`.
    pub grain: crate::period::Grain,
    /// The words of the period's length (`month`/`Month`, `week`/`Week`).
    pub words: crate::period::PeriodWords,
    /// The period is still in progress (its numbers will change).
    pub partial: bool,
    /// The zone of every date and bucket.
    pub timezone: String,
    /// The team the report is limited to, if any.
    pub team: Option<String>,
    /// Metric groups in catalogue order, each with its rows.
    pub groups: Vec<MetricGroup>,
    /// The headline metrics whose change against the previous month is significant, and the
    /// segments that moved them.
    pub what_moved: Vec<crate::moved::Moved>,
    /// Per-team table.
    pub teams: Table,
    /// Per-agent table, grouped by team, each team's distribution first.
    pub agents: Table,
    /// Ticket volume.
    pub volume: Volume,
    /// Every metric shown, documented.
    pub formulas: Vec<FormulaDoc>,
    /// The spike method in words.
    pub spike_method: String,
    /// Calculator examples.
    pub calculators: Vec<crate::calculator::CalcRow>,
    /// Erlang C staffing for the busiest cells.
    pub staffing: StaffingReport,
    /// Notes for the reader (stale facts, partial month, team scope).
    pub notes: Vec<String>,
}

/// One catalogue group.
#[derive(Debug, Clone, Serialize)]
pub struct MetricGroup {
    /// `satisfaction`.
    pub name: String,
    /// `Satisfaction`.
    pub title: String,
    /// Rows.
    pub rows: Vec<MetricRow>,
}

/// One metric value series (one stat, one breakdown value).
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// The query key (`first_response_time:median`).
    pub key: String,
    /// The metric id.
    pub id: String,
    /// Label for people, with the stat.
    pub label: String,
    /// `seconds`, `percent`, `count`, `currency`, `score`, `nps`.
    pub unit: String,
    /// `higher_is_better`, `lower_is_better`, `neutral`.
    pub direction: String,
    /// The breakdown (`sla:target`) and its value, when the metric always splits.
    pub breakdown: Option<(String, String)>,
    /// The value per month (`months`), oldest first.
    pub values: Vec<Option<f64>>,
    /// The same, formatted for people.
    pub display: Vec<String>,
    /// The report month's sample size.
    pub n: u64,
    /// Its 95% interval.
    pub ci: Option<(f64, f64)>,
    /// Fewer observations than the configured floor.
    pub low_sample: bool,
    /// The target that applies.
    pub target: Option<f64>,
    /// Whether the month meets it.
    pub on_target: Option<bool>,
    /// Change against the previous month, in the metric's unit.
    pub change: Option<f64>,
    /// Change in percent of the previous value.
    pub change_pct: Option<f64>,
    /// The test's p-value.
    pub p_value: Option<f64>,
    /// p < 0.05.
    pub significant: Option<bool>,
    /// The metric cannot be limited to the team (`--team`): organisation-wide.
    pub organisation_wide: bool,
    /// Target, change and interval formatted for people (in the metric's unit).
    pub shown: Shown,
}

/// Target, change and interval as people read them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Shown {
    /// The target.
    pub target: String,
    /// The change (with its percentage).
    pub change: String,
    /// The 95% interval.
    pub ci: String,
}

/// A ranked table (teams or agents).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    /// The dimension of the rows (`ticket:team`).
    pub dimension: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, ranked.
    pub rows: Vec<TableRow>,
}

/// One column: a metric key on a dimension.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Heading.
    pub label: String,
    /// Query key.
    pub key: String,
    /// The dimension the rows are on for this column (`ticket:agent`, `call:agent`).
    pub dimension: String,
    /// A breakdown value this column keeps (`sla:target` = `first_reply`).
    pub breakdown: Option<(String, String)>,
    /// Which part of the value: `value`, or `n` (e.g. calls handled).
    pub part: String,
    /// Unit of the shown number.
    pub unit: String,
}

/// One row.
#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    /// Rank (1 = most tickets); none for a distribution row.
    pub rank: Option<usize>,
    /// The name (team or agent), or the team's distribution label.
    pub name: String,
    /// The team (agents).
    pub team: Option<String>,
    /// `row` or `distribution` (the team's agents' median).
    pub kind: String,
    /// One value per column.
    pub values: Vec<Option<f64>>,
    /// The same, formatted.
    pub display: Vec<String>,
}

/// One named daily series.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Category or channel.
    pub name: String,
    /// One count per day of the period.
    pub values: Vec<f64>,
    /// Sum.
    pub total: f64,
}

/// A category whose volume rose.
#[derive(Debug, Clone, Serialize)]
pub struct Riser {
    /// Category.
    pub name: String,
    /// Tickets this month.
    pub count: f64,
    /// Tickets the month before.
    pub previous: Option<f64>,
    /// Difference.
    pub change: Option<f64>,
    /// Difference in percent.
    pub change_pct: Option<f64>,
    /// Significant (p < 0.05, Poisson test on the counts).
    pub significant: Option<bool>,
}

/// The volume sheet.
#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    /// Days of the period (`YYYY-MM-DD`).
    pub days: Vec<String>,
    /// Tickets per category per day (`ticket_volume` by `time:day`, `ticket:category`).
    pub categories: Vec<Series>,
    /// Tickets per channel per day.
    pub channels: Vec<Series>,
    /// Categories that rose most against the previous month.
    pub risers: Vec<Riser>,
    /// Spikes of the total.
    pub spikes: Vec<Spike>,
    /// Spikes per category.
    pub category_spikes: Vec<Spike>,
}

/// One metric documented (from `vitals explain`).
#[derive(Debug, Clone, Serialize)]
pub struct FormulaDoc {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Group title.
    pub group: String,
    /// Description.
    pub description: String,
    /// Formula.
    pub formula: String,
    /// The timestamp it counts by.
    pub counts_by: String,
    /// How its interval is computed.
    pub interval: String,
    /// Decisions.
    pub decisions: Vec<String>,
}
