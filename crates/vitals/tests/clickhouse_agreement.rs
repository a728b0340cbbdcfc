//! Agreement between DuckDB and ClickHouse: a demo organisation is imported and derived into a
//! DuckDB store, its records and facts are copied (as Parquet) into the ClickHouse schema of
//! `vitals-clickhouse` on a real loopback ClickHouse, and every catalogue metric is asked over
//! representative shapes — months; Helsinki days across DST; weeks × channel; weekday × hour in
//! New York; a filter; compare with the previous period; median and p90 — plus a drill-down
//! page, through the same `run_query` on both engines. Every number agrees within a relative
//! 1e-9, every `n` and key exactly; a metric with a ClickHouse engine note answers
//! `not_on_engine` there. Run on one node and on a two-shard cluster (`Distributed` tables
//! sharded by ticket).

mod clickhouse;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use clickhouse::{run, Servers};
use serde_json::Value;
use vitals_backend::Admin;
use vitals_clickhouse::{schema_ddl, ClickHouseAdmin, ClickHouseReader, Client, Layout};
use vitals_core::catalogue::{Catalogue, Target};
use vitals_core::config::{Config, StoreConfig};
use vitals_core::records::ENTITIES;
use vitals_query::plan::PlannedSql;
use vitals_query::{
    drill, run_query, AggRow, CompareMode, Dialect, DrillRequest, Engine, EngineError, FactsState,
    Filter, FilterOp, MetricSpec, QueryRequest, RecordRow,
};
use vitals_store::schema::FACT_DDL;

const DATABASE: &str = "vitals";

/// A demo store (1 500 tickets over seven months from December 2025) and its configuration.
fn demo(dir: &Path) -> (String, Config) {
    let db = dir.join("demo.duckdb");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["demo", "--db", db.to_str().unwrap(), "--tickets", "1500"])
        .env_remove("VITALS_DB")
        .output()
        .expect("vitals demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = Config::load(Some(&db.with_extension("toml"))).expect("demo configuration");
    (db.to_str().unwrap().to_string(), config)
}

/// The tables a query reads: records and the fold's facts (copied from DuckDB), and the
/// stored facts (built on ClickHouse by derivation).
fn tables(catalogue: &Catalogue, config: &Config) -> (Vec<String>, Vec<String>) {
    let fixed = ENTITIES
        .iter()
        .map(|e| e.name.to_string())
        .chain(FACT_DDL.iter().filter_map(|ddl| {
            ddl.split_whitespace()
                .nth(5)
                .map(|n| n.trim_end_matches('(').to_string())
        }))
        .collect();
    let stored = catalogue
        .stored_facts(config)
        .into_iter()
        .map(|f| f.name)
        .collect();
    (fixed, stored)
}

