//! Calculators: every formula of docs/metrics.md evaluated from typed-in numbers (`vitals calc`),
//! as one declarative table — name, inputs, formula text, function — so the list, the help and
//! input validation come from the same place.

use std::collections::BTreeMap;

/// Reads an input by name.
pub type Input<'a> = &'a dyn Fn(&str) -> f64;

/// One calculator.
pub struct Calculator {
    /// Its name (`vitals calc NAME`).
    pub name: &'static str,
    /// What it computes.
    pub description: &'static str,
    /// The formula in words.
    pub formula: &'static str,
    /// Inputs: (name, meaning, default when optional).
    pub inputs: &'static [(&'static str, &'static str, Option<f64>)],
    /// Unit of the result.
    pub unit: &'static str,
    compute: fn(Input<'_>) -> Result<f64, String>,
}

fn ratio(num: f64, den: f64, what: &str) -> Result<f64, String> {
    if den == 0.0 {
        Err(format!("{what} is 0: the result is undefined"))
    } else {
        Ok(num / den)
    }
}

/// Every calculator.
pub const CALCULATORS: &[Calculator] = &[
    Calculator {
        name: "nps",
        description: "Net Promoter Score from counts",
        formula: "(promoters − detractors) / responses × 100",
        inputs: &[
            ("promoters", "responses scoring 9–10", None),
            ("detractors", "responses scoring 0–6", None),
            ("responses", "all responses", None),
        ],
        unit: "points",
        compute: |v| {
            Ok(100.0
                * ratio(
                    v("promoters") - v("detractors"),
                    v("responses"),
                    "responses",
                )?)
        },
    },
    Calculator {
        name: "nps_shares",
        description: "Net Promoter Score from shares",
        formula: "% promoters − % detractors",
        inputs: &[
            ("promoters_pct", "% of responses scoring 9–10", None),
            ("detractors_pct", "% scoring 0–6", None),
        ],
        unit: "points",
        compute: |v| Ok(v("promoters_pct") - v("detractors_pct")),
    },
    Calculator {
        name: "csat",
        description: "Customer satisfaction",
        formula: "satisfied (top-2 box) responses / responses × 100",
        inputs: &[
            ("satisfied", "responses in the top box", None),
            ("responses", "all responses", None),
        ],
        unit: "%",
        compute: |v| Ok(100.0 * ratio(v("satisfied"), v("responses"), "responses")?),
    },
    Calculator {
        name: "ces",
        description: "Customer effort score (mean)",
        formula: "sum of scores / responses",
        inputs: &[
            ("total_score", "sum of effort scores", None),
            ("responses", "responses", None),
        ],
        unit: "score",
        compute: |v| ratio(v("total_score"), v("responses"), "responses"),
    },
    Calculator {
        name: "crr",
        description: "Customer retention rate",
        formula: "(E − N) / S × 100",
        inputs: &[
            ("start", "S: customers at the start", None),
            ("end", "E: customers at the end", None),
            ("new", "N: customers acquired during the period", None),
        ],
        unit: "%",
        compute: |v| Ok(100.0 * ratio(v("end") - v("new"), v("start"), "start")?),
    },
    Calculator {
        name: "churn",
        description: "Churn rate",
        formula: "customers lost / customers at the start × 100",
        inputs: &[
            ("start", "customers at the start", None),
            ("lost", "of them, lost during the period", None),
        ],
        unit: "%",
        compute: |v| Ok(100.0 * ratio(v("lost"), v("start"), "start")?),
    },
    Calculator {
        name: "cac",
        description: "Customer acquisition cost",
        formula: "sales and marketing spend / customers acquired",
        inputs: &[
            ("spend", "sales + marketing spend", None),
            ("acquired", "customers acquired", None),
        ],
        unit: "currency",
        compute: |v| ratio(v("spend"), v("acquired"), "acquired"),
    },
    Calculator {
        name: "clv_simple",
        description: "Customer lifetime value, simple model (from Kimberly Parker’s article)",
        formula: "annual revenue per customer × relationship years − CAC",
        inputs: &[
            ("annual_revenue", "annual revenue per customer", None),
            ("years", "relationship length in years", None),
            ("cac", "acquisition cost", Some(0.0)),
        ],
        unit: "currency",
        compute: |v| Ok(v("annual_revenue") * v("years") - v("cac")),
    },
    Calculator {
        name: "clv_purchase",
        description: "Customer lifetime value, purchase model (from LiveAgent’s article)",
        formula: "average purchase value × purchases per year × lifespan years",
        inputs: &[
            ("purchase_value", "average purchase value", None),
            ("purchases_per_year", "purchases per year", None),
            ("years", "customer lifespan in years", None),
        ],
        unit: "currency",
        compute: |v| Ok(v("purchase_value") * v("purchases_per_year") * v("years")),
    },
    Calculator {
        name: "clv_historical",
        description: "Customer lifetime value, historical model (from LiveAgent’s article)",
        formula: "sum of purchases × average gross margin",
        inputs: &[
            ("purchases", "sum of the customer's purchases", None),
            ("gross_margin", "average gross margin (0–1)", None),
        ],
        unit: "currency",
        compute: |v| Ok(v("purchases") * v("gross_margin")),
    },
    Calculator {
        name: "clv_predictive",
        description: "Customer lifetime value, predictive model (from LiveAgent’s article)",
        formula: "average monthly transactions × average order value × lifespan in months",
        inputs: &[
            (
                "monthly_transactions",
                "average transactions per month",
                None,
            ),
            ("order_value", "average order value", None),
            ("months", "lifespan in months", None),
        ],
        unit: "currency",
        compute: |v| Ok(v("monthly_transactions") * v("order_value") * v("months")),
    },
    Calculator {
        name: "average_wait",
        description: "Average wait (speed of answer)",
        formula: "total queue wait of answered calls / answered calls",
        inputs: &[
            (
                "total_wait",
                "total wait, in any unit (the result is in the same unit)",
                None,
            ),
            ("answered", "answered calls", None),
        ],
        unit: "same unit as total_wait",
        compute: |v| ratio(v("total_wait"), v("answered"), "answered"),
    },
    Calculator {
        name: "service_level",
        description: "Service level",
        formula: "calls answered within T / (offered − abandoned within the grace time) × 100",
        inputs: &[
            (
                "answered_within",
                "calls answered within the threshold",
                None,
            ),
            ("offered", "offered calls", None),
            (
                "short_abandons",
                "calls abandoned within the grace time",
                Some(0.0),
            ),
        ],
        unit: "%",
        compute: |v| {
            Ok(100.0
                * ratio(
                    v("answered_within"),
                    v("offered") - v("short_abandons"),
                    "offered − short_abandons",
                )?)
        },
    },
    Calculator {
        name: "cost_per_resolution",
        description: "Cost per resolution",
        formula: "support operating cost / tickets resolved",
        inputs: &[
            ("cost", "support operating cost of the period", None),
            ("resolved", "tickets resolved in the period", None),
        ],
        unit: "currency",
        compute: |v| ratio(v("cost"), v("resolved"), "resolved"),
    },
];

/// Finds a calculator.
pub fn calculator(name: &str) -> Option<&'static Calculator> {
    CALCULATORS.iter().find(|c| c.name == name)
}

