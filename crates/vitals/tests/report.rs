//! End to end: `vitals report` on a generated organisation. Every number of the workbook
//! (read back with calamine) and of the HTML (its `data-*` values) equals `vitals query` for
//! the same metric, month and dimension; the calculator reproduces docs/metrics.md's acceptance
//! examples; a month without data is an error naming the months with data; a month in
//! progress is marked partial. "What moved" lists exactly the headline metrics whose change is
//! significant (and that `vitals why` splits), each with `vitals why`'s change and driving
//! segments, in both files.

mod report_common;

use std::collections::HashMap;
use std::path::Path;

use calamine::{open_workbook, Data, Range, Reader, Xlsx};
use report_common::{close, ok, run, tags, value_in, Org};
use serde_json::Value;

const MONTH: &str = "2026-05";
const FIRST: &str = "2025-12-01";
const FROM: &str = "2026-05-01";
const TO: &str = "2026-06-01";
const MONTHS: [&str; 6] = [
    "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
];

fn num(r: &Range<Data>, row: u32, col: u32) -> Option<f64> {
    match r.get_value((row, col)) {
        Some(Data::Float(f)) => Some(*f),
        Some(Data::Int(i)) => Some(*i as f64),
        Some(Data::DateTime(d)) => Some(d.as_f64()),
        _ => None,
    }
}

fn text(r: &Range<Data>, row: u32, col: u32) -> String {
    match r.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        _ => String::new(),
    }
}

/// A cell value back in the query's unit.
fn from_cell(v: f64, unit: &str) -> f64 {
    match unit {
        "seconds" => v * 86_400.0,
        "percent" => v * 100.0,
        _ => v,
    }
}

struct Checker<'a> {
    org: &'a Org,
    queries: HashMap<String, Value>,
    units: HashMap<String, String>,
    compared: usize,
}

impl Checker<'_> {
    fn query(&mut self, key: &str, by: &[&str], from: &str) -> Value {
        let id = format!("{key}|{}|{from}", by.join(","));
        if !self.queries.contains_key(&id) {
            let v = self.org.query(key, by, from, TO);
            self.queries.insert(id.clone(), v);
        }
        self.queries[&id].clone()
    }

    fn unit(&mut self, key: &str) -> String {
        let id = key.split(':').next().unwrap().to_string();
        if !self.units.contains_key(&id) {
            let doc: Value = serde_json::from_str(&ok(&["explain", &id, "--json"])).unwrap();
            self.units
                .insert(id.clone(), doc["unit"].as_str().unwrap().to_string());
        }
        self.units[&id].clone()
    }

    /// One shown value against the query's.
    fn check(&mut self, what: &str, shown: Option<f64>, expected: Option<f64>, n: Option<f64>) {
        match (shown, expected) {
            (Some(s), Some(e)) => assert!(close(s, e), "{what}: shown {s}, query {e}"),
            (None, e) => assert!(
                e.is_none() || n == Some(0.0),
                "{what}: not shown, query {e:?} (n {n:?})"
            ),
            (Some(s), None) => panic!("{what}: shown {s}, query has no value"),
        }
        self.compared += 1;
    }
}

fn breakdown_dims(b: &str) -> Vec<(String, String)> {
    b.split_once('=')
        .map(|(d, v)| vec![(d.to_string(), v.to_string())])
        .unwrap_or_default()
}

