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

/// Serves the rewritten feeds from now on, then tells the WebSub hub, when
/// there is one (so that what the hub fetches is the new version).
async fn announce(state: &AppState, written: &[String]) {
    state.served.after_build(written, &[]).await;
    if let Some(w) = &state.websub {
        w.announce(written);
    }
}

/// Anything else under `/api/v1`: 404, after the same check.
pub async fn fallback(_: AdminAuth) -> ApiError {
    ApiError::not_found("no such API route")
}