/// Copies the store's tables into ClickHouse on `urls` (one node, or the shards of cluster
/// `vitals`, inserting through the `Distributed` tables of the first).
fn load(db: &str, dir: &Path, urls: &[String], catalogue: &Catalogue, config: &Config) {
    let layout = if urls.len() > 1 {
        Layout::Cluster {
            name: "vitals".into(),
        }
    } else {
        Layout::Single
    };
    for url in urls {
        // The database first; then in it (the stored facts' statements name records as the
        // catalogue does, unqualified).
        for (i, statement) in schema_ddl(DATABASE, &layout).iter().enumerate() {
            let database = if i == 0 { "default" } else { DATABASE };
            run(url, database, statement).unwrap_or_else(|e| panic!("{e}\n{statement}"));
        }
    }
    let duck = duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .unwrap();
    let parquet = |table: &str| {
        let path = dir.join(format!("{table}.parquet"));
        duck.execute_batch(&format!(
            "COPY (SELECT * FROM {table}) TO '{}' (FORMAT parquet)",
            path.display()
        ))
        .unwrap();
        format!("file('{}', Parquet)", path.display())
    };
    let (fixed, stored) = tables(catalogue, config);
    for table in &fixed {
        let source = parquet(table);
        // A fact row is numbered within its ticket, as derivation numbers it (`_row`, with
        // `_version` and `_deleted` after it).
        let extra = if table.starts_with("fact_") {
            ", toUInt32(row_number() OVER (PARTITION BY ticket_id) - 1), 1, 0"
        } else {
            ""
        };
        run(
            &urls[0],
            DATABASE,
            &format!("INSERT INTO {DATABASE}.{table} SELECT *{extra} FROM {source}"),
        )
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
    // The stored facts: built by derivation from their statements (in ClickHouse's
    // spelling, with the configuration tables rendered for it), through the writer's seam.
    // Its ticket derivation folds the copied records again: the same facts.
    let store = vitals_clickhouse::ClickHouseStore::open(&StoreConfig {
        engine: "clickhouse".into(),
        url: Some(urls[0].clone()),
        database: DATABASE.into(),
        cluster: (urls.len() > 1).then(|| "vitals".to_string()),
    })
    .unwrap();
    let inputs = vitals_backend::DerivationInputs::new(config, catalogue).unwrap();
    let derived = vitals_backend::Writer::derive(&store, &inputs).unwrap();
    assert_eq!(
        derived.stored_facts_rebuilt as usize,
        stored.len(),
        "every stored fact built"
    );
}

/// The ClickHouse reader, answering with the derivation state of the store its data was
/// copied from (the copy brings records and facts, not the writer's bookkeeping of them).
pub struct CopiedFacts {
    /// The reader.
    pub reader: ClickHouseReader,
    /// The derivation state of the store the data came from.
    pub facts: FactsState,
}

impl Engine for CopiedFacts {
    fn dialect(&self) -> &dyn Dialect {
        self.reader.dialect()
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        self.reader.aggregate(plan)
    }

    fn aggregate_all(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, EngineError> {
        self.reader.aggregate_all(plans)
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        self.reader.extent(sql)
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Ok(self.facts.clone())
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        self.reader.records(plan)
    }
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The shapes every metric is asked in: (name, request without metrics).
fn shapes() -> Vec<(&'static str, QueryRequest)> {
    let quarter = |by: &[&str], zone: &str| QueryRequest {
        by: by.iter().map(|d| d.to_string()).collect(),
        from: date(2026, 1, 1),
        to: date(2026, 4, 1),
        timezone: Some(zone.into()),
        ..Default::default()
    };
    vec![
        ("months", quarter(&["time:month"], "Europe/Helsinki")),
        (
            "helsinki days across DST",
            QueryRequest {
                by: vec!["time:day".into()],
                from: date(2026, 3, 25),
                to: date(2026, 4, 2),
                timezone: Some("Europe/Helsinki".into()),
                ..Default::default()
            },
        ),
        (
            "weeks × channel",
            quarter(&["time:week", "ticket:channel"], "UTC"),
        ),
        (
            "weekday × hour in New York",
            quarter(&["time:weekday", "time:hour"], "America/New_York"),
        ),
        (
            "a filter",
            QueryRequest {
                filters: vec![Filter {
                    dimension: "ticket:channel".into(),
                    op: FilterOp::IsNot,
                    values: vec!["email".into()],
                }],
                ..quarter(&["time:month"], "Europe/Helsinki")
            },
        ),
        (
            "compare with the previous period",
            QueryRequest {
                compare: Some(CompareMode::Previous),
                ..quarter(&["time:month"], "Europe/Helsinki")
            },
        ),
    ]
}

/// Where two answers (as JSON) differ: numbers beyond a relative 1e-9, anything else at all.
fn differences(path: &str, duck: &Value, ch: &Value, out: &mut Vec<String>) {
    match (duck, ch) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if (a - b).abs() > 1e-9 * a.abs().max(b.abs()) {
                out.push(format!("{path}: DuckDB {a}, ClickHouse {b}"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (a, b)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), a, b, out);
            }
        }
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() => {
            for (k, a) in a {
                match b.get(k) {
                    Some(b) => differences(&format!("{path}.{k}"), a, b, out),
                    None => out.push(format!("{path}.{k}: missing on ClickHouse")),
                }
            }
        }
        _ if duck == ch => {}
        _ => out.push(format!("{path}: DuckDB {duck}, ClickHouse {ch}")),
    }
}

/// Every catalogue metric in every shape (median and p90 for distributions), and a drill-down
/// page, on DuckDB and on ClickHouse: the disagreements, and how many answers were compared.
fn compare(
    duck: &dyn Engine,
    ch: &CopiedFacts,
    catalogue: &Catalogue,
    config: &Config,
) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut compared = 0;
    for metric in &catalogue.metrics {
        let specs: Vec<MetricSpec> = if metric.has_distribution() {
            ["median", "p90", "mean"]
                .iter()
                .map(|s| MetricSpec::parse(&format!("{}:{s}", metric.id)))
                .collect()
        } else {
            vec![MetricSpec::parse(&metric.id)]
        };
        for (shape, base) in shapes() {
            let request = QueryRequest {
                metrics: specs.clone(),
                ..base
            };
            let on_duck = run_query(duck, catalogue, config, &request);
            let on_ch = run_query(ch, catalogue, config, &request);
            let what = format!("{} / {shape}", metric.id);
            match (on_duck, on_ch) {
                (Ok(a), Ok(b)) => {
                    compared += 1;
                    differences(
                        &what,
                        &serde_json::to_value(&a).unwrap(),
                        &serde_json::to_value(&b).unwrap(),
                        &mut out,
                    );
                }
                (Ok(_), Err(e)) if metric.engine_note(Target::ClickHouse).is_some() => {
                    if e.code() != "not_on_engine" {
                        out.push(format!("{what}: expected not_on_engine, got {e}"));
                    }
                }
                (Err(a), Err(b)) if a.code() == b.code() => {}
                (a, b) => out.push(format!(
                    "{what}: DuckDB {:?}, ClickHouse {:?}",
                    a.err(),
                    b.err()
                )),
            }
        }
        if metric.calculation.is_row_wise() && metric.engine_note(Target::ClickHouse).is_none() {
            let request = DrillRequest {
                query: QueryRequest {
                    metrics: vec![specs[0].clone()],
                    by: vec!["time:month".into()],
                    from: date(2026, 1, 1),
                    to: date(2026, 4, 1),
                    timezone: Some("Europe/Helsinki".into()),
                    ..Default::default()
                },
                cell: BTreeMap::from([("time:month".to_string(), Some("2026-02".to_string()))]),
                page: 1,
                page_size: 20,
            };
            compared += compare_drill(
                (duck, ch),
                catalogue,
                config,
                &request,
                &format!("{} / drill-down", metric.id),
                true,
                &mut out,
            );
        }
        compared += compare_bucket_dimensions(duck, ch, catalogue, config, metric, &mut out);
    }
    (out, compared)
}

