//! The ClickHouse backend's admin part and read seam on a real loopback ClickHouse, on one
//! node and on a two-shard cluster: tokens created, listed and revoked; a survey link answered
//! once; annotations added and deleted; digest runs; alert states, history and outbox; an
//! interrupt that kills a long statement (and a reader usable again after its rearm); and the
//! data version moving with `vitals_commits`. Without chdb the tests say so and pass, except
//! under `CI=true`.

mod clickhouse;

use std::time::{Duration, Instant};

use clickhouse::{run, Servers};
use vitals_backend::{Admin, Reader, Scope, SurveyLink};
use vitals_clickhouse::{schema_ddl, ClickHouseAdmin, ClickHouseReader, Client, Layout};
use vitals_query::alerts::{AlertEvent, AlertState, Delivery, NoticeKind, SeriesState};
use vitals_query::plan::PlannedSql;
use vitals_query::{Engine, NewAnnotation, OperationalReads};

const DATABASE: &str = "vitals";

/// Servers with the schema, and a client of the first node.
fn store(shards: usize) -> Option<(Servers, Client)> {
    let servers = Servers::start(shards)?;
    let layout = if shards > 1 {
        Layout::Cluster {
            name: "vitals".into(),
        }
    } else {
        Layout::Single
    };
    for url in &servers.urls {
        for statement in schema_ddl(DATABASE, &layout) {
            run(url, "default", &statement).unwrap_or_else(|e| panic!("{e}\n{statement}"));
        }
    }
    let client = Client::new(&servers.urls[0], DATABASE, None);
    Some((servers, client))
}

fn state(value: f64) -> SeriesState {
    SeriesState {
        rule: "frt".into(),
        series: "total".into(),
        state: AlertState::Firing,
        consecutive: 2,
        since_us: Some(5),
        last_sent_us: Some(5),
        fingerprint: "abc".into(),
        value: Some(value),
        summary: "high".into(),
        evaluated_us: 5,
    }
}

fn notice() -> (AlertEvent, Vec<Delivery>) {
    let event = AlertEvent {
        id: 0,
        rule: "frt".into(),
        series: "total".into(),
        kind: NoticeKind::Firing,
        at_us: 5,
        value: Some(2.0),
        summary: "high\tand \"rising\"".into(),
        key: "abc-firing-5".into(),
    };
    let delivery = Delivery {
        key: event.key.clone(),
        channel: 0,
        kind: "webhook".into(),
        url: "http://127.0.0.1:9/".into(),
        body: "{\"text\": \"line\\nbreak\"}".into(),
        rule: "frt".into(),
        series: "total".into(),
        attempts: 0,
        next_attempt_us: 10,
        delivered_us: None,
        last_error: None,
    };
    (event, vec![delivery])
}

