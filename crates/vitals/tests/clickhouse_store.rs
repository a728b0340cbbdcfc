//! vitals on a ClickHouse store, through the real binary: `store init` (twice: idempotent,
//! and `--print` without a server), `import` of a generated canonical data set and of a
//! `--from zendesk` export, and derivation, give the same numbers as the same commands on
//! DuckDB (relative 1e-9, identical `n`); a re-import changes nothing; an updated record
//! wins; `derive --partition 0/2` and `1/2` equal one derivation; a derivation killed with
//! `kill -9` half-way is completed by the next; and import, derivation and numbers agree on a
//! two-shard cluster too. Each test works in a database of its own, so they can share a
//! server. Numbers are compared as `vitals query --json` answers them on each engine.

mod clickhouse;
#[path = "clickhouse_store/report.rs"]
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clickhouse::{run, Servers};
use serde_json::Value;
use vitals_clickhouse::Client;

/// Metrics of the ticket facts the writer derives, in shapes that read every fact table.
const METRICS: &[&str] = &[
    "ticket_volume",
    "first_response_time:median",
    "first_response_time:business_mean",
    "resolution_time:p90",
    "first_resolution_time:mean",
    "fcr",
    "reopen_rate",
    "sla_compliance",
    // The catalogue's stored facts (survey responses, quality reviews, calls, mentions).
    "csat",
    "nps",
    "ces",
    "iqs",
    "adherence",
    "service_level",
    "average_handle_time_calls",
    "abandon_rate",
    "social_sentiment",
];

