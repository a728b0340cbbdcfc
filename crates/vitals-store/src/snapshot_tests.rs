//! Snapshot metrics side by side: backlog, retention and churn from +1/−1 deltas must equal
//! the definition's direct form (every bucket paired with every row) on irregular data —
//! reopened tickets, spans across bucket edges and DST changes, events at exact bucket
//! boundaries, customers churned before they were acquired — for every grain, dimensions and
//! filters.

use chrono::NaiveDate;
use chrono_tz::Tz;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::{Config, DerivationRules};
use vitals_core::records::Value;
use vitals_query::plan::{plan_metric_with, Snapshots};
use vitals_query::{buckets, resolve, DuckDb, Filter, MetricSpec, QueryRequest};

use super::tests::{load, record};
use super::*;

/// 2026-03-01T00:00:00Z.
const MARCH_1: i64 = 1_772_323_200_000_000;
const HOUR: i64 = 3_600_000_000;

/// A small deterministic generator (no dependency needed for a test's noise).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// 300 tickets over March–April 2026 (Helsinki's clock change inside), solved and reopened at
/// random, some exactly on local midnights; 200 customers, some churned, some churned "before"
/// they were acquired.
fn irregular_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let mut rng = Lcg(7);
    let helsinki_midnight = |day: i64| MARCH_1 + day * 24 * HOUR - 2 * HOUR;
    let (mut tickets, mut events, mut customers) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..300 {
        let created = if i % 17 == 0 {
            helsinki_midnight(rng.next(60) as i64)
        } else {
            MARCH_1 - 10 * 24 * HOUR + rng.next(70 * 24) as i64 * HOUR
        };
        let channel = ["email", "chat", "phone"][rng.next(3) as usize];
        let id = format!("t{i}");
        tickets.push(record(
            "tickets",
            &[
                ("ticket_id", text(&id)),
                ("created_at", Value::Timestamp(created)),
                ("channel", text(channel)),
            ],
        ));
        let mut at = created;
        for k in 0..rng.next(5) {
            at += (1 + rng.next(24 * 12) as i64) * HOUR;
            if k % 3 == 2 {
                at = helsinki_midnight((at - MARCH_1) / (24 * HOUR) + 1);
            }
            let status = if k % 2 == 0 { "solved" } else { "open" };
            events.push(record(
                "ticket_events",
                &[
                    ("event_id", text(&format!("{id}-{k}"))),
                    ("ticket_id", text(&id)),
                    ("at", Value::Timestamp(at)),
                    ("kind", text("status")),
                    ("author_role", text("agent")),
                    ("status", text(status)),
                ],
            ));
        }
    }
    for i in 0..200 {
        let acquired = MARCH_1 - 40 * 24 * HOUR + rng.next(100 * 24) as i64 * HOUR;
        let churned = match rng.next(4) {
            0 => Value::Timestamp(acquired + rng.next(60 * 24) as i64 * HOUR),
            1 => Value::Timestamp(acquired - rng.next(10 * 24) as i64 * HOUR),
            _ => Value::Null,
        };
        customers.push(record(
            "customers",
            &[
                ("customer_id", text(&format!("c{i}"))),
                ("acquired_at", Value::Timestamp(acquired)),
                ("churned_at", churned),
                ("tier", text(["gold", "basic"][rng.next(2) as usize])),
            ],
        ));
    }
    load(&store, "tickets", &tickets);
    load(&store, "ticket_events", &events);
    load(&store, "customers", &customers);
    store
        .derive_touched(&DerivationRules::default(), &[])
        .unwrap();
    store
}

fn sorted_rows(reader: &Reader, plan: &vitals_query::plan::PlannedSql) -> Vec<String> {
    let mut rows: Vec<String> = reader
        .run_planned(plan)
        .unwrap()
        .into_iter()
        .map(|r| format!("{:?} {:?}", r.keys, r.aggs))
        .collect();
    rows.sort();
    rows
}