/// The Metrics sheet's metric rows, the team and agent tables, and the volume data.
fn check_workbook(c: &mut Checker, path: &Path) {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Metrics",
            "What moved",
            "Ticket volume",
            "Formulas",
            "Staffing"
        ]
    );
    let m = wb.worksheet_range("Metrics").unwrap();
    let header = (0..40).find(|r| text(&m, *r, 2) == "Key").expect("header");
    for (i, month) in MONTHS.iter().enumerate() {
        assert_eq!(text(&m, header, 4 + i as u32), *month);
    }
    let n_col = 4 + 6 + 6;
    let mut row = header + 1;
    let mut metrics = 0;
    while !text(&m, row, 2).is_empty() {
        let key = text(&m, row, 2);
        let unit = c.unit(&key);
        let bd = breakdown_dims(&text(&m, row, 3));
        let response = c.query(&key, &["time:month"], FIRST);
        for (i, month) in MONTHS.iter().enumerate() {
            let mut dims: Vec<(&str, &str)> = vec![("time:month", month)];
            dims.extend(bd.iter().map(|(d, v)| (d.as_str(), v.as_str())));
            let shown = num(&m, row, 4 + i as u32).map(|v| from_cell(v, &unit));
            let expected = value_in(&response, &dims, &key, "value");
            let n = value_in(&response, &dims, &key, "n");
            c.check(&format!("xlsx {key} {bd:?} {month}"), shown, expected, n);
            if i == 5 {
                c.check(&format!("xlsx n {key}"), num(&m, row, n_col), n, n);
            }
        }
        metrics += 1;
        row += 1;
    }
    assert!(metrics >= 50, "only {metrics} metric rows");
    // Ranked tables: a grey row under each header names every column's query.
    let mut tables = 0;
    for r in row..row + 400 {
        let dim = text(&m, r, 1);
        if text(&m, r, 0) != "Rank" {
            continue;
        }
        tables += 1;
        let mut col = 3;
        while !text(&m, r + 1, col).is_empty() {
            let spec = text(&m, r + 1, col);
            let parts: Vec<&str> = spec.split(' ').collect();
            let (col_dim, key) = (parts[0], parts[1]);
            let bd: Vec<(String, String)> = parts[2..]
                .iter()
                .filter(|p| p.contains('='))
                .flat_map(|p| breakdown_dims(p))
                .collect();
            let part = if parts.last() == Some(&"n") {
                "n"
            } else {
                "value"
            };
            let unit = if part == "n" {
                "count".into()
            } else {
                c.unit(key)
            };
            let response = c.query(key, &[col_dim], FROM);
            let mut rr = r + 2;
            while !text(&m, rr, 1).is_empty() {
                let name = text(&m, rr, 1);
                if !name.contains(": median of ") {
                    let mut dims = vec![(col_dim, name.as_str())];
                    dims.extend(bd.iter().map(|(d, v)| (d.as_str(), v.as_str())));
                    let shown = num(&m, rr, col).map(|v| from_cell(v, &unit));
                    let expected = value_in(&response, &dims, key, part);
                    let n = value_in(&response, &dims, key, "n");
                    c.check(&format!("xlsx {dim} {name} {spec}"), shown, expected, n);
                }
                rr += 1;
            }
            col += 1;
        }
    }
    assert_eq!(tables, 2, "team and agent tables");
    // The volume sheet's daily data (what the charts draw).
    let v = wb.worksheet_range("Ticket volume").unwrap();
    let mut blocks = 0;
    for r in 0..80 {
        for col in 0..40 {
            if text(&v, r, col) != "Day" {
                continue;
            }
            blocks += 1;
            let spec = text(&v, r + 1, col + 1);
            let dim = spec.split(' ').nth(1).unwrap().to_string();
            let response = c.query("ticket_volume", &["time:day", &dim], FROM);
            let mut k = col + 1;
            while !text(&v, r, k).is_empty() {
                let name = text(&v, r, k);
                for d in 0..31 {
                    let day = text(&v, r + 2 + d, col);
                    let dims = [("time:day", day.as_str()), (dim.as_str(), name.as_str())];
                    let expected =
                        value_in(&response, &dims, "ticket_volume", "value").or(Some(0.0));
                    c.check(
                        &format!("xlsx volume {name} {day}"),
                        num(&v, r + 2 + d, k),
                        expected,
                        None,
                    );
                }
                k += 1;
            }
        }
    }
    assert_eq!(blocks, 2, "category and channel data");
}

