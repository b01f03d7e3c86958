//! The public subscription routes: subscribe, confirm, unsubscribe (page
//! and RFC 8058 one-click), preferences.

use crate::domain::{Frequency, Subscriber};
use crate::http::error::PageError;
use crate::http::guard::{Peer, client_ip, csrf_for, csrf_ok};
use crate::http::routes::pages::site_context;
use crate::http::state::AppState;
use crate::subscribers::{Request, SubscribeError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// What `POST /subscribe` says in every case that is not an error of the
/// request itself.
const CHECK_INBOX: &str = "If that address can receive mail, a message with a confirmation link is on its way. Open it to start your subscription; the link works for 7 days.";

#[derive(Serialize)]
struct Link {
    url: String,
    label: String,
}

fn message_page(
    state: &AppState,
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
    links: Vec<Link>,
) -> Response {
    let mut ctx = site_context(state);
    ctx.insert("heading", heading);
    ctx.insert("paragraphs", paragraphs);
    ctx.insert("links", &links);
    match crate::templates::render(&state.tera, "pages/message.html", &ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => PageError::Unexpected(e.into()).into_page(state),
    }
}

pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    // Pages with a CSRF token and personal data are never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn secure(state: &AppState) -> bool {
    state.config.site.base_url.scheme() == "https"
}

/// A form body as (key, value) pairs; keys may repeat (`topics`).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSubscribe {
    email: String,
    #[serde(default)]
    topics: Vec<String>,
    frequency: Option<String>,
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

pub async fn subscribe(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = is_json(&headers);
    let ip = client_ip(&headers, peer, state.config.http.trust_forwarded_for);
    if let Some(ip) = ip
        && let Err(wait) = state.limiter.check(ip)
    {
        let mut r = if json {
            json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this address; try again later",
            )
        } else {
            message_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                &[
                    "Too many sign-ups came from your network in the last minute. Please wait a minute and try again.",
                ],
                vec![],
            )
        };
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let request = if json {
        // A cross-site form cannot send application/json without a CORS
        // preflight, which this server never grants: no CSRF token needed.
        match serde_json::from_slice::<JsonSubscribe>(&body) {
            Ok(j) => (j.email, j.topics, j.frequency),
            Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("body: {e}")),
        }
    } else {
        let pairs = form_pairs(&body);
        if !csrf_ok(&headers, field(&pairs, "csrf")) {
            return message_page(
                &state,
                StatusCode::FORBIDDEN,
                "Please try again",
                &[
                    "This form had expired or did not come from our page. Reload the front page and send it again.",
                ],
                vec![Link {
                    url: format!("{}/", state.config.site.base()),
                    label: "The front page".into(),
                }],
            );
        }
        if field(&pairs, "website").is_some_and(|v| !v.is_empty()) {
            // The honeypot: people never see the field, bots fill it in.
            // They get the usual answer and nothing happens.
            tracing::info!(client = ?ip, "subscribe: honeypot filled; ignored");
            return message_page(
                &state,
                StatusCode::OK,
                "Check your inbox",
                &[CHECK_INBOX],
                vec![],
            );
        }
        let topics = pairs
            .iter()
            .filter(|(k, _)| k == "topics")
            .map(|(_, v)| v.clone())
            .collect();
        (
            field(&pairs, "email").unwrap_or("").to_owned(),
            topics,
            field(&pairs, "frequency").map(str::to_owned),
        )
    };
    let (email, topics, frequency) = request;
    let frequency = match frequency.as_deref().map(Frequency::parse).transpose() {
        Ok(f) => f,
        Err(e) => return bad_request(&state, json, &format!("frequency: {e}")),
    };
    let result = state
        .subs
        .subscribe(Request {
            email,
            topics,
            frequency,
            source: "web".into(),
            client: ip.map(|i| i.to_string()),
        })
        .await;
    match result {
        Ok(()) if json => (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "status": "accepted", "message": CHECK_INBOX })),
        )
            .into_response(),
        Ok(()) => message_page(
            &state,
            StatusCode::OK,
            "Check your inbox",
            &[CHECK_INBOX],
            vec![],
        ),
        Err(
            e @ (SubscribeError::Email(_)
            | SubscribeError::UnknownTopic(_)
            | SubscribeError::Frequency(_)),
        ) => bad_request(&state, json, &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "subscribe failed");
            if json {
                json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong; please try again later",
                )
            } else {
                failed(&state, e)
            }
        }
    }
}

fn bad_request(state: &AppState, json: bool, message: &str) -> Response {
    if json {
        json_error(StatusCode::BAD_REQUEST, message)
    } else {
        message_page(
            state,
            StatusCode::BAD_REQUEST,
            "Please check the form",
            &[message],
            vec![Link {
                url: format!("{}/", state.config.site.base()),
                label: "Back to the form".into(),
            }],
        )
    }
}

/// A 500 page for an unexpected error (logged by `into_page`).
fn failed(state: &AppState, e: impl std::fmt::Display) -> Response {
    PageError::Unexpected(anyhow::anyhow!("{e}")).into_page(state)
}

/// The answer to any token we do not know, forged or expired: the same 404.
fn unknown_link(state: &AppState) -> Response {
    message_page(
        state,
        StatusCode::NOT_FOUND,
        "This link does not work",
        &[
            "It may have expired or been copied incompletely. You can subscribe again from the front page.",
        ],
        vec![Link {
            url: format!("{}/", state.config.site.base()),
            label: "The front page".into(),
        }],
    )
}

