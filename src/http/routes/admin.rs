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

/// Anything else under `/api/v1`: 404, after the same check.
pub async fn fallback(State(state): State<AppState>, headers: HeaderMap) -> Response {
    deny(&state, &headers).unwrap_or_else(|| error(StatusCode::NOT_FOUND, "no such API route"))
}
