//! A small logical plan of a metric statement: common table expressions and SELECTs made of
//! select items (with aggregates kept as function, argument and filter), a source with its
//! joins, `WHERE` conditions, grouping and `HAVING`. It is rendered to SQL through a
//! [`Dialect`] ([`Statement::render`]), which writes every value, so an engine that spells an
//! aggregate, a cast or a filtered aggregate differently changes only that fragment.
//!
//! What is planned this way: the row-wise metric statement [`crate::plan::plan_metric`]
//! builds for counts, shares, proportions, distributions, NPS, composites, spreads and repeat
//! purchase (a row source `src`, then the aggregate over it; spreads and repeat purchase with a
//! per-unit step `per` between). What still renders through the dialect as text: the snapshot
//! statements (`snapshot.rs`, and the pairwise backlog and retention in `plan.rs`), cost
//! ratios, shared scans (`shared.rs`, whose aggregates are [`Expr`]s of this plan), drill-downs
//! (`drill.rs`), the extent statement, the common preamble (`sql.rs`) and the bucket and
//! local-hour arithmetic (`bucket_index.rs`, `local_time.rs`). Source and join texts, and
//! conditions, are SQL the catalogue and those helpers write.

use crate::dialect::{Aggregate, AggregateFn, Dialect};

/// A value a statement computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// SQL as written (a column, a catalogue expression).
    Sql(String),
    /// An aggregate over the rows `filter` picks (`None`: every row).
    Aggregate {
        /// The function.
        function: AggregateFn,
        /// Its argument (`None`: every row).
        argument: Option<String>,
        /// The rows it reads.
        filter: Option<String>,
    },
    /// A value as a double.
    Double(Box<Expr>),
    /// A value as text.
    Text(Box<Expr>),
    /// A share (0–1) as a percentage.
    Percent(Box<Expr>),
}

impl Expr {
    /// SQL as written.
    pub fn sql(text: impl Into<String>) -> Expr {
        Expr::Sql(text.into())
    }

    /// `function` over `argument` (`None`: every row) for the rows meeting `filter`.
    pub fn aggregate(function: AggregateFn, argument: Option<&str>, filter: Option<&str>) -> Expr {
        Expr::Aggregate {
            function,
            argument: argument.map(str::to_string),
            filter: filter.map(str::to_string),
        }
    }

    /// The value as a double.
    pub fn double(self) -> Expr {
        Expr::Double(Box::new(self))
    }

    /// The value as text.
    pub fn text(self) -> Expr {
        Expr::Text(Box::new(self))
    }

    /// The share as a percentage.
    pub fn percent(self) -> Expr {
        Expr::Percent(Box::new(self))
    }

    /// The expression as SQL.
    pub fn render(&self, dialect: &dyn Dialect) -> String {
        match self {
            Expr::Sql(text) => text.clone(),
            Expr::Aggregate {
                function,
                argument,
                filter,
            } => dialect.aggregate(&Aggregate {
                function: *function,
                argument: argument.as_deref(),
                filter: filter.as_deref(),
            }),
            Expr::Double(inner) => dialect.to_double(&inner.render(dialect)),
            Expr::Text(inner) => dialect.to_text(&inner.render(dialect)),
            Expr::Percent(inner) => format!("100.0 * {}", inner.render(dialect)),
        }
    }
}

/// A select item: a value and the name it is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The value.
    pub expr: Expr,
    /// Its name (`None`: the engine's own).
    pub alias: Option<String>,
}

impl Item {
    /// `expr` under its engine-given name.
    pub fn plain(expr: Expr) -> Item {
        Item { expr, alias: None }
    }

    /// `expr AS alias`.
    pub fn named(expr: Expr, alias: &str) -> Item {
        Item {
            expr,
            alias: Some(alias.to_string()),
        }
    }
}

/// One SELECT.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Select {
    /// What it returns, in order.
    pub items: Vec<Item>,
    /// The table (or table expression) it reads.
    pub from: String,
    /// Joins, each a whole join clause (`JOIN buckets b ON …`), in order.
    pub joins: Vec<String>,
    /// `WHERE` conditions, all of which hold.
    pub conditions: Vec<String>,
    /// Grouped by every item that is not an aggregate (`GROUP BY ALL`).
    pub grouped: bool,
    /// Instead, when not empty: grouped once per set of expressions, in one pass
    /// ([`Dialect::grouping_sets`]).
    pub sets: Vec<Vec<String>>,
    /// `HAVING` conditions, all of which hold.
    pub having: Vec<String>,
}

/// A statement: the common table expressions every statement starts with (rendered by
/// `sql::preamble`), the statement's own named SELECTs, and its result.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `WITH …` up to the buckets (and local hours).
    pub preamble: String,
    /// Named SELECTs, each reading the ones before.
    pub ctes: Vec<(String, Select)>,
    /// The result.
    pub body: Select,
}

impl Select {
    /// The SELECT as SQL: its clauses in order, each only when it has something to say.
    pub fn render(&self, dialect: &dyn Dialect) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|item| {
                let value = item.expr.render(dialect);
                match &item.alias {
                    Some(alias) => format!("{value} AS {alias}"),
                    None => value,
                }
            })
            .collect();
        let mut sql = format!("SELECT {} FROM {}", items.join(", "), self.from);
        for join in &self.joins {
            sql.push(' ');
            sql.push_str(join);
        }
        if !self.conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", self.conditions.join(" AND ")));
        }
        if !self.sets.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", dialect.grouping_sets(&self.sets)));
        } else if self.grouped {
            sql.push_str(" GROUP BY ALL");
        }
        if !self.having.is_empty() {
            sql.push_str(&format!(" HAVING {}", self.having.join(" AND ")));
        }
        sql
    }
}

impl Statement {
    /// The statement as SQL, one common table expression a line.
    pub fn render(&self, dialect: &dyn Dialect) -> String {
        let mut sql = self.preamble.clone();
        for (name, select) in &self.ctes {
            sql.push_str(&format!(",\n{name} AS ({})", select.render(dialect)));
        }
        sql.push('\n');
        sql.push_str(&self.body.render(dialect));
        sql
    }
}
