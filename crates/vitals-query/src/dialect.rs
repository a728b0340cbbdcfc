//! The SQL dialect seam: every construct whose spelling differs between SQL engines is written
//! through a [`Dialect`], so that a second engine (ClickHouse is planned, see the design
//! notes) states only where it differs from DuckDB.
//!
//! Why a trait with provided methods, rather than a struct of render functions: the provided
//! methods *are* DuckDB's spelling, so [`DuckDb`] overrides nothing and a second dialect
//! overrides exactly the seams where its engine differs — a ClickHouse dialect would write
//! `quantileExactInclusive(q)(x)`, the `-If` combinators instead of `FILTER (WHERE …)`
//! (`countIf(c)`, `avgIf(x, c)`), `toUnixTimestamp64Micro(t)`, `intDiv(a, b)`,
//! `toDateTime64('…', 6, 'UTC')`, `toFloat64(x)` / `toString(x)`, `hasAny(…)` and
//! `arrayJoin(…)` for arrays, `VALUES` as a table function, and no `MATERIALIZED` CTEs. A
//! struct of function pointers would have to spell every seam out for every dialect, and a
//! trait object keeps planning free of generics (`&dyn Dialect` is passed down as is).
//!
//! What stays plain text because every engine we target spells it the same: `coalesce`,
//! `greatest` / `least`, `CASE`, `UNION ALL`, window sums and `row_number()`, `LIMIT … OFFSET`,
//! `GROUP BY ALL`, `min` / `max` / `sum` of helper columns, and the `?` placeholders the engine
//! binds. Catalogue expressions (TOML) are written in DuckDB's SQL and rendered for the dialect's
//! [`Dialect::target`] when the planner binds the catalogue to a query (`bind.rs`).
//!
//! Grouping sets (`why`'s one scan per period) are a seam though both engines spell
//! `GROUPING SETS (…)` and `grouping(…)` alike: ClickHouse's `grouping` follows the standard's
//! bits only under `force_grouping_standard_compatibility` (its default), and it fills the
//! columns a set does not group with defaults rather than NULLs (which the reader never
//! looks at: a set's rows are told by their grouping id).

use chrono::DateTime;
use vitals_core::catalogue::Target;

/// An aggregate function a statement asks for over a metric's rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggregateFn {
    /// The rows (no argument), or the argument's non-null values.
    Count,
    /// The mean.
    Avg,
    /// The sample standard deviation.
    StddevSamp,
    /// The total.
    Sum,
    /// The continuous (interpolated) quantile `q`, 0–1.
    Quantile(f64),
}

/// One aggregate: a function, its argument (`None`: every row, `count(*)`) and the condition
/// that picks the rows it reads (`None`: all of them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregate<'a> {
    /// The function.
    pub function: AggregateFn,
    /// Its argument.
    pub argument: Option<&'a str>,
    /// The rows it reads.
    pub filter: Option<&'a str>,
}

impl<'a> Aggregate<'a> {
    /// `function` over `argument` (or every row), over all rows.
    pub fn of(function: AggregateFn, argument: Option<&'a str>) -> Self {
        Aggregate {
            function,
            argument,
            filter: None,
        }
    }

    /// The rows it reads: those meeting `condition`.
    pub fn filtered(self, condition: Option<&'a str>) -> Self {
        Aggregate {
            filter: condition,
            ..self
        }
    }
}

