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
use crate::http::guard::client_ip;
use crate::http::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

/// `GET /feeds/{*path}` (and HEAD). The request is taken whole, so that
/// nothing of it is copied: the path and headers are read in place.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let method = request.method();
    let headers = request.headers();
    let limit = state.config.http.feed_requests_per_minute;
    if limit > 0 {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        if let Some(ip) = client_ip(headers, peer, state.config.http.trust_forwarded_for)
            && let Err(wait) = state.feed_limiter.check(ip)
        {
            return counted(method, too_many(wait));
        }
    }
    let path = feed_path(request.uri().path());
    let response = match find(&state.served.feeds, &path).await {
        Some(feed) => respond(&state.served.feeds, &feed, headers).await,
        None => not_found(),
    };
    counted(method, response)
}

/// The path under the feeds folder that a request path names, with
/// percent-escapes decoded (borrowed when there are none, as feed paths
/// never need them). An escape that does not decode to UTF-8 names nothing.
fn feed_path(uri_path: &str) -> Cow<'_, str> {
    let path = uri_path.strip_prefix("/feeds/").unwrap_or("");
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8(out).unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::feed_path;

    #[test]
    fn request_paths_map_to_folder_paths() {
        assert_eq!(
            feed_path("/feeds/topics/retinol/rss.xml"),
            "topics/retinol/rss.xml"
        );
        assert_eq!(feed_path("/feeds/%72ss.xml"), "rss.xml");
        assert_eq!(feed_path("/feeds/%2e%2e/secret.txt"), "../secret.txt");
        assert_eq!(feed_path("/feeds/50%"), "50%");
        assert_eq!(feed_path("/feeds/%ff"), "");
        assert_eq!(feed_path("/elsewhere"), "");
    }
}
