//! vitals-server: `vitals serve`, the long-running service. The JSON API (`/api/v1`) answers
//! with the query library's types over readers of the backend; one writer thread owns the
//! backend and commits ingested records in groups (durable before the answer, facts derived
//! before the answer); signed survey links collect answers; tokens with scopes guard the API.
//! The server names no engine: it is handed a `vitals_backend::Backend`.
#![deny(missing_docs)]

pub mod alerting;
pub mod api;
pub mod auth;
pub mod dashboard;
pub mod digests;
pub mod error;
pub mod insights;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod state;
pub mod surveys;
pub mod version;
pub mod warm;
pub mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use vitals_backend::{Backend, BackendError, DerivationInputs, Scope};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

pub use listen::ConnectionLimits;
pub use state::Limits;
pub use writer::GroupCommit;

use state::{AppState, Shared};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The backend could not be prepared.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The catalogue or configuration is unusable.
    #[error("{0}")]
    Setup(String),
    /// The runtime failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The store file (the list of recent queries the warmer keeps is named after it).
    pub db: PathBuf,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The configuration (survey scales, calendars, SLA policies, targets).
    pub config: Config,
    /// Body size, cache size, cookies.
    pub limits: Limits,
    /// Group-commit batching.
    pub batching: GroupCommit,
}

/// Every route: (method, path), as the OpenAPI document lists them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/query"),
    ("post", "/api/v1/why"),
    ("get", "/api/v1/catalogue"),
    ("get", "/api/v1/catalogue/{metric}"),
    ("post", "/api/v1/records/{entity}"),
    ("get", "/api/v1/tickets/{id}"),
    ("get", "/api/v1/sla"),
    ("get", "/api/v1/spikes"),
    ("get", "/api/v1/anomalies"),
    ("get", "/api/v1/alerts"),
    ("get", "/api/v1/staffing"),
    ("get", "/api/v1/annotations"),
    ("post", "/api/v1/annotations"),
    ("delete", "/api/v1/annotations/{id}"),
    ("get", "/api/v1/report"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/session"),
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("post", "/api/v1/surveys/links"),
    ("get", "/s/{token}"),
    ("post", "/s/{token}"),
    ("get", "/"),
    ("get", "/assets/{path}"),
];

/// The application's routes over a state. Access is checked in front of each `/api` route
/// (before its path, query or body is read); the public routes are the health check, the
/// login, the dashboard's files and the survey pages (and `/metrics` with `--public-metrics`).
pub fn router(state: Shared) -> Router {
    let read = || from_fn_with_state(state.clone(), auth::require_read);
    let ingest = || from_fn_with_state(state.clone(), auth::require_ingest);
    let admin = || from_fn_with_state(state.clone(), auth::require_admin);
    let metrics = if state.limits.public_metrics {
        get(prometheus)
    } else {
        get(prometheus.layer(read()))
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", metrics)
        .route("/api/v1/openapi.json", get(openapi::document.layer(read())))
        .route("/api/v1/query", post(api::query.layer(read())))
        .route("/api/v1/why", post(api::why.layer(read())))
        .route("/api/v1/catalogue", get(api::catalogue.layer(read())))
        .route(
            "/api/v1/catalogue/{metric}",
            get(api::catalogue_metric.layer(read())),
        )
        .route(
            "/api/v1/records/{entity}",
            post(api::ingest.layer(ingest())),
        )
        .route("/api/v1/tickets/{id}", get(api::ticket.layer(read())))
        .route("/api/v1/sla", get(api::sla.layer(read())))
        .route("/api/v1/spikes", get(insights::get_spikes.layer(read())))
        .route(
            "/api/v1/anomalies",
            get(insights::get_anomalies.layer(read())),
        )
        .route("/api/v1/alerts", get(insights::get_alerts.layer(read())))
        .route(
            "/api/v1/staffing",
            get(insights::get_staffing.layer(read())),
        )
        .route(
            "/api/v1/annotations",
            get(insights::list_annotations.layer(read()))
                .post(insights::add_annotation.layer(ingest())),
        )
        .route(
            "/api/v1/annotations/{id}",
            delete(insights::delete_annotation.layer(ingest())),
        )
        .route("/api/v1/report", get(insights::get_report.layer(read())))
        .route(
            "/api/v1/tokens",
            get(api::tokens.layer(admin())).post(api::create_token.layer(admin())),
        )
        .route(
            "/api/v1/tokens/{id}",
            delete(api::revoke_token.layer(admin())),
        )
        .route(
            "/api/v1/session",
            get(auth::whoami).post(auth::login).delete(auth::logout),
        )
        .route(
            "/api/v1/surveys/links",
            post(surveys::create_link.layer(ingest())),
        )
        .route("/s/{token}", get(surveys::show).post(surveys::answer))
        .merge(dashboard::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), announced_size))
        .layer(from_fn_with_state(state.clone(), auth::gate))
        .layer(CatchPanicLayer::custom(error::panicked))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// The largest body of a request other than ingest (a query, a token, a link, an annotation).
