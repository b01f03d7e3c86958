//! Every route of the daemon (listed in the README) and the layers around them.

use super::headers::SecurityHeadersLayer;
use super::page::render_pages;
use super::routes::admin::{articles, jobs, subscribers};
use super::routes::{admin, feeds, health, manage, pages, subscribe, webhooks};
use super::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use std::time::Duration;
use tower::util::MapResponseLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Public form posts are small.
const FORM_LIMIT: usize = 16 * 1024;
/// A pushed article (its own check is `content.max_file_size`).
const ARTICLE_LIMIT: usize = 8 * 1024 * 1024;
/// An admin CSV import sent in one request (the CLI streams any size).
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/subscribers",
            get(subscribers::list).post(subscribers::add),
        )
        .route(
            "/subscribers/import",
            post(subscribers::import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/subscribers/export", get(subscribers::export))
        .route("/subscribers/{email}", delete(subscribers::erase))
        .route(
            "/articles/{slug}",
            axum::routing::put(articles::put_article)
                .delete(articles::delete_article)
                .layer(DefaultBodyLimit::max(ARTICLE_LIMIT)),
        )
        .route("/jobs/{job}", post(jobs::run_job))
        .fallback(admin::fallback);
    Router::new()
        .route("/articles/{slug}", get(pages::article))
        .route("/digests/{run_id}", get(pages::digest))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/subscribe", post(subscribe::subscribe))
        .route(
            "/confirm/{token}",
            get(manage::confirm_page).post(manage::confirm_post),
        )
        .route(
            "/unsubscribe/{token}",
            get(manage::unsubscribe_page).post(manage::unsubscribe_post),
        )
        .route(
            "/preferences/{token}",
            get(manage::preferences_get).post(manage::preferences_post),
        )
        .route(
            "/webhooks/{provider}",
            post(webhooks::receive).layer(DefaultBodyLimit::max(webhooks::WEBHOOK_LIMIT)),
        )
        .nest("/api/v1", api)
        .fallback(pages::not_found)
        // Innermost, so that compression and tracing see the rendered page.
        // A plain response map: no state clone and no boxed future per
        // request, since most requests are feed polls with no page at all.
        .layer(MapResponseLayer::new({
            let state = state.clone();
            move |response| render_pages(&state, response)
        }))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(CompressionLayer::new().gzip(true))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .route_layer(axum::middleware::from_fn(health::track))
        // Feed polls, most of the traffic, outside the page layers: the
        // route answers from memory, compresses nothing per request and
        // counts its own requests.
        .route("/feeds/{*path}", get(feeds::serve))
        // The landing page, every visitor's first request, likewise.
        .route("/", get(pages::index))
        .route("/static/site.css", get(pages::stylesheet))
        // Outermost: every answer gets them, whichever route or layer made it.
        .layer(SecurityHeadersLayer)
        .with_state(state)
}
