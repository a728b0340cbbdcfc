//! Signed survey links: `POST /api/v1/surveys/links` creates a single-use, expiring link for a
//! ticket or customer (and records the send in `surveys_sent`, so response rate works), with
//! optional one-click links that pre-choose each score for e-mail buttons. `GET /s/{token}`
//! shows a plain HTML form with that score selected — a GET never stores anything, because
//! mail scanners open every link — and `POST /s/{token}` stores the answer once. Forged,
//! tampered, expired or reused links get a clear page and store nothing.
//!
//! A token is `base64url(payload).base64url(HMAC-SHA256(key, payload))`; the key lives in the
//! backend (its admin part), the link's row (and whether it was answered) too. An answer is
//! committed through the write seam like any ingest: stored, then derived.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use vitals_backend::tokens::random_hex;
use vitals_backend::{DerivationInputs, EntityRecords, SurveyLink};

use crate::error::{ApiError, ApiJson};
use crate::pages::{page, Wording};
use crate::state::Shared;

/// What a token carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    /// Link id.
    l: String,
    /// Survey.
    s: String,
    /// Expiry, unix seconds.
    e: i64,
    /// A pre-chosen score.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    v: Option<i64>,
}

fn sign(key: &[u8], payload: &Payload) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap_or_default());
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{body}.{signature}")
}

/// Why a token is refused.
#[derive(Debug, PartialEq)]
enum Refusal {
    Invalid,
    Expired,
    Used,
}

fn verify(key: &[u8], token: &str, now_secs: i64) -> Result<Payload, Refusal> {
    let (body, signature) = token.split_once('.').ok_or(Refusal::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Refusal::Invalid)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Refusal::Invalid)?;
    mac.update(body.as_bytes());
    mac.verify_slice(&signature).map_err(|_| Refusal::Invalid)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| Refusal::Invalid)?;
    let payload: Payload = serde_json::from_slice(&bytes).map_err(|_| Refusal::Invalid)?;
    if payload.e <= now_secs {
        return Err(Refusal::Expired);
    }
    Ok(payload)
}

/// The body of a link request.
#[derive(Deserialize)]
pub struct LinkRequest {
    /// `csat`, `nps`, `ces`, `esat` or a configured survey.
    pub survey: String,
    /// The ticket asked about.
    pub ticket_id: Option<String>,
    /// The customer asked.
    pub customer_id: Option<String>,
    /// The rated agent.
    pub agent_id: Option<String>,
    /// A pre-chosen score (the link of one e-mail button).
    pub score: Option<i64>,
    /// Days until the link expires (default 30).
    pub expires_in_days: Option<u32>,
}

fn now_us() -> Result<i64, ApiError> {
    vitals_core::now::now_us().map_err(ApiError::internal)
}

