//! `POST /subscribe`: the landing page's form, or JSON from a script. Both
//! answer the same whatever the address's state, so that the form does not
//! tell who is subscribed.

use crate::domain::ConsentSource;
use crate::domain::Frequency;
use crate::http::error::{ApiError, Form, PageError};
use crate::http::guard::{Peer, client_ip};
use crate::http::input::{FormBody, frequency, is_json, json_body};
use crate::http::page::Page;
use crate::http::state::AppState;
use crate::subscribers::{Request, SubscribeError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::IpAddr;

/// What `POST /subscribe` says in every case that is not an error of the
/// request itself.
const CHECK_INBOX: &str = "If that address can receive mail, a message with a confirmation link is on its way. Open it to start your subscription; the link works for 7 days.";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSubscribe {
    email: String,
    #[serde(default)]
    topics: Vec<String>,
    frequency: Option<String>,
}

pub async fn subscribe(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = client_ip(&headers, peer, state.config.http.trust_forwarded_for);
    if is_json(&headers) {
        from_json(&state, ip, &body).await.into_response()
    } else {
        from_form(&state, ip, &headers, &body).await.into_response()
    }
}

/// A JSON sign-up. A cross-site form cannot send `application/json`
/// without a CORS preflight, which this server never grants: no CSRF token
/// needed.
async fn from_json(
    state: &AppState,
    ip: Option<IpAddr>,
    body: &[u8],
) -> Result<Response, ApiError> {
    rate_limit(state, ip).map_err(ApiError::TooManyRequests)?;
    let request: JsonSubscribe = json_body(body)?;
    let frequency = frequency(request.frequency.as_deref()).map_err(ApiError::bad_request)?;
    sign_up(state, ip, request.email, request.topics, frequency)
        .await
        .map_err(|e| {
            if e.is_request_error() {
                ApiError::bad_request(e.to_string())
            } else {
                ApiError::Status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong; please try again later".into(),
                )
            }
        })?;
    let answer = serde_json::json!({ "status": "accepted", "message": CHECK_INBOX });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

async fn from_form(
    state: &AppState,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Page, PageError> {
    rate_limit(state, ip).map_err(PageError::TooManyRequests)?;
    let form = FormBody::parse(body);
    form.check_csrf(headers, Form::Subscribe)?;
    if form.get("website").is_some_and(|v| !v.is_empty()) {
        // The honeypot: people never see the field, bots fill it in.
        // They get the usual answer and nothing happens.
        tracing::info!(client = ?ip, "subscribe: honeypot filled; ignored");
        return Ok(check_inbox());
    }
    let frequency = frequency(form.get("frequency")).map_err(PageError::BadForm)?;
    let email = form.get("email").unwrap_or("").to_owned();
    sign_up(state, ip, email, form.all("topics"), frequency).await?;
    Ok(check_inbox())
}

/// Ok, or the seconds the client must wait.
fn rate_limit(state: &AppState, ip: Option<IpAddr>) -> Result<(), u64> {
    match ip {
        Some(ip) => state.limiter.check(ip),
        None => Ok(()),
    }
}

async fn sign_up(
    state: &AppState,
    ip: Option<IpAddr>,
    email: String,
    topics: Vec<String>,
    frequency: Option<Frequency>,
) -> Result<(), SubscribeError> {
    let request = Request {
        email,
        topics,
        frequency,
        source: ConsentSource::Web,
        client: ip.map(|i| i.to_string()),
    };
    let result = state.subs.subscribe(request).await;
    if let Err(e) = &result
        && !e.is_request_error()
    {
        tracing::error!(error = %e, "subscribe failed");
    }
    result
}

fn check_inbox() -> Page {
    Page::message(StatusCode::OK, "Check your inbox", CHECK_INBOX)
}
