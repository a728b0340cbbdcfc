//! The report's calculator: one row per worked example, for every formula of `vitals calc`
//! and Erlang C. Each row carries its inputs, the value the library computes from them
//! (`vitals_core::calc`, `vitals_query::staffing`), and the same formula as a spreadsheet
//! expression (the workbook writes it with the library's value cached) and as a JavaScript
//! expression (the HTML form). Inputs are named `{input}` in both expressions.
//!
//! The examples are docs/metrics.md's acceptance examples where it has one (`expected`), else
//! illustrative numbers.

use std::collections::BTreeMap;

use serde::Serialize;
use vitals_core::calc::calculator;
use vitals_query::staffing::agents_needed;

use crate::ReportError;

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct CalcInput {
    /// Name (`promoters`).
    pub name: String,
    /// Meaning.
    pub meaning: String,
    /// The example's value.
    pub value: f64,
}

/// One calculator row.
#[derive(Debug, Clone, Serialize)]
pub struct CalcRow {
    /// Calculator name (`nps`, `erlang_c`).
    pub name: String,
    /// What it computes.
    pub title: String,
    /// The formula in words.
    pub formula: String,
    /// Unit of the result.
    pub unit: String,
    /// Inputs.
    pub inputs: Vec<CalcInput>,
    /// The library's result for these inputs.
    pub result: f64,
    /// The acceptance example's expected value (docs/metrics.md), when this row is one.
    pub expected: Option<f64>,
    /// Where the example comes from.
    pub example: String,
    /// Spreadsheet expression over `{input}` placeholders (Erlang C: see [`ERLANG_ROWS`]).
    pub sheet: String,
    /// JavaScript expression over `{input}` placeholders.
    pub js: String,
}

/// Helper rows the workbook uses for Erlang C: candidate agent counts above the traffic.
pub const ERLANG_ROWS: usize = 120;

/// (calculator, [(input, value)], expected, where the example comes from)
type Example = (
    &'static str,
    &'static [(&'static str, f64)],
    Option<f64>,
    &'static str,
);

const EXAMPLES: &[Example] = &[
    (
        "nps_shares",
        &[("promoters_pct", 80.0), ("detractors_pct", 15.0)],
        Some(65.0),
        "worked example: 80 % promoters, 15 % detractors → 65",
    ),
    (
        "nps_shares",
        &[("promoters_pct", 70.0), ("detractors_pct", 10.0)],
        Some(60.0),
        "worked example: 70 % promoters, 10 % detractors → 60",
    ),
    (
        "nps",
        &[
            ("promoters", 70.0),
            ("detractors", 10.0),
            ("responses", 100.0),
        ],
        Some(60.0),
        "worked example: 100 responses, 70 × 9–10, 10 × 1–6 → 60",
    ),
    (
        "csat",
        &[("satisfied", 30.0), ("responses", 50.0)],
        Some(60.0),
        "worked example: 50 responses, 30 positive → 60 %",
    ),
    (
        "csat",
        &[("satisfied", 72.0), ("responses", 100.0)],
        Some(72.0),
        "worked example: 43 × 4 and 29 × 5 of 100 → 72 %",
    ),
    (
        "ces",
        &[("total_score", 540.0), ("responses", 100.0)],
        None,
        "illustrative",
    ),
    (
        "crr",
        &[("start", 100.0), ("end", 90.0), ("new", 15.0)],
        Some(75.0),
        "worked example: S 100, E 90, N 15 → 75 %",
    ),
    (
        "crr",
        &[("start", 200.0), ("end", 200.0), ("new", 20.0)],
        Some(90.0),
        "worked example: S 200, E 200, N 20 → 90 %",
    ),
    (
        "churn",
        &[("start", 250.0), ("lost", 20.0)],
        Some(8.0),
        "worked example: 20 lost of 250 → 8 %",
    ),
    (
        "churn",
        &[("start", 100.0), ("lost", 50.0)],
        Some(50.0),
        "worked example: 100 at start, 50 left → 50 %",
    ),
    (
        "cac",
        &[("spend", 10000.0), ("acquired", 20000.0)],
        Some(0.5),
        "worked example: $10,000 / 20,000 acquired → $0.50",
    ),
    (
        "clv_simple",
        &[("annual_revenue", 1200.0), ("years", 3.0), ("cac", 400.0)],
        None,
        "illustrative",
    ),
    (
        "clv_purchase",
        &[
            ("purchase_value", 50.0),
            ("purchases_per_year", 5.0),
            ("years", 3.0),
        ],
        Some(750.0),
        "worked example: $50 × 5 per year × 3 years → $750",
    ),
    (
        "clv_historical",
        &[("purchases", 2400.0), ("gross_margin", 0.4)],
        None,
        "illustrative",
    ),
    (
        "clv_predictive",
        &[
            ("monthly_transactions", 2.0),
            ("order_value", 45.0),
            ("months", 24.0),
        ],
        None,
        "illustrative",
    ),
    (
        "average_wait",
        &[("total_wait", 500.0), ("answered", 200.0)],
        Some(2.5),
        "worked example: 500 min over 200 answered calls → 2.5 min",
    ),
    (
        "service_level",
        &[
            ("answered_within", 320.0),
            ("offered", 420.0),
            ("short_abandons", 20.0),
        ],
        None,
        "illustrative",
    ),
    (
        "cost_per_resolution",
        &[("cost", 84000.0), ("resolved", 6000.0)],
        None,
        "illustrative",
    ),
];