/// `POST /api/v1/surveys/links`.
pub async fn create_link(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<LinkRequest>,
) -> Result<Response, ApiError> {
    let unprocessable =
        |code: &str, m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m);
    let rules = state.config.survey(&request.survey).ok_or_else(|| {
        unprocessable(
            "unknown_survey",
            format!(
                "no survey `{}` (csat, nps, ces, esat or one configured under [surveys])",
                request.survey
            ),
        )
    })?;
    if request.ticket_id.is_none() && request.customer_id.is_none() {
        return Err(unprocessable(
            "invalid_link",
            "name a ticket_id or a customer_id".into(),
        ));
    }
    if let Some(score) = request.score {
        if score < rules.min || score > rules.max {
            return Err(unprocessable(
                "invalid_score",
                format!("score {score} is outside {}–{}", rules.min, rules.max),
            ));
        }
    }
    let now = now_us()?;
    let days = i64::from(request.expires_in_days.unwrap_or(30).clamp(1, 366));
    let expires_us = now + days * 86_400_000_000;
    let link = SurveyLink {
        link_id: random_hex(12),
        survey: request.survey.clone(),
        ticket_id: request.ticket_id.clone(),
        customer_id: request.customer_id.clone(),
        agent_id: request.agent_id.clone(),
        expires_us,
        used_us: None,
    };
    let sent = serde_json::json!({
        "send_id": link.link_id,
        "survey": link.survey,
        "sent_at": rfc3339(now),
        "ticket_id": link.ticket_id,
        "customer_id": link.customer_id,
    });
    let entity = vitals_core::records::entity("surveys_sent").expect("a canonical entity");
    let batch = vitals_import::validate_body(
        entity,
        sent.to_string().as_bytes(),
        &state.config,
        None,
        vitals_import::Limits::default(),
    )
    .map_err(ApiError::internal)?;
    if let Some(reject) = batch.rejected.first() {
        return Err(unprocessable("invalid_link", reject.reason.clone()));
    }
    let stored = link.clone();
    state
        .writer
        .run(move |backend| backend.admin().add_survey_link(&stored))
        .await
        .map_err(|_| ApiError::busy())?
        .map_err(ApiError::internal)?;
    state
        .writer
        .ingest(entity, batch.records)
        .map_err(|_| ApiError::busy())?
        .await
        .map_err(|_| ApiError::internal("the writer stopped"))?
        .map_err(ApiError::internal)?;
    let payload = |v: Option<i64>| Payload {
        l: link.link_id.clone(),
        s: link.survey.clone(),
        e: expires_us / 1_000_000,
        v,
    };
    let token = sign(&state.link_key, &payload(request.score));
    let one_click: Vec<serde_json::Value> = (rules.min..=rules.max)
        .map(|score| {
            serde_json::json!({"score": score, "url": format!("/s/{}", sign(&state.link_key, &payload(Some(score))))})
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "link_id": link.link_id,
            "survey": link.survey,
            "url": format!("/s/{token}"),
            "expires_at": rfc3339(expires_us),
            "one_click": one_click,
        })),
    )
        .into_response())
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn wording_for(state: &Shared, survey: Option<&str>) -> Wording {
    let configured = survey.and_then(|s| state.config.surveys.get(s));
    let high_is_effort = survey
        .and_then(|s| state.config.survey(s))
        .is_some_and(|r| r.high_is_effort);
    Wording::new(
        configured.and_then(|c| c.language.as_deref()),
        survey,
        configured.and_then(|c| c.question.as_deref()),
        high_is_effort,
    )
}

fn refusal_page(state: &Shared, refusal: Refusal) -> Response {
    let w = wording_for(state, None);
    let (status, text) = match refusal {
        Refusal::Invalid => (StatusCode::BAD_REQUEST, w.invalid),
        Refusal::Expired => (StatusCode::GONE, w.expired),
        Refusal::Used => (StatusCode::CONFLICT, w.used),
    };
    (status, Html(page(&w, text, ""))).into_response()
}

/// Checks a token and its link (signature, expiry, existence, not yet answered).
async fn open_link(state: &Shared, token: &str) -> Result<(Payload, SurveyLink), Refusal> {
    let now = vitals_core::now::now_us().unwrap_or_default();
    let payload = verify(&state.link_key, token, now / 1_000_000)?;
    let id = payload.l.clone();
    // A read on a reader connection: opening a link (as every mail scanner does) changes
    // nothing, so it neither queues behind writes nor moves the data version.
    let link = state
        .read(move |_, reader| reader.survey_link(&id).map_err(ApiError::internal))
        .await
        .map_err(|_| Refusal::Invalid)?
        .ok_or(Refusal::Invalid)?;
    if link.survey != payload.s {
        return Err(Refusal::Invalid);
    }
    if link.used_us.is_some() {
        return Err(Refusal::Used);
    }
    Ok((payload, link))
}

/// `GET /s/{token}`: the answer form (stores nothing).
pub async fn show(State(state): State<Shared>, Path(token): Path<String>) -> Response {
    let (payload, link) = match open_link(&state, &token).await {
        Ok(opened) => opened,
        Err(refusal) => return refusal_page(&state, refusal),
    };
    let Some(rules) = state.config.survey(&link.survey) else {
        return refusal_page(&state, Refusal::Invalid);
    };
    let w = wording_for(&state, Some(&link.survey));
    let options: String = (rules.min..=rules.max)
        .map(|score| {
            let checked = if payload.v == Some(score) { " checked" } else { "" };
            format!(
                "<label class=\"score\"><input type=\"radio\" name=\"score\" value=\"{score}\" required{checked}><span>{score}</span></label>"
            )
        })
        .collect();
    let form = format!(
        "<form method=\"post\"><fieldset><legend>{question}</legend><div class=\"scores\">{options}</div>\
         <p class=\"ends\"><span>{min}{low}</span><span>{high}{max}</span></p></fieldset>\
         <label for=\"comment\">{comment}</label><textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"4000\"></textarea>\
         <button type=\"submit\">{send}</button></form>",
        question = escape(&w.question),
        min = rules.min,
        max = rules.max,
        low = w.ends.map(|(low, _)| format!(" · {}", escape(low))).unwrap_or_default(),
        high = w.ends.map(|(_, high)| format!("{} · ", escape(high))).unwrap_or_default(),
        comment = w.comment,
        send = w.send,
    );
    Html(page(&w, "", &form)).into_response()
}

