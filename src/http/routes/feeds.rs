//! Serving the feed folder from memory ([`FeedCache`]): ETag and
//! Last-Modified, 304 answers to conditional requests, gzip and brotli made
//! once per version of a file, `Cache-Control: max-age`, and, when
//! configured, a per-client limit answered with 429 and `Retry-After`.
//!
//! This route sits outside the page layers (tracing spans, response
//! compression, the render map, timeouts): a poll that the cache can
//! answer touches no file, compresses nothing and allocates little beyond
//! the response.

use crate::http::counter::RouteCounter;
use crate::http::feed_cache::{CachedFeed, Coding, FeedCache, safe_path};
use crate::http::guard::{Peer, client_ip};
use crate::http::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `GET /feeds/{*path}` (and HEAD).
pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    method: Method,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    let limit = state.config.http.feed_requests_per_minute;
    if limit > 0
        && let Some(ip) = client_ip(&headers, peer.0, state.config.http.trust_forwarded_for)
        && let Err(wait) = state.feed_limiter.check(ip)
    {
        return counted(&method, too_many(wait));
    }
    let response = match find(&state.served.feeds, &path).await {
        Some(feed) => respond(&state.served.feeds, &feed, &headers).await,
        None => not_found(),
    };
    counted(&method, response)
}

/// The cached file, read from the folder on a miss.
async fn find(cache: &Arc<FeedCache>, path: &str) -> Option<Arc<CachedFeed>> {
    if !safe_path(path) {
        return None;
    }
    if let Some(feed) = cache.get(path) {
        return Some(feed);
    }
    let (cache, path) = (cache.clone(), path.to_owned());
    tokio::task::spawn_blocking(move || cache.load(&path))
        .await
        .ok()
        .flatten()
}

/// 304 when the client's copy is current, else the bytes in the best
/// coding the client accepts.
async fn respond(cache: &Arc<FeedCache>, feed: &Arc<CachedFeed>, headers: &HeaderMap) -> Response {
    let current = feed.is_current(
        headers
            .get(header::IF_NONE_MATCH)
            .map(HeaderValue::as_bytes),
        headers
            .get(header::IF_MODIFIED_SINCE)
            .map(HeaderValue::as_bytes),
    );
    let mut response = if current {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let coding = Coding::negotiate(
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = match feed.encoded(coding) {
            Some(b) => b,
            None => {
                let (cache, feed) = (cache.clone(), feed.clone());
                match tokio::task::spawn_blocking(move || {
                    let bytes = feed.encode(coding);
                    cache.account(bytes.len());
                    bytes
                })
                .await
                {
                    Ok(b) => b,
                    Err(_) => return not_found(),
                }
            }
        };
        let mut r = Response::new(Body::from(bytes));
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, feed.content_type.clone());
        if let Some(v) = coding.header() {
            h.insert(header::CONTENT_ENCODING, v);
        }
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, feed.etag.clone());
    h.insert(header::LAST_MODIFIED, feed.last_modified.clone());
    h.insert(header::CACHE_CONTROL, feed.cache_control.clone());
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(link) = &feed.link {
        h.insert(header::LINK, link.clone());
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "There is no feed at this address.\n").into_response()
}

/// Feed requests in `/metrics`.
static REQUESTS: RouteCounter = RouteCounter::new("/feeds/{*path}");

fn counted(method: &Method, response: Response) -> Response {
    REQUESTS.count(method, response)
}

fn too_many(wait_s: u64) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests for feeds from this address; please poll less often.\n",
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait_s.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}
