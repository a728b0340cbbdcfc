//! The `/api/v1` handlers over the query library and the store: queries (the same request and
//! response as `vitals query --json`, cached per data version), the catalogue, ingest through
//! the importer's validation and the writer's group commit, one ticket explained, the SLA
//! report, `why` (a change split over segments), and token administration. Each handler
//! checks its scope first.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vitals_backend::{BackendError, Reader, Scope, TokenInfo};
use vitals_core::config::parse_zone;
use vitals_query::limits::check_date;
use vitals_query::sla::{sla_report, SlaFilter};
use vitals_query::{drill, run_query, DrillRequest, QueryError, QueryRequest, WhyRequest};

use crate::error::{ApiError, ApiJson};
use crate::state::{poisoned, AppState, Shared};

/// A JSON body already serialised.
pub fn json_text(text: Arc<String>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        text.as_str().to_owned(),
    )
        .into_response()
}

/// `POST /api/v1/query`; with `"records": true` and a `cell`, the records behind that cell.
pub async fn query(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not UTF-8",
        )
    })?;
    if let Some(drill_request) = DrillRequest::from_json(text)? {
        let answer = state
            .read(move |state, reader| {
                let page = drill(reader, &state.catalogue, &state.config, &drill_request)?;
                serde_json::to_string(&page).map_err(ApiError::internal)
            })
            .await?;
        return Ok(json_text(Arc::new(answer)));
    }
    let request = QueryRequest::from_json(text)?;
    let key = serde_json::to_string(&request).map_err(ApiError::internal)?;
    let version = state.data_version();
    let started = Instant::now();
    {
        let mut cache = state.cache.lock().map_err(poisoned)?;
        if let Some(hit) = cache.get(version, &key) {
            cache.answered(&key, started.elapsed());
            return Ok(json_text(hit));
        }
    }
    let answer = state
        .read(move |state, reader| answer_query(state, reader, &request))
        .await?;
    let answer = Arc::new(answer);
    let mut cache = state.cache.lock().map_err(poisoned)?;
    cache.answered(&key, started.elapsed());
    cache.put(version, key, answer.clone());
    Ok(json_text(answer))
}

/// The JSON answer to a query, as `POST /api/v1/query` sends it.
pub fn answer_query(
    state: &AppState,
    reader: &dyn Reader,
    request: &QueryRequest,
) -> Result<String, ApiError> {
    let response = run_query(reader, &state.catalogue, &state.config, request)?;
    serde_json::to_string(&response).map_err(ApiError::internal)
}

/// `POST /api/v1/why`: a metric's change split over segments, as `vitals why --json`.
/// Answers are kept in the result cache beside queries' (keyed `why:` and the request, at the
/// data version, so a commit empties them), but not warmed after a commit.
pub async fn why(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let request: WhyRequest =
        serde_json::from_slice(&body).map_err(|e| QueryError::InvalidRequest {
            message: e.to_string(),
        })?;
    let key = format!(
        "why:{}",
        serde_json::to_string(&request).map_err(ApiError::internal)?
    );
    let version = state.data_version();
    if let Some(hit) = state.cache.lock().map_err(poisoned)?.get(version, &key) {
        return Ok(json_text(hit));
    }
    let answer = state
        .read(move |state, reader| {
            let answer = vitals_query::why(reader, &state.catalogue, &state.config, &request)?;
            serde_json::to_string(&answer).map_err(ApiError::internal)
        })
        .await?;
    let answer = Arc::new(answer);
    state
        .cache
        .lock()
        .map_err(poisoned)?
        .put(version, key, answer.clone());
    Ok(json_text(answer))
}

/// `GET /api/v1/catalogue`: every metric's public document (as `vitals catalogue --json`).
pub async fn catalogue(State(state): State<Shared>) -> Result<Response, ApiError> {
    let c = &state.catalogue;
    let all: Vec<_> = c.metrics.iter().map(|m| c.doc(m)).collect();
    Ok(Json(all).into_response())
}