fn check_html(c: &mut Checker, html: &str) {
    let mut row: HashMap<String, String> = HashMap::new();
    for (name, attrs) in tags(html) {
        if name == "tr" {
            row = attrs;
            continue;
        }
        if name != "td" && name != "output" {
            continue;
        }
        let Some(shown) = attrs.get("data-value").and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        if let (Some(key), Some(month)) = (row.get("data-metric"), attrs.get("data-month")) {
            let bd = row
                .get("data-breakdown")
                .map(|b| breakdown_dims(b))
                .unwrap_or_default();
            let response = c.query(key, &["time:month"], FIRST);
            let mut dims = vec![("time:month", month.as_str())];
            dims.extend(bd.iter().map(|(d, v)| (d.as_str(), v.as_str())));
            let expected = value_in(&response, &dims, key, "value");
            let n = value_in(&response, &dims, key, "n");
            c.check(&format!("html {key} {month}"), Some(shown), expected, n);
        } else if row.get("data-kind").map(String::as_str) == Some("row") {
            let (key, dim, part) = (
                &attrs["data-metric"],
                &attrs["data-dimension"],
                &attrs["data-part"],
            );
            let bd = attrs
                .get("data-breakdown")
                .map(|b| breakdown_dims(b))
                .unwrap_or_default();
            let response = c.query(key, &[dim], FROM);
            let mut dims = vec![(dim.as_str(), row["data-name"].as_str())];
            dims.extend(bd.iter().map(|(d, v)| (d.as_str(), v.as_str())));
            let expected = value_in(&response, &dims, key, part);
            c.check(&format!("html {dim} {key}"), Some(shown), expected, None);
        } else if let (Some(series), Some(day)) = (row.get("data-series"), attrs.get("data-day")) {
            let dim = format!("ticket:{series}");
            let response = c.query("ticket_volume", &["time:day", &dim], FROM);
            let dims = [
                ("time:day", day.as_str()),
                (dim.as_str(), row["data-name"].as_str()),
            ];
            let expected = value_in(&response, &dims, "ticket_volume", "value").or(Some(0.0));
            c.check(&format!("html volume {day}"), Some(shown), expected, None);
        }
    }
}

/// The headline keys whose change the Metrics table marks significant (rows without a breakdown).
fn significant_headlines(org: &Org, html: &str) -> Vec<String> {
    let catalogue: Value = serde_json::from_str(&ok(&["catalogue", "--json"])).unwrap();
    let headline: Vec<String> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            let id = m["id"].as_str().unwrap().to_string();
            match &m["headline"] {
                Value::Bool(true) => vec![id],
                Value::Array(stats) => stats
                    .iter()
                    .map(|s| format!("{id}:{}", s.as_str().unwrap()))
                    .collect(),
                _ => Vec::new(),
            }
        })
        .collect();
    let mut row: Option<String> = None;
    let mut significant = Vec::new();
    for (name, attrs) in tags(html) {
        if name == "tr" {
            row = attrs
                .get("data-metric")
                .filter(|_| !attrs.contains_key("data-breakdown"))
                .cloned();
        } else if name == "td"
            && attrs.contains_key("data-change")
            && attrs.get("class").map(String::as_str) == Some("sig")
        {
            significant.extend(row.clone().filter(|k| headline.contains(k)));
        }
    }
    // Those `vitals why` splits (not shares, composites, spreads or cost ratios).
    significant.retain(|key| {
        let out = run(&why_args(org, key));
        out.status.success()
            || !String::from_utf8_lossy(&out.stderr).contains("cannot be explained by segments")
    });
    significant
}

fn why_args<'a>(org: &'a Org, key: &'a str) -> Vec<&'a str> {
    vec![
        "why",
        "--db",
        &org.db,
        "--config",
        &org.config,
        "--json",
        "--metric",
        key,
        "--from",
        FROM,
        "--to",
        TO,
    ]
}