/// The posted form.
#[derive(Deserialize)]
pub struct Answer {
    /// The chosen score.
    pub score: Option<String>,
    /// A comment.
    pub comment: Option<String>,
}

/// `POST /s/{token}`: stores the answer once.
pub async fn answer(
    State(state): State<Shared>,
    Path(token): Path<String>,
    Form(answer): Form<Answer>,
) -> Response {
    let (_, link) = match open_link(&state, &token).await {
        Ok(opened) => opened,
        Err(refusal) => return refusal_page(&state, refusal),
    };
    let w = wording_for(&state, Some(&link.survey));
    let score = answer
        .score
        .as_deref()
        .and_then(|s| s.trim().parse::<i64>().ok());
    let rules = state.config.survey(&link.survey);
    let (Some(score), Some(rules)) = (score, rules) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(page(&w, w.choose, "")),
        )
            .into_response();
    };
    if score < rules.min || score > rules.max {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(page(&w, w.choose, "")),
        )
            .into_response();
    }
    let now = vitals_core::now::now_us().unwrap_or_default();
    let response = serde_json::json!({
        "response_id": link.link_id,
        "survey": link.survey,
        "score": score,
        "answered_at": rfc3339(now),
        "ticket_id": link.ticket_id,
        "customer_id": link.customer_id,
        "agent_id": link.agent_id,
        "comment": answer.comment.filter(|c| !c.trim().is_empty()),
    });
    let entity = vitals_core::records::entity("survey_responses").expect("a canonical entity");
    let batch = match vitals_import::validate_body(
        entity,
        response.to_string().as_bytes(),
        &state.config,
        None,
        vitals_import::Limits::default(),
    ) {
        Ok(batch) if batch.rejected.is_empty() => batch,
        _ => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(page(&w, w.choose, "")),
            )
                .into_response()
        }
    };
    let derivation = DerivationInputs::new(&state.config, &state.catalogue);
    let link_id = link.link_id.clone();
    // The response is committed before the link is marked answered, both on the writer
    // thread: a crash in between leaves the link open, and answering again rewrites the same
    // record.
    let stored = state
        .writer
        .run(move |backend| -> Result<bool, String> {
            let derivation = derivation.map_err(|e| e.to_string())?;
            let current = backend
                .admin()
                .survey_link(&link_id)
                .map_err(|e| e.to_string())?;
            if current.is_none_or(|l| l.used_us.is_some()) {
                return Ok(false);
            }
            let response = EntityRecords {
                entity,
                records: batch.records.iter().collect(),
            };
            backend
                .writer()
                .commit(&[response], 0, &derivation)
                .map_err(|e| e.to_string())?;
            backend
                .admin()
                .use_survey_link(&link_id)
                .map_err(|e| e.to_string())?;
            Ok(true)
        })
        .await;
    match stored {
        Ok(Ok(true)) => Html(page(&w, w.thanks, "")).into_response(),
        Ok(Ok(false)) => refusal_page(&state, Refusal::Used),
        _ => (StatusCode::SERVICE_UNAVAILABLE, Html(page(&w, w.busy, ""))).into_response(),
    }
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        Payload {
            l: "abc".into(),
            s: "csat".into(),
            e: 2_000,
            v: Some(5),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = sign(b"key", &payload());
        assert_eq!(verify(b"key", &token, 1_000), Ok(payload()));
        assert_eq!(verify(b"key", &token, 2_000), Err(Refusal::Expired));
    }

    #[test]
    fn forged_and_tampered_tokens_are_invalid() {
        let token = sign(b"key", &payload());
        assert_eq!(verify(b"other", &token, 1_000), Err(Refusal::Invalid));
        let (body, signature) = token.split_once('.').unwrap();
        let mut changed = payload();
        changed.v = Some(1);
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&changed).unwrap());
        assert_eq!(
            verify(b"key", &format!("{forged_body}.{signature}"), 1_000),
            Err(Refusal::Invalid)
        );
        assert_eq!(verify(b"key", body, 1_000), Err(Refusal::Invalid));
        assert_eq!(verify(b"key", "not a token", 1_000), Err(Refusal::Invalid));
    }
}
