//! Access: every `/api` call carries an API token (`Authorization: Bearer vt_…`) or the
//! dashboard's session cookie, and needs the scope its endpoint names (`read`, `ingest`,
//! `admin`; admin implies all). The dashboard logs in by posting a token to
//! `/api/v1/session`, which answers with an HttpOnly, SameSite=Strict cookie (Secure when the
//! server is reached over HTTPS); the session lives in memory and ends with the server.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vitals_store::tokens::random_hex;
use vitals_store::{Scope, TokenInfo};

use crate::error::{ApiError, ApiJson};
use crate::state::{poisoned, AppState, Shared};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vitals_session";

/// The token a request presents (bearer header first, then the session cookie), checked for
/// `scope`.
pub fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<TokenInfo, ApiError> {
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
    if !token.grants(scope) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the token `{}` lacks the `{scope}` scope", token.name),
        ));
    }
    Ok(token)
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
