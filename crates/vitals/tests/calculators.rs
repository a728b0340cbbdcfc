//! End to end: every acceptance example of docs/metrics.md comes out of `vitals calc`.

mod common;

use common::{ok, vitals};

fn value(args: &[&str]) -> f64 {
    let mut all = vec!["calc"];
    all.extend_from_slice(args);
    all.push("--json");
    let out: serde_json::Value = serde_json::from_str(&ok(&all)).unwrap();
    out["value"].as_f64().unwrap()
}

#[test]
fn acceptance_examples() {
    assert_eq!(
        value(&[
            "nps_shares",
            "--promoters_pct",
            "80",
            "--detractors_pct",
            "15"
        ]),
        65.0
    );
    assert_eq!(
        value(&[
            "nps_shares",
            "--promoters_pct",
            "70",
            "--detractors_pct",
            "10"
        ]),
        60.0
    );
    assert_eq!(
        value(&[
            "nps",
            "--promoters",
            "70",
            "--detractors",
            "10",
            "--responses",
            "100"
        ]),
        60.0
    );
    assert_eq!(
        value(&["csat", "--satisfied", "30", "--responses", "50"]),
        60.0
    );
    assert_eq!(
        value(&["csat", "--satisfied", "72", "--responses", "100"]),
        72.0
    );
    assert_eq!(
        value(&["crr", "--start", "100", "--end", "90", "--new", "15"]),
        75.0
    );
    assert_eq!(
        value(&["crr", "--start=200", "--end=200", "--new=20"]),
        90.0
    );
    assert_eq!(value(&["churn", "--start", "250", "--lost", "20"]), 8.0);
    assert_eq!(value(&["churn", "--start", "100", "--lost", "50"]), 50.0);
    assert_eq!(
        value(&["cac", "--spend", "10000", "--acquired", "20000"]),
        0.5
    );
    assert_eq!(
        value(&[
            "clv_purchase",
            "--purchase_value",
            "50",
            "--purchases_per_year",
            "5",
            "--years",
            "3"
        ]),
        750.0
    );
    assert_eq!(
        value(&["average_wait", "--total_wait", "500", "--answered", "200"]),
        2.5
    );
}

#[test]
fn list_and_mistakes() {
    let list = ok(&["calc", "--list"]);
    for name in [
        "nps",
        "csat",
        "ces",
        "crr",
        "churn",
        "cac",
        "clv_simple",
        "clv_purchase",
        "clv_historical",
        "clv_predictive",
        "average_wait",
        "service_level",
        "cost_per_resolution",
    ] {
        assert!(list.contains(name), "{name} missing from:\n{list}");
    }
    let text = ok(&["calc", "cac", "--spend", "10000", "--acquired", "20000"]);
    assert!(text.contains("= 0.5 currency"), "{text}");
    let out = vitals(&["calc", "nsp", "--promoters", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `nps`"));
    let out = vitals(&["calc", "cac", "--spend", "ten"]);
    assert_eq!(out.status.code(), Some(1));
    let out = vitals(&["calc", "cac", "--spend", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --acquired"));
}
