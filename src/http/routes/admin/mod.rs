//! The admin API under `/api/v1`, behind `Authorization: Bearer
//! $FEEDLETTER_ADMIN_TOKEN`: every handler takes [`AdminAuth`], after the
//! path (a path that is not UTF-8 is a 400 before all) and before the
//! query string and the body, so that a bad query or body gets no answer
//! of its own without the token. Without the variable the API does not
//! exist (404).

pub mod articles;
pub mod jobs;
pub mod subscribers;

use crate::http::error::ApiError;
use crate::http::extract::AdminAuth;
use crate::http::state::AppState;

/// Tells the WebSub hub, when there is one, about rewritten feeds.
fn announce(state: &AppState, written: &[String]) {
    if let Some(w) = &state.websub {
        w.announce(written);
    }
}

/// Anything else under `/api/v1`: 404, after the same check.
pub async fn fallback(_: AdminAuth) -> ApiError {
    ApiError::not_found("no such API route")
}
