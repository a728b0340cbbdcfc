//! End to end: an injected spike is found with its date and size (`vitals spikes`), a quiet
//! series has none, annotations are stored, listed and deleted, and the report shows an
//! annotation beside its spike in both files; a spike made by one category is attributed to
//! it in the spike's breakdown (JSON and the printed table).

mod report_common;

use calamine::{open_workbook, Data, Reader, Xlsx};
use report_common::{ok, run, tags};
use serde_json::Value;

/// Ten weeks (from Monday 2026-01-05) of tickets: 20 on weekdays (12 billing, 8 login) and 6
/// on weekend days, with a small weekly wobble; on Wednesday 2026-03-18, 40 more billing.
fn write_tickets(dir: &std::path::Path) {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let mut rows = vec!["ticket_id,created_at,channel,category".to_string()];
    let mut id = 0;
    for d in 0..84 {
        let day = start + chrono::Duration::days(d);
        let weekend = d % 7 >= 5;
        let wobble = [0, 1, -1, 2, 0, -2, 1][(d / 7) as usize % 7];
        let mut billing = if weekend { 3 } else { 12 } + wobble;
        let login = if weekend { 3 } else { 8 };
        if day.to_string() == "2026-03-18" {
            billing += 40;
        }
        for (category, count) in [("billing", billing), ("login", login)] {
            for k in 0..count {
                id += 1;
                rows.push(format!(
                    "t{id},{day}T{:02}:15:00Z,email,{category}",
                    8 + k % 9
                ));
            }
        }
    }
    std::fs::write(dir.join("tickets.csv"), rows.join("\n") + "\n").unwrap();
}

/// The ten weeks of tickets imported into a store in a temporary folder; the folder and the
/// store's path.
fn imported() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_tickets(&data);
    let db = dir.path().join("s.duckdb").display().to_string();
    ok(&["import", &data.display().to_string(), "--db", &db]);
    (dir, db)
}

