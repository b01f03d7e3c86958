//! `[http]`: the daemon's listening address and request limits.

use super::problems::Problems;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// `POST /subscribe` requests allowed per client address and minute
    /// (0 turns the limit off).
    pub subscribe_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// `Cache-Control: max-age` of the feeds readers subscribe to.
    pub feed_max_age: Duration,
    /// Feed requests allowed per client address and minute before the
    /// answer is 429 with `Retry-After` (0, the default, turns it off).
    pub feed_requests_per_minute: u32,
    /// `$FEEDLETTER_ADMIN_TOKEN`, never read from the file: without it the
    /// admin API answers 404.
    pub admin_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawHttp {
    bind: String,
    subscribe_per_minute: u32,
    trust_forwarded_for: bool,
    feed_max_age: String,
    feed_requests_per_minute: u32,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            subscribe_per_minute: 5,
            trust_forwarded_for: false,
            feed_max_age: "5m".into(),
            feed_requests_per_minute: 0,
        }
    }
}

impl RawHttp {
    /// Without the admin token: that comes from the environment alone.
    pub(super) fn build(self, p: &mut Problems) -> Option<HttpConfig> {
        let bind = self
            .bind
            .parse::<SocketAddr>()
            .map_err(|_| format!("'{}' is not an address like 127.0.0.1:8080", self.bind));
        let feed_max_age = p.duration("http.feed_max_age", &self.feed_max_age);
        Some(HttpConfig {
            bind: p.check("http.bind", bind)?,
            feed_max_age: feed_max_age?,
            feed_requests_per_minute: self.feed_requests_per_minute,
            subscribe_per_minute: self.subscribe_per_minute,
            trust_forwarded_for: self.trust_forwarded_for,
            admin_token: None,
        })
    }
}
