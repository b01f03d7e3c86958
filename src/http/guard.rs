//! What stands between the public forms and abuse: the client's address,
//! a per-client rate limit, and CSRF tokens (double-submit cookie).

use crate::subscribers::tokens;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CSRF_COOKIE: &str = "feedletter_csrf";

/// The client's address: the peer, or with `trust_forwarded_for` the last
/// address the proxy appended to `X-Forwarded-For`.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded: bool,
) -> Option<IpAddr> {
    if trust_forwarded
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(ip);
    }
    peer.map(|p| p.ip())
}

/// A fixed-window counter per client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn per_minute(n: u32) -> Self {
        Self {
            per_window: n,
            window: Duration::from_secs(60),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Ok, or the seconds to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.per_window == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            let wait = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(wait.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The CSRF token for a form: the one in the visitor's cookie, or a new one
/// with the `Set-Cookie` header that stores it.
pub fn csrf_for(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(t) = cookie(headers, CSRF_COOKIE).filter(|t| tokens::well_formed(t)) {
        return (t, None);
    }
    let token =
        tokens::random_token().unwrap_or_else(|_| tokens::hash(&format!("{:?}", Instant::now())));
    let value = format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400{}",
        if secure { "; Secure" } else { "" }
    );
    (token, HeaderValue::from_str(&value).ok())
}

/// A state-changing form is accepted when its `csrf` field equals the
/// cookie: another site can make the browser send the cookie but cannot
/// read it to put it in the form.
pub fn csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), field) {
        (Some(c), Some(f)) => {
            tokens::well_formed(&c) && tokens::constant_time_eq(c.as_bytes(), f.as_bytes())
        }
        _ => false,
    }
}

/// A page with a CSRF token or personal data: never cached, and with the
/// cookie that goes with its token when it is a new one.
pub fn no_store(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The TCP peer, when the server was started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_per_address() {
        let l = RateLimiter::per_minute(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok());
    }

    #[test]
    fn forwarded_for_only_when_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(client_ip(&h, Some(peer), false), Some(peer.ip()));
        assert_eq!(
            client_ip(&h, Some(peer), true),
            Some("2.2.2.2".parse().unwrap())
        );
    }

    #[test]
    fn csrf_needs_matching_cookie() {
        let (t, set) = csrf_for(&HeaderMap::new(), false);
        assert!(set.is_some());
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=b; {CSRF_COOKIE}={t}").parse().unwrap(),
        );
        assert!(csrf_ok(&h, Some(&t)));
        assert!(!csrf_ok(&h, Some("x")));
        assert!(!csrf_ok(&HeaderMap::new(), Some(&t)));
    }
}
