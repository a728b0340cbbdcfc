//! The `/api/v1` endpoints over the report engineer's library functions, the same ones the CLI
//! calls: spikes (`vitals spikes`), anomalies (`vitals anomalies`), annotations (`vitals
//! annotate`, `vitals annotations`), staffing (`vitals staffing`), the monthly report as a
//! download (`vitals report`), and the alerts' state and history.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use vitals_query::annotations::NewAnnotation;
use vitals_query::anomalies::{anomalies, AnomalyRequest};
use vitals_query::spikes::{spikes, SpikeRequest};
use vitals_query::staffing::{staffing, StaffingRequest};
use vitals_query::{Filter, MetricSpec};
use vitals_report::{build, render_html, render_xlsx, ReportError, ReportRequest};

use crate::error::{ApiError, ApiJson};
use crate::state::Shared;

/// Query parameters, or the JSON error body when they do not parse.
fn params<T>(parsed: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    parsed
        .map(|Query(p)| p)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()))
}

/// Query parameters whose repeatable `filter=DIM=V1,V2` (or `DIM!=V`, the CLI's `--filter`
/// form, a comma inside a value written `\,`) are taken out as filters; the rest parse as `T`
/// (unknown keys refused as before).
fn params_with_filters<T: DeserializeOwned>(
    parsed: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<(T, Vec<Filter>), ApiError> {
    let (filters, rest): (Vec<_>, Vec<_>) = params(parsed)?
        .into_iter()
        .partition(|(k, _)| k == "filter");
    let filters = filters
        .iter()
        .map(|(_, f)| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let rest = serde_urlencoded::to_string(&rest).map_err(ApiError::internal)?;
    let parsed = serde_urlencoded::from_str(&rest).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("Failed to deserialize query string: {e}"),
        )
    })?;
    Ok((parsed, filters))
}

fn report_error(e: ReportError) -> ApiError {
    match e {
        ReportError::Query(q) => q.into(),
        ReportError::NoData { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, "no_data", e.to_string())
        }
        other if other.is_user_error() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            other.to_string(),
        ),
        other => ApiError::internal(other.to_string()),
    }
}

/// `GET /api/v1/spikes?by=ticket:category&from=&to=&timezone=&baseline_weeks=&threshold=&min_excess=`
/// and any number of `filter=DIM=V1,V2`.
pub async fn get_spikes(
    State(state): State<Shared>,
    request: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (mut request, filters): (SpikeRequest, _) = params_with_filters(request)?;
    request.filters = filters;
    let report = state
        .read(move |state, reader| {
            Ok(spikes(
                reader,
                reader,
                &state.catalogue,
                &state.config,
                &request,
            )?)
        })
        .await?;
    Ok(Json(report).into_response())
}

/// Query parameters of `GET /api/v1/anomalies`: metrics as a comma-separated list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyParams {
    /// `csat,first_response_time:median` (the default set when absent).
    #[serde(default)]
    pub metrics: Option<String>,
    /// A dimension to split each series by.
    #[serde(default)]
    pub by: Option<String>,
    /// First local date judged.
    #[serde(default)]
    pub from: Option<chrono::NaiveDate>,
    /// Local date after the last judged.
    #[serde(default)]
    pub to: Option<chrono::NaiveDate>,
    /// IANA zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Weeks of baseline.
    #[serde(default)]
    pub baseline_weeks: Option<u32>,
    /// Band width in spreads.
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// `GET /api/v1/anomalies?metrics=&by=&from=&to=&timezone=&baseline_weeks=&threshold=` and any
/// number of `filter=DIM=V1,V2` (as `vitals anomalies --filter`).
pub async fn get_anomalies(
    State(state): State<Shared>,
    request: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (p, filters): (AnomalyParams, _) = params_with_filters(request)?;
    let request = AnomalyRequest {
        metrics: p
            .metrics
            .iter()
            .flat_map(|m| m.split(','))
            .filter(|m| !m.is_empty())
            .map(MetricSpec::parse)
            .collect(),
        by: p.by,
        filters,
        from: p.from,
        to: p.to,
        timezone: p.timezone,
        baseline_weeks: p.baseline_weeks,
        threshold: p.threshold,
        min_n: None,
    };
    let report = state
        .read(move |state, reader| {
            Ok(anomalies(
                reader,
                &state.catalogue,
                &state.config,
                &request,
            )?)
        })
        .await?;
    Ok(Json(report).into_response())
}

