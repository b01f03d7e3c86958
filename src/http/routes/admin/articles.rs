//! `/api/v1/articles/{slug}`: articles pushed by a CMS, and taken back.

use super::announce;
use crate::feeds::revision::OnForeign;
use crate::http::error::ApiError;
use crate::http::extract::AdminAuth;
use crate::http::state::AppState;
use crate::ingest::api::{PushError, PushStatus};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `PUT /api/v1/articles/{slug}`: JSON with the front matter's fields and
/// `body` (Markdown) or `body_html`. 201 new, 200 updated or unchanged,
/// 422 naming the field at fault, 409 when a content file owns the slug.
pub async fn put_article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    _: AdminAuth,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Err(e) = crate::domain::Slug::parse(&slug) {
        return Err(PushError::Invalid(format!("slug: {e}")).into());
    }
    let json: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let before = state.store.revision().await.ok();
    let pushed = crate::ingest::api::push(
        state.store.as_ref(),
        &state.config,
        state.clock.as_ref(),
        &slug,
        json,
    )
    .await;
    note_rebuild(&state, before, pushed.is_ok()).await;
    let report = pushed?;
    let status = if report.status == PushStatus::New {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    tracing::info!(slug = %report.slug, status = ?report.status, "article pushed");
    announce(&state, &report.feeds_written).await;
    Ok((status, Json(report)).into_response())
}

/// `DELETE /api/v1/articles/{slug}`: takes a pushed article out of the feeds.
pub async fn delete_article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    _: AdminAuth,
) -> Result<StatusCode, ApiError> {
    let before = state.store.revision().await.ok();
    let withdrawn = crate::ingest::api::withdraw(
        state.store.as_ref(),
        &state.config,
        state.clock.as_ref(),
        &slug,
    )
    .await;
    note_rebuild(&state, before, withdrawn.is_ok()).await;
    let report = withdrawn?;
    tracing::info!(slug = %report.slug, "pushed article withdrawn");
    announce(&state, &report.feeds_written).await;
    Ok(StatusCode::NO_CONTENT)
}

/// After a push rebuilt the feeds it touched: when its write was the only
/// change since the last build, the next scheduled build need not be a
/// full one.
async fn note_rebuild(state: &AppState, before: Option<i64>, wrote: bool) {
    let after = state.store.revision().await.ok();
    state
        .built
        .advance(before, after, wrote, OnForeign::LeaveForNextBuild);
}
