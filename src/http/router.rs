//! Routes (names from INTERFACES.md) and the layers around them.

use super::routes::{feeds, health, pages};
use super::state::AppState;
use axum::Router;
use axum::routing::get;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/articles/{slug}", get(pages::article))
        .route("/feeds/{*path}", get(feeds::serve))
        .route("/healthz", get(health::healthz))
        .fallback(pages::not_found)
        .layer(CompressionLayer::new().gzip(true))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
