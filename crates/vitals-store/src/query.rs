//! Runs a query end to end: resolve the request against the catalogue, settle the period
//! (the data's extent when `--from`/`--to` are not given), make the buckets in the query's
//! zone, run each metric's SQL and finalise. Every surface calls this one function, so the
//! CLI, the API, the dashboard and the report always agree.

use chrono::{DateTime, Duration, NaiveDate};
use chrono_tz::Tz;
use serde_json::json;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_core::query::compare::attach;
use vitals_core::query::plan::{extent_sql, plan_metric, quantiles};
use vitals_core::query::result::{finalize, low_sample_warnings, merge};
use vitals_core::query::{
    buckets, comparison_period, resolve, targets, Bucket, QueryRequest, QueryResult, RequestError,
    ResolvedQuery, ResultRow,
};

use crate::{Store, StoreError};

/// A query that failed: the user's request, or the store.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request does not fit the catalogue (exit 1).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The store failed (exit 2).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn local_date(zone: Tz, us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .with_timezone(&zone)
        .date_naive()
}

impl Store {
    /// Answers a query.
    pub fn query(
        &self,
        catalogue: &Catalogue,
        config: &Config,
        request: &QueryRequest,
    ) -> Result<QueryResult, QueryError> {
        let resolved = resolve(catalogue, request, config.reporting_zone())?;
        let (from, to) = self.period(catalogue, config, &resolved)?;
        let zone = resolved.zone;
        let bucket_list = match (from, to) {
            (Some(f), Some(t)) => buckets(zone, resolved.grain, f, t),
            _ => Vec::new(),
        };
        let mut results = self.rows(catalogue, config, &resolved, &bucket_list)?;
        let mut compared_period = None;
        if let (Some(mode), Some(f), Some(t)) = (request.compare, from, to) {
            let (cf, ct) = comparison_period(mode, resolved.grain, f, t);
            let compared_buckets = buckets(zone, resolved.grain, cf, ct);
            let compared = self.rows(catalogue, config, &resolved, &compared_buckets)?;
            attach(
                &mut results,
                &bucket_list,
                &compared,
                &compared_buckets,
                resolved.grain.map(|g| g.dimension()),
            );
            compared_period =
                Some(json!({"mode": mode.name(), "from": cf.to_string(), "to": ct.to_string()}));
        }
        targets::apply(
            &mut results,
            &config.targets().map_err(|e| RequestError(e.to_string()))?,
            catalogue,
        );
        let mut warnings = low_sample_warnings(&results, config.statistics.min_sample);
        let asks_business = resolved
            .metrics
            .iter()
            .any(|m| m.asks.iter().any(|a| a.business));
        if asks_business && config.calendars.is_empty() {
            warnings.push(vitals_core::query::Warning {
                code: "no_calendar".into(),
                metric: None,
                message: "no business calendar is configured ([calendars.default] in vitals.toml): business-time stats are null".into(),
            });
        }
        if bucket_list.is_empty() {
            warnings.push(vitals_core::query::Warning {
                code: "no_data".into(),
                metric: None,
                message:
                    "no data for these metrics in the store; import some first (vitals import)"
                        .into(),
            });
        }
        let anchors: serde_json::Map<String, serde_json::Value> = resolved
            .metrics
            .iter()
            .map(|m| (m.metric.id.clone(), json!(m.metric.counts_by)))
            .collect();
        let mut params = serde_json::Map::new();
        if resolved
            .metrics
            .iter()
            .any(|m| m.metric.id == "service_level")
        {
            params.insert(
                "service_level".into(),
                json!({"threshold_secs": config.calls.service_level_secs, "abandon_grace_secs": config.calls.abandon_grace_secs}),
            );
        }
        if resolved.metrics.iter().any(|m| {
            matches!(m.metric.entity.as_str(), "survey")
                && (m.dimensions.iter().any(|d| d == "survey:agent")
                    || resolved
                        .filters
                        .iter()
                        .any(|f| f.dimension == "survey:agent")
                    || m.metric.per.is_some())
        }) {
            params.insert(
                "survey_attribution".into(),
                json!(config.attribution.surveys.name()),
            );
        }
        let query = json!({
            "metrics": request.metrics,
            "by": request.by,
            "filters": request.filters,
            "from": from.map(|d| d.to_string()),
            "to": to.map(|d| d.to_string()),
            "period_explicit": {"from": request.from.is_some(), "to": request.to.is_some()},
            "timezone": zone.name(),
            "from_utc": bucket_list.first().map(|b| fmt_utc(b.start_us)),
            "to_utc": bucket_list.last().map(|b| fmt_utc(b.end_us)),
            "anchors": anchors,
            "params": params,
            "compare": compared_period,
        });
        Ok(QueryResult {
            query,
            results,
            warnings,
        })
    }

    /// The merged result rows of a resolved query over the given buckets.
    fn rows(
        &self,
        catalogue: &Catalogue,
        config: &Config,
        resolved: &ResolvedQuery,
        bucket_list: &[Bucket],
    ) -> Result<Vec<ResultRow>, StoreError> {
        let mut per_metric = Vec::new();
        if !bucket_list.is_empty() {
            for rm in &resolved.metrics {
                let plan = plan_metric(catalogue, config, resolved, rm, bucket_list);
                let rows = self.run_planned(&plan)?;
                per_metric.push((rm, finalize(rm, &quantiles(rm), &plan.components, &rows)));
            }
        }
        Ok(merge(resolved, bucket_list, per_metric))
    }

    /// The period: as asked, else from the data's extent (local dates in the query's zone).
    fn period(
        &self,
        catalogue: &Catalogue,
        config: &Config,
        q: &ResolvedQuery,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>), StoreError> {
        if let (Some(f), Some(t)) = (q.from, q.to) {
            return Ok((Some(f), Some(t)));
        }
        let mut lo: Option<i64> = None;
        let mut hi: Option<i64> = None;
        for rm in &q.metrics {
            if let Some((a, b)) = self.extent(&extent_sql(catalogue, config, &rm.metric))? {
                lo = Some(lo.map_or(a, |x| x.min(a)));
                hi = Some(hi.map_or(b, |x| x.max(b)));
            }
        }
        let from = q.from.or_else(|| lo.map(|us| local_date(q.zone, us)));
        let to =
            q.to.or_else(|| hi.map(|us| local_date(q.zone, us) + Duration::days(1)));
        Ok(match (from, to) {
            (Some(f), Some(t)) if f < t => (Some(f), Some(t)),
            _ => (None, None),
        })
    }
}

fn fmt_utc(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
