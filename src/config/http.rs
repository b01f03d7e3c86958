//! `[http]`: the daemon's listening address and request limits.

use super::problems::Problems;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// `POST /subscribe` requests allowed per client address and minute
    /// (0 turns the limit off).
    pub subscribe_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
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
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            subscribe_per_minute: 5,
            trust_forwarded_for: false,
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
        Some(HttpConfig {
            bind: p.check("http.bind", bind)?,
            subscribe_per_minute: self.subscribe_per_minute,
            trust_forwarded_for: self.trust_forwarded_for,
            admin_token: None,
        })
    }
}
