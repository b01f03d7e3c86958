//! The admin API under `/api/v1`, behind `Authorization: Bearer
//! $FEEDLETTER_ADMIN_TOKEN`. Without the variable it does not exist (404).

use crate::domain::{Frequency, SubscriberStatus};
use crate::http::state::AppState;
use crate::subscribers::import::ExportFormat;
use crate::subscribers::{Request, SubscribeError, tokens};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

/// None when the request may go on.
fn deny(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let Some(expected) = state.config.http.admin_token.as_deref() else {
        return Some(error(StatusCode::NOT_FOUND, "not found"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if tokens::constant_time_eq(g.as_bytes(), expected.as_bytes()) => None,
        _ => {
            let mut r = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"feedletter admin\""),
            );
            Some(r)
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin API");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

/// The admin check, then the query string: either answer stops the request.
fn authorized_query<T>(
    state: &AppState,
    headers: &HeaderMap,
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, Box<Response>> {
    if let Some(r) = deny(state, headers) {
        return Err(Box::new(r));
    }
    query
        .map(|Query(q)| q)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, e.body_text())))
}

fn status_param(s: Option<&str>) -> Result<Option<SubscriberStatus>, Box<Response>> {
    s.map(SubscriberStatus::parse)
        .transpose()
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, format!("status: {e}"))))
}

/// `GET /api/v1/subscribers?status=&after=&limit=`: a page, by id.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match authorized_query(&state, &headers, query) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let status = match status_param(q.status.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    match state.store.list_subscribers(status, q.after, limit).await {
        Ok(page) => {
            let next = (page.len() == limit as usize)
                .then(|| page.last().map(|s| s.id))
                .flatten();
            Json(json!({ "subscribers": page, "next_after": next })).into_response()
        }
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    email: String,
    #[serde(default)]
    topics: Vec<String>,
    frequency: Option<String>,
    #[serde(default)]
    confirmed: bool,
}

/// `POST /api/v1/subscribers`: 201 when added, 200 with the stored record
/// when the address was known (nothing changed).
pub async fn add(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = deny(&state, &headers) {
        return r;
    }
    let body: AddBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let frequency = match body.frequency.as_deref().map(Frequency::parse).transpose() {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("frequency: {e}")),
    };
    let request = Request {
        email: body.email,
        topics: body.topics,
        frequency,
        source: "api".into(),
        client: None,
    };
    match state.subs.add(request, body.confirmed).await {
        Ok((s, true)) => (StatusCode::CREATED, Json(s)).into_response(),
        Ok((s, false)) => (StatusCode::OK, Json(s)).into_response(),
        Err(
            e @ (SubscribeError::Email(_)
            | SubscribeError::UnknownTopic(_)
            | SubscribeError::Frequency(_)),
        ) => error(StatusCode::BAD_REQUEST, e),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    confirmed: bool,
}

/// `POST /api/v1/subscribers/import[?confirmed=true]` with a CSV body.
pub async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Response {
    let q = match authorized_query(&state, &headers, query) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    match state
        .subs
        .import_csv(body.as_ref(), q.confirmed, "import:api", |_| {})
        .await
    {
        Ok(report) => Json(report).into_response(),
        Err(e @ crate::subscribers::import::ImportError::Header(_)) => {
            error(StatusCode::BAD_REQUEST, e)
        }
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    status: Option<String>,
}

/// `GET /api/v1/subscribers/export?format=csv|json[&status=]`.
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match authorized_query(&state, &headers, query) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let status = match status_param(q.status.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (format, media) = match q.format.as_deref().unwrap_or("json") {
        "json" => (ExportFormat::Json, "application/json"),
        "csv" => (ExportFormat::Csv, "text/csv; charset=utf-8"),
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("format: `{other}` is neither csv nor json"),
            );
        }
    };
    let mut out = Vec::new();
    match state.subs.export(&mut out, format, status).await {
        Ok(_) => ([(header::CONTENT_TYPE, media)], out).into_response(),
        Err(e) => internal(e),
    }
}

/// `DELETE /api/v1/subscribers/{email}`: erases every record of the address.
pub async fn erase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(email): Path<String>,
) -> Response {
    if let Some(r) = deny(&state, &headers) {
        return r;
    }
    match state.subs.remove(&email, true).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "no subscriber with that address"),
        Err(e @ SubscribeError::Email(_)) => error(StatusCode::BAD_REQUEST, e),
        Err(e) => internal(e),
    }
}

