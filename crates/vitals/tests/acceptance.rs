//! The acceptance examples of docs/metrics.md, encoded as data, imported and queried through the
//! real binary: every one must come out exactly.

mod common;

use common::{cell, close, write_csv, Workspace};

const JAN: &str = "2026-01-15T12:00:00+02:00";

fn responses(ws: &Workspace, survey: &str, scores: &[(u32, usize)]) {
    let mut rows = Vec::new();
    for (score, count) in scores {
        for _ in 0..*count {
            rows.push(format!("r{},{survey},{score},{JAN}", rows.len()));
        }
    }
    write_csv(
        &ws.data(),
        "survey_responses",
        "response_id,survey,score,answered_at",
        &rows,
    );
    ws.import();
}

fn jan(ws: &Workspace, metric: &str) -> (Option<f64>, u64) {
    ws.total(metric, "2026-01-01", "2026-02-01", "Europe/Helsinki")
}

#[test]
fn nps_80_promoters_15_detractors_is_65() {
    let ws = Workspace::new();
    responses(&ws, "nps", &[(10, 8), (9, 8), (8, 1), (3, 3)]);
    let (v, n) = jan(&ws, "nps");
    close(v, 65.0);
    assert_eq!(n, 20);
    close(jan(&ws, "nps_promoters").0, 80.0);
    close(jan(&ws, "nps_detractors").0, 15.0);
    close(jan(&ws, "nps_passives").0, 5.0);
}

#[test]
fn nps_70_promoters_10_detractors_is_60() {
    let ws = Workspace::new();
    // 100 responses: 70 × 9–10, 20 × 7–8, 10 × 1–6.
    responses(
        &ws,
        "nps",
        &[(9, 35), (10, 35), (7, 10), (8, 10), (1, 5), (6, 5)],
    );
    let (v, n) = jan(&ws, "nps");
    close(v, 60.0);
    assert_eq!(n, 100);
}

#[test]
fn csat_30_of_50_is_60_percent() {
    let ws = Workspace::new();
    responses(&ws, "csat", &[(5, 10), (4, 20), (3, 10), (1, 10)]);
    let (v, n) = jan(&ws, "csat");
    close(v, 60.0);
    assert_eq!(n, 50);
}

#[test]
fn csat_43_satisfied_29_very_satisfied_of_100_is_72_percent() {
    let ws = Workspace::new();
    responses(&ws, "csat", &[(4, 43), (5, 29), (3, 14), (2, 8), (1, 6)]);
    close(jan(&ws, "csat").0, 72.0);
    // The mean on the survey's own scale: (43·4 + 29·5 + 14·3 + 8·2 + 6·1) / 100.
    close(
        jan(&ws, "csat_mean").0,
        (172.0 + 145.0 + 42.0 + 16.0 + 6.0) / 100.0,
    );
}

/// Customers: `start` active on 1 Jan, `lost` of them churn in January, `new` acquired in January.
fn customers(ws: &Workspace, start: usize, lost: usize, new: usize) {
    let mut rows = Vec::new();
    for i in 0..start {
        let churned = if i < lost {
            "2026-01-20T10:00:00+02:00"
        } else {
            ""
        };
        rows.push(format!("old{i},2025-06-01T10:00:00+03:00,{churned}"));
    }
    for i in 0..new {
        rows.push(format!("new{i},2026-01-10T10:00:00+02:00,"));
    }
    write_csv(
        &ws.data(),
        "customers",
        "customer_id,acquired_at,churned_at",
        &rows,
    );
    ws.import();
}

#[test]
fn retention_s100_e90_n15_is_75_percent() {
    let ws = Workspace::new();
    customers(&ws, 100, 25, 15); // E = 75 + 15 = 90
    let (v, n) = jan(&ws, "retention_rate");
    close(v, 75.0);
    assert_eq!(n, 100);
}

#[test]
fn retention_s200_e200_n20_is_90_percent() {
    let ws = Workspace::new();
    customers(&ws, 200, 20, 20);
    close(jan(&ws, "retention_rate").0, 90.0);
}

#[test]
fn churn_20_of_250_is_8_percent() {
    let ws = Workspace::new();
    customers(&ws, 250, 20, 7);
    let (v, n) = jan(&ws, "churn_rate");
    close(v, 8.0);
    assert_eq!(n, 250);
}

#[test]
fn churn_half_of_100_over_a_year_is_50_percent() {
    let ws = Workspace::new();
    let mut rows = Vec::new();
    for i in 0..100 {
        let churned = if i % 2 == 0 {
            format!("2026-{:02}-15T10:00:00Z", 1 + i % 12)
        } else {
            String::new()
        };
        rows.push(format!("c{i},2025-03-01T10:00:00Z,{churned}"));
    }
    write_csv(
        &ws.data(),
        "customers",
        "customer_id,acquired_at,churned_at",
        &rows,
    );
    ws.import();
    let r = ws.query(&[
        "--metric",
        "churn_rate",
        "--by",
        "time:year",
        "--from",
        "2026-01-01",
        "--to",
        "2027-01-01",
    ]);
    let (v, n) = cell(&r, &[("time:year", "2026")], "churn_rate");
    close(v, 50.0);
    assert_eq!(n, 100);
}

#[test]
fn cac_10000_over_20000_customers_is_half_a_dollar() {
    let ws = Workspace::new();
    let rows: Vec<String> = (0..20_000)
        .map(|i| format!("c{i},2026-01-{:02}T10:00:00Z", 1 + i % 28))
        .collect();
    write_csv(&ws.data(), "customers", "customer_id,acquired_at", &rows);
    write_csv(
        &ws.data(),
        "costs",
        "cost_id,period_start,period_end,kind,amount,currency",
        &[
            "m1,2026-01-01,2026-02-01,sales_marketing,10000,USD".into(),
            "s1,2026-01-01,2026-02-01,support_operations,99999,USD".into(),
        ],
    );
    ws.import();
    let r = ws.query(&[
        "--metric",
        "cac",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
    ]);
    let (v, n) = cell(&r, &[], "cac");
    close(v, 0.5);
    assert_eq!(n, 20_000);
}

#[test]
fn average_wait_500_minutes_over_200_answered_calls_is_2_5_minutes() {
    let ws = Workspace::new();
    let mut rows = Vec::new();
    for i in 0..200 {
        // 100 calls wait 2 min, 100 wait 3 min: 500 min in all.
        let wait = if i % 2 == 0 { "10:02:00" } else { "10:03:00" };
        rows.push(format!(
            "k{i},2026-01-05T10:00:00Z,2026-01-05T{wait}Z,2026-01-05T10:30:00Z"
        ));
    }
    // Abandoned calls have no wait and do not count.
    rows.push("x1,2026-01-05T10:00:00Z,,2026-01-05T10:20:00Z".into());
    write_csv(
        &ws.data(),
        "calls",
        "call_id,offered_at,answered_at,ended_at",
        &rows,
    );
    ws.import();
    let (v, n) = jan(&ws, "average_wait_time");
    close(v, 150.0);
    assert_eq!(n, 200);
    let (rate, offered) = jan(&ws, "answer_rate");
    close(rate, 100.0 * 200.0 / 201.0);
    assert_eq!(offered, 201);
}
