//! Catalogue SQL in every engine's dialect. The catalogue is one list, written in DuckDB's SQL;
//! each fragment (an expression, a FROM clause, a join, a fact's query) is parsed once when the
//! catalogue loads (`sqlparser`) and checked against a small portable vocabulary: the functions
//! and casts every target engine can spell. A construct outside it — or one a target cannot
//! compute the same way, such as a correlated subquery on ClickHouse — is a load error unless
//! the metric says so for that engine (`engine_notes`, shown by `explain`; the planner then
//! refuses the metric there with a clear error instead of a different number).
//!
//! DuckDB's rendering of a fragment is its text as written (the stored facts' statements are
//! their own fingerprints, so they stay byte for byte); another engine's is the parsed fragment
//! rewritten and printed: ClickHouse gets `dateDiff`, `any`, `has`, `groupArray`,
//! `groupUniqArray`, `length`, `extractAll`, `splitByRegexp`, the `-If` combinators for
//! `FILTER (WHERE …)`, `toString` / `toFloat64` / `toBool` for casts, backslashes escaped in
//! string literals, and a one-row `LATERAL` of expressions inlined where its columns are read.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions_mut, CastKind, DataType, DuplicateTreatment, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName, Query, SetExpr,
    Statement, TableFactor, Value,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

/// An SQL engine the catalogue is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// DuckDB, the language the catalogue is written in.
    DuckDb,
    /// ClickHouse.
    ClickHouse,
}

impl Target {
    /// Every target, in order.
    pub const ALL: [Target; 2] = [Target::DuckDb, Target::ClickHouse];

    /// The engine's name in configuration and in `engine_notes` (`duckdb`, `clickhouse`).
    pub fn name(self) -> &'static str {
        match self {
            Target::DuckDb => "duckdb",
            Target::ClickHouse => "clickhouse",
        }
    }
}

/// What a catalogue SQL text is, which decides how it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// A scalar or aggregate expression (values, filters, dimensions, anchors).
    Expr,
    /// A FROM clause: a table and its alias (`fact_tickets t`), possibly with joins.
    From,
    /// One join clause (`LEFT JOIN fact_tickets t ON …`).
    Join,
    /// A whole query (a fact's `SELECT`).
    Query,
}