/// A UTC µs instant as `YYYY-MM-DD HH:MM:SS.ffffff` (the Unix epoch when out of range).
pub fn utc_text(us: i64) -> String {
    let t = DateTime::from_timestamp_micros(us).unwrap_or_default();
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// How one SQL engine spells the constructs that differ between engines. Every method has
/// DuckDB's spelling; see the module documentation for what another engine overrides.
pub trait Dialect {
    /// The engine whose spelling the catalogue's fragments are rendered in
    /// (`Catalogue::for_target`).
    fn target(&self) -> Target {
        Target::DuckDb
    }

    /// A UTC timestamp literal from its text (`YYYY-MM-DD HH:MM:SS[.ffffff]`).
    fn timestamp_literal(&self, utc: &str) -> String {
        format!("TIMESTAMP '{utc}'")
    }

    /// The UTC µs instant `us` as a timestamp literal.
    fn instant(&self, us: i64) -> String {
        self.timestamp_literal(&utc_text(us))
    }

    /// A date literal from its text (`YYYY-MM-DD`).
    fn date_literal(&self, date: &str) -> String {
        format!("DATE '{date}'")
    }

    /// A string literal.
    fn string_literal(&self, text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// A double-precision literal.
    fn float_literal(&self, x: f64) -> String {
        self.to_double(&format!("{x:?}"))
    }

    /// `expr` as a double.
    fn to_double(&self, expr: &str) -> String {
        format!("CAST({expr} AS DOUBLE)")
    }

    /// `expr` as text.
    fn to_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS VARCHAR)")
    }

    /// `expr` as a boolean.
    fn to_boolean(&self, expr: &str) -> String {
        format!("CAST({expr} AS BOOLEAN)")
    }

    /// The timestamp `ts` as integer microseconds since the Unix epoch.
    fn epoch_us(&self, ts: &str) -> String {
        format!("epoch_us({ts})")
    }

    /// Integer division, rounding towards negative infinity for the non-negative operands the
    /// planner uses.
    fn int_div(&self, dividend: &str, divisor: &str) -> String {
        format!("{dividend} // {divisor}")
    }

    /// Whole days from the date or timestamp `from` to `to`.
    fn days_between(&self, from: &str, to: &str) -> String {
        format!("date_diff('day', {from}, {to})")
    }

    /// An aggregate over the rows its filter picks.
    fn aggregate(&self, aggregate: &Aggregate) -> String {
        let call = self.aggregate_call(aggregate.function, aggregate.argument);
        match aggregate.filter {
            Some(condition) => format!("{call} FILTER (WHERE {condition})"),
            None => call,
        }
    }

    /// An aggregate function's call over all rows (`None`: every row).
    fn aggregate_call(&self, function: AggregateFn, argument: Option<&str>) -> String {
        let argument = argument.unwrap_or("*");
        match function {
            AggregateFn::Count => format!("count({argument})"),
            AggregateFn::Avg => format!("avg({argument})"),
            AggregateFn::StddevSamp => format!("stddev_samp({argument})"),
            AggregateFn::Sum => format!("sum({argument})"),
            AggregateFn::Quantile(q) => self.quantile(argument, q),
        }
    }

    /// The continuous (interpolated) quantile `q` of `argument`.
    fn quantile(&self, argument: &str, q: f64) -> String {
        format!("quantile_cont({argument}, {q})")
    }

    /// Whether the list `list`, read as text, holds any of `values` (SQL expressions).
    fn list_has_any_text(&self, list: &str, values: &[&str]) -> String {
        format!(
            "list_has_any(CAST({list} AS VARCHAR[]), [{}])",
            values.join(", ")
        )
    }

    /// One row per element of the list `list`, or one NULL row for an empty list.
    fn unnest_or_null(&self, list: &str) -> String {
        format!("unnest(CASE WHEN len({list}) > 0 THEN {list} ELSE [NULL] END)")
    }

    /// A common table expression `name(columns…)` of literal rows (SQL expressions).
    fn values_table(&self, name: &str, columns: &[&str], rows: &[Vec<String>]) -> String {
        let rows: Vec<String> = rows
            .iter()
            .map(|row| format!("({})", row.join(", ")))
            .collect();
        format!(
            "{name}({}) AS (VALUES {})",
            columns.join(", "),
            rows.join(", ")
        )
    }

    /// A common table expression computed once and read several times.
    fn materialized_cte(&self, name: &str, body: &str) -> String {
        format!("{name} AS MATERIALIZED ({body})")
    }

    /// `a` equals `b`, two NULLs counting as equal.
    fn null_safe_eq(&self, a: &str, b: &str) -> String {
        format!("{a} IS NOT DISTINCT FROM {b}")
    }

    /// A `GROUP BY` of several groupings in one pass, each a list of expressions (none
    /// empty): `GROUPING SETS ((a, b), (a, c))`.
    fn grouping_sets(&self, sets: &[Vec<String>]) -> String {
        let sets: Vec<String> = sets
            .iter()
            .map(|set| format!("({})", set.join(", ")))
            .collect();
        format!("GROUPING SETS ({})", sets.join(", "))
    }

    /// Which grouping of [`Dialect::grouping_sets`] a row belongs to, as the standard's bit
    /// mask over `columns` (the first the most significant bit; a bit is 1 when its column is
    /// not grouped in the row's set).
    fn grouping_id(&self, columns: &[String]) -> String {
        format!("grouping({})", columns.join(", "))
    }
}

/// DuckDB, the engine of the store: the trait's own spelling.
#[derive(Debug, Clone, Copy, Default)]
pub struct DuckDb;

impl Dialect for DuckDb {}

/// An aggregate as a double, the type of every aggregate column a statement returns.
pub fn double_aggregate(dialect: &dyn Dialect, aggregate: &Aggregate) -> String {
    dialect.to_double(&dialect.aggregate(aggregate))
}