/// The spreadsheet and JavaScript forms of each calculator's formula.
fn expressions(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "nps" => (
            "({promoters}-{detractors})/{responses}*100",
            "({promoters}-{detractors})/{responses}*100",
        ),
        "nps_shares" => (
            "{promoters_pct}-{detractors_pct}",
            "{promoters_pct}-{detractors_pct}",
        ),
        "csat" => ("{satisfied}/{responses}*100", "{satisfied}/{responses}*100"),
        "ces" => ("{total_score}/{responses}", "{total_score}/{responses}"),
        "crr" => ("({end}-{new})/{start}*100", "({end}-{new})/{start}*100"),
        "churn" => ("{lost}/{start}*100", "{lost}/{start}*100"),
        "cac" => ("{spend}/{acquired}", "{spend}/{acquired}"),
        "clv_simple" => (
            "{annual_revenue}*{years}-{cac}",
            "{annual_revenue}*{years}-{cac}",
        ),
        "clv_purchase" => (
            "{purchase_value}*{purchases_per_year}*{years}",
            "{purchase_value}*{purchases_per_year}*{years}",
        ),
        "clv_historical" => ("{purchases}*{gross_margin}", "{purchases}*{gross_margin}"),
        "clv_predictive" => (
            "{monthly_transactions}*{order_value}*{months}",
            "{monthly_transactions}*{order_value}*{months}",
        ),
        "average_wait" => ("{total_wait}/{answered}", "{total_wait}/{answered}"),
        "service_level" => (
            "{answered_within}/({offered}-{short_abandons})*100",
            "{answered_within}/({offered}-{short_abandons})*100",
        ),
        "cost_per_resolution" => ("{cost}/{resolved}", "{cost}/{resolved}"),
        _ => return None,
    })
}

/// The Erlang C inputs (reference: 100 calls in 30 minutes, AHT 180 s, 80 % in 20 s → 14).
pub const ERLANG_INPUTS: [(&str, &str, f64); 5] = [
    ("calls", "calls offered per interval", 100.0),
    ("aht_secs", "average handle time, seconds", 180.0),
    ("interval_secs", "interval length, seconds", 1800.0),
    ("threshold_secs", "answer within, seconds", 20.0),
    ("target_pct", "service-level target, %", 80.0),
];

/// Every calculator row, with the library's results.
pub fn rows() -> Result<Vec<CalcRow>, ReportError> {
    let mut out = Vec::new();
    for (name, inputs, expected, example) in EXAMPLES {
        let calc = calculator(name)
            .ok_or_else(|| ReportError::Internal(format!("no calculator `{name}`")))?;
        let given: BTreeMap<String, f64> =
            inputs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let result = calc.evaluate(&given).map_err(ReportError::Internal)?;
        let (sheet, js) = expressions(name)
            .ok_or_else(|| ReportError::Internal(format!("no expression for `{name}`")))?;
        out.push(CalcRow {
            name: name.to_string(),
            title: calc.description.to_string(),
            formula: calc.formula.to_string(),
            unit: calc.unit.to_string(),
            inputs: calc
                .inputs
                .iter()
                .map(|(n, meaning, _)| CalcInput {
                    name: n.to_string(),
                    meaning: meaning.to_string(),
                    value: given.get(*n).copied().unwrap_or(0.0),
                })
                .collect(),
            result,
            expected: *expected,
            example: example.to_string(),
            sheet: sheet.to_string(),
            js: js.to_string(),
        });
    }
    let v: Vec<f64> = ERLANG_INPUTS.iter().map(|i| i.2).collect();
    let agents = agents_needed(v[0], v[1], v[2], v[3], v[4] / 100.0)
        .ok_or_else(|| ReportError::Internal("Erlang C example has no answer".into()))?;
    out.push(CalcRow {
        name: "erlang_c".into(),
        title: "Agents needed (Erlang C)".into(),
        formula: "smallest N > A = calls × AHT / interval with 1 − C(N, A)·e^(−(N − A)·T / AHT) ≥ target, C the Erlang C probability of waiting".into(),
        unit: "agents".into(),
        inputs: ERLANG_INPUTS
            .iter()
            .map(|(n, m, val)| CalcInput {
                name: n.to_string(),
                meaning: m.to_string(),
                value: *val,
            })
            .collect(),
        result: f64::from(agents),
        expected: Some(14.0),
        example: "published: 100 calls / 30 min, AHT 180 s, 80 % in 20 s → 14 agents".into(),
        sheet: String::new(),
        js: "erlang({calls},{aht_secs},{interval_secs},{threshold_secs},{target_pct})".into(),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_acceptance_example_is_reproduced() {
        let rows = rows().unwrap();
        let with_expected: Vec<&CalcRow> = rows.iter().filter(|r| r.expected.is_some()).collect();
        assert!(with_expected.len() >= 13);
        for r in with_expected {
            assert!(
                (r.result - r.expected.unwrap()).abs() < 1e-9,
                "{}: {} ≠ {:?}",
                r.name,
                r.result,
                r.expected
            );
        }
        // Every calculator of `vitals calc` has a row.
        for c in vitals_core::calc::CALCULATORS {
            assert!(rows.iter().any(|r| r.name == c.name), "{}", c.name);
        }
    }
}
