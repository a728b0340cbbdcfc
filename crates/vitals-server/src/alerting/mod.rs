//! Alerting: evaluates the `[[alerts]]` rules, keeps each series' state and queues messages in
//! the store's outbox, and delivers the outbox with retries. `vitals serve` runs it on a thread
//! of its own ([`start`]): after a commit, once no other commit came for the debounce time, and
//! on the schedule — reading through its own reader connection and writing through the writer's
//! queue, so ingest never waits for it. `vitals alerts run` calls [`evaluate_rules`] and
//! [`Courier::attempt_all`] once, for cron.

pub mod deliver;
pub mod messages;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vitals_backend::Reader;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::{AlertRule, AlertSchedule, Config};
use vitals_query::alerts::{
    evaluate, idempotency_key, step, top_segments, AlertEvent, Delivery, NoticeKind, SeriesState,
};
use vitals_query::{Engine, OperationalReads};

use crate::writer::WriterHandle;
use deliver::Courier;
use messages::{dashboard_link, Notice};

/// The "why" segments a message shows at most.
pub const WHY_SEGMENTS: usize = 3;

/// One evaluation of every rule: the series' new states, the messages decided with their
/// outbox rows, and the rules that could not be evaluated (their series keep their state).
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Every series evaluated.
    pub states: Vec<SeriesState>,
    /// Each message with one outbox row per channel.
    pub notices: Vec<(AlertEvent, Vec<Delivery>)>,
    /// `rule: why` for each rule that failed.
    pub errors: Vec<String>,
}

/// Evaluates every rule at `now_us` against their `previous` states; outbox rows are due at
/// `wall_us` (the wall clock: `now_us` may be pinned by `VITALS_NOW`).
pub fn evaluate_rules(
    engine: &dyn Engine,
    reads: &dyn OperationalReads,
    alerting: &Alerting,
    previous: &[SeriesState],
    now_us: i64,
    wall_us: i64,
) -> Evaluation {
    let (catalogue, config) = (&alerting.catalogue, &alerting.config);
    let dashboard = alerting.dashboard.as_str();
    let mut out = Evaluation::default();
    for rule in &alerting.rules {
        let observed = match evaluate(engine, reads, catalogue, config, rule, now_us) {
            Ok(o) => o,
            Err(e) => {
                out.errors.push(format!("{}: {e}", rule.name));
                continue;
            }
        };
        let mut series: BTreeMap<String, (Option<&SeriesState>, Option<_>)> = BTreeMap::new();
        for p in previous.iter().filter(|p| p.rule == rule.name) {
            series.entry(p.series.clone()).or_default().0 = Some(p);
        }
        for o in &observed {
            series.entry(o.series.clone()).or_default().1 = Some(o);
        }
        for (name, (before, observation)) in series {
            let (state, notice) = step(rule, before, &name, observation, now_us);
            if let Some(kind) = notice {
                let key = idempotency_key(&state, kind, now_us);
                let why = match (kind, observation) {
                    (NoticeKind::Resolved, _) | (_, None) => Vec::new(),
                    (_, Some(o)) => top_segments(engine, catalogue, config, rule, o, WHY_SEGMENTS),
                };
                let notice = Notice {
                    rule,
                    state: &state,
                    observation,
                    kind,
                    key: key.clone(),
                    link: dashboard_link(dashboard, rule, observation),
                    why,
                    at_us: now_us,
                };
                let deliveries = rule
                    .channels
                    .iter()
                    .enumerate()
                    .map(|(i, channel)| Delivery {
                        key: key.clone(),
                        channel: i as u32,
                        kind: channel.kind().into(),
                        url: channel.url(),
                        body: notice.body(channel),
                        rule: rule.name.clone(),
                        series: name.clone(),
                        attempts: 0,
                        next_attempt_us: wall_us,
                        delivered_us: None,
                        last_error: None,
                    })
                    .collect();
                let event = AlertEvent {
                    id: 0,
                    rule: rule.name.clone(),
                    series: name.clone(),
                    kind,
                    at_us: now_us,
                    value: state.value,
                    summary: state.summary.clone(),
                    key,
                };
                out.notices.push((event, deliveries));
            }
            out.states.push(state);
        }
    }
    out
}

