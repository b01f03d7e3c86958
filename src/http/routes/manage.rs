//! The links in the mails: confirm a subscription, unsubscribe (a page,
//! and RFC 8058 one-click), change preferences. Unsubscribe and
//! preferences links carry a manage token ([`ManageToken`]).
//!
//! A GET here never changes anything: mail scanners (Safe Links,
//! Proofpoint, Mimecast) open every link of a message before its reader
//! does. Each GET shows a page whose button POSTs with a CSRF token.

use crate::domain::{Frequency, Subscriber};
use crate::http::error::{Form, PageError};
use crate::http::extract::ManageToken;
use crate::http::guard::{Peer, client_ip, csrf_for, no_store};
use crate::http::input::{FormBody, frequency};
use crate::http::page::Page;
use crate::http::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `GET /confirm/{token}`: the double opt-in's second step, as a page
/// with a button. It changes nothing by itself: corporate mail filters
/// open every link in a message before the reader sees it, and would
/// otherwise confirm an address someone else typed in.
pub async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let s = state
        .subs
        .to_confirm(&token)
        .await?
        .ok_or(PageError::UnknownLink)?;
    let (csrf, cookie) = csrf_for(&headers, state.secure_cookies());
    let page = Page::new("pages/confirm.html")
        .with("email", s.email.as_str())
        .with("frequency", s.frequency.as_str())
        .with("csrf", &csrf)
        .with("action", &format!("/confirm/{token}"));
    Ok(no_store(page.into_response(), cookie))
}

/// `POST /confirm/{token}`: the page's button, with its CSRF token.
pub async fn confirm_post(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    FormBody::parse(&body).check_csrf(&headers, Form::Confirm)?;
    let ip = client_ip(&headers, peer, state.config.http.trust_forwarded_for);
    let s = state
        .subs
        .confirm(&token, ip.map(|i| i.to_string()))
        .await?
        .ok_or(PageError::UnknownLink)?;
    let text = format!(
        "Thank you. {} will get the {} digest. A welcome mail with links to change your topics or unsubscribe is on its way.",
        s.email,
        s.frequency.as_str()
    );
    let page = Page::message(StatusCode::OK, "You are subscribed", text);
    Ok(no_store(page.into_response(), None))
}

/// `GET /unsubscribe/{token}`: a page with a button. It never unsubscribes
/// by itself: mail scanners follow links.
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    link: ManageToken,
) -> Response {
    let (csrf, cookie) = csrf_for(&headers, state.secure_cookies());
    let s = &link.subscriber;
    let page = Page::new("pages/unsubscribe.html")
        .with("email", s.email.as_str())
        .with("frequency", s.frequency.as_str())
        .with("csrf", &csrf)
        .with("action", &format!("/unsubscribe/{}", link.token))
        .with("preferences_url", &format!("/preferences/{}", link.token));
    no_store(page.into_response(), cookie)
}

/// RFC 8058 says the one-click POST carries `List-Unsubscribe=One-Click`,
/// as a form or as multipart form data.
fn is_one_click(headers: &HeaderMap, body: &[u8]) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        let text = String::from_utf8_lossy(body);
        return text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click");
    }
    FormBody::parse(body).has("List-Unsubscribe", "One-Click")
}

/// `POST /unsubscribe/{token}`: the page's button (with its CSRF token) or
/// a mail client's one-click request.
pub async fn unsubscribe_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let one_click = is_one_click(&headers, &body);
    if !one_click {
        FormBody::parse(&body).check_csrf(&headers, Form::Unsubscribe)?;
    }
    let link = ManageToken::resolve(&state, token).await?;
    let s = state.subs.unsubscribe(link.subscriber).await?;
    if one_click {
        // A plain 200 for the mail client: no redirect, no cookie.
        return Ok((StatusCode::OK, "Unsubscribed.\n").into_response());
    }
    Ok(unsubscribed(&state, &s))
}

fn unsubscribed(state: &AppState, s: &Subscriber) -> Response {
    let text = format!(
        "{} will get no more digests from {}. Changed your mind? Subscribe again from the front page; we will ask you to confirm.",
        s.email, state.config.site.title
    );
    let page =
        Page::message(StatusCode::OK, "You are unsubscribed", text).link_home("The front page");
    no_store(page.into_response(), None)
}

#[derive(Serialize)]
struct Choice {
    id: String,
    label: String,
    checked: bool,
}

/// The topics to tick: the most covered ones, then any others `s` follows.
async fn choices(state: &AppState, s: &Subscriber) -> Result<Vec<Choice>, PageError> {
    let mut choices: Vec<Choice> = state
        .subs
        .topic_choices(24)
        .await?
        .into_iter()
        .map(|c| Choice {
            checked: s.topics.contains(&c.id),
            id: c.id,
            label: c.label,
        })
        .collect();
    for t in &s.topics {
        if !choices.iter().any(|c| &c.id == t) {
            let label = state
                .store
                .topic_label(t)
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| t.clone());
            choices.push(Choice {
                id: t.clone(),
                label,
                checked: true,
            });
        }
    }
    Ok(choices)
}

async fn preferences_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    s: &Subscriber,
    saved: bool,
) -> Result<Response, PageError> {
    let (csrf, cookie) = csrf_for(headers, state.secure_cookies());
    let page = Page::new("pages/preferences.html")
        .with("email", s.email.as_str())
        .with("status", s.status.as_str())
        .with("frequency", s.frequency.as_str())
        .with("topic_choices", &choices(state, s).await?)
        .with("saved", &saved)
        .with("csrf", &csrf)
        .with("action", &format!("/preferences/{token}"));
    Ok(no_store(page.into_response(), cookie))
}

/// `GET /preferences/{token}`.
pub async fn preferences_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    link: ManageToken,
) -> Result<Response, PageError> {
    preferences_page(&state, &headers, &link.token, &link.subscriber, false).await
}

/// `POST /preferences/{token}`: save topics and frequency, or unsubscribe
/// (`action=unsubscribe`).
pub async fn preferences_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormBody::parse(&body);
    form.check_csrf(&headers, Form::Preferences)?;
    if form.get("action") == Some("unsubscribe") {
        let link = ManageToken::resolve(&state, token).await?;
        let s = state.subs.unsubscribe(link.subscriber).await?;
        return Ok(unsubscribed(&state, &s));
    }
    let frequency = frequency(form.get("frequency"))
        .map_err(PageError::BadForm)?
        .unwrap_or(Frequency::Weekly);
    let link = ManageToken::resolve(&state, token).await?;
    let s = state
        .subs
        .set_preferences(link.subscriber, &form.all("topics"), frequency)
        .await?;
    preferences_page(&state, &headers, &link.token, &s, true).await
}
