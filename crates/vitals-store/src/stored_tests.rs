//! Stored facts: kept incrementally they equal a build from scratch; a configuration change
//! rebuilds exactly the facts that read it; a query warns, naming `vitals derive`, about a
//! table built under another configuration (and answers from it) or never built (and
//! computes it in the query).

use vitals_backend::Derivation;
use vitals_core::catalogue::{Catalogue, StoredFact};
use vitals_core::config::{Config, DerivationRules};
use vitals_core::records::{Record, Value};
use vitals_query::{run_query, MetricSpec, QueryRequest};

use super::tests::{load, record};
use super::*;

/// 2026-03-02T09:00:00Z plus `minutes`.
fn at(minutes: i64) -> Value {
    Value::Timestamp(1_772_442_000_000_000 + minutes * 60_000_000)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn response(id: &str, survey: &str, score: f64) -> Record {
    record(
        "survey_responses",
        &[
            ("response_id", text(id)),
            ("survey", text(survey)),
            ("score", Value::Number(score)),
            ("scale_min", Value::Integer(1)),
            (
                "scale_max",
                Value::Integer(if survey == "ces" { 7 } else { 5 }),
            ),
            ("answered_at", at(1)),
            ("ticket_id", text("t1")),
        ],
    )
}

fn criterion(review: &str, name: &str, score: f64, rubric: &str) -> Record {
    record(
        "quality_reviews",
        &[
            ("review_id", text(review)),
            ("agent_id", text("a1")),
            ("reviewed_at", at(2)),
            ("rubric", text(rubric)),
            ("criterion", text(name)),
            ("score", Value::Number(score)),
            ("max_score", Value::Number(4.0)),
        ],
    )
}

fn mention(id: &str, words: &str) -> Record {
    record(
        "social_mentions",
        &[
            ("mention_id", text(id)),
            ("platform", text("twitter")),
            ("at", at(3)),
            ("text", text(words)),
        ],
    )
}

fn call(id: &str, wait_minutes: i64) -> Record {
    record(
        "calls",
        &[
            ("call_id", text(id)),
            ("queue", text("support")),
            ("offered_at", at(0)),
            ("answered_at", at(wait_minutes)),
            ("ended_at", at(wait_minutes + 5)),
        ],
    )
}

fn config(text: &str) -> Config {
    Config::parse(text, "vitals.toml").unwrap()
}

fn stored(config: &Config) -> Vec<StoredFact> {
    Catalogue::builtin().unwrap().stored_facts(config)
}

fn derive(store: &Store, stored: &[StoredFact]) -> Derivation {
    store
        .derive_touched(&DerivationRules::default(), stored)
        .unwrap()
}

/// Rows of each stored table that its statement, run now from scratch, does not give (and
/// the reverse): none when the table is current.
fn assert_current(store: &Store, facts: &[StoredFact]) {
    for f in facts {
        let differ = store
            .count(&format!(
                "SELECT count(*) FROM ((SELECT * FROM {name} EXCEPT ALL ({sql}))
                 UNION ALL ((SELECT * FROM ({sql})) EXCEPT ALL SELECT * FROM {name}))",
                name = f.name,
                sql = f.sql
            ))
            .unwrap();
        assert_eq!(differ, 0, "{} differs from a build from scratch", f.name);
    }
}

fn first_import(store: &Store) {
    load(
        store,
        "survey_responses",
        &[
            response("r1", "csat", 5.0),
            response("r2", "csat", 3.0),
            response("r3", "ces", 2.0),
        ],
    );
    load(
        store,
        "quality_reviews",
        &[
            criterion("q1", "empathy", 3.0, "v1"),
            criterion("q1", "accuracy", 4.0, "v1"),
            criterion("q2", "empathy", 2.0, "v1"),
        ],
    );
    load(
        store,
        "social_mentions",
        &[
            mention("m1", "love the fast reply"),
            mention("m2", "still waiting"),
        ],
    );
    load(store, "calls", &[call("c1", 1), call("c2", 4)]);
}