/// The wall clock in UTC µs (delivery times; never pinned by `VITALS_NOW`).
pub fn wall_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// What the alert thread needs.
pub struct Alerting {
    /// The checked rules.
    pub rules: Vec<AlertRule>,
    /// When to evaluate.
    pub schedule: AlertSchedule,
    /// The base of the messages' links.
    pub dashboard: String,
    /// The catalogue.
    pub catalogue: Catalogue,
    /// The configuration.
    pub config: Config,
}

/// How often the thread looks at the data version and the outbox.
const TICK: Duration = Duration::from_millis(250);

/// Starts the alert thread (nothing to do without rules): it evaluates at once, on the
/// schedule and after commits (debounced), and delivers due outbox rows.
pub fn start(
    alerting: Alerting,
    reader: Box<dyn Reader>,
    writer: WriterHandle,
) -> std::io::Result<()> {
    if alerting.rules.is_empty() {
        return Ok(());
    }
    let courier = Courier::new(&alerting.config).map_err(std::io::Error::other)?;
    std::thread::Builder::new()
        .name("vitals-alerts".into())
        .spawn(move || run(&alerting, &courier, reader.as_ref(), &writer))?;
    Ok(())
}

fn run(alerting: &Alerting, courier: &Courier, reader: &dyn Reader, writer: &WriterHandle) {
    let interval = Duration::from_secs_f64(alerting.schedule.interval_secs);
    let debounce = Duration::from_secs_f64(alerting.schedule.debounce_secs);
    let version = || writer.stats.data_version();
    let mut seen = version();
    let mut changed: Option<Instant> = None;
    let mut next_run = Instant::now();
    loop {
        let now = Instant::now();
        let v = version();
        if v != seen {
            seen = v;
            changed = Some(now);
        }
        if now >= next_run || changed.is_some_and(|c| now - c >= debounce) {
            changed = None;
            next_run = now + interval;
            evaluate_now(alerting, reader, writer);
        }
        deliver_due(courier, reader, writer);
        std::thread::sleep(TICK);
    }
}

fn evaluate_now(alerting: &Alerting, reader: &dyn Reader, writer: &WriterHandle) {
    let now_us = match vitals_core::now::now_us() {
        Ok(t) => t,
        Err(e) => return eprintln!("alerts: {e}"),
    };
    let previous = match reader.alert_states() {
        Ok(p) => p,
        Err(e) => return eprintln!("alerts: {e}"),
    };
    let evaluation = evaluate_rules(reader, reader, alerting, &previous, now_us, wall_us());
    for e in &evaluation.errors {
        eprintln!("alerts: {e}");
    }
    let stored = writer.run_blocking(move |backend| {
        backend
            .admin()
            .record_alerts(&evaluation.states, &evaluation.notices)
    });
    match stored {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("alerts: {e}"),
        Err(_) => eprintln!("alerts: the writer's queue is full; evaluating again later"),
    }
}

fn deliver_due(courier: &Courier, reader: &dyn Reader, writer: &WriterHandle) {
    let now = wall_us();
    let due = match reader.due_deliveries(now, 50) {
        Ok(due) => due,
        Err(e) => return eprintln!("alerts: {e}"),
    };
    courier.attempt_all(&due, now, |d, outcome| {
        let (key, channel) = (d.key.clone(), d.channel);
        if let Err((e, _)) = &outcome {
            eprintln!("alerts: delivery {key} failed: {e}");
        }
        let noted = writer.run_blocking(move |backend| {
            backend.admin().note_delivery(&key, channel, now, outcome)
        });
        if let Ok(Err(e)) = noted {
            eprintln!("alerts: {e}");
        }
    });
}