/// How ClickHouse spells a DuckDB function of the vocabulary.
enum Spelling {
    /// The same arguments under this name.
    Named(&'static str),
    /// Two arguments, swapped, under this name (`regexp_split_to_array(s, p)` →
    /// `splitByRegexp(p, s)`).
    Swapped(&'static str),
}

/// The portable vocabulary: DuckDB's function (lower case), ClickHouse's spelling, and whether
/// it is an aggregate (which may carry `FILTER (WHERE …)`, written with the `-If` combinator).
const FUNCTIONS: &[(&str, Spelling, bool)] = &[
    ("coalesce", Spelling::Named("coalesce"), false),
    ("nullif", Spelling::Named("nullIf"), false),
    ("greatest", Spelling::Named("greatest"), false),
    ("least", Spelling::Named("least"), false),
    ("lower", Spelling::Named("lower"), false),
    ("date_diff", Spelling::Named("dateDiff"), false),
    ("list_contains", Spelling::Named("has"), false),
    ("len", Spelling::Named("length"), false),
    ("regexp_extract_all", Spelling::Named("extractAll"), false),
    (
        "regexp_split_to_array",
        Spelling::Swapped("splitByRegexp"),
        false,
    ),
    ("count", Spelling::Named("count"), true),
    ("sum", Spelling::Named("sum"), true),
    ("avg", Spelling::Named("avg"), true),
    ("min", Spelling::Named("min"), true),
    ("max", Spelling::Named("max"), true),
    ("any_value", Spelling::Named("any"), true),
    ("list", Spelling::Named("groupArray"), true),
];

/// `date_diff` parts every target counts alike (boundaries crossed, in UTC).
const DATE_PARTS: [&str; 3] = ["day", "second", "microsecond"];

/// A fragment rendered for one target, or why it cannot be.
pub fn render(sql: &str, fragment: Fragment, target: Target) -> Result<String, String> {
    let (text, names) = hide_placeholders(sql);
    let wrapped = match fragment {
        Fragment::Expr => format!("SELECT {text}"),
        Fragment::From => format!("SELECT 1 FROM {text}"),
        Fragment::Join => format!("SELECT 1 FROM __vitals_left {text}"),
        Fragment::Query => text,
    };
    let mut statements = Parser::parse_sql(&DuckDbDialect {}, &wrapped)
        .map_err(|e| format!("cannot parse `{}`: {e}", sql.trim()))?;
    let [Statement::Query(query)] = statements.as_mut_slice() else {
        return Err(format!("`{}` is not one SQL fragment", sql.trim()));
    };
    check_vocabulary(query)?;
    if target == Target::DuckDb {
        return Ok(sql.to_string());
    }
    inline_laterals(query)?;
    to_clickhouse(query)?;
    let printed = match (fragment, &*query.body) {
        (Fragment::Query, _) => query.to_string(),
        (Fragment::Expr, SetExpr::Select(select)) => select.projection[0].to_string(),
        (Fragment::From, SetExpr::Select(select)) => select.from[0].to_string(),
        (Fragment::Join, SetExpr::Select(select)) => select.from[0].joins[0].to_string(),
        _ => return Err(format!("`{}` is not one SQL fragment", sql.trim())),
    };
    Ok(show_placeholders(&printed, &names))
}

/// The prefix a `{name}` placeholder is parsed under (an identifier).
const HIDDEN: &str = "__vitals_placeholder_";

/// `sql` with each `{name}` placeholder as an identifier, and the names hidden.
fn hide_placeholders(sql: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len());
    let mut names = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.split_once('}') {
            Some((name, tail))
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                out.push_str(HIDDEN);
                out.push_str(name);
                names.push(name.to_string());
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, names)
}

/// The printed SQL with its hidden placeholders back as `{name}`.
fn show_placeholders(sql: &str, names: &[String]) -> String {
    let mut longest_first = names.to_vec();
    longest_first.sort_by_key(|n| std::cmp::Reverse(n.len()));
    longest_first.iter().fold(sql.to_string(), |out, n| {
        out.replace(&format!("{HIDDEN}{n}"), &format!("{{{n}}}"))
    })
}

fn function_name(f: &Function) -> String {
    f.name.to_string().to_lowercase()
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Varchar(_) | DataType::Text | DataType::String(_)
    )
}