/// `PUT /api/v1/articles/{slug}`: JSON with the front matter's fields and
/// `body` (Markdown) or `body_html`. 201 new, 200 updated or unchanged,
/// 422 naming the field at fault, 409 when a content file owns the slug.
pub async fn put_article(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    use crate::ingest::api::{PushStatus, push};
    if let Some(r) = deny(&state, &headers) {
        return r;
    }
    if let Err(e) = crate::domain::Slug::parse(&slug) {
        return push_error(crate::ingest::api::PushError::Invalid(format!("slug: {e}")));
    }
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    let before = state.store.revision().await.ok();
    let pushed = push(
        state.store.as_ref(),
        &state.config,
        state.clock.as_ref(),
        &slug,
        json,
    )
    .await;
    note_rebuild(&state, before, pushed.is_ok()).await;
    match pushed {
        Ok(report) => {
            let status = if report.status == PushStatus::New {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            tracing::info!(slug = %report.slug, status = ?report.status, "article pushed");
            announce(&state, &report.feeds_written);
            (status, Json(report)).into_response()
        }
        Err(e) => push_error(e),
    }
}

/// `DELETE /api/v1/articles/{slug}`: takes a pushed article out of the feeds.
pub async fn delete_article(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    if let Some(r) = deny(&state, &headers) {
        return r;
    }
    let before = state.store.revision().await.ok();
    let withdrawn = crate::ingest::api::withdraw(
        state.store.as_ref(),
        &state.config,
        state.clock.as_ref(),
        &slug,
    )
    .await;
    note_rebuild(&state, before, withdrawn.is_ok()).await;
    match withdrawn {
        Ok(report) => {
            tracing::info!(slug = %report.slug, "pushed article withdrawn");
            announce(&state, &report.feeds_written);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => push_error(e),
    }
}

/// After a push rebuilt the feeds it touched: when its write was the only
/// change since the last build, the next scheduled build need not be a
/// full one.
async fn note_rebuild(state: &AppState, before: Option<i64>, wrote: bool) {
    let after = state.store.revision().await.ok();
    state.built.advance(before, after, i64::from(wrote), false);
}

/// Tells the WebSub hub, when there is one, about rewritten feeds.
fn announce(state: &AppState, written: &[String]) {
    if let Some(w) = &state.websub {
        w.announce(written);
    }
}

fn push_error(e: crate::ingest::api::PushError) -> Response {
    use crate::ingest::api::PushError;
    let status = match &e {
        PushError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PushError::Conflict(_) => StatusCode::CONFLICT,
        PushError::NotFound(_) => StatusCode::NOT_FOUND,
        PushError::Ingest(_) | PushError::Store(_) => return internal(e),
    };
    let field = e.field().map(str::to_owned);
    (
        status,
        Json(json!({ "error": e.to_string(), "field": field })),
    )
        .into_response()
}

/// `POST /api/v1/jobs/{ingest|build|digest:NAME}`: run a job now.
/// `ingest` and `build` answer when done; `digest:NAME` creates the run for
/// the schedule's last fire time (or finds it) and answers 202 while the
/// daemon delivers it.
pub async fn run_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(job): Path<String>,
) -> Response {
    if let Some(r) = deny(&state, &headers) {
        return r;
    }
    let now = state.clock.now();
    match job.as_str() {
        "ingest" => {
            let report = match crate::ingest::ingest_once(
                state.store.as_ref(),
                &state.config,
                state.clock.as_ref(),
            )
            .await
            {
                Ok(r) => r,
                Err(e) => return internal(e),
            };
            match crate::feeds::build_feeds_once(state.store.as_ref(), &state.config, now).await {
                Ok(b) => {
                    announce(&state, &b.written);
                    Json(json!({ "ingest": report, "feeds_written": b.written })).into_response()
                }
                Err(e) => internal(e),
            }
        }
        "build" => {
            match crate::feeds::build_feeds_once(state.store.as_ref(), &state.config, now).await {
                Ok(b) => {
                    announce(&state, &b.written);
                    Json(json!({ "feeds_written": b.written })).into_response()
                }
                Err(e) => internal(e),
            }
        }
        other => {
            let Some(name) = other.strip_prefix("digest:") else {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("no job '{other}': use ingest, build or digest:NAME"),
                );
            };
            let schedule = match crate::digest::schedule(&state.config, name) {
                Ok(s) => s,
                Err(e) => return error(StatusCode::NOT_FOUND, e),
            };
            let opened = async {
                let fire = crate::digest::fire_at(schedule, now)?;
                crate::digest::open_run(
                    state.store.as_ref(),
                    &state.config,
                    &state.tera,
                    schedule,
                    fire,
                    now,
                )
                .await
            }
            .await;
            match opened {
                Ok((run, created)) => {
                    state.digest_wake.notify_one();
                    (
                        StatusCode::ACCEPTED,
                        Json(json!({
                            "run_id": run.id,
                            "created": created,
                            "fire": run.fire.to_rfc3339(),
                            "status": format!("/digests/{}", run.id),
                        })),
                    )
                        .into_response()
                }
                Err(e) => internal(e),
            }
        }
    }
}

/// Anything else under `/api/v1`: 404, after the same check.
pub async fn fallback(State(state): State<AppState>, headers: HeaderMap) -> Response {
    deny(&state, &headers).unwrap_or_else(|| error(StatusCode::NOT_FOUND, "no such API route"))
}
