//! Queries: the request type, its resolution against the catalogue, time buckets, SQL
//! planning and result finalisation. Every surface (CLI, API, dashboard, report) goes through
//! here, so numbers always reconcile.

pub mod buckets;
pub mod compare;
pub mod plan;
pub mod request;
pub mod result;
pub mod targets;

pub use buckets::{buckets, hours, Bucket, Grain, LocalHour, TIME_OF_DAY};
pub use compare::{comparison_period, CompareMode, Comparison};
pub use request::{resolve, QueryRequest, RequestError, ResolvedMetric, ResolvedQuery, Stat};
pub use result::{AggRow, MetricValue, QueryResult, ResultRow, Warning};
