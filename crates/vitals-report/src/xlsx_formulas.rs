//! The workbook's Formulas sheet: the calculator (one row per worked example; input cells
//! styled and unlocked, the result a live formula with the library's value cached; Erlang C
//! through hidden helper columns of candidate agent counts and their service level), the
//! spike method, and every metric's definition, counting timestamp and decisions.

use rust_xlsxwriter::{Formula, ProtectionOptions, Worksheet};

use crate::calculator::{CalcRow, ERLANG_ROWS};
use crate::cells::Cells;
use crate::model::ReportModel;
use crate::xlsx::{heading, Styles, SHEETS};
use crate::ReportError;

fn col_name(col: u16) -> String {
    let mut n = u32::from(col) + 1;
    let mut s = String::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        s.insert(0, (b'A' + r) as char);
        n = (n - 1) / 26;
    }
    s
}

fn cell(row: u32, col: u16) -> String {
    format!("${}${}", col_name(col), row + 1)
}

/// The formula of a calculator row over its input cells.
fn substitute(expr: &str, calc: &CalcRow, row: u32, first_input: u16) -> String {
    let mut out = expr.to_string();
    for (i, input) in calc.inputs.iter().enumerate() {
        out = out.replace(
            &format!("{{{}}}", input.name),
            &cell(row, first_input + 1 + 2 * i as u16),
        );
    }
    out
}

/// Columns of the calculator: name, formula, then (label, value) per input, result.
const MAX_INPUTS: u16 = 5;
const HELPER_COL: u16 = 40;