/// `dir/name` with one record of `data/name` changed: the first whose `when` column holds
/// `when_value`, its `column` set by `change` (the stored facts must follow it).
fn change_one(
    data: &Path,
    dir: &Path,
    name: &str,
    (when, when_value): (&str, &str),
    column: &str,
    change: impl Fn(&str) -> String,
) {
    let text = std::fs::read_to_string(data.join(name)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let at = |c: &str| columns.iter().position(|n| *n == c).unwrap();
    let mut row: Vec<String> = lines
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
        .find(|r| r[at(when)] == when_value)
        .unwrap_or_else(|| panic!("no {name} row with {when} = {when_value}"));
    row[at(column)] = change(&row[at(column)]);
    std::fs::write(dir.join(name), format!("{header}\n{}\n", row.join(","))).unwrap();
}

fn vitals(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vitals"));
    command
        .args(args)
        .env_remove("VITALS_DB")
        .env_remove("VITALS_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run vitals")
}

/// Runs vitals, which must succeed; its output. Imports merge in slices of 700 staged
/// records here (the default is 5 M), so that a merge in many slices is checked too — its
/// counts and numbers must be those of one (the other ClickHouse suites merge in one).
fn ok(args: &[&str]) -> String {
    let out = vitals(args, &[("VITALS_CLICKHOUSE_MERGE_SLICE_ROWS", "700")]);
    assert!(
        out.status.success(),
        "vitals {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A generated organisation (canonical CSV files and its configuration).
fn generate(dir: &Path, tickets: u32) -> PathBuf {
    let data = dir.join("data");
    ok(&[
        "generate",
        "--out",
        data.to_str().unwrap(),
        "--tickets",
        &tickets.to_string(),
    ]);
    data
}

/// The data set's configuration with `[store]` on ClickHouse at `url` in `database`.
fn clickhouse_config(dir: &Path, base: &str, url: &str, database: &str, cluster: bool) -> String {
    let path = dir.join(format!("{database}.toml"));
    let cluster = if cluster {
        "cluster = \"vitals\"\n"
    } else {
        ""
    };
    std::fs::write(
        &path,
        format!("{base}\n[store]\nengine = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"{database}\"\n{cluster}"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// Where two answers differ: numbers beyond a relative 1e-9, anything else at all.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 1e-9 * x.abs().max(y.abs()) {
                out.push(format!("{path}: DuckDB {x}, ClickHouse {y}"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            for (k, x) in x {
                match y.get(k) {
                    Some(y) => differences(&format!("{path}.{k}"), x, y, out),
                    None => out.push(format!("{path}.{k}: missing on ClickHouse")),
                }
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: DuckDB {a}, ClickHouse {b}")),
    }
}

/// `vitals query --json` of [`METRICS`] (by month when `by_month`) on one engine.
fn query(config: &str, db: Option<&str>, by_month: bool) -> Value {
    let mut args = vec![
        "--config",
        config,
        "query",
        "--json",
        "--tz",
        "Europe/Helsinki",
    ];
    for m in METRICS {
        args.extend(["--metric", m]);
    }
    if by_month {
        args.extend(["--by", "time:month"]);
    }
    if let Some(db) = db {
        args.extend(["--db", db]);
    }
    let out = vitals(&args, &[("VITALS_NOW", "2026-07-01T00:00:00Z")]);
    assert!(
        out.status.success(),
        "vitals {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The same query on the DuckDB file (under `duck_config`) and on ClickHouse (`config`):
/// equal numbers (relative 1e-9) and identical `n`, keys and warnings.
fn assert_agree(duck_db: &Path, duck_config: &Path, config: &str, by_month: bool) {
    let a = query(
        duck_config.to_str().unwrap(),
        Some(duck_db.to_str().unwrap()),
        by_month,
    );
    let b = query(config, None, by_month);
    let rows = a["results"].as_array().map_or(0, |r| r.len());
    assert!(
        rows >= if by_month { 3 } else { 1 },
        "too little to compare: {a}"
    );
    assert!(
        a["results"][0]["metrics"]
            .as_object()
            .is_some_and(|m| m.len() > 3),
        "{a}"
    );
    let mut out = Vec::new();
    differences("", &a, &b, &mut out);
    assert!(
        out.is_empty(),
        "{} differences:\n{}",
        out.len(),
        out.join("\n")
    );
}

/// A number a statement answers, read with `final = 1`.
fn count(url: &str, database: &str, sql: &str) -> u64 {
    Client::new(url, database, None)
        .with_setting("final", "1")
        .query(sql)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// One value a statement answers, read with `final = 1`.
fn text(url: &str, database: &str, sql: &str) -> String {
    Client::new(url, database, None)
        .with_setting("final", "1")
        .query(sql)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn commands_on_clickhouse_give_duckdbs_numbers_and_reimports_change_nothing() {
    let Some(servers) = Servers::start(1) else {
        return;
    };
    let url = &servers.urls[0];
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 600);
    let base_path = data.join("vitals.toml");
    let base = std::fs::read_to_string(&base_path).unwrap();
    let config = clickhouse_config(dir.path(), &base, url, "store_cmds", false);
    let printed = ok(&["--config", &config, "store", "init", "--print"]);
    assert!(printed.contains("CREATE TABLE IF NOT EXISTS store_cmds.tickets"));
    for _ in 0..2 {
        let said = ok(&["--config", &config, "store", "init"]);
        assert!(said.contains("schema ready"), "{said}");
    }
    let duck = dir.path().join("duck.duckdb");
    let (duck_s, base_s, data_s) = (
        duck.to_str().unwrap(),
        base_path.to_str().unwrap(),
        data.to_str().unwrap(),
    );
    let first = ok(&["--config", &config, "import", data_s]);
    assert!(
        first.contains("ticket facts derived for 600 tickets"),
        "{first}"
    );
    ok(&["--config", base_s, "import", data_s, "--db", duck_s]);
    assert_agree(&duck, &base_path, &config, true);
    report::assert_reports_agree(dir.path(), &duck, &base_path, &config);

    // The same files again: every record unchanged, nothing derived, the same numbers.
    let again = ok(&["--config", &config, "import", data_s]);
    assert!(again.contains("derived for 0 tickets"), "{again}");
    let line = again
        .lines()
        .find(|l| l.contains(" tickets "))
        .expect("a tickets line");
    let fields: Vec<&str> = line
        .split(|c: char| c == '│' || c.is_whitespace())
        .filter(|f| !f.is_empty())
        .collect();
    assert_eq!(fields, ["tickets", "600", "600", "0", "0", "0", "600", "0"]);
    assert_agree(&duck, &base_path, &config, true);

    // An update wins: a ticket's channel and priority changed, on both engines.
    let tickets = std::fs::read_to_string(data.join("tickets.csv")).unwrap();
    let mut lines = tickets.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let first_row: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut changed = first_row.clone();
    let channel = columns.iter().position(|c| *c == "channel").unwrap();
    changed[channel] = if first_row[channel] == "chat" {
        "email"
    } else {
        "chat"
    }
    .into();
    let update = dir.path().join("update");
    std::fs::create_dir(&update).unwrap();
    std::fs::write(
        update.join("tickets.csv"),
        format!("{header}\n{}\n", changed.join(",")),
    )
    .unwrap();
    let updated = ok(&["--config", &config, "import", update.to_str().unwrap()]);
    assert!(updated.contains("derived for 1 tickets"), "{updated}");
    ok(&[
        "--config",
        base_s,
        "import",
        update.to_str().unwrap(),
        "--db",
        duck_s,
    ]);
    let id = &first_row[columns.iter().position(|c| *c == "ticket_id").unwrap()];
    let stored = text(
        url,
        "store_cmds",
        &format!("SELECT channel FROM store_cmds.tickets WHERE ticket_id = '{id}'"),
    );
    assert_eq!(stored, changed[channel]);
    assert_eq!(
        count(url, "store_cmds", "SELECT count() FROM store_cmds.tickets"),
        600
    );
    assert_agree(&duck, &base_path, &config, true);
    let commits = count(
        url,
        "store_cmds",
        "SELECT count() FROM store_cmds.vitals_commits",
    );
    assert!(commits >= 2, "the data version moved: {commits} rows");
    assert_a_moved_event_is_one_event(
        dir.path(),
        (&data, &duck, &base_path),
        (url, "store_cmds", &config),
    );

    // Records the stored facts follow, changed: a CSAT response's score and a call's talk
    // time. Their rows are recomputed (not rebuilt) and the numbers stay DuckDB's.
    let facts = dir.path().join("facts");
    std::fs::create_dir(&facts).unwrap();
    change_one(
        &data,
        &facts,
        "survey_responses.csv",
        ("survey", "csat"),
        "score",
        |s| if s == "5" { "1" } else { "5" }.into(),
    );
    change_one(
        &data,
        &facts,
        "calls.csv",
        ("abandoned", "false"),
        "talk_secs",
        |s| (s.parse::<u64>().unwrap_or(0) + 600).to_string(),
    );
    ok(&["--config", &config, "import", facts.to_str().unwrap()]);
    let derived = ok(&["--config", &config, "derive"]);
    assert!(derived.contains("nothing to derive"), "{derived}");
    ok(&[
        "--config",
        base_s,
        "import",
        facts.to_str().unwrap(),
        "--db",
        duck_s,
    ]);
    assert_eq!(
        count(
            url,
            "store_cmds",
            "SELECT count() FROM store_cmds.fact_survey_responses"
        ),
        count(
            url,
            "store_cmds",
            "SELECT count() FROM store_cmds.survey_responses"
        )
    );
    assert_agree(&duck, &base_path, &config, true);

    // Rubric weights changed: the quality reviews' fact is rebuilt (its fingerprint changed),
    // on both engines, to the same numbers.
    let reweighted = |path: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("accuracy = 3"), "{text}");
        let out = format!("{path}.reweighted.toml");
        std::fs::write(&out, text.replacen("accuracy = 3", "accuracy = 5", 1)).unwrap();
        out
    };
    let (duck_reweighted, reweighted_config) = (reweighted(base_s), reweighted(&config));
    let derived = ok(&["--config", &reweighted_config, "derive"]);
    assert!(derived.contains("1 stored facts were rebuilt"), "{derived}");
    ok(&["--config", &duck_reweighted, "derive", "--db", duck_s]);
    assert_agree(&duck, Path::new(&duck_reweighted), &reweighted_config, true);

    // An export of another system (`--from zendesk`), into a database of its own.
    let zendesk = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zendesk");
    let config = clickhouse_config(dir.path(), &base, url, "store_zendesk", false);
    ok(&["--config", &config, "store", "init"]);
    ok(&["--config", &config, "import", "--from", "zendesk", zendesk]);
    let duck = dir.path().join("zendesk.duckdb");
    let duck_s = duck.to_str().unwrap();
    ok(&[
        "--config", base_s, "import", "--from", "zendesk", zendesk, "--db", duck_s,
    ]);
    assert_agree(&duck, &base_path, &config, false);
}

/// `dir/ticket_events.csv` with one event of `data` — the first message — moved to another
/// ticket (the last of `tickets.csv`); its id and new ticket.
fn move_an_event(data: &Path, dir: &Path) -> (String, String) {
    let tickets = std::fs::read_to_string(data.join("tickets.csv")).unwrap();
    assert!(
        tickets.starts_with("ticket_id,"),
        "tickets.csv leads with its id"
    );
    let last = tickets.lines().last().unwrap();
    let target = last.split(',').next().unwrap().to_string();
    change_one(
        data,
        dir,
        "ticket_events.csv",
        ("kind", "message"),
        "ticket_id",
        |_| target.clone(),
    );
    let moved = std::fs::read_to_string(dir.join("ticket_events.csv")).unwrap();
    let event = moved.lines().nth(1).unwrap().split(',').next().unwrap();
    (event.to_string(), target)
}

/// Moves an event to another ticket on both engines: ClickHouse keeps one version of it (the
/// events' table is ordered by ticket, so the old ticket's copy gets a tombstone), derives
/// both tickets, and the numbers stay DuckDB's.
fn assert_a_moved_event_is_one_event(
    dir: &Path,
    (data, duck, duck_config): (&Path, &Path, &Path),
    (url, database, config): (&str, &str, &str),
) {
    let moved = dir.join("moved");
    std::fs::create_dir(&moved).unwrap();
    let (event, target) = move_an_event(data, &moved);
    let events = format!("SELECT count() FROM {database}.ticket_events");
    let before = count(url, database, &events);
    let out = ok(&["--config", config, "import", moved.to_str().unwrap()]);
    assert!(out.contains("derived for 2 tickets"), "{out}");
    ok(&[
        "--config",
        duck_config.to_str().unwrap(),
        "import",
        moved.to_str().unwrap(),
        "--db",
        duck.to_str().unwrap(),
    ]);
    let versions = text(
        url,
        database,
        &format!(
            "SELECT groupArray(ticket_id) FROM {database}.ticket_events WHERE event_id = '{event}'"
        ),
    );
    assert_eq!(versions, format!("['{target}']"), "event {event}");
    assert_eq!(
        count(url, database, &events),
        before,
        "a moved event is still one event"
    );
    assert_agree(duck, duck_config, config, true);
}

/// The configuration with one holiday less: the calendars' fingerprint changes, so every
/// ticket is derived again.
fn without_a_holiday(config: &str) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("\"2026-05-01\", "));
    let changed = text.replacen("\"2026-05-01\", ", "", 1);
    let path = format!("{config}.changed.toml");
    std::fs::write(&path, changed).unwrap();
    path
}

#[test]
fn partitioned_and_interrupted_derivations_equal_one_derivation() {
    let Some(servers) = Servers::start(1) else {
        return;
    };
    let url = &servers.urls[0];
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 1500);
    let base_path = data.join("vitals.toml");
    let base = std::fs::read_to_string(&base_path).unwrap();
    let data_s = data.to_str().unwrap();
    let duck = dir.path().join("duck.duckdb");
    let duck_s = duck.to_str().unwrap();
    ok(&[
        "--config",
        base_path.to_str().unwrap(),
        "import",
        data_s,
        "--db",
        duck_s,
    ]);
    let changed_base = without_a_holiday(base_path.to_str().unwrap());
    ok(&["--config", &changed_base, "derive", "--db", duck_s]);

    // Two partitions, one after the other (as two machines would, side by side).
    let config = clickhouse_config(dir.path(), &base, url, "store_parts", false);
    ok(&["--config", &config, "store", "init"]);
    ok(&["--config", &config, "import", data_s]);
    let changed = without_a_holiday(&config);
    let zero = ok(&["--config", &changed, "derive", "--partition", "0/2"]);
    let one = ok(&["--config", &changed, "derive", "--partition", "1/2"]);
    let folded = |text: &str| -> u64 {
        text.split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(folded(&zero) + folded(&one), 1500, "{zero}{one}");
    assert!(folded(&zero) > 0 && folded(&one) > 0);
    assert_agree(&duck, Path::new(&changed_base), &changed, true);
    // Every ticket's facts have two versions now; `store optimize` merges them (which a
    // partitioned derivation leaves to the user) and no number moves.
    assert!(one.contains("vitals store optimize"), "{one}");
    let merged = ok(&["--config", &changed, "store", "optimize"]);
    assert!(merged.contains("merged the row versions of"), "{merged}");
    assert_eq!(
        raw_count(url, "store_parts", "fact_tickets"),
        1500,
        "one version of each ticket's facts"
    );
    assert_agree(&duck, Path::new(&changed_base), &changed, true);

    // Killed half-way: small chunks make the derivation long enough to kill in the middle.
    let config = clickhouse_config(dir.path(), &base, url, "store_killed", false);
    ok(&["--config", &config, "store", "init"]);
    ok(&["--config", &config, "import", data_s]);
    let changed = without_a_holiday(&config);
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["--config", &changed, "derive"])
        .env("VITALS_CLICKHOUSE_CHUNK_TICKETS", "10")
        .env_remove("VITALS_DB")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let facts = "SELECT count() FROM store_killed.fact_tickets WHERE _version > (SELECT min(_version) FROM store_killed.fact_tickets)";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(url, "store_killed", facts) < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "derivation made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "derivation ended before it was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    let redone = count(url, "store_killed", facts);
    assert!(
        redone < 1500,
        "killed before the end: {redone} tickets re-derived"
    );
    let next = ok(&["--config", &changed, "derive"]);
    assert!(next.contains("1500 tickets were re-derived"), "{next}");
    // A whole derivation on one server merges the facts' versions itself.
    assert!(!next.contains("store optimize"), "{next}");
    assert_eq!(
        raw_count(url, "store_killed", "fact_tickets"),
        1500,
        "one version of each ticket's facts"
    );
    assert_agree(&duck, Path::new(&changed_base), &changed, true);
}

/// The rows of `table` as stored, every version (read without `FINAL`).
fn raw_count(url: &str, database: &str, table: &str) -> u64 {
    run(
        url,
        database,
        &format!("SELECT count() FROM {database}.{table} SETTINGS final = 0"),
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap()
}

#[test]
fn import_derive_and_numbers_agree_on_a_two_shard_cluster() {
    let Some(servers) = Servers::start(2) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 600);
    let base_path = data.join("vitals.toml");
    let base = std::fs::read_to_string(&base_path).unwrap();
    // The schema on every node; the writer talks to the first.
    for (i, url) in servers.urls.iter().enumerate() {
        let node = dir.path().join(format!("node{i}"));
        std::fs::create_dir(&node).unwrap();
        let config = clickhouse_config(&node, &base, url, "store_cluster", true);
        ok(&["--config", &config, "store", "init"]);
    }
    let config = clickhouse_config(dir.path(), &base, &servers.urls[0], "store_cluster", true);
    let data_s = data.to_str().unwrap();
    let first = ok(&["--config", &config, "import", data_s]);
    assert!(first.contains("derived for 600 tickets"), "{first}");
    let duck = dir.path().join("duck.duckdb");
    ok(&[
        "--config",
        base_path.to_str().unwrap(),
        "import",
        data_s,
        "--db",
        duck.to_str().unwrap(),
    ]);
    for (i, node) in servers.urls.iter().enumerate() {
        let local = count(
            node,
            "store_cluster",
            "SELECT count() FROM store_cluster.fact_tickets_local",
        );
        assert!(
            local > 0 && local < 600,
            "node {i} holds {local} of 600 tickets' facts"
        );
    }
    // The stored facts built on the cluster, each on its record's shard: with its ticket
    // where it has one.
    for (i, node) in servers.urls.iter().enumerate() {
        let local = count(
            node,
            "store_cluster",
            "SELECT count() FROM store_cluster.fact_calls_local",
        );
        let calls = count(
            node,
            "store_cluster",
            "SELECT count() FROM store_cluster.calls",
        );
        assert!(
            local > 0 && local < calls,
            "node {i} holds {local} of {calls} calls' facts"
        );
        let astray = count(
            node,
            "store_cluster",
            "SELECT count() FROM store_cluster.fact_calls_local WHERE ticket_id IS NOT NULL
             AND ticket_id NOT IN (SELECT ticket_id FROM store_cluster.tickets_local)",
        );
        assert_eq!(astray, 0, "node {i}: calls' facts away from their tickets");
    }
    assert_agree(&duck, &base_path, &config, true);
    // The monthly report on the cluster too (its backlog by age band once needed a correlated
    // subquery, which ClickHouse refuses over Distributed tables).
    report::assert_reports_agree(dir.path(), &duck, &base_path, &config);
    let again = ok(&["--config", &config, "import", data_s]);
    assert!(again.contains("derived for 0 tickets"), "{again}");
    assert_agree(&duck, &base_path, &config, true);
    // An event moved to another ticket, most likely on the other shard: its old copy gets a
    // tombstone on the old ticket's shard.
    assert_a_moved_event_is_one_event(
        dir.path(),
        (&data, &duck, &base_path),
        (&servers.urls[0], "store_cluster", &config),
    );
}