pub const JSON_BODY_LIMIT: usize = 2 << 20;

/// Refuses a body whose announced length is over its route's limit before any of it is read
/// (with `Expect: 100-continue`, before the client sends it): 413 in the JSON shape.
async fn announced_size(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let ingest = request.uri().path().starts_with("/api/v1/records/");
    let (limit, flag) = if ingest {
        (state.limits.max_body_bytes, " (--max-body-bytes)")
    } else {
        (JSON_BODY_LIMIT, "")
    };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return error::ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes, the server's limit{flag}"),
        )
        .into_response();
    }
    next.run(request).await
}

async fn not_found() -> Response {
    error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
    .into_response()
}

async fn healthz(State(state): State<Shared>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "data_version": state.data_version()}))
}

async fn prometheus(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(&state),
    )
        .into_response()
}

/// Counts every request by route and status, and sets the security headers: nothing the
/// pages load may come from another origin.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = if route.starts_with("/s/") {
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'self'; frame-ancestors 'none'"
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    state
        .metrics
        .request(&route, response.status().as_u16(), started.elapsed());
    response
}

/// Serves `backend` until interrupted: derives what is pending, then starts the writer on it.
/// `ready` is told the bound address (a port of 0 picks a free one).
pub fn serve(
    options: ServeOptions,
    backend: Box<dyn Backend>,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let catalogue = Catalogue::builtin().map_err(|e| ServerError::Setup(e.to_string()))?;
    let derivation = DerivationInputs::new(&options.config, &catalogue)
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    // Facts must match the configuration before the first answer.
    backend.writer().derive(&derivation)?;
    let admin = backend.admin();
    if admin.tokens()?.iter().all(|t| t.revoked_at.is_some()) {
        let (_, token) = admin.create_token("initial admin", &[Scope::Admin])?;
        eprintln!(
            "No API token existed; created an admin token (shown once, keep it):\n  {token}\n\
             Create narrower ones with `vitals token create --scope read` (while the server is stopped) \
             or POST /api/v1/tokens."
        );
    }
    // The digest scheduler's mailer: a wrong [smtp] or its environment stops the start.
    let mailer = match (&options.config.smtp, options.config.digests.is_empty()) {
        (Some(smtp), false) => Some(Arc::new(
            vitals_mail::Mailer::from_config(smtp)
                .map_err(|e| ServerError::Setup(e.to_string()))?,
        )),
        _ => None,
    };
    let tokens = admin.tokens()?;
    let key = admin.survey_link_key()?;
    let reader = backend.reader()?;
    let alert_reader = backend.reader()?;
    let version_reader = backend.reader()?;
    let rules = vitals_query::alerts::check_rules(&options.config, &catalogue)
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    let schedule = options
        .config
        .alerting
        .schedule()
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    let writer = writer::WriterHandle::start(backend, derivation, options.batching)
        .map_err(ServerError::Setup)?;
    version::watch(version_reader, writer.stats.clone())?;
    let state = Arc::new(AppState::new(
        catalogue,
        options.config,
        reader,
        writer,
        tokens,
        key.into_bytes(),
        options.limits,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: options.addr,
                source,
            })?;
        let addr = listener.local_addr()?;
        alerting::start(
            alerting::Alerting {
                rules,
                dashboard: schedule
                    .dashboard_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{addr}")),
                schedule,
                catalogue: state.catalogue.clone(),
                config: state.config.clone(),
            },
            alert_reader,
            state.writer.clone(),
        )?;
        if state.limits.cache_entries > 0 {
            tokio::spawn(warm::run(
                state.clone(),
                warm::recent_queries_file(&options.db),
            ));
        }
        ready(addr);
        if let Some(mailer) = mailer {
            tokio::spawn(digests::run(state.clone(), mailer));
        }
        let connections = state.limits.connections;
        listen::serve(listener, router(state), connections, shutdown()).await;
        Ok(())
    })
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
