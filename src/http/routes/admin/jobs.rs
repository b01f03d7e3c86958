//! `POST /api/v1/jobs/{ingest|build|digest:NAME}`: run a job now.

use super::announce;
use crate::http::error::ApiError;
use crate::http::extract::AdminAuth;
use crate::http::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

/// `ingest` and `build` answer when done; `digest:NAME` creates the run for
/// the schedule's last fire time (or finds it) and answers 202 while the
/// daemon delivers it.
pub async fn run_job(
    State(state): State<AppState>,
    Path(job): Path<String>,
    _: AdminAuth,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    match job.as_str() {
        "ingest" => ingest(&state, now).await,
        "build" => {
            let written = build(&state, now).await?;
            Ok(Json(json!({ "feeds_written": written })).into_response())
        }
        other => match other.strip_prefix("digest:") {
            Some(name) => digest(&state, name, now).await,
            None => Err(ApiError::not_found(format!(
                "no job '{other}': use ingest, build or digest:NAME"
            ))),
        },
    }
}

async fn ingest(state: &AppState, now: DateTime<Utc>) -> Result<Response, ApiError> {
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let mut report = crate::ingest::ingest_once(store, &state.config, clock)
        .await
        .map_err(ApiError::internal)?;
    // The sources too, as `feedletter ingest` does (a source backing off or
    // asked to wait is skipped and reported).
    let polled = crate::sources::poll(store, &state.config, clock, crate::sources::Poll::Now)
        .await
        .map_err(ApiError::internal)?;
    report.add_sources(polled);
    let written = build(state, now).await?;
    Ok(Json(json!({ "ingest": report, "feeds_written": written })).into_response())
}

/// Builds the feeds as of `now` and announces the ones written.
async fn build(state: &AppState, now: DateTime<Utc>) -> Result<Vec<String>, ApiError> {
    let built = crate::feeds::build_feeds_once(state.store.as_ref(), &state.config, now)
        .await
        .map_err(ApiError::internal)?;
    announce(state, &built.written).await;
    Ok(built.written)
}

/// Opens the run for the last fire time of schedule `name` (or finds it)
/// and wakes the daemon's sweep to deliver it.
async fn digest(state: &AppState, name: &str, now: DateTime<Utc>) -> Result<Response, ApiError> {
    let schedule = crate::digest::schedule(&state.config, name)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let fire = crate::digest::fire_at(schedule, now).map_err(ApiError::internal)?;
    let (run, created) = crate::digest::open_run(
        state.store.as_ref(),
        &state.config,
        &state.tera,
        schedule,
        fire,
        now,
    )
    .await
    .map_err(ApiError::internal)?;
    state.digest_wake.notify_one();
    let answer = json!({
        "run_id": run.id,
        "created": created,
        "fire": run.fire.to_rfc3339(),
        "status": format!("/digests/{}", run.id),
    });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