/// `GET /api/v1/catalogue/{metric}`.
pub async fn catalogue_metric(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = &state.catalogue;
    match c.metrics.iter().find(|m| m.id == id) {
        Some(m) => Ok(Json(c.doc(m)).into_response()),
        None => {
            let known: Vec<&str> = c.metrics.iter().map(|m| m.id.as_str()).collect();
            let near = known
                .iter()
                .filter(|k| strsim_close(k, &id))
                .map(|k| k.to_string())
                .collect();
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_metric",
                format!("no metric `{id}` in the catalogue"),
            )
            .suggesting(near))
        }
    }
}

/// Names sharing a long prefix or contained in one another (for suggestions).
fn strsim_close(known: &str, asked: &str) -> bool {
    let common = known
        .chars()
        .zip(asked.chars())
        .take_while(|(a, b)| a == b)
        .count();
    common >= 4 || (asked.len() >= 3 && known.contains(asked))
}

/// Query parameters of an ingest.
#[derive(Deserialize, Default)]
pub struct IngestParams {
    /// Zone of timestamps written without an offset (else they are rejected).
    pub tz: Option<String>,
}

/// `POST /api/v1/records/{entity}`: NDJSON or a JSON array of canonical records, validated as an
/// import validates them; accepted records are committed (and their tickets derived) before
/// the answer.
pub async fn ingest(
    State(state): State<Shared>,
    Path(entity_name): Path<String>,
    params: Result<Query<IngestParams>, QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    // The body is read first, whatever else is wrong: a client that is answered before it has
    // sent its body sees the connection close under it rather than the answer.
    let limit = state.limits.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if format!("{e:?}").contains("LengthLimitError") {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the body is larger than {limit} bytes, the server's limit (--max-body-bytes)"
                ),
            )
        } else {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the body did not arrive whole: {e}"),
            )
        }
    })?;
    let Query(params) = params
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()))?;
    let Some(entity) = vitals_core::records::entity(&entity_name) else {
        let known = vitals_core::records::ENTITIES
            .iter()
            .map(|e| e.name.to_string())
            .collect();
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_entity",
            format!("no entity `{entity_name}`"),
        )
        .suggesting(known));
    };
    let zone = params
        .tz
        .as_deref()
        .map(parse_zone)
        .transpose()
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_timezone", e))?;
    let config = state.config.clone();
    let import_limits = vitals_import::Limits::from(&config.import);
    let batch = tokio::task::spawn_blocking(move || {
        vitals_import::validate_body(entity, &bytes, &config, zone, import_limits)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "unreadable", e.to_string()))?;
    let accepted = batch.records.len();
    if accepted > 0 {
        let done = state
            .writer
            .ingest(entity, batch.records)
            .map_err(|_| ApiError::busy())?;
        done.await
            .map_err(|_| ApiError::internal("the writer stopped"))?
            .map_err(ApiError::internal)?;
    }
    state
        .metrics
        .ingested(accepted, batch.rejected.iter().map(|r| r.code));
    Ok(Json(serde_json::json!({
        "accepted": accepted,
        "rejected": batch.rejected,
        "ignored_columns": batch.ignored_columns,
    }))
    .into_response())
}

/// `GET /api/v1/tickets/{id}`: the ticket, its timeline and its facts, with `as_of`, the
/// server's moment (what open SLA targets are judged against).
pub async fn ticket(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lookup = id.clone();
    let detail = state
        .read(move |_, reader| reader.ticket_detail(&lookup).map_err(ApiError::internal))
        .await?;
    match detail {
        Some(d) => {
            // The moment the server judges open SLA targets by (VITALS_NOW when set), so the
            // ticket view says "overdue" exactly when the SLA list does.
            let mut answer = serde_json::to_value(d).map_err(ApiError::internal)?;
            let now = vitals_core::now::now_us().map_err(ApiError::internal)?;
            answer["as_of"] = chrono::DateTime::from_timestamp_micros(now)
                .map(|t| serde_json::Value::String(t.to_rfc3339()))
                .unwrap_or_default();
            Ok(Json(answer).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_ticket",
            format!("no ticket `{id}`"),
        )),
    }
}