#[test]
fn kept_incrementally_the_stored_facts_equal_a_build_from_scratch() {
    let store = Store::open_in_memory().unwrap();
    let facts = stored(&Config::default());
    assert_eq!(facts.len(), 4);
    first_import(&store);
    assert_eq!(derive(&store, &facts).stored_facts_rebuilt, 4);
    assert_current(&store, &facts);

    // Changed and new records, and records re-imported unchanged, in small batches.
    load(
        &store,
        "survey_responses",
        &[
            response("r2", "csat", 4.0),
            response("r4", "csat", 1.0),
            response("r3", "ces", 2.0),
        ],
    );
    load(
        &store,
        "quality_reviews",
        &[
            criterion("q1", "accuracy", 1.0, "v1"),
            criterion("q3", "empathy", 4.0, "v1"),
        ],
    );
    load(
        &store,
        "social_mentions",
        &[
            mention("m2", "thanks, fixed"),
            mention("m3", "broken again"),
        ],
    );
    load(&store, "calls", &[call("c2", 9), call("c3", 2)]);
    assert_eq!(
        store
            .count("SELECT count(*) FROM vitals_touched_records")
            .unwrap(),
        8
    );
    assert_eq!(derive(&store, &facts).stored_facts_rebuilt, 0, "by key");
    assert_current(&store, &facts);
    assert_eq!(
        store
            .count("SELECT count(*) FROM vitals_touched_records")
            .unwrap(),
        0
    );
    let top_box = |id: &str| {
        store
            .count(&format!(
                "SELECT CAST(top_box AS BIGINT) FROM fact_survey_responses WHERE response_id = '{id}'"
            ))
            .unwrap()
    };
    assert_eq!((top_box("r2"), top_box("r4")), (1, 0));
    let sentiment: String = store
        .conn
        .query_row(
            "SELECT sentiment_final FROM fact_mentions WHERE mention_id = 'm2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sentiment, "positive");

    // Nothing changed: nothing to do.
    assert_eq!(derive(&store, &facts), Derivation::default());
}

#[test]
fn records_written_wholesale_rebuild_the_facts_that_follow_them() {
    let store = Store::open_in_memory().unwrap();
    first_import(&store);
    let facts = stored(&Config::default());
    derive(&store, &facts);
    // As a merge of more than `WHOLESALE` changed calls leaves it: no ids, one mark.
    store
        .conn
        .execute_batch(
            "UPDATE calls SET answered_at = ended_at;
             INSERT INTO vitals_touched_records VALUES ('calls', NULL)",
        )
        .unwrap();
    assert_eq!(derive(&store, &facts).stored_facts_rebuilt, 1);
    assert_current(&store, &facts);
}

#[test]
fn a_configuration_change_rebuilds_the_facts_that_read_it() {
    let store = Store::open_in_memory().unwrap();
    first_import(&store);
    let plain = stored(&Config::default());
    derive(&store, &plain);
    assert_eq!(derive(&store, &plain), Derivation::default());

    let strict = config("[surveys.csat]\ntop_box = [5]\n");
    let facts = stored(&strict);
    assert_eq!(derive(&store, &facts).stored_facts_rebuilt, 1);
    assert_current(&store, &facts);
    let in_top_box = store
        .count("SELECT count(*) FROM fact_survey_responses WHERE top_box")
        .unwrap();
    assert_eq!(in_top_box, 1, "only the 5 of r1");

    let weighted = config("[quality.rubrics.v1]\nempathy = 3\naccuracy = 1\n");
    let facts = stored(&weighted);
    assert_eq!(
        derive(&store, &facts).stored_facts_rebuilt,
        2,
        "survey rules back, weights"
    );
    assert_current(&store, &facts);
    let q1: f64 = store
        .conn
        .query_row(
            "SELECT review_score FROM fact_quality_reviews WHERE review_id = 'q1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        (q1 - 100.0 * (3.0 * 0.75 + 1.0 * 1.0) / 4.0).abs() < 1e-9,
        "{q1}"
    );
}

#[test]
fn queries_warn_on_facts_of_another_configuration_or_never_built() {
    let store = Store::open_in_memory().unwrap();
    first_import(&store);
    // As a store upgraded by a command that does not derive: no stored facts yet.
    derive(&store, &[]);
    let catalogue = Catalogue::builtin().unwrap();
    let request = QueryRequest {
        metrics: vec![MetricSpec::parse("csat")],
        timezone: Some("UTC".into()),
        ..Default::default()
    };
    let reader = store.reader().unwrap();
    let plain = Config::default();
    // Two responses are a low sample; nothing else is to be said when the facts are current.
    let codes = |a: &vitals_query::QueryResponse| -> Vec<String> {
        let codes = a.meta.warnings.iter().map(|w| w.code.clone());
        codes.filter(|c| c != "low_sample").collect()
    };
    let csat = |a: &vitals_query::QueryResponse| a.results[0].metrics[0].1.value;
    let answer = run_query(&reader, &catalogue, &plain, &request).unwrap();
    assert_eq!(codes(&answer), ["stale_facts"]);
    let warning = answer
        .meta
        .warnings
        .iter()
        .find(|w| w.code == "stale_facts");
    assert!(warning.unwrap().message.contains("not built"));
    assert!(warning.unwrap().message.contains("vitals derive"));
    assert_eq!(csat(&answer), Some(50.0), "computed in the query");

    derive(&store, &stored(&plain));
    let answer = run_query(&reader, &catalogue, &plain, &request).unwrap();
    assert!(codes(&answer).is_empty(), "{:?}", answer.meta.warnings);
    assert_eq!(csat(&answer), Some(50.0));

    // Survey rules changed since: the stored table answers, with a warning naming the fix.
    let strict = config("[surveys.csat]\ntop_box = [3, 4, 5]\n");
    let answer = run_query(&reader, &catalogue, &strict, &request).unwrap();
    assert_eq!(codes(&answer), ["stale_facts"]);
    let warning = answer
        .meta
        .warnings
        .iter()
        .find(|w| w.code == "stale_facts");
    assert!(warning.unwrap().message.contains("vitals derive"));
    assert_eq!(csat(&answer), Some(50.0));
    derive(&store, &stored(&strict));
    let answer = run_query(&reader, &catalogue, &strict, &request).unwrap();
    assert!(codes(&answer).is_empty(), "{:?}", answer.meta.warnings);
    assert_eq!(csat(&answer), Some(100.0));
}
