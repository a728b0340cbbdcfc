//! Access: every `/api` call carries an API token (`Authorization: Bearer vt_…`) or the
//! dashboard's session cookie, and needs the scope its endpoint names (`read`, `ingest`,
//! `admin`; admin implies all). Access is checked by a layer in front of each route, before
//! the request's path, query or body is read, so an anonymous client learns nothing of their
//! shapes. The dashboard logs in by posting a token to `/api/v1/session`, which answers with
//! an HttpOnly, SameSite=Strict cookie (Secure when the server is reached over HTTPS); the
//! session lives in memory and ends with the server. SameSite does not stop a same-site
//! origin (another port, a sibling subdomain), so a request carried by the cookie that is not
//! a plain read must come from the dashboard's own origin and send JSON or NDJSON.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vitals_backend::tokens::random_hex;
use vitals_backend::{Scope, TokenInfo};

use crate::error::{ApiError, ApiJson};
use crate::state::{poisoned, AppState, Shared};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vitals_session";

/// Who sent a request, as the access layer found it.
struct Caller {
    /// The token.
    token: TokenInfo,
    /// Whether it came by the session cookie (a browser) rather than a bearer header.
    by_cookie: bool,
}

/// Layer: the route needs a token with the `read` scope.
pub async fn require_read(state: State<Shared>, request: Request, next: Next) -> Response {
    require(state, Scope::Read, request, next).await
}

/// Layer: the route needs a token with the `ingest` scope.
pub async fn require_ingest(state: State<Shared>, request: Request, next: Next) -> Response {
    require(state, Scope::Ingest, request, next).await
}

/// Layer: the route needs a token with the `admin` scope.
pub async fn require_admin(state: State<Shared>, request: Request, next: Next) -> Response {
    require(state, Scope::Admin, request, next).await
}

async fn require(
    State(state): State<Shared>,
    scope: Scope,
    request: Request,
    next: Next,
) -> Response {
    let caller = match identify(&state, request.headers(), Some(scope)) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    if caller.by_cookie {
        let path = request.uri().path();
        if let Err(e) = same_origin_write(request.method(), path, request.headers()) {
            return e.into_response();
        }
    }
    next.run(request).await
}

/// Layer over the whole router: a request for anything under `/api` (the login aside) without
/// a valid token or session is answered 401 before it is routed, so an anonymous client cannot
/// tell which paths and methods exist (no 404 or 405 for it either).
pub async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") && path != "/api/v1/session" {
        let checked = identify(&state, request.headers(), None);
        if let Err(e) = checked {
            return e.into_response();
        }
    }
    next.run(request).await
}

/// The POSTs that only read: a query and a "why" (their answers cannot be read across
/// origins).
const READS_BY_POST: [&str; 2] = ["/api/v1/query", "/api/v1/why"];

/// A request carried by the session cookie that may change something must come from the
/// server's own origin (`Origin` equal to `Host`, or `Sec-Fetch-Site: same-origin`) and carry
/// JSON or NDJSON — which a cross-site form cannot send. A query or a "why", reads sent as POST,
/// need only the media type, so no cross-site form can make the server compute one either.
fn same_origin_write(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if READS_BY_POST.contains(&path) {
        return json_media(headers);
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
    let origin_host = text(header::ORIGIN).and_then(|o| o.split_once("://").map(|(_, h)| h));
    // Browsers send Sec-Fetch-Site and a page cannot forge it; without it (older browsers),
    // Origin must name the host the request was sent to.
    let same = match (fetch_site, origin_host, text(header::HOST)) {
        (Some(site), _, _) => site == "same-origin",
        (None, Some(origin), Some(host)) => origin.eq_ignore_ascii_case(host),
        _ => false,
    };
    if !same {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "a change made with the dashboard's session must come from the dashboard's own \
             origin; scripts send `Authorization: Bearer vt_…` instead",
        ));
    }
    json_media(headers)
}

/// A body, when there is one, is JSON or NDJSON.
fn json_media(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let has_body = headers.contains_key(header::CONTENT_TYPE)
        || text(header::CONTENT_LENGTH).is_some_and(|n| n != "0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    let media = text(header::CONTENT_TYPE)
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let json = matches!(
        media.as_str(),
        "application/json" | "application/x-ndjson" | "application/ndjson" | "application/jsonl"
    );
    if has_body && !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a change made with the dashboard's session must send application/json or application/x-ndjson",
        ));
    }
    Ok(())
}

/// The token a request presents (bearer header first, then the session cookie), checked for
/// `scope`.
pub fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<TokenInfo, ApiError> {
    identify(state, headers, Some(scope)).map(|caller| caller.token)
}

/// The caller of a request: a valid (known, unrevoked) token, presented as a bearer header or
/// through a session, with `scope` when one is named.
fn identify(
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<Scope>,
) -> Result<Caller, ApiError> {
    let by_cookie = bearer(headers).is_none();
    let token = match bearer(headers) {
        Some(presented) => find_token(state, |t| t.matches(presented))?,
        None => match session_id(headers) {
            Some(session) => {
                let id = state.sessions.lock().map_err(poisoned)?.get(session).cloned();
                match id {
                    Some(id) => find_token(state, |t| t.id == id)?,
                    None => None,
                }
            }
            None => {
                return Err(ApiError::unauthorized(
                    "an API token is required: `Authorization: Bearer vt_…` (create one with `vitals token create`)",
                ))
            }
        },
    };
    let Some(token) = token.filter(|t| t.revoked_at.is_none()) else {
        return Err(ApiError::unauthorized("the token is unknown or revoked"));
    };
    if let Some(scope) = scope.filter(|s| !token.grants(*s)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the token `{}` lacks the `{scope}` scope", token.name),
        ));
    }
    Ok(Caller { token, by_cookie })
}

fn find_token(
    state: &AppState,
    pick: impl Fn(&TokenInfo) -> bool,
) -> Result<Option<TokenInfo>, ApiError> {
    Ok(state
        .tokens
        .read()
        .map_err(poisoned)?
        .iter()
        .find(|t| pick(t))
        .cloned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// The body of a login.
#[derive(Deserialize)]
pub struct Login {
    /// An API token.
    pub token: String,
}

/// `POST /api/v1/session`: exchanges a token with the `read` scope for a session cookie.
pub async fn login(
    State(state): State<Shared>,
    ApiJson(login): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let token = find_token(&state, |t| t.matches(&login.token))?
        .filter(|t| t.grants(Scope::Read))
        .ok_or_else(|| ApiError::unauthorized("the token is unknown, revoked or cannot read"))?;
    let session = random_hex(24);
    state
        .sessions
        .lock()
        .map_err(poisoned)?
        .insert(session.clone(), token.id.clone());
    let secure = if state.limits.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut response =
        Json(serde_json::json!({"token": token.name, "scopes": token.scopes})).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(response)
}

/// `DELETE /api/v1/session`: ends the session.
pub async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(session) = session_id(&headers) {
        state.sessions.lock().map_err(poisoned)?.remove(session);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("vitals_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// `GET /api/v1/session`: who the caller is (for the dashboard).
pub async fn whoami(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = authorize(&state, &headers, Scope::Read)?;
    Ok(Json(
        serde_json::json!({"token": token.name, "scopes": token.scopes}),
    ))
}