pub(crate) fn formulas_sheet(
    ws: &mut Worksheet,
    model: &ReportModel,
    st: &Styles,
) -> Result<(), ReportError> {
    ws.set_name(SHEETS[3])?;
    let mut row = heading(ws, model, "Formulas", st)?;
    ws.text_with_format(
        row,
        0,
        "Calculator — type new numbers into the yellow cells; results recompute.",
        &st.bold,
    )?;
    row += 1;
    let first_input = 1u16;
    let result_col = first_input + 2 * MAX_INPUTS;
    let mut headers = vec!["Calculator".to_string()];
    for i in 1..=MAX_INPUTS {
        headers.push(format!("Input {i}"));
        headers.push("Value".into());
    }
    headers.extend(
        [
            "Result",
            "Unit",
            "Expected (worked example)",
            "Formula",
            "Example",
        ]
        .map(String::from),
    );
    for (c, h) in headers.iter().enumerate() {
        ws.text_with_format(row, c as u16, h, &st.header)?;
    }
    ws.set_freeze_panes(row + 1, 1)?;
    row += 1;
    let mut helper_row = row;
    for calc in &model.calculators {
        ws.text(row, 0, &calc.name)?;
        for (i, input) in calc.inputs.iter().enumerate() {
            let c = first_input + 2 * i as u16;
            ws.text(row, c, &input.name)?;
            ws.write_number_with_format(row, c + 1, input.value, &st.input)?;
        }
        let formula = if calc.name == "erlang_c" {
            let f = erlang_helper(ws, calc, row, first_input, helper_row)?;
            helper_row += ERLANG_ROWS as u32 + 1;
            f
        } else {
            format!("={}", substitute(&calc.sheet, calc, row, first_input))
        };
        ws.write_formula_with_format(
            row,
            result_col,
            Formula::new(formula).set_result(calc.result.to_string()),
            &st.result,
        )?;
        ws.text(row, result_col + 1, &calc.unit)?;
        if let Some(e) = calc.expected {
            ws.write_number(row, result_col + 2, e)?;
        }
        ws.text(row, result_col + 3, &calc.formula)?;
        ws.text(row, result_col + 4, &calc.example)?;
        row += 1;
    }
    row += 2;
    ws.text_with_format(row, 0, "Spike detection", &st.bold)?;
    row += 1;
    for line in model.spike_method.lines() {
        ws.text(row, 0, line)?;
        row += 1;
    }
    row += 1;
    ws.text_with_format(row, 0, "Definitions", &st.bold)?;
    row += 1;
    for (c, h) in [
        "Metric",
        "Label",
        "Group",
        "Formula",
        "Counts by",
        "Interval",
        "Description",
        "Decisions",
    ]
    .iter()
    .enumerate()
    {
        ws.text_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    for f in &model.formulas {
        ws.text(row, 0, &f.id)?;
        ws.text(row, 1, &f.label)?;
        ws.text(row, 2, &f.group)?;
        ws.text_with_format(row, 3, &f.formula, &st.wrap)?;
        ws.text_with_format(row, 4, &f.counts_by, &st.wrap)?;
        ws.text_with_format(row, 5, &f.interval, &st.wrap)?;
        ws.text_with_format(row, 6, &f.description, &st.wrap)?;
        ws.text_with_format(
            row,
            7,
            f.decisions
                .iter()
                .map(|d| format!("• {d}"))
                .collect::<Vec<_>>()
                .join("\n"),
            &st.wrap,
        )?;
        row += 1;
    }
    ws.set_column_width(0, 22)?;
    for c in 1..result_col {
        ws.set_column_width(
            c,
            if (c - first_input).is_multiple_of(2) {
                16
            } else {
                10
            },
        )?;
    }
    ws.set_column_width(result_col, 12)?;
    ws.set_column_width(result_col + 3, 40)?;
    ws.set_column_width(result_col + 4, 40)?;
    ws.set_column_width(3, 40)?;
    ws.set_column_width(6, 50)?;
    ws.set_column_width(7, 60)?;
    ws.set_column_hidden(HELPER_COL)?;
    ws.set_column_hidden(HELPER_COL + 1)?;
    ws.protect_with_options(&ProtectionOptions {
        format_columns: true,
        format_rows: true,
        ..Default::default()
    });
    Ok(())
}

/// Writes the Erlang C helper columns (candidate agents and their service level, hidden) and
/// returns the result formula: the first candidate plus the candidates below the target.
fn erlang_helper(
    ws: &mut Worksheet,
    calc: &CalcRow,
    row: u32,
    first_input: u16,
    helper_top: u32,
) -> Result<String, ReportError> {
    let input = |name: &str| {
        calc.inputs
            .iter()
            .position(|i| i.name == name)
            .map(|i| cell(row, first_input + 1 + 2 * i as u16))
            .unwrap_or_default()
    };
    let v = |name: &str| {
        calc.inputs
            .iter()
            .find(|i| i.name == name)
            .map_or(0.0, |i| i.value)
    };
    let (calls, aht, interval, t, target) = (
        input("calls"),
        input("aht_secs"),
        input("interval_secs"),
        input("threshold_secs"),
        input("target_pct"),
    );
    let a = format!("({calls}*{aht}/{interval})");
    let traffic = v("calls") * v("aht_secs") / v("interval_secs");
    let (n_col, sl_col) = (HELPER_COL, HELPER_COL + 1);
    for i in 0..ERLANG_ROWS {
        let r = helper_top + i as u32;
        let n = traffic.floor() + 1.0 + i as f64;
        let nc = cell(r, n_col);
        ws.write_formula(
            r,
            n_col,
            Formula::new(format!("=INT({a})+1+{i}")).set_result(n.to_string()),
        )?;
        let sl = vitals_query::staffing::service_level(
            n as u32,
            v("calls"),
            v("aht_secs"),
            v("interval_secs"),
            v("threshold_secs"),
        );
        let formula = format!(
            "=IF({nc}<={a},0,1-POISSON({nc},{a},FALSE)/(POISSON({nc},{a},FALSE)+(1-{a}/{nc})*POISSON({nc}-1,{a},TRUE))*EXP(-({nc}-{a})*{t}/{aht}))"
        );
        ws.write_formula(r, sl_col, Formula::new(formula).set_result(sl.to_string()))?;
    }
    let range = format!(
        "{}:{}",
        cell(helper_top, sl_col),
        cell(helper_top + ERLANG_ROWS as u32 - 1, sl_col)
    );
    Ok(format!(
        "=IF({calls}=0,0,INT({a})+1+COUNTIF({range},\"<\"&{target}/100))"
    ))
}