/// Query parameters of the SLA report.
#[derive(Deserialize, Default)]
pub struct SlaParams {
    /// `breached` or `at_risk` (default: every open target).
    pub state: Option<String>,
    /// Assess at this instant (RFC 3339) instead of now.
    pub now: Option<String>,
}

/// `GET /api/v1/sla?state=breached|at_risk`: open SLA targets, as `vitals sla --json`.
pub async fn sla(
    State(state): State<Shared>,
    Query(params): Query<SlaParams>,
) -> Result<Response, ApiError> {
    let filter = match params.state.as_deref() {
        None | Some("") | Some("all") => SlaFilter::All,
        Some("breached") => SlaFilter::Breached,
        Some("at_risk") => SlaFilter::AtRisk,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_state",
                format!("unknown state `{other}`"),
            )
            .suggesting(vec!["breached".into(), "at_risk".into()]))
        }
    };
    let now = match params.now.as_deref() {
        Some(t) => {
            let invalid = |message: String| {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_now", message)
            };
            let at = chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| invalid(format!("`{t}` is not an RFC 3339 instant")))?;
            check_date("now", at.date_naive()).map_err(|e| invalid(e.to_string()))?;
            at.timestamp_micros()
        }
        None => vitals_core::now::now_us().map_err(ApiError::internal)?,
    };
    let report = state
        .read(move |state, reader| {
            let rules = state
                .config
                .derivation_rules()
                .map_err(ApiError::internal)?;
            let open = reader.open_sla_targets().map_err(ApiError::internal)?;
            Ok(sla_report(open, &rules, now, filter))
        })
        .await?;
    Ok(Json(report).into_response())
}

/// The body of a token creation.
#[derive(Deserialize)]
pub struct NewToken {
    /// A name to recognise it by.
    pub name: String,
    /// Scopes (`read`, `ingest`, `admin`).
    pub scopes: Vec<String>,
}

/// `GET /api/v1/tokens`.
pub async fn tokens(State(state): State<Shared>) -> Result<Response, ApiError> {
    let all: Vec<TokenInfo> = state.tokens.read().map_err(poisoned)?.clone();
    Ok(Json(all).into_response())
}

/// `POST /api/v1/tokens`: the answer holds the token, shown this once.
pub async fn create_token(
    State(state): State<Shared>,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<Response, ApiError> {
    let scopes = new
        .scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_scope", e))?;
    if scopes.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_scope",
            "name at least one scope: read, ingest, admin",
        ));
    }
    let (info, token) = state
        .writer
        .run(move |backend| {
            let admin = backend.admin();
            let created = admin.create_token(&new.name, &scopes)?;
            Ok::<_, BackendError>((created, admin.tokens()?))
        })
        .await
        .map_err(|_| ApiError::busy())?
        .map(|((info, token), all)| {
            if let Ok(mut tokens) = state.tokens.write() {
                *tokens = all;
            }
            (info, token)
        })
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"token": token, "info": info})),
    )
        .into_response())
}

/// `DELETE /api/v1/tokens/{id}`.
pub async fn revoke_token(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (revoked, all) = state
        .writer
        .run(move |backend| {
            let admin = backend.admin();
            Ok::<_, BackendError>((admin.revoke_token(&id)?, admin.tokens()?))
        })
        .await
        .map_err(|_| ApiError::busy())?
        .map_err(ApiError::internal)?;
    *state.tokens.write().map_err(poisoned)? = all;
    if revoked {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_token",
            "no active token with that id",
        ))
    }
}
