//! `/api/v1/subscribers`: list, add, import, export, erase.

use crate::domain::ConsentSource;
use crate::domain::SubscriberStatus;
use crate::http::error::ApiError;
use crate::http::extract::{AdminAuth, ApiQuery};
use crate::http::input::{frequency, json_body};
use crate::http::state::AppState;
use crate::subscribers::Request;
use crate::subscribers::import::{ExportFormat, ImportError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

fn status_param(s: Option<&str>) -> Result<Option<SubscriberStatus>, ApiError> {
    s.map(SubscriberStatus::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("status: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

/// `GET /api/v1/subscribers?status=&after=&limit=`: a page, by id.
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let status = status_param(q.status.as_deref())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let page = state.store.list_subscribers(status, q.after, limit).await?;
    let next = (page.len() == limit as usize)
        .then(|| page.last().map(|s| s.id))
        .flatten();
    Ok(Json(json!({ "subscribers": page, "next_after": next })).into_response())
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
pub async fn add(
    _: AdminAuth,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: AddBody = json_body(&body)?;
    let request = Request {
        email: body.email,
        topics: body.topics,
        frequency: frequency(body.frequency.as_deref()).map_err(ApiError::bad_request)?,
        source: ConsentSource::Api,
        client: None,
    };
    let (s, created) = state.subs.add(request, body.confirmed).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(s)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    confirmed: bool,
}

/// `POST /api/v1/subscribers/import[?confirmed=true]` with a CSV body.
pub async fn import(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let report = state
        .subs
        .import_csv(
            body.as_ref(),
            q.confirmed,
            &ConsentSource::Import("api".into()),
            |_| {},
        )
        .await
        .map_err(|e| match e {
            ImportError::Header(_) => ApiError::bad_request(e.to_string()),
            e => ApiError::internal(e),
        })?;
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    status: Option<String>,
}

/// `GET /api/v1/subscribers/export?format=csv|json[&status=]`.
pub async fn export(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let status = status_param(q.status.as_deref())?;
    let (format, media) = match q.format.as_deref().unwrap_or("json") {
        "json" => (ExportFormat::Json, "application/json"),
        "csv" => (ExportFormat::Csv, "text/csv; charset=utf-8"),
        other => {
            return Err(ApiError::bad_request(format!(
                "format: `{other}` is neither csv nor json"
            )));
        }
    };
    let mut out = Vec::new();
    state
        .subs
        .export(&mut out, format, status)
        .await
        .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, media)], out).into_response())
}

/// `DELETE /api/v1/subscribers/{email}`: erases every record of the address.
pub async fn erase(
    State(state): State<AppState>,
    Path(email): Path<String>,
    _: AdminAuth,
) -> Result<StatusCode, ApiError> {
    if state.subs.remove(&email, true).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no subscriber with that address"))
    }
}
