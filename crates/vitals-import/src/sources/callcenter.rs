//! `--from callcenter`: per-call records in the Technion "Anonymous Bank" layout
//! (tab-separated; `date` YYMMDD; times H:MM:SS local; outcome AGENT / HANG / PHANTOM).
//!
//! Decisions (README "Importers"):
//! - A call's instants are laid out in order from `vru_entry` on the record's date; a time
//!   more than 12 hours before the previous one is on the next day (waits across midnight),
//!   a smaller step back stays on the same day (the source's clock jitter: negative
//!   `vru_time`, `ser_start` 1 s before `q_exit`).
//! - PHANTOM calls are skipped (the source defines them as virtual calls to ignore).
//! - HANG without queueing (`q_time` 0 and no queue times) left in the IVR: not offered to the
//!   agent queue, imported as a `self_service` session of kind `ivr` at `vru_entry` (whether
//!   the IVR served them is unknown).
//! - Every other call is offered at `q_start`, or at `vru_exit` when it went to an agent
//!   without queueing (wait 0). AGENT: answered at `q_exit` (so the wait is `q_time`), ended
//!   at `ser_exit`, talk = `ser_time`, agent = `server`; `NO_SERVER` keeps the call answered
//!   with no agent. HANG in the queue: abandoned, ended at `q_exit`.
//! - The id is `vru+line`-`call_id`: call ids are unique per IVR line only.
//! - queue = `type`; customer = `customer_id` (0 = unidentified → none); `vru_time` is not
//!   imported.

use std::path::PathBuf;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::tabular::{read_rows, Dialect, Row};
use super::{Emitter, Rec};
use crate::ImportError;

const DIALECT: Dialect = Dialect {
    delimiter: b'\t',
    missing: "",
};

const REQUIRED: &[&str] = &[
    "vru+line",
    "call_id",
    "date",
    "vru_entry",
    "vru_exit",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
];

/// Why PHANTOM rows are left out (shown in the import summary).
pub(crate) const PHANTOM: &str =
    "PHANTOM: a virtual call, to be ignored by the source's definition";

pub(crate) fn import(files: &[PathBuf], out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    for path in files {
        read_rows(path, &DIALECT, REQUIRED, out, |row, out| {
            match map_call(row) {
                Ok(Mapped::Skip(reason)) => {
                    out.skip(reason);
                    Ok(())
                }
                Ok(Mapped::Record(rec)) => out.emit(rec, row.line, &|| row.raw()),
                Err((column, reason)) => out.reject(row.line, Some(column), reason, row.raw()),
            }
        })?;
    }
    Ok(())
}

enum Mapped {
    Record(Rec),
    Skip(&'static str),
}

type Problem = (&'static str, String);

fn map_call(row: &Row<'_>) -> Result<Mapped, Problem> {
    let outcome = row.get("outcome").unwrap_or_default();
    if outcome == "PHANTOM" {
        return Ok(Mapped::Skip(PHANTOM));
    }
    // Call ids repeat across IVR lines (35690 is on 7 lines), so the id is line + call.
    let call_id = format!(
        "{}-{}",
        row.get("vru+line").unwrap_or_default(),
        row.get("call_id").unwrap_or_default()
    );
    let call_id = call_id.as_str();
    let date_text = row.get("date").unwrap_or_default();
    let date = NaiveDate::parse_from_str(date_text, "%y%m%d")
        .map_err(|_| ("date", format!("`{date_text}` is not a YYMMDD date")))?;
    let mut clock = Clock::start(date, clock_time(row, "vru_entry")?);
    let vru_exit = clock.next(clock_time(row, "vru_exit")?);
    let q_time = seconds(row, "q_time")?;
    let queued = q_time > 0.0
        || row.get("q_start") != Some("0:00:00")
        || row.get("q_exit") != Some("0:00:00");
    let (q_start, q_exit) = if queued {
        let start = clock.next(clock_time(row, "q_start")?);
        (start, clock.next(clock_time(row, "q_exit")?))
    } else {
        (vru_exit, vru_exit)
    };
    let customer = row.get("customer_id").filter(|c| *c != "0");
    match outcome {
        "HANG" if !queued => Ok(Mapped::Record(
            Rec::new("self_service")
                .set("session_id", call_id)
                .set("at", iso(clock.first))
                .set("kind", "ivr"),
        )),
        "HANG" => Ok(Mapped::Record(
            call(row, call_id, q_start, customer)
                .set("abandoned", true)
                .set("ended_at", iso(q_exit)),
        )),
        "AGENT" => {
            clock.next(clock_time(row, "ser_start")?);
            let ser_exit = clock.next(clock_time(row, "ser_exit")?);
            let server = row.get("server").filter(|s| *s != "NO_SERVER");
            Ok(Mapped::Record(
                call(row, call_id, q_start, customer)
                    .set("answered_at", iso(q_exit))
                    .set("ended_at", iso(ser_exit.max(q_exit)))
                    .set("abandoned", false)
                    .set("agent_id", server)
                    .set("talk_secs", seconds(row, "ser_time")?),
            ))
        }
        other => Err((
            "outcome",
            format!("`{other}` is not an outcome of this layout (AGENT, HANG, PHANTOM)"),
        )),
    }
}

fn call(row: &Row<'_>, call_id: &str, offered: NaiveDateTime, customer: Option<&str>) -> Rec {
    Rec::new("calls")
        .set("call_id", call_id)
        .set("queue", row.get("type"))
        .set("offered_at", iso(offered))
        .set("customer_id", customer)
}

/// Lays a call's clock times out in order from its first instant.
struct Clock {
    first: NaiveDateTime,
    last: NaiveDateTime,
}

impl Clock {
    fn start(date: NaiveDate, time: NaiveTime) -> Clock {
        let first = date.and_time(time);
        Clock { first, last: first }
    }

    /// The instant of `time` after the previous one: on the previous instant's day, or the
    /// next day when it would be more than 12 hours earlier (a wait across midnight).
    fn next(&mut self, time: NaiveTime) -> NaiveDateTime {
        let mut t = self.last.date().and_time(time);
        if t < self.last - Duration::hours(12) {
            t += Duration::days(1);
        }
        self.last = self.last.max(t);
        t
    }
}

fn clock_time(row: &Row<'_>, column: &'static str) -> Result<NaiveTime, Problem> {
    let text = row.get(column).unwrap_or_default();
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .map_err(|_| (column, format!("`{text}` is not an H:MM:SS time")))
}

fn seconds(row: &Row<'_>, column: &'static str) -> Result<f64, Problem> {
    let text = row.get(column).unwrap_or_default();
    text.parse::<f64>()
        .map_err(|_| (column, format!("`{text}` is not a number of seconds")))
}

fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, time: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_wait_across_midnight_ends_the_next_day_and_jitter_stays() {
        let day = NaiveDate::from_ymd_opt(1999, 2, 15).unwrap();
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap();
        let mut clock = Clock::start(day, t("23:59:54"));
        assert_eq!(clock.next(t("0:00:00")), at("1999-02-16", "00:00:00"));
        assert_eq!(clock.next(t("0:00:27")), at("1999-02-16", "00:00:27"));
        // ser_start one second before q_exit stays on the same day.
        assert_eq!(clock.next(t("0:00:26")), at("1999-02-16", "00:00:26"));
        let mut jitter = Clock::start(day, t("9:48:14"));
        assert_eq!(jitter.next(t("9:47:17")), at("1999-02-15", "09:47:17"));
    }
}
