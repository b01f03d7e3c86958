//! The security headers every response carries, pages, feeds and API
//! alike: a Content-Security-Policy that allows no script at all and no
//! inline style (the pages' one stylesheet is `/static/site.css`), framing
//! denied twice over (`frame-ancestors 'none'` and `X-Frame-Options`),
//! `nosniff` (every response names its real media type), and a referrer
//! policy that depends on the URL: a page whose URL carries a personal
//! token (confirm, unsubscribe, preferences) sends no `Referer` at all, so
//! the token never reaches a site it links to.
//!
//! A handler may set its own `Content-Security-Policy` (the browser copy of
//! a digest, whose HTML comes from the mail renderer with inline styles);
//! the other headers are the same for every response.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The pages' policy: nothing runs, styles come from this site's files,
/// images from this site or any HTTPS host (article images live on the
/// publication's CDN), forms post here only, and no site may frame us.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The browser copy of a digest: mail HTML, styled inline as mail must be,
/// but still with no script, no form, no frame.
pub const WEB_COPY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' https: http: data:; form-action 'none'; frame-ancestors 'none'; \
     base-uri 'none'";

/// Paths whose next segment is a personal token.
const TOKEN_PATHS: &[&str] = &["/confirm/", "/unsubscribe/", "/preferences/"];

/// Whether the URL path carries a personal token.
pub fn carries_token(path: &str) -> bool {
    TOKEN_PATHS.iter().any(|p| path.starts_with(p))
}

/// Adds the headers to one response (see the module doc).
pub fn apply(headers: &mut HeaderMap, token_url: bool) {
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let referrer = if token_url {
        "no-referrer"
    } else {
        "strict-origin-when-cross-origin"
    };
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
}

/// The layer the router puts around every route and its fallback.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeadersLayer;

impl<S> tower::Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders { inner }
    }
}

/// See [`SecurityHeadersLayer`]. A plain service with its own future: no
/// boxing per request, since most requests are feed polls.
#[derive(Debug, Clone)]
pub struct SecurityHeaders<S> {
    inner: S,
}

impl<S> tower::Service<Request> for SecurityHeaders<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = WithHeaders<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        WithHeaders {
            token_url: carries_token(request.uri().path()),
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    /// The inner response, with the headers added.
    pub struct WithHeaders<F> {
        #[pin]
        inner: F,
        token_url: bool,
    }
}

impl<F, E> Future for WithHeaders<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        apply(response.headers_mut(), *this.token_url);
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_paths_and_only_those_send_no_referrer() {
        assert!(carries_token("/confirm/abc"));
        assert!(carries_token("/unsubscribe/abc"));
        assert!(carries_token("/preferences/abc"));
        assert!(!carries_token("/"));
        assert!(!carries_token("/feeds/atom.xml"));
        assert!(!carries_token("/articles/confirm"));
        let mut h = HeaderMap::new();
        apply(&mut h, true);
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(WEB_COPY_POLICY),
        );
        apply(&mut h, false);
        assert_eq!(
            h[header::REFERRER_POLICY],
            "strict-origin-when-cross-origin"
        );
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], WEB_COPY_POLICY);
    }
}
