//! vitals-query: the query library every surface uses. A typed, serde [`QueryRequest`] is
//! resolved against the catalogue, planned into SQL per metric, run on an [`Engine`] (the
//! DuckDB store implements it; the library itself never depends on a database), finalised
//! into values with `n` and intervals, compared and judged against targets, and returned as
//! one serde [`QueryResponse`] — the JSON that `vitals query --json` prints and the API serves.
#![deny(missing_docs)]

pub mod alerts;
pub mod annotations;
pub mod anomalies;
pub mod bind;
mod bucket_index;
pub mod buckets;
pub mod compare;
pub mod decompose;
pub mod dialect;
pub mod drill;
pub mod engine;
pub mod error;
pub mod grouped;
pub mod limits;
mod local_time;
pub mod logical;
pub mod operational;
pub mod plan;
pub mod render;
pub mod request;
pub mod resolve;
pub mod response;
pub mod result;
mod rowwise;
pub mod run;
mod shared;
pub mod sla;
pub mod snapshot;
pub mod spikes;
mod sql;
pub mod staffing;
pub mod targets;
pub mod units;
pub mod why;

pub use annotations::{Annotation, NewAnnotation};
pub use anomalies::{anomalies, Anomaly, AnomalyReport, AnomalyRequest};
pub use buckets::{buckets, Bucket, Grain, TIME_OF_DAY};
pub use compare::{comparison_period, CompareMode, Comparison};
pub use dialect::{Dialect, DuckDb};
pub use drill::{drill, DrillRecord, DrillRequest, DrillResponse};
pub use engine::{Engine, EngineError, FactsReadOnce, FactsState, RecordRow};
pub use error::{ErrorBody, QueryError};
pub use grouped::run_grouped;
pub use operational::OperationalReads;
pub use request::{Filter, FilterOp, MetricSpec, QueryRequest};
pub use resolve::{resolve, ResolvedMetric, ResolvedQuery, Stat};
pub use response::{QueryEcho, QueryResponse, Warning};
pub use result::{AggRow, MetricValue, ResultRow};
pub use run::run_query;
pub use spikes::{spikes, Spike, SpikeDimension, SpikeReport, SpikeRequest, SpikeSegment};
pub use staffing::{staffing, staffing_between, week_bounds, StaffingReport, StaffingRequest};
pub use why::{why, Versus, WhyRequest, WhyResponse};
