//! The configuration that ships with a generated organisation: its reporting zone, the
//! calendars its teams work to (with the holidays of every year it spans), SLA policies per
//! priority, targets for headline metrics, the quality rubrics its reviews name and the
//! engagement programmes it runs — so business time, SLA compliance, targets, IQS and the
//! engagement score all have something to measure.

use std::fmt::Write as _;

use chrono::{Datelike, Months};

use crate::hours::{Week, EXTENDED, EXTENDED_TEAM, HOLIDAYS, SHORT_DAY, STANDARD};
use crate::SynthOptions;

/// A rubric criterion: name, weight, tags.
pub(crate) type Criterion = (&'static str, u32, &'static str);

/// The quality rubric versions the generator's reviews name, with their criteria. The second
/// version applies from the middle of the period on.
pub(crate) const RUBRICS: [(&str, &[Criterion]); 2] = [
    (
        "v1",
        &[
            ("empathy", 1, ""),
            ("accuracy", 2, ""),
            ("procedure", 1, "adherence"),
        ],
    ),
    (
        "v2",
        &[
            ("empathy", 1, ""),
            ("accuracy", 3, ""),
            ("procedure", 1, "adherence"),
            ("tone", 1, ""),
        ],
    ),
];

/// Engagement programmes and their weights in the engagement score.
pub(crate) const PROGRAMMES: [(&str, u32); 3] =
    [("loyalty", 2), ("education", 1), ("community", 1)];

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn calendar(out: &mut String, name: &str, o: &SynthOptions, week: &Week) {
    let _ = writeln!(out, "[calendars.{name}]\ntimezone = \"{}\"", o.zone.name());
    for (day, hours) in DAYS.iter().zip(week) {
        match hours {
            Some((open, close)) => {
                let _ = writeln!(out, "{day} = [\"{open:02}:00-{close:02}:00\"]");
            }
            None => {
                let _ = writeln!(out, "{day} = []");
            }
        }
    }
    let end = o.start + Months::new(o.months);
    let years = o.start.year()..=end.year();
    let holidays: Vec<String> = years
        .clone()
        .flat_map(|y| {
            HOLIDAYS
                .iter()
                .map(move |(m, d)| format!("\"{y}-{m:02}-{d:02}\""))
        })
        .collect();
    let _ = writeln!(out, "holidays = [{}]", holidays.join(", "));
    let ((month, day), close) = SHORT_DAY;
    for y in years {
        let Some(date) = chrono::NaiveDate::from_ymd_opt(y, month, day) else {
            continue;
        };
        if let Some((open, _)) = week[date.weekday().num_days_from_monday() as usize] {
            let _ = writeln!(
                out,
                "[[calendars.{name}.exceptions]]\ndate = \"{date}\"\nhours = [\"{open:02}:00-{close:02}:00\"]"
            );
        }
    }
    out.push('\n');
}

/// The `vitals.toml` of the organisation `o` generates.
pub fn configuration(o: &SynthOptions) -> String {
    let mut out = format!(
        "# vitals.toml of the generated organisation (seed {}, {} months from {}).\n\
         # Every section is explained in `vitals config --default`.\n\n\
         [reporting]\ntimezone = \"{}\"\n\n\
         # Most teams work the standard week; {EXTENDED_TEAM} has longer hours and Saturdays.\n\
         # Public holidays are closed; New Year's Eve closes early.\n",
        o.seed,
        o.months,
        o.start,
        o.zone.name()
    );
    calendar(&mut out, "default", o, &STANDARD);
    calendar(&mut out, "extended", o, &EXTENDED);
    let _ = writeln!(out, "[teams.{EXTENDED_TEAM}]\ncalendar = \"extended\"\n");
    out.push_str(
        r#"# SLA policies per priority (business clocks on the ticket team's calendar; low priority
# on the calendar clock). Waiting for the customer or a third party pauses the clock.
[[sla]]
name = "urgent"
when = { priority = ["urgent"] }
first_reply = "1h"
next_reply = "2h"
resolution = "8h"
pause_on = ["pending", "on_hold"]

[[sla]]
name = "high"
when = { priority = ["high"] }
first_reply = "2h"
next_reply = "4h"
resolution = "16h"
pause_on = ["pending", "on_hold"]

[[sla]]
name = "normal"
when = { priority = ["normal"] }
first_reply = "8h"
next_reply = "8h"
resolution = "40h"
pause_on = ["pending", "on_hold"]

[[sla]]
name = "low"
when = { priority = ["low"] }
first_reply = "2d"
resolution = "7d"
clock = "calendar"
pause_on = ["pending", "on_hold"]

# Targets for the headline metrics (✓/✗ in `vitals query`); the second tier has its own.
[targets]
csat = 75
nps = 30
fcr = 35
"first_response_time:median" = "1h"
"resolution_time:median" = "1d"
sla_compliance = 90
service_level = 80
answer_rate = 90
iqs = 80

[targets.team.tier2]
csat = 85
"first_response_time:median" = "30m"

"#,
    );
    out.push_str("# Quality rubrics by version (reviews name theirs).\n");
    for (version, criteria) in RUBRICS {
        let _ = writeln!(out, "[quality.rubrics.{version}]");
        for (name, weight, tags) in criteria {
            if tags.is_empty() {
                let _ = writeln!(out, "{name} = {weight}");
            } else {
                let _ = writeln!(out, "{name} = {{ weight = {weight}, tags = [\"{tags}\"] }}");
            }
        }
        out.push('\n');
    }
    out.push_str("# The engagement score's programmes and weights.\n[engagement.weights]\n");
    for (programme, weight) in PROGRAMMES {
        let _ = writeln!(out, "{programme}_participation = {weight}");
    }
    out
}
