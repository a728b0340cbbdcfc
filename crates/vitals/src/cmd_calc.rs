//! `vitals calc NAME --input value …`: evaluates one formula of the catalogue's calculators;
//! `vitals calc --list` lists them.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use vitals_core::calc::{calculator, CALCULATORS};
use vitals_core::catalogue::did_you_mean;

use crate::UserError;

/// Arguments of `vitals calc`.
#[derive(Args)]
pub struct CalcArgs {
    /// The calculator (see --list).
    pub name: Option<String>,
    /// List every calculator with its inputs.
    #[arg(long)]
    pub list: bool,
    /// Inputs as `--name value` (or `--name=value`); `--json` prints JSON.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub inputs: Vec<String>,
}

fn parse_inputs(words: &[String]) -> Result<(BTreeMap<String, f64>, bool)> {
    let mut out = BTreeMap::new();
    let mut json = false;
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let Some(key) = word.strip_prefix("--") else {
            return Err(UserError(format!("expected --NAME VALUE, found `{word}`")).into());
        };
        if key == "json" {
            json = true;
            i += 1;
            continue;
        }
        let (key, value) = match key.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => {
                i += 1;
                let v = words
                    .get(i)
                    .ok_or_else(|| UserError(format!("--{key} needs a value")))?;
                (key.to_string(), v.clone())
            }
        };
        let number: f64 = value
            .parse()
            .map_err(|_| UserError(format!("--{key} `{value}` is not a number")))?;
        out.insert(key, number);
        i += 1;
    }
    Ok((out, json))
}

/// `vitals calc`.
pub fn run(args: CalcArgs) -> Result<()> {
    let name = match (&args.name, args.list) {
        (Some(n), false) => n.clone(),
        _ => {
            for c in CALCULATORS {
                let inputs: Vec<String> = c
                    .inputs
                    .iter()
                    .map(|(n, _, d)| {
                        if d.is_some() {
                            format!("[--{n}]")
                        } else {
                            format!("--{n}")
                        }
                    })
                    .collect();
                println!(
                    "{:<20} {} = {}\n{:<20} {}",
                    c.name,
                    c.description,
                    c.formula,
                    "",
                    inputs.join(" ")
                );
            }
            return Ok(());
        }
    };
    let calc = calculator(&name).ok_or_else(|| {
        let hint = did_you_mean(&name, CALCULATORS.iter().map(|c| c.name))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| "; see `vitals calc --list`".into());
        UserError(format!("unknown calculator `{name}`{hint}"))
    })?;
    let (given, as_json) = parse_inputs(&args.inputs)?;
    let value = calc.evaluate(&given).map_err(UserError)?;
    if as_json {
        println!(
            "{}",
            json!({"calculator": calc.name, "formula": calc.formula, "inputs": given, "value": value, "unit": calc.unit})
        );
    } else {
        println!("{}: {}", calc.description, calc.formula);
        for (k, v) in &given {
            println!("  {k} = {v}");
        }
        println!("= {value} {}", calc.unit);
    }
    Ok(())
}