/// `GET /api/v1/alerts`: the rules, every series' state, the latest messages and deliveries.
pub async fn get_alerts(State(state): State<Shared>) -> Result<Response, ApiError> {
    let answer = state
        .read(|state, reader| {
            let rules: Vec<_> = state
                .config
                .alert_rules()
                .map_err(ApiError::internal)?
                .into_iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name, "metric": r.metric, "filters": r.filters, "by": r.by,
                        "condition": r.condition.name(), "for": r.for_evaluations,
                        "cooldown_secs": r.cooldown_secs, "window_days": r.window_days,
                        "channels": r.channels.iter().map(|c| c.kind()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let states = reader.alert_states().map_err(ApiError::internal)?;
            let history = reader.alert_events(HISTORY).map_err(ApiError::internal)?;
            let deliveries: Vec<_> = reader
                .alert_deliveries(HISTORY)
                .map_err(ApiError::internal)?
                .into_iter()
                .map(|mut d| {
                    d.body.clear();
                    d
                })
                .collect();
            Ok(serde_json::json!({
                "rules": rules,
                "states": states,
                "history": history,
                "deliveries": deliveries,
            }))
        })
        .await?;
    Ok(Json(answer).into_response())
}

/// Messages and deliveries `GET /api/v1/alerts` lists at most.
const HISTORY: u32 = 100;

/// `GET /api/v1/staffing?month=YYYY-MM&timezone=&top=`.
pub async fn get_staffing(
    State(state): State<Shared>,
    request: Result<Query<StaffingRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let request = params(request)?;
    let report = state
        .read(move |state, reader| Ok(staffing(reader, &state.catalogue, &state.config, &request)?))
        .await?;
    Ok(Json(report).into_response())
}

/// `GET /api/v1/annotations`.
pub async fn list_annotations(State(state): State<Shared>) -> Result<Response, ApiError> {
    let all = state
        .read(|_, reader| reader.annotations().map_err(ApiError::internal))
        .await?;
    Ok(Json(all).into_response())
}

/// `POST /api/v1/annotations` with `{"date", "text", "category"}` (an `ingest` token).
pub async fn add_annotation(
    State(state): State<Shared>,
    ApiJson(new): ApiJson<NewAnnotation>,
) -> Result<Response, ApiError> {
    new.check(state.config.import.max_field_chars)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_annotation", e))?;
    let stored = state
        .writer
        .run(move |backend| backend.admin().add_annotation(&new))
        .await
        .map_err(|_| ApiError::busy())?
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// `DELETE /api/v1/annotations/{id}`.
pub async fn delete_annotation(
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let deleted = state
        .writer
        .run(move |backend| backend.admin().delete_annotation(id))
        .await
        .map_err(|_| ApiError::busy())?
        .map_err(ApiError::internal)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_annotation",
            format!("no annotation {id}"),
        ))
    }
}

/// Query parameters of a report download.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// `YYYY-MM`.
    #[serde(default)]
    pub month: Option<String>,
    /// `YYYY-Www` (an ISO week) instead of a month: the weekly report.
    #[serde(default)]
    pub week: Option<String>,
    /// `xlsx` (default) or `html`.
    #[serde(default)]
    pub format: Option<String>,
    /// Limit ticket metrics to one team.
    #[serde(default)]
    pub team: Option<String>,
    /// IANA zone.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// `GET /api/v1/report?month=YYYY-MM&format=xlsx|html[&team=][&timezone=]` (or `week=YYYY-Www`
/// instead of `month`): the report as `vitals report` writes it, as a download.
pub async fn get_report(
    State(state): State<Shared>,
    query: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let format = params.format.clone().unwrap_or_else(|| "xlsx".into());
    if format != "xlsx" && format != "html" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_format",
            format!("unknown format `{format}`"),
        )
        .suggesting(vec!["xlsx".into(), "html".into()]));
    }
    let month = match (&params.month, &params.week) {
        (Some(month), None) if !month.contains("-W") => month.clone(),
        (None, Some(week)) => week.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_period",
                "give either month=YYYY-MM or week=YYYY-Www",
            ))
        }
    };
    let wanted = format.clone();
    let period = month.clone();
    let bytes = state
        .read(move |state, reader| {
            let request = ReportRequest {
                period,
                team: params.team,
                timezone: params.timezone,
            };
            let model = build(reader, reader, &state.catalogue, &state.config, &request)
                .map_err(report_error)?;
            match wanted.as_str() {
                "xlsx" => render_xlsx(&model).map_err(report_error),
                _ => render_html(&model, None)
                    .map(String::into_bytes)
                    .map_err(report_error),
            }
        })
        .await?;
    let content_type = match format.as_str() {
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "text/html; charset=utf-8",
    };
    let disposition = format!("attachment; filename=\"vitals-report-{month}.{format}\"");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
    );
    Ok(response)
}