fn admin_round_trips(shards: usize) {
    let Some((_servers, client)) = store(shards) else {
        return;
    };
    let admin = ClickHouseAdmin::new(client.clone());
    // Reads go through another server's reader on a cluster: every node sees every row.
    let reader =
        ClickHouseReader::open(Client::new(&_servers.urls[shards - 1], DATABASE, None)).unwrap();

    // Tokens: shown once, stored hashed, revoked once.
    let (info, token) = admin
        .create_token("ci", &[Scope::Ingest, Scope::Read])
        .unwrap();
    let (other, _) = admin.create_token("root", &[Scope::Admin]).unwrap();
    let stored = admin.tokens().unwrap();
    assert_eq!(stored.len(), 2);
    let mine = stored.iter().find(|t| t.id == info.id).unwrap();
    assert_eq!(*mine, info);
    assert!(mine.matches(&token) && !token.contains(&mine.secret_hash));
    assert!(admin.revoke_token(&token).unwrap());
    assert!(!admin.revoke_token(&info.id).unwrap());
    assert!(!admin.revoke_token("nope").unwrap());
    let after = admin.tokens().unwrap();
    assert_eq!(after.len(), 2, "a revoked token is one row, not two");
    assert!(!after
        .iter()
        .find(|t| t.id == info.id)
        .unwrap()
        .grants(Scope::Read));
    assert!(after
        .iter()
        .find(|t| t.id == other.id)
        .unwrap()
        .grants(Scope::Read));

    // Survey links: one key, kept; a link answered once.
    let key = admin.survey_link_key().unwrap();
    assert_eq!(key.len(), 64);
    assert_eq!(admin.survey_link_key().unwrap(), key);
    assert_eq!(
        ClickHouseAdmin::new(client.clone())
            .survey_link_key()
            .unwrap(),
        key
    );
    let link = SurveyLink {
        link_id: "L1".into(),
        survey: "csat".into(),
        ticket_id: Some("T1".into()),
        customer_id: None,
        agent_id: Some("a'1".into()),
        expires_us: 1_800_000_000_000_000,
        used_us: None,
    };
    admin.add_survey_link(&link).unwrap();
    assert_eq!(reader.survey_link("L1").unwrap(), Some(link.clone()));
    assert!(admin.use_survey_link("L1").unwrap());
    assert!(!admin.use_survey_link("L1").unwrap(), "answered once");
    assert!(!admin.use_survey_link("nope").unwrap());
    let used = reader.survey_link("L1").unwrap().unwrap();
    assert!(used.used_us.is_some());
    assert_eq!(
        SurveyLink {
            used_us: None,
            ..used
        },
        link
    );
    assert_eq!(reader.survey_link("nope").unwrap(), None);

    // Annotations: numbered, listed by date then id, deleted once.
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
    let a = admin
        .add_annotation(&NewAnnotation {
            date,
            text: "Product launch".into(),
            category: Some("launch".into()),
        })
        .unwrap();
    let b = admin
        .add_annotation(&NewAnnotation {
            date: date.pred_opt().unwrap(),
            text: "Outage\twith a tab".into(),
            category: None,
        })
        .unwrap();
    assert_eq!((a.id, b.id), (1, 2));
    assert_eq!(reader.annotations().unwrap(), vec![b.clone(), a.clone()]);
    assert!(admin.delete_annotation(2).unwrap());
    assert!(!admin.delete_annotation(2).unwrap());
    assert_eq!(reader.annotations().unwrap(), vec![a]);
    let c = admin
        .add_annotation(&NewAnnotation {
            date,
            text: "Later".into(),
            category: None,
        })
        .unwrap();
    assert_eq!(c.id, 3, "a deleted annotation's id is not given again");

    // Digest runs: the last period per digest.
    assert!(reader.digest_runs().unwrap().is_empty());
    admin
        .record_digest_sent("monthly", "2026-05", "<a@x>")
        .unwrap();
    admin
        .record_digest_sent("tier2", "2026-05", "<b@x>")
        .unwrap();
    admin
        .record_digest_sent("monthly", "2026-06", "<c@x>")
        .unwrap();
    let runs = reader.digest_runs().unwrap();
    let periods: Vec<(&str, &str, &str)> = runs
        .iter()
        .map(|r| (r.name.as_str(), r.period.as_str(), r.message_id.as_str()))
        .collect();
    assert_eq!(
        periods,
        [
            ("monthly", "2026-06", "<c@x>"),
            ("tier2", "2026-05", "<b@x>")
        ]
    );
    assert!(runs[0].sent_at.ends_with('Z'));

    // Alerts: states replaced, events numbered, a delivery marked once.
    assert!(reader.alert_states().unwrap().is_empty());
    admin.record_alerts(&[state(1.0)], &[notice()]).unwrap();
    admin.record_alerts(&[state(2.0)], &[notice()]).unwrap();
    assert_eq!(reader.alert_states().unwrap(), vec![state(2.0)]);
    assert_eq!(admin.alert_states().unwrap(), vec![state(2.0)]);
    let events = reader.alert_events(10).unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(events[1].summary, notice().0.summary);
    assert_eq!(reader.alert_deliveries(10).unwrap().len(), 1, "queued once");
    assert!(admin.due_deliveries(9, 10).unwrap().is_empty());
    assert_eq!(reader.due_deliveries(10, 10).unwrap(), notice().1);
    admin
        .note_delivery("abc-firing-5", 0, 11, Err(("503".into(), 20)))
        .unwrap();
    assert!(admin.due_deliveries(19, 10).unwrap().is_empty());
    admin.note_delivery("abc-firing-5", 0, 21, Ok(())).unwrap();
    admin.note_delivery("abc-firing-5", 0, 22, Ok(())).unwrap();
    let all = reader.alert_deliveries(10).unwrap();
    assert_eq!(
        (
            all[0].attempts,
            all[0].delivered_us,
            all[0].last_error.as_deref()
        ),
        (2, Some(21), Some("503"))
    );
    assert!(admin.due_deliveries(i64::MAX, 10).unwrap().is_empty());
}

