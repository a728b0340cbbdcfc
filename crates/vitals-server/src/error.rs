//! The API's error: an HTTP status and the query library's public error body, answered as
//! `{"error": {"code", "message", "suggestions"}}` on every endpoint — the framework's own
//! rejections (a malformed path, an oversize body, a wrong method) and panics included
//! ([`json_errors`]). A server-side failure answers only a generic message and an
//! `error_id`; what failed — an SQL statement, the engine's text — goes to the server's log
//! under that id, never to the client.

use std::any::Any;

use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use vitals_backend::tokens::random_hex;
use vitals_query::{ErrorBody, QueryError};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
    /// Seconds a client should wait before retrying (503).
    pub retry_after: Option<u32>,
    /// The id under which a server-side failure's details are in the server's log.
    pub error_id: Option<String>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_string(),
                message: message.into(),
                suggestions: Vec::new(),
            },
            retry_after: None,
            error_id: None,
        }
    }

    /// The same error with suggestions.
    pub fn suggesting(mut self, suggestions: Vec<String>) -> Self {
        self.body.suggestions = suggestions;
        self
    }

    /// 401: no valid token.
    pub fn unauthorized(message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 500: an internal failure. `detail` (which may hold SQL or the engine's words) is
    /// logged under a new error id; the client gets the id only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let id = random_hex(8);
        eprintln!("vitals serve: error {id}: {detail}");
        ApiError {
            error_id: Some(id.clone()),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the server failed to answer (error id {id}; its log has the details)"),
            )
        }
    }

    /// 503: a query ran longer than the server's budget and was stopped.
    pub fn query_timeout(seconds: f64) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "query_timeout",
            format!(
                "the query ran longer than {seconds} s, the server's limit ([limits] query_timeout_secs), \
                 and was stopped; ask for a shorter period, fewer dimensions or a coarser time grain"
            ),
        )
    }

    /// 503: the ingest queue is full.
    pub fn busy() -> Self {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the write queue is full; retry after a second",
            )
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let status = match &e {
            QueryError::InvalidRequest { .. } | QueryError::NoMetric => StatusCode::BAD_REQUEST,
            QueryError::Engine(_) => return ApiError::internal(e),
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError {
            status,
            body: e.body(),
            retry_after: None,
            error_id: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!(self.body);
        if let Some(id) = self.error_id {
            error["error_id"] = serde_json::Value::String(id);
        }
        let mut response =
            (self.status, Json(serde_json::json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON request body whose rejection (malformed JSON, a missing field, another content
/// type) is answered with the API's error body, like every other error, rather than axum's
/// plain-text one.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                "invalid_request",
                format!("invalid request: {}", rejection.body_text()),
            )),
        }
    }
}

/// The largest framework error text read back to be wrapped in the JSON shape.
const REJECTION_TEXT: usize = 16 * 1024;

/// Gives every error answered outside the survey and dashboard pages the JSON error shape: the
/// framework's own rejections (a path parameter that does not parse, an oversize or stalled
/// body, a wrong method or media type) arrive as plain text and are rewritten here, with a
/// code for their status; a server-side one keeps its text in the log only.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let pages = path == "/" || path.starts_with("/s/") || path.starts_with("/assets/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if pages || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = axum::body::to_bytes(response.into_body(), REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let mut error = if status.is_server_error() {
        ApiError {
            status,
            ..ApiError::internal(format!("{status}: {text}"))
        }
    } else {
        let message = if text.is_empty() {
            status.canonical_reason().unwrap_or("rejected").to_string()
        } else {
            text
        };
        ApiError::new(status, code_of(status), message)
    };
    error.retry_after = retry_after
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .or(error.retry_after);
    error.into_response()
}

/// The error code of a framework rejection's status.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        _ => "invalid_request",
    }
}

/// The answer to a panicking handler: a 500 with an error id, the panic's message logged.
pub fn panicked(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a handler panicked");
    ApiError::internal(format!("panic: {message}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_query::EngineError;

    #[test]
    fn an_engine_failure_answers_an_error_id_and_never_the_engine_text() {
        let failure = QueryError::Engine(EngineError(
            "Binder Error: SELECT secret FROM tickets WHERE ...".into(),
        ));
        let e = ApiError::from(failure);
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.body.code, "internal");
        assert!(!e.body.message.contains("SELECT"), "{}", e.body.message);
        let id = e.error_id.clone().expect("an error id");
        assert!(e.body.message.contains(&id));
        // A request's own fault keeps its words and gets no id.
        let own = ApiError::from(QueryError::InvalidPeriod("reversed".into()));
        assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(own.error_id.is_none());
    }
}