/// A dimension read at each bucket's end (the backlog's age band) pairs buckets with rows in
/// its own statement: each such dimension by month, and a drill-down into each of its
/// February cells, on both engines. Returns how many answers were compared.
fn compare_bucket_dimensions(
    duck: &dyn Engine,
    ch: &CopiedFacts,
    catalogue: &Catalogue,
    config: &Config,
    metric: &vitals_core::catalogue::Metric,
    out: &mut Vec<String>,
) -> usize {
    let mut compared = 0;
    for (name, sql) in catalogue.dimensions_of(metric) {
        if !vitals_query::snapshot::reads_bucket(&sql) {
            continue;
        }
        let query = QueryRequest {
            metrics: vec![MetricSpec::parse(&metric.id)],
            by: vec!["time:month".into(), name.clone()],
            from: date(2026, 1, 1),
            to: date(2026, 4, 1),
            timezone: Some("Europe/Helsinki".into()),
            ..Default::default()
        };
        let what = format!("{} / months × {name}", metric.id);
        let (on_duck, on_ch) = (
            run_query(duck, catalogue, config, &query),
            run_query(ch, catalogue, config, &query),
        );
        let (Ok(a), Ok(b)) = (&on_duck, &on_ch) else {
            out.push(format!(
                "{what}: DuckDB {:?}, ClickHouse {:?}",
                on_duck.err(),
                on_ch.err()
            ));
            continue;
        };
        compared += 1;
        let a = serde_json::to_value(a).unwrap();
        differences(&what, &a, &serde_json::to_value(b).unwrap(), out);
        let cells: Vec<String> = a["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["dimensions"]["time:month"] == "2026-02")
            .filter_map(|row| row["dimensions"][&name].as_str().map(String::from))
            .collect();
        if cells.is_empty() {
            out.push(format!("{what}: no February cells to drill into"));
        }
        for value in cells {
            let request = DrillRequest {
                query: query.clone(),
                cell: BTreeMap::from([
                    ("time:month".to_string(), Some("2026-02".to_string())),
                    (name.clone(), Some(value.clone())),
                ]),
                page: 1,
                page_size: 20,
            };
            let what = format!("{what} / drill-down {value}");
            // A cell the query answered must drill on both engines.
            compared += compare_drill((duck, ch), catalogue, config, &request, &what, false, out);
        }
    }
    compared
}

/// Drills `request` on both engines and notes their differences in `out`: 1 when both
/// answered (and were compared), 0 when both refused alike (a difference unless
/// `both_may_refuse`).
fn compare_drill(
    (duck, ch): (&dyn Engine, &dyn Engine),
    catalogue: &Catalogue,
    config: &Config,
    request: &DrillRequest,
    what: &str,
    both_may_refuse: bool,
    out: &mut Vec<String>,
) -> usize {
    match (
        drill(duck, catalogue, config, request),
        drill(ch, catalogue, config, request),
    ) {
        (Ok(a), Ok(b)) => {
            differences(
                what,
                &serde_json::to_value(&a).unwrap(),
                &serde_json::to_value(&b).unwrap(),
                out,
            );
            1
        }
        (Err(a), Err(b)) if both_may_refuse && a.code() == b.code() => 0,
        (a, b) => {
            out.push(format!(
                "{what}: DuckDB {:?}, ClickHouse {:?}",
                a.err(),
                b.err()
            ));
            0
        }
    }
}

fn agreement(shards: usize) {
    let Some(servers) = Servers::start(shards) else {
        return;
    };
    std::env::set_var("VITALS_NOW", "2026-07-01T00:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = demo(dir.path());
    {
        let store = vitals_store::Store::open(&db).unwrap();
        for new in notes() {
            store.add_annotation(&new).unwrap();
        }
    }
    let catalogue = Catalogue::builtin().unwrap();
    load(&db, dir.path(), &servers.urls, &catalogue, &config);
    let reader = vitals_store::Reader::open(&db).unwrap();
    // The fold's facts are DuckDB's, copied (and derived again): as current as there; the
    // stored ones as ClickHouse's derivation built them, under their statements in
    // ClickHouse's spelling.
    // Read as the store reads (`final = 1`): derivation superseded the copied fact rows.
    let client = Client::new(&servers.urls[0], DATABASE, None).with_setting("final", "1");
    let mut facts = reader.facts_state().unwrap();
    facts.stored_facts = ClickHouseReader::open(client.clone())
        .unwrap()
        .facts_state()
        .unwrap()
        .stored_facts;
    let expected: BTreeMap<String, String> = catalogue
        .for_target(Target::ClickHouse)
        .unwrap()
        .stored_facts(&config)
        .into_iter()
        .map(|f| (f.name, f.sql))
        .collect();
    assert_eq!(
        facts.stored_facts, expected,
        "the stored facts' fingerprints"
    );
    let ch = CopiedFacts {
        reader: ClickHouseReader::open(client.clone()).unwrap(),
        facts,
    };
    let (mut disagreements, compared) = compare(&reader, &ch, &catalogue, &config);
    operational_reads(
        &db,
        &reader,
        &ch.reader,
        &ClickHouseAdmin::new(client),
        &mut disagreements,
    );
    assert!(compared > 300, "only {compared} answers compared");
    assert!(
        disagreements.is_empty(),
        "{} disagreements over {compared} answers:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Annotations added on both engines (a quote and a backslash included).
fn notes() -> Vec<vitals_query::NewAnnotation> {
    [
        ("2026-03-14", "Product launch", Some("launch")),
        ("2026-03-13", "Outage: it's \\ back", None),
    ]
    .into_iter()
    .map(|(date, text, category)| vitals_query::NewAnnotation {
        date: date.parse().unwrap(),
        text: text.into(),
        category: category.map(String::from),
    })
    .collect()
}

/// The operational reads agree: open SLA targets, a ticket's detail (for a sample of tickets,
/// and none for an unknown one), and the annotations (the same ones added on both sides).
fn operational_reads(
    db: &str,
    duck: &vitals_store::Reader,
    ch: &ClickHouseReader,
    admin: &ClickHouseAdmin,
    out: &mut Vec<String>,
) {
    use vitals_query::OperationalReads;
    let (a, b) = (
        duck.open_sla_targets().unwrap(),
        ch.open_sla_targets().unwrap(),
    );
    assert!(!a.is_empty(), "the demo has open SLA targets");
    if a != b {
        out.push(format!(
            "open SLA targets: {} on DuckDB, {} on ClickHouse, or different",
            a.len(),
            b.len()
        ));
    }
    let tickets: Vec<String> = {
        let conn = duckdb::Connection::open_with_flags(
            db,
            duckdb::Config::default()
                .access_mode(duckdb::AccessMode::ReadOnly)
                .unwrap(),
        )
        .unwrap();
        let mut stmt = conn
            .prepare("SELECT ticket_id FROM tickets ORDER BY ticket_id LIMIT 40")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    for id in tickets.iter().map(String::as_str).chain(["no such ticket"]) {
        let (a, b) = (
            duck.ticket_detail(id).unwrap(),
            ch.ticket_detail(id).unwrap(),
        );
        if a != b {
            out.push(format!("ticket {id}: DuckDB {a:?}\nClickHouse {b:?}"));
        }
    }
    for new in notes() {
        admin.add_annotation(&new).unwrap();
    }
    let (a, b) = (duck.annotations().unwrap(), ch.annotations().unwrap());
    assert_eq!(a.len(), 2);
    if a != b {
        out.push(format!("annotations: DuckDB {a:?}, ClickHouse {b:?}"));
    }
}

#[test]
fn every_metric_agrees_on_one_clickhouse_node() {
    agreement(1);
}

#[test]
fn every_metric_agrees_on_a_two_shard_cluster() {
    agreement(2);
}