#[test]
fn admin_round_trips_on_one_node() {
    admin_round_trips(1);
}

#[test]
fn admin_round_trips_on_a_two_shard_cluster() {
    admin_round_trips(2);
}

/// A statement that runs for minutes unless killed.
fn slow() -> PlannedSql {
    PlannedSql {
        sql: "SELECT toString(count()), toFloat64(sum(sleepEachRow(0.5))) FROM numbers(600) \
              SETTINGS max_block_size = 1"
            .into(),
        params: Vec::new(),
        key_columns: 1,
        agg_columns: 1,
        components: Vec::new(),
    }
}

fn quick() -> PlannedSql {
    PlannedSql {
        sql: "SELECT ?, toFloat64(1)".into(),
        params: vec!["it's".into()],
        key_columns: 1,
        agg_columns: 1,
        components: Vec::new(),
    }
}

#[test]
fn an_interrupt_kills_running_statements_and_stops_later_ones_until_rearmed() {
    let Some((_servers, client)) = store(1) else {
        return;
    };
    let reader = ClickHouseReader::open(client.clone()).unwrap();
    let interrupter = reader.interrupter();
    let started = Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        interrupter.interrupt();
    });
    let plan = slow();
    let answer = reader.aggregate_all(&[&plan, &plan, &plan]);
    stopper.join().unwrap();
    let error = answer.unwrap_err().to_string();
    assert!(error.contains("interrupted"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the statements were killed: {:?}",
        started.elapsed()
    );
    assert!(reader.aggregate(&quick()).is_err(), "nothing starts after");
    // Nothing of the killed statements runs on the server any more.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let running = client
            .query("SELECT count() FROM system.processes WHERE query LIKE '%sleepEachRow(0.5)%' AND query NOT LIKE '%system.processes%'")
            .unwrap();
        if running.trim() == "0" {
            break;
        }
        assert!(Instant::now() < deadline, "{running} statements still run");
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.rearm();
    let rows = reader.aggregate(&quick()).unwrap();
    assert_eq!(rows[0].keys, vec![Some("it's".to_string())]);
    // A late interrupt from the earlier arming does nothing.
    let earlier = reader.interrupter();
    reader.rearm();
    earlier.interrupt();
    assert_eq!(reader.aggregate(&quick()).unwrap().len(), 1);
}

#[test]
fn the_data_version_moves_with_every_commit_row() {
    let Some((_servers, client)) = store(2) else {
        return;
    };
    let reader = ClickHouseReader::open(client.clone()).unwrap();
    let first = reader.data_version().unwrap();
    assert_eq!(first, Some(0));
    client
        .execute(&format!(
            "INSERT INTO {DATABASE}.vitals_commits (at, host, records) VALUES (now64(6), 'a', 3)"
        ))
        .unwrap();
    assert_eq!(reader.data_version().unwrap(), Some(1));
    // A commit noted through the other node counts too.
    Client::new(&_servers.urls[1], DATABASE, None)
        .execute(&format!(
            "INSERT INTO {DATABASE}.vitals_commits (at, host, records) VALUES (now64(6), 'b', 1)"
        ))
        .unwrap();
    assert_eq!(reader.data_version().unwrap(), Some(2));
    assert_eq!(reader.try_clone().unwrap().data_version().unwrap(), Some(2));
}

#[test]
fn a_database_without_the_schema_is_the_users_to_fix() {
    let Some(servers) = Servers::start(1) else {
        return;
    };
    run(&servers.urls[0], "default", "CREATE DATABASE empty").unwrap();
    let error = ClickHouseReader::open(Client::new(&servers.urls[0], "empty", None))
        .err()
        .unwrap();
    assert!(error.is_user_error(), "{error}");
    assert!(error.to_string().contains("vitals store init"), "{error}");
}