/// "What moved" lists the significant headline metrics, each with `vitals why`'s change and
/// the driving segments of its (at most two) explaining dimensions, in the HTML and the workbook.
fn check_what_moved(org: &Org, html: &str, xlsx: &Path) {
    let expected = significant_headlines(org, html);
    assert!(
        !expected.is_empty(),
        "the month has a significant headline change"
    );
    let all = tags(html);
    let listed: Vec<&String> = all
        .iter()
        .filter(|(name, attrs)| name == "p" && attrs.contains_key("data-moved"))
        .map(|(_, attrs)| &attrs["data-moved"])
        .collect();
    assert_eq!(listed, expected.iter().collect::<Vec<_>>());
    let mut wb: Xlsx<_> = open_workbook(xlsx).unwrap();
    let sheet = wb.worksheet_range("What moved").unwrap();
    let cells: Vec<String> = sheet.rows().flatten().map(|d| d.to_string()).collect();
    for key in &expected {
        let answer: Value = serde_json::from_str(&ok(&why_args(org, key))).unwrap();
        let summary = all
            .iter()
            .find(|(name, attrs)| name == "p" && attrs.get("data-moved") == Some(key))
            .unwrap();
        let change: f64 = summary.1["data-change"].parse().unwrap();
        assert!(close(change, answer["change"].as_f64().unwrap()), "{key}");
        let drivers: Vec<(String, String, f64)> = answer["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["segments_needed"].as_u64() > Some(0))
            .take(2)
            .flat_map(|d| {
                d["segments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["driver"] == true)
                    .take(5)
                    .map(|s| {
                        (
                            d["dimension"].as_str().unwrap().to_string(),
                            s["value"].as_str().unwrap_or("(none)").to_string(),
                            s["contribution"].as_f64().unwrap(),
                        )
                    })
            })
            .collect();
        let mut in_table = false;
        let mut shown = Vec::new();
        for (name, attrs) in &all {
            if name == "table" {
                in_table = attrs.get("data-moved") == Some(key);
            } else if name == "tr" && in_table && attrs.contains_key("data-segment") {
                shown.push((
                    attrs["data-dimension"].clone(),
                    attrs["data-segment"].clone(),
                    attrs["data-contribution"].parse::<f64>().unwrap(),
                ));
            }
        }
        assert_eq!(
            shown.len(),
            drivers.len(),
            "{key}: {shown:?} != {drivers:?}"
        );
        for ((d, v, x), (ed, ev, ex)) in shown.iter().zip(&drivers) {
            assert!(
                d == ed && v == ev && close(*x, *ex),
                "{key}: {shown:?} != {drivers:?}"
            );
            assert!(cells.contains(v), "the workbook names {v}");
        }
        let row = (0..sheet.height() as u32)
            .find(|r| text(&sheet, *r, 1) == *key)
            .expect("the metric's row");
        assert!(close(num(&sheet, row, 2).unwrap(), change), "{key}");
        assert!(text(&sheet, row, 0).starts_with(answer["label"].as_str().unwrap()));
    }
}

#[test]
fn every_number_in_both_files_equals_vitals_query() {
    let org = Org::new("3000");
    let (xlsx, html_path) = org.report(MONTH, &[]);
    let mut c = Checker {
        org: &org,
        queries: HashMap::new(),
        units: HashMap::new(),
        compared: 0,
    };
    check_workbook(&mut c, &xlsx);
    let in_workbook = c.compared;
    let html = std::fs::read_to_string(&html_path).unwrap();
    check_html(&mut c, &html);
    check_what_moved(&org, &html, &xlsx);
    assert!(
        in_workbook > 1000 && c.compared - in_workbook > 1000,
        "{in_workbook} / {}",
        c.compared
    );
    // Self-contained: nothing loaded from elsewhere.
    for banned in ["src=\"http", "href=\"http", "@import", "<link"] {
        assert!(!html.contains(banned), "{banned}");
    }
    assert!(html.contains("<svg") && html.contains("<title>"));
    // Staffing equals `vitals staffing`.
    let staffing: Value = serde_json::from_str(&ok(&[
        "staffing",
        "--db",
        &org.db,
        "--config",
        &org.config,
        "--month",
        MONTH,
        "--json",
    ]))
    .unwrap();
    let first = &staffing["cells"][0];
    let needle = format!(
        "data-weekday=\"{}\" data-hour=\"{}\"><td class=\"name\">",
        first["weekday"].as_str().unwrap(),
        first["hour"].as_str().unwrap()
    );
    assert!(html.contains(&needle), "{needle}");
    assert!(html.contains(&format!("data-agents=\"{}\"", first["agents_needed"])));
}

#[test]
fn the_calculator_reproduces_the_acceptance_examples() {
    let org = Org::new("600");
    let (xlsx, html_path) = org.report(MONTH, &["--format", "xlsx,html"]);
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let f = wb.worksheet_range("Formulas").unwrap();
    let formulas = wb.worksheet_formula("Formulas").unwrap();
    let header = (0..20).find(|r| text(&f, *r, 0) == "Calculator").unwrap();
    let result_col = 11;
    let mut examples = 0;
    let mut r = header + 1;
    while !text(&f, r, 0).is_empty() {
        let formula = formulas
            .get_value((r, result_col))
            .cloned()
            .unwrap_or_default();
        assert!(!formula.is_empty(), "row {r} has no formula");
        if let Some(expected) = num(&f, r, result_col + 2) {
            let got = num(&f, r, result_col).unwrap();
            assert!(
                close(got, expected),
                "{}: {got} ≠ {expected}",
                text(&f, r, 0)
            );
            examples += 1;
        }
        r += 1;
    }
    // 12 examples of docs/metrics.md (NPS ×3, CSAT ×2, CRR ×2, churn ×2, CAC, CLV, wait) + Erlang C.
    assert_eq!(examples, 13);
    let html = std::fs::read_to_string(html_path).unwrap();
    assert!(html.contains("data-calc=\"erlang_c\""));
    assert!(html.contains("function erlang("));
}

#[test]
fn a_month_without_data_names_the_months_with_data_and_a_running_month_is_partial() {
    let org = Org::new("600");
    let out = run(&[
        "report",
        "--month",
        "2024-01",
        "--db",
        &org.db,
        "--config",
        &org.config,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no data in 2024-01") && err.contains("2025-12") && err.contains("2026-06"),
        "{err}"
    );
    let out_dir = org.dir.path().join("partial");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args([
            "report",
            "--month",
            "2026-06",
            "--db",
            &org.db,
            "--config",
            &org.config,
            "--out",
        ])
        .arg(&out_dir)
        .env("VITALS_NOW", "2026-06-20T12:00:00Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(out_dir.join("vitals-report-2026-06.html")).unwrap();
    assert!(html.contains("data-partial=\"true\"") && html.contains("2026-06 (partial)"));
    let mut wb: Xlsx<_> = open_workbook(out_dir.join("vitals-report-2026-06.xlsx")).unwrap();
    for sheet in ["Metrics", "Ticket volume", "Formulas", "Staffing"] {
        let r = wb.worksheet_range(sheet).unwrap();
        assert!(text(&r, 0, 0).contains("PARTIAL"), "{sheet}");
    }
}

#[test]
fn a_team_without_tickets_gets_a_report_that_says_so() {
    let org = Org::new("600");
    let out_dir = org.dir.path().join("nobody");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args([
            "report",
            "--month",
            "2026-06",
            "--team",
            "nobody",
            "--db",
            &org.db,
            "--config",
            &org.config,
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut wb: Xlsx<_> = open_workbook(out_dir.join("vitals-report-2026-06.xlsx")).unwrap();
    let r = wb.worksheet_range("Ticket volume").unwrap();
    let said = (0..r.height() as u32).any(|row| text(&r, row, 0).contains("no tickets this month"));
    assert!(said, "the volume sheet says why it has no chart");
}

#[test]
fn templates_are_written_and_used() {
    let org = Org::new("600");
    let dir = org.dir.path().join("tpl");
    let dir_s = dir.display().to_string();
    ok(&["report", "--write-template", &dir_s]);
    let path = dir.join("report.html");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("Customer service report", "Support monthly"),
    )
    .unwrap();
    let (_, html) = org.report(MONTH, &["--format", "html", "--template", &dir_s]);
    assert!(std::fs::read_to_string(html)
        .unwrap()
        .contains("Support monthly"));
}