/// Every function and cast of the query is in the portable vocabulary.
fn check_vocabulary(query: &mut Query) -> Result<(), String> {
    let outcome = visit_expressions_mut(query, |expr| {
        let problem = match expr {
            Expr::Function(f) => {
                let name = function_name(f);
                match FUNCTIONS.iter().find(|(n, ..)| *n == name) {
                    None => Some(format!(
                        "the function `{name}` is not in the portable vocabulary (vitals-core's catalogue/portable.rs)"
                    )),
                    Some((_, _, aggregate)) if f.filter.is_some() && !aggregate => {
                        Some(format!("`{name}` is not an aggregate and takes no FILTER"))
                    }
                    _ if name == "date_diff" => date_part(f).err(),
                    _ => None,
                }
            }
            Expr::Cast { data_type, .. }
                if !(is_text(data_type)
                    || matches!(data_type, DataType::Double(_) | DataType::Boolean)) =>
            {
                Some(format!(
                    "a cast to `{data_type}` is not in the portable vocabulary"
                ))
            }
            _ => None,
        };
        match problem {
            Some(p) => ControlFlow::Break(p),
            None => ControlFlow::Continue(()),
        }
    });
    match outcome {
        ControlFlow::Break(problem) => Err(problem),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The part of a `date_diff`, when it is one every target counts alike.
fn date_part(f: &Function) -> Result<(), String> {
    let first = match &f.args {
        FunctionArguments::List(list) => list.args.first(),
        _ => None,
    };
    let part = match first {
        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    match part {
        Some(p) if DATE_PARTS.contains(&p.as_str()) => Ok(()),
        _ => Err(format!(
            "`date_diff` takes one of the parts {} as a string",
            DATE_PARTS.join(", ")
        )),
    }
}

/// A `LATERAL (SELECT e AS c, …) alias` without a FROM of its own is one row of expressions
/// over the row beside it: its columns (`alias.c`) are replaced by their expressions and the
/// lateral is dropped. Any other `LATERAL` cannot be rendered.
fn inline_laterals(query: &mut Query) -> Result<(), String> {
    let SetExpr::Select(select) = &mut *query.body else {
        return Ok(());
    };
    let mut columns: BTreeMap<(String, String), Expr> = BTreeMap::new();
    let mut kept = Vec::new();
    for table in std::mem::take(&mut select.from) {
        let TableFactor::Derived {
            lateral: true,
            subquery,
            alias,
        } = &table.relation
        else {
            kept.push(table);
            continue;
        };
        let (SetExpr::Select(inner), Some(alias)) = (&*subquery.body, alias) else {
            return Err("only a LATERAL of one row of expressions can be rendered".into());
        };
        if !inner.from.is_empty() || !table.joins.is_empty() {
            return Err("only a LATERAL of one row of expressions can be rendered".into());
        }
        for item in &inner.projection {
            let sqlparser::ast::SelectItem::ExprWithAlias {
                expr,
                alias: column,
            } = item
            else {
                return Err("a LATERAL's columns must be named (`AS`)".into());
            };
            columns.insert(
                (alias.name.value.clone(), column.value.clone()),
                Expr::Nested(Box::new(expr.clone())),
            );
        }
    }
    select.from = kept;
    if columns.is_empty() {
        return Ok(());
    }
    let _ = visit_expressions_mut(query, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr {
            if let [table, column] = parts.as_slice() {
                if let Some(e) = columns.get(&(table.value.clone(), column.value.clone())) {
                    *expr = e.clone();
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(())
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// Rewrites the (checked) query into ClickHouse's spelling.
fn to_clickhouse(query: &mut Query) -> Result<(), String> {
    let outcome = visit_expressions_mut(query, |expr| {
        match expr {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                return ControlFlow::Break(
                    "a subquery in an expression (ClickHouse does not correlate it with the outer row)"
                        .to_string(),
                );
            }
            Expr::Value(v) => {
                if let Value::SingleQuotedString(s) = &mut v.value {
                    *s = s.replace('\\', "\\\\");
                }
            }
            Expr::Cast {
                kind: CastKind::Cast,
                expr: inner,
                data_type,
                ..
            } => {
                let to = if is_text(data_type) {
                    "toString"
                } else if matches!(data_type, DataType::Double(_)) {
                    "toFloat64"
                } else {
                    "toBool"
                };
                *expr = call(to, vec![(**inner).clone()]);
            }
            Expr::Function(f) => {
                if let Err(e) = function_to_clickhouse(f) {
                    return ControlFlow::Break(e);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    match outcome {
        ControlFlow::Break(problem) => Err(problem),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// One function call in ClickHouse's spelling.
fn function_to_clickhouse(f: &mut Function) -> Result<(), String> {
    let name = function_name(f);
    let Some((_, spelling, _)) = FUNCTIONS.iter().find(|(n, ..)| *n == name) else {
        return Err(format!("the function `{name}` has no ClickHouse spelling"));
    };
    let FunctionArguments::List(list) = &mut f.args else {
        return Err(format!("`{name}` without arguments"));
    };
    let distinct = list.duplicate_treatment == Some(DuplicateTreatment::Distinct);
    let mut spelled = match spelling {
        Spelling::Named(n) => n.to_string(),
        Spelling::Swapped(n) => {
            list.args.swap(0, 1);
            n.to_string()
        }
    };
    if distinct && name == "list" {
        spelled = "groupUniqArray".into();
        list.duplicate_treatment = None;
    }
    if let Some(condition) = f.filter.take() {
        if distinct {
            return Err(format!(
                "`{name}(DISTINCT …) FILTER` has no ClickHouse spelling"
            ));
        }
        spelled.push_str("If");
        if matches!(
            list.args.as_slice(),
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
        ) {
            list.args.clear();
        }
        list.args
            .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(*condition)));
    }
    f.name = ObjectName::from(vec![Ident::new(spelled)]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(sql: &str, fragment: Fragment) -> Result<String, String> {
        render(sql, fragment, Target::ClickHouse)
    }

    #[test]
    fn duckdb_keeps_the_text_and_clickhouse_gets_its_spelling() {
        let sql = "date_diff('microsecond', f.received_at, f.responded_at) / 1e6";
        assert_eq!(render(sql, Fragment::Expr, Target::DuckDb).unwrap(), sql);
        assert_eq!(
            ch(sql, Fragment::Expr).unwrap(),
            "dateDiff('microsecond', f.received_at, f.responded_at) / 1e6"
        );
        assert_eq!(
            ch(
                "count(*) FILTER (WHERE en.program = 'loyalty')",
                Fragment::Expr
            )
            .unwrap(),
            "countIf(en.program = 'loyalty')"
        );
        assert_eq!(
            ch("list(DISTINCT en.program)", Fragment::Expr).unwrap(),
            "groupUniqArray(en.program)"
        );
        assert_eq!(
            ch(
                "CAST(coalesce(t.is_complaint, false) AS VARCHAR)",
                Fragment::Expr
            )
            .unwrap(),
            "toString(coalesce(t.is_complaint, false))"
        );
        assert_eq!(
            ch(
                "coalesce(list_contains(ev.value, '{program}'), false)",
                Fragment::Expr
            )
            .unwrap(),
            "coalesce(has(ev.value, '{program}'), false)"
        );
        assert_eq!(
            ch("c.wait_secs <= {service_level_secs}", Fragment::Expr).unwrap(),
            "c.wait_secs <= {service_level_secs}"
        );
        assert_eq!(
            ch(
                "LEFT JOIN fact_tickets t ON t.ticket_id = s.ticket_id",
                Fragment::Join
            )
            .unwrap(),
            "LEFT JOIN fact_tickets AS t ON t.ticket_id = s.ticket_id"
        );
        assert_eq!(
            ch("regexp_split_to_array(lower(x), '[,; ]+')", Fragment::Expr).unwrap(),
            "splitByRegexp('[,; ]+', lower(x))"
        );
    }

    #[test]
    fn a_one_row_lateral_is_inlined_and_backslashes_are_escaped() {
        let sql = "SELECT m.id, lex.pos FROM social_mentions m, LATERAL (SELECT len(regexp_extract_all(m.text, '\\b(a)\\b')) AS pos) lex";
        assert_eq!(
            ch(sql, Fragment::Query).unwrap(),
            "SELECT m.id, (length(extractAll(m.text, '\\\\b(a)\\\\b'))) FROM social_mentions AS m"
        );
    }

    #[test]
    fn constructs_outside_the_vocabulary_fail() {
        for target in Target::ALL {
            let e = render("epoch_ms(t.created_at)", Fragment::Expr, target).unwrap_err();
            assert!(
                e.contains("`epoch_ms` is not in the portable vocabulary"),
                "{e}"
            );
            let e = render("CAST(x AS INTEGER)", Fragment::Expr, target).unwrap_err();
            assert!(e.contains("cast to `INTEGER`"), "{e}");
            let e = render("date_diff('month', a, b)", Fragment::Expr, target).unwrap_err();
            assert!(e.contains("date_diff"), "{e}");
        }
        let sub = "(SELECT count(*) FROM customers c2 WHERE c2.acquired_at < b.b_end)";
        assert!(render(sub, Fragment::Expr, Target::DuckDb).is_ok());
        assert!(ch(sub, Fragment::Expr).unwrap_err().contains("subquery"));
    }
}