impl Calculator {
    /// Evaluates with named inputs; unknown or missing inputs are errors that name them.
    pub fn evaluate(&self, given: &BTreeMap<String, f64>) -> Result<f64, String> {
        for name in given.keys() {
            if !self.inputs.iter().any(|(n, _, _)| n == name) {
                let known: Vec<&str> = self.inputs.iter().map(|(n, _, _)| *n).collect();
                return Err(format!(
                    "`{}` takes no `--{name}`; its inputs: --{}",
                    self.name,
                    known.join(", --")
                ));
            }
        }
        let mut values = BTreeMap::new();
        for (name, meaning, default) in self.inputs {
            match given.get(*name).copied().or(*default) {
                Some(v) => values.insert(*name, v),
                None => return Err(format!("`{}` needs --{name} ({meaning})", self.name)),
            };
        }
        let get = |n: &str| values.get(n).copied().unwrap_or(f64::NAN);
        (self.compute)(&get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, inputs: &[(&str, f64)]) -> f64 {
        let given = inputs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        calculator(name).unwrap().evaluate(&given).unwrap()
    }

    #[test]
    fn the_acceptance_examples_of_metrics_md() {
        assert_eq!(
            run(
                "nps_shares",
                &[("promoters_pct", 80.0), ("detractors_pct", 15.0)]
            ),
            65.0
        );
        assert_eq!(
            run(
                "nps_shares",
                &[("promoters_pct", 70.0), ("detractors_pct", 10.0)]
            ),
            60.0
        );
        assert_eq!(
            run(
                "nps",
                &[
                    ("promoters", 70.0),
                    ("detractors", 10.0),
                    ("responses", 100.0)
                ]
            ),
            60.0
        );
        assert_eq!(
            run("csat", &[("satisfied", 30.0), ("responses", 50.0)]),
            60.0
        );
        assert_eq!(
            run("csat", &[("satisfied", 43.0 + 29.0), ("responses", 100.0)]),
            72.0
        );
        assert_eq!(
            run("crr", &[("start", 100.0), ("end", 90.0), ("new", 15.0)]),
            75.0
        );
        assert_eq!(
            run("crr", &[("start", 200.0), ("end", 200.0), ("new", 20.0)]),
            90.0
        );
        assert_eq!(run("churn", &[("start", 250.0), ("lost", 20.0)]), 8.0);
        assert_eq!(run("churn", &[("start", 100.0), ("lost", 50.0)]), 50.0);
        assert_eq!(
            run("cac", &[("spend", 10_000.0), ("acquired", 20_000.0)]),
            0.5
        );
        assert_eq!(
            run(
                "clv_purchase",
                &[
                    ("purchase_value", 50.0),
                    ("purchases_per_year", 5.0),
                    ("years", 3.0)
                ]
            ),
            750.0
        );
        assert_eq!(
            run(
                "average_wait",
                &[("total_wait", 500.0), ("answered", 200.0)]
            ),
            2.5
        );
    }

    #[test]
    fn inputs_are_checked() {
        let c = calculator("cac").unwrap();
        let mut given = BTreeMap::new();
        given.insert("spend".to_string(), 1.0);
        assert!(c.evaluate(&given).unwrap_err().contains("needs --acquired"));
        given.insert("acquird".to_string(), 1.0);
        assert!(c
            .evaluate(&given)
            .unwrap_err()
            .contains("takes no `--acquird`"));
        let mut zero = BTreeMap::new();
        zero.insert("spend".to_string(), 1.0);
        zero.insert("acquired".to_string(), 0.0);
        assert!(c.evaluate(&zero).unwrap_err().contains("undefined"));
        assert_eq!(
            run("clv_simple", &[("annual_revenue", 100.0), ("years", 3.0)]),
            300.0
        );
    }
}