/// `vitals spikes` over March 2026 with more flags; what it prints.
fn march_spikes(db: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "spikes",
        "--db",
        db,
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

#[test]
fn spikes_are_found_sized_and_annotated() {
    let (dir, db) = imported();
    let out = ok(&[
        "annotate",
        "2026-03-18",
        "Product launch",
        "--category",
        "launch",
        "--db",
        &db,
    ]);
    assert!(out.contains("annotation 1"), "{out}");
    ok(&["annotate", "2026-02-02", "Unrelated note", "--db", &db]);
    let listed: Value = serde_json::from_str(&ok(&["annotations", "--db", &db, "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["text"], "Product launch");
    assert_eq!(listed[1]["category"], "launch");

    let spikes: Value = serde_json::from_str(&march_spikes(&db, &["--json"])).unwrap();
    let list = spikes["spikes"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{spikes:#}");
    let s = &list[0];
    assert_eq!(s["date"], "2026-03-18");
    // That Wednesday: 20 + wobble 2 + 40 injected; the 8 Wednesdays before: 20 + wobble
    // (−1, 2, 0, −2, 1, 0, 1, −1) → median 20.
    assert_eq!(s["count"], 62.0);
    assert_eq!(s["expected"], 20.0);
    assert_eq!(s["excess"], 42.0);
    assert_eq!(s["ratio"], 3.1);
    assert_eq!(s["annotations"][0]["text"], "Product launch");

    let by: Value =
        serde_json::from_str(&march_spikes(&db, &["--by", "ticket:category", "--json"])).unwrap();
    let list = by["spikes"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{by:#}");
    assert_eq!(list[0]["value"], "billing");
    assert_eq!(list[0]["excess"], 42.0);

    // The quiet weeks: no spike at all.
    let quiet: Value = serde_json::from_str(&ok(&[
        "spikes",
        "--db",
        &db,
        "--by",
        "ticket:category",
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-15",
        "--json",
    ]))
    .unwrap();
    assert!(quiet["spikes"].as_array().unwrap().is_empty(), "{quiet:#}");

    // The report shows the annotation beside its spike, in both files.
    let out_dir = dir.path().join("out").display().to_string();
    ok(&[
        "report", "--month", "2026-03", "--db", &db, "--out", &out_dir,
    ]);
    let html = std::fs::read_to_string(dir.path().join("out/vitals-report-2026-03.html")).unwrap();
    let mut in_row = false;
    let mut found = 0;
    for (name, attrs) in tags(&html) {
        if name == "tr" {
            in_row = attrs.get("data-spike").map(String::as_str) == Some("2026-03-18");
        } else if in_row
            && attrs.get("data-annotation").map(String::as_str) == Some("Product launch")
        {
            found += 1;
        }
    }
    assert_eq!(found, 2, "total and billing rows carry the annotation");
    let mut wb: Xlsx<_> = open_workbook(dir.path().join("out/vitals-report-2026-03.xlsx")).unwrap();
    let v = wb.worksheet_range("Ticket volume").unwrap();
    let rows_with_both = v
        .rows()
        .filter(|r| {
            r.iter()
                .any(|c| matches!(c, Data::String(s) if s == "2026-03-18"))
                && r.iter()
                    .any(|c| matches!(c, Data::String(s) if s == "Product launch"))
        })
        .count();
    assert_eq!(rows_with_both, 2);

    // Deleting.
    ok(&["annotations", "--db", &db, "--delete", "1"]);
    let out = run(&["annotations", "--db", &db, "--delete", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let listed: Value = serde_json::from_str(&ok(&["annotations", "--db", &db, "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // The method is documented.
    let method = ok(&["explain", "spikes"]);
    assert!(method.contains("median absolute deviation") && method.contains("3.5"));
}

#[test]
fn a_spike_made_by_one_category_is_attributed_to_it() {
    let (_dir, db) = imported();
    let answer: Value = serde_json::from_str(&march_spikes(&db, &["--json"])).unwrap();
    let spike = &answer["spikes"][0];
    let breakdown = spike["breakdown"].as_array().unwrap();
    let dimensions: Vec<&str> = breakdown
        .iter()
        .map(|d| d["dimension"].as_str().unwrap())
        .collect();
    assert_eq!(dimensions, ["ticket:category", "ticket:channel"]);
    // The 8 Wednesdays before hold 96 billing and 64 login tickets: billing is expected 60% of
    // the 20 usual tickets (12), and made all 42 of the excess; login made none.
    let category = &breakdown[0]["segments"];
    assert_eq!(category[0]["value"], "billing");
    assert_eq!(category[0]["count"], 54.0);
    assert_eq!(category[0]["expected"], 12.0);
    assert_eq!(category[0]["excess"], 42.0);
    assert_eq!(category[0]["share_of_excess"], 1.0);
    assert_eq!(category[0]["driver"], true);
    assert_eq!(category[1]["value"], "login");
    assert_eq!(category[1]["excess"], 0.0);
    assert_eq!(category[1]["driver"], false);
    for dimension in breakdown {
        let parts: f64 = dimension["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["excess"].as_f64().unwrap())
            .sum();
        assert!((parts - 42.0).abs() < 1e-9, "{dimension}");
    }
    let printed = march_spikes(&db, &[]);
    assert!(
        printed.contains("category billing +42.0 (100%)"),
        "{printed}"
    );
    // Split by category, the billing spike is broken down by channel only.
    let split: Value =
        serde_json::from_str(&march_spikes(&db, &["--by", "ticket:category", "--json"])).unwrap();
    let billing = &split["spikes"][0];
    assert_eq!(billing["value"], "billing");
    assert_eq!(billing["breakdown"][0]["dimension"], "ticket:channel");
    assert_eq!(billing["breakdown"][0]["segments"][0]["value"], "email");
    assert_eq!(billing["breakdown"][0]["segments"][0]["excess"], 42.0);
}