#[test]
fn deltas_equal_the_pairwise_definition() {
    let store = irregular_store();
    let reader = store.reader().unwrap();
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("backlog", &["time:day"], &[]),
        ("backlog", &["time:week", "ticket:channel"], &[]),
        ("backlog", &["time:month"], &["ticket:channel!=chat"]),
        ("backlog", &[], &["ticket:channel=email,phone"]),
        ("retention_rate", &["time:day"], &[]),
        ("retention_rate", &["time:month", "customer:tier"], &[]),
        ("churn_rate", &["time:week"], &["customer:tier=gold"]),
        ("churn_rate", &[], &[]),
    ];
    let mut compared = 0;
    for (metric, by, filters) in cases {
        let request = QueryRequest {
            metrics: vec![MetricSpec::parse(metric)],
            by: by.iter().map(|s| s.to_string()).collect(),
            filters: filters.iter().map(|f| Filter::parse(f).unwrap()).collect(),
            timezone: Some("Europe/Helsinki".into()),
            ..Default::default()
        };
        let resolved = resolve(&catalogue, &request, Tz::UTC).unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 2, 20).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 5, 3).unwrap();
        let bucket_list = buckets(resolved.zone, resolved.grain, from, to);
        let rm = &resolved.metrics[0];
        let plan =
            |s| plan_metric_with(&DuckDb, &catalogue, &config, &resolved, rm, &bucket_list, s);
        let deltas = sorted_rows(&reader, &plan(Snapshots::Deltas));
        let pairwise = sorted_rows(&reader, &plan(Snapshots::Pairwise));
        assert!(!pairwise.is_empty(), "{metric} {by:?}: no rows to compare");
        assert_eq!(deltas, pairwise, "{metric} by {by:?} filtered {filters:?}");
        compared += pairwise.len();
    }
    assert!(compared > 150, "only {compared} rows compared");
}

/// The backlog by age band (a dimension that reads the bucket) and its drill-down are planned
/// from each ticket's +1/−1 events, without a correlated subquery; both must equal the
/// definition — created before the bucket end and in no resolved span covering it — written
/// here directly.
#[test]
fn age_bands_equal_the_definition() {
    use vitals_query::Dialect;
    let store = irregular_store();
    let reader = store.reader().unwrap();
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    // The catalogue's age band (tickets.toml), spelled out.
    let band = "CASE WHEN date_diff('second', t.created_at, b.b_end) < 86400 THEN '<1d' \
                WHEN date_diff('second', t.created_at, b.b_end) < 3*86400 THEN '1-3d' \
                WHEN date_diff('second', t.created_at, b.b_end) < 7*86400 THEN '3-7d' ELSE '>7d' END";
    let mut compared = 0;
    let cases = [
        ("time:day", None),
        ("time:day", Some("ticket:channel=email")),
        ("time:week", Some("ticket:channel=email")),
    ];
    for (grain, filter) in cases {
        let request = QueryRequest {
            metrics: vec![MetricSpec::parse("backlog")],
            by: vec![grain.to_string(), "backlog:age_band".into()],
            filters: filter.iter().map(|f| Filter::parse(f).unwrap()).collect(),
            timezone: Some("Europe/Helsinki".into()),
            ..Default::default()
        };
        let resolved = resolve(&catalogue, &request, Tz::UTC).unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 4, 20).unwrap();
        let bucket_list = buckets(resolved.zone, resolved.grain, from, to);
        let rm = &resolved.metrics[0];
        let planned = plan_metric_with(
            &DuckDb,
            &catalogue,
            &config,
            &resolved,
            rm,
            &bucket_list,
            Snapshots::Deltas,
        );
        let values = bucket_list
            .iter()
            .map(|b| {
                format!(
                    "('{}', {}, {})",
                    b.label,
                    DuckDb.instant(b.start_us),
                    DuckDb.instant(b.end_us)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let channel = if filter.is_some() {
            " AND t.channel = 'email'"
        } else {
            ""
        };
        let definition = vitals_query::plan::PlannedSql {
            sql: format!(
                "SELECT b.bucket, CAST({band} AS VARCHAR), CAST(count(*) AS DOUBLE) \
                 FROM (VALUES {values}) b(bucket, b_start, b_end), fact_tickets t \
                 WHERE t.created_at < b.b_end{channel} AND NOT EXISTS (SELECT 1 FROM fact_resolved_spans sp \
                 WHERE sp.ticket_id = t.ticket_id AND sp.resolved_from < b.b_end \
                 AND (sp.resolved_to IS NULL OR sp.resolved_to >= b.b_end)) GROUP BY ALL"
            ),
            params: Vec::new(),
            key_columns: 2,
            agg_columns: 1,
            components: Vec::new(),
        };
        let expected = sorted_rows(&reader, &definition);
        assert!(expected.len() > 20, "{grain}: only {} rows", expected.len());
        assert_eq!(
            sorted_rows(&reader, &planned),
            expected,
            "{grain} {filter:?}"
        );
        compared += expected.len();
    }
    assert!(compared > 60, "only {compared} rows compared");
}