pub async fn confirm(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let ip = client_ip(&headers, peer, state.config.http.trust_forwarded_for);
    match state.subs.confirm(&token, ip.map(|i| i.to_string())).await {
        Ok(Some(s)) => with_cookie(
            message_page(
                &state,
                StatusCode::OK,
                "You are subscribed",
                &[&format!(
                    "Thank you. {} will get the {} digest. A welcome mail with links to change your topics or unsubscribe is on its way.",
                    s.email,
                    s.frequency.as_str()
                )],
                vec![],
            ),
            None,
        ),
        Ok(None) => unknown_link(&state),
        Err(e) => failed(&state, e),
    }
}

pub async fn unsubscribe_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    // Never unsubscribes: mail scanners follow links.
    match state.subs.manage(&token).await {
        Ok(Some(s)) => {
            let (csrf, cookie) = csrf_for(&headers, secure(&state));
            let mut ctx = site_context(&state);
            ctx.insert("email", s.email.as_str());
            ctx.insert("frequency", s.frequency.as_str());
            ctx.insert("csrf", &csrf);
            ctx.insert("action", &format!("/unsubscribe/{token}"));
            ctx.insert("preferences_url", &format!("/preferences/{token}"));
            match crate::templates::render(&state.tera, "pages/unsubscribe.html", &ctx) {
                Ok(html) => with_cookie(Html(html).into_response(), cookie),
                Err(e) => PageError::Unexpected(e.into()).into_page(&state),
            }
        }
        Ok(None) => unknown_link(&state),
        Err(e) => failed(&state, e),
    }
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
    form_pairs(body)
        .iter()
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

pub async fn unsubscribe_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let one_click = is_one_click(&headers, &body);
    if !one_click && !csrf_ok(&headers, field(&form_pairs(&body), "csrf")) {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Please try again",
            &["This form had expired. Open the unsubscribe link from the mail again."],
            vec![],
        );
    }
    match state.subs.unsubscribe(&token).await {
        // One-click: a plain 200, no redirect, no cookie.
        Ok(Some(_)) if one_click => (StatusCode::OK, "Unsubscribed.\n").into_response(),
        Ok(Some(s)) => unsubscribed_page(&state, &s),
        Ok(None) => unknown_link(&state),
        Err(e) => failed(&state, e),
    }
}

fn unsubscribed_page(state: &AppState, s: &Subscriber) -> Response {
    with_cookie(
        message_page(
            state,
            StatusCode::OK,
            "You are unsubscribed",
            &[&format!(
                "{} will get no more digests from {}. Changed your mind? Subscribe again from the front page; we will ask you to confirm.",
                s.email, state.config.site.title
            )],
            vec![Link {
                url: format!("{}/", state.config.site.base()),
                label: "The front page".into(),
            }],
        ),
        None,
    )
}

#[derive(Serialize)]
struct Choice {
    id: String,
    label: String,
    checked: bool,
}

async fn preferences_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    s: &Subscriber,
    saved: bool,
) -> Response {
    let (csrf, cookie) = csrf_for(headers, secure(state));
    let mut choices: Vec<Choice> = match state.subs.topic_choices(24).await {
        Ok(c) => c
            .into_iter()
            .map(|c| Choice {
                checked: s.topics.contains(&c.id),
                id: c.id,
                label: c.label,
            })
            .collect(),
        Err(e) => return failed(state, e),
    };
    // Topics the subscriber follows that are not among the most covered.
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
    let mut ctx = site_context(state);
    ctx.insert("email", s.email.as_str());
    ctx.insert("status", s.status.as_str());
    ctx.insert("frequency", s.frequency.as_str());
    ctx.insert("topic_choices", &choices);
    ctx.insert("saved", &saved);
    ctx.insert("csrf", &csrf);
    ctx.insert("action", &format!("/preferences/{token}"));
    match crate::templates::render(&state.tera, "pages/preferences.html", &ctx) {
        Ok(html) => with_cookie(Html(html).into_response(), cookie),
        Err(e) => PageError::Unexpected(e.into()).into_page(state),
    }
}

pub async fn preferences_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match state.subs.manage(&token).await {
        Ok(Some(s)) => preferences_page(&state, &headers, &token, &s, false).await,
        Ok(None) => unknown_link(&state),
        Err(e) => failed(&state, e),
    }
}

pub async fn preferences_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    if !csrf_ok(&headers, field(&pairs, "csrf")) {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Please try again",
            &["This form had expired. Reload the page and save again."],
            vec![],
        );
    }
    if field(&pairs, "action") == Some("unsubscribe") {
        return match state.subs.unsubscribe(&token).await {
            Ok(Some(s)) => unsubscribed_page(&state, &s),
            Ok(None) => unknown_link(&state),
            Err(e) => failed(&state, e),
        };
    }
    let frequency = match Frequency::parse(field(&pairs, "frequency").unwrap_or("weekly")) {
        Ok(f) => f,
        Err(e) => return bad_request(&state, false, &format!("frequency: {e}")),
    };
    let topics: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "topics")
        .map(|(_, v)| v.clone())
        .collect();
    match state.subs.set_preferences(&token, &topics, frequency).await {
        Ok(Some(s)) => preferences_page(&state, &headers, &token, &s, true).await,
        Ok(None) => unknown_link(&state),
        Err(e @ SubscribeError::UnknownTopic(_)) => bad_request(&state, false, &e.to_string()),
        Err(e) => failed(&state, e),
    }
}

/// For the landing page: the subscribe form's variables and cookie.
pub async fn form_context(
    state: &AppState,
    headers: &HeaderMap,
    ctx: &mut tera::Context,
) -> Option<HeaderValue> {
    let (csrf, cookie) = csrf_for(headers, secure(state));
    ctx.insert("csrf", &csrf);
    // Relative: the form works whatever host name the page was reached by.
    ctx.insert("subscribe_url", "/subscribe");
    let choices = state.subs.topic_choices(12).await.unwrap_or_default();
    ctx.insert("topic_choices", &choices);
    cookie
}
