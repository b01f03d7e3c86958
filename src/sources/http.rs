//! Fetching from a source politely: one client a poll, each source's
//! timeout, our User-Agent, a size limit on what is read, 429/503
//! `Retry-After` honoured, and redirects to another host followed only
//! with a warning in the log that names the source.

use crate::config::DEFAULT_SOURCE_TIMEOUT;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use url::Url;

/// The most bytes read from one response.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;
/// The wait asked for when a 429/503 names none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a request gave nothing usable. The message names the reason; the
/// caller adds the URL.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub message: String,
    /// The server asked to be left alone this long (429 or 503).
    pub retry_after: Option<Duration>,
}

impl FetchError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Where the body came from, after redirects.
    pub url: Url,
}

impl Fetched {
    /// A header as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type without parameters, lowercased.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .and_then(|c| c.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// The HTTP client sources are read with: one for a poll, shared by its
/// sources; `for_source` gives each source its own name and timeout.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: usize,
    /// The source named in the log, empty before `for_source`.
    source: Arc<str>,
    timeout: Duration,
    /// A cross-host redirect was logged for this source in this pass:
    /// once is enough (a moved WordPress site would log every page).
    warned: Arc<AtomicBool>,
}

/// `feedletter/<version> (+base_url)`: who is asking, and where to read
/// about it.
pub fn user_agent(base_url: &str) -> String {
    format!("feedletter/{} (+{base_url})", env!("CARGO_PKG_VERSION"))
}

impl Fetcher {
    /// A client for a site whose public URL is `base_url` (named in the
    /// User-Agent).
    pub fn new(base_url: &str) -> Result<Self, FetchError> {
        crate::telemetry::install_crypto();
        // Another host is noticed once the answer is in (`get`), where the
        // source is known; the policy only bounds the chain.
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            attempt.follow()
        });
        let client = reqwest::Client::builder()
            .user_agent(user_agent(base_url))
            .timeout(DEFAULT_SOURCE_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(policy)
            .build()
            .map_err(|e| FetchError::new(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            max_bytes: MAX_RESPONSE_BYTES,
            source: Arc::from(""),
            timeout: DEFAULT_SOURCE_TIMEOUT,
            warned: Arc::default(),
        })
    }

    /// The same client for one pass over the source `name`, whose
    /// requests each get `timeout`, body included.
    pub fn for_source(&self, name: &str, timeout: Duration) -> Self {
        Self {
            client: self.client.clone(),
            max_bytes: self.max_bytes,
            source: Arc::from(name),
            timeout,
            warned: Arc::default(),
        }
    }

    /// GETs `url` with `headers`. A 2xx or 304 answer comes back read
    /// whole; anything else is an error saying why.
    pub async fn get(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(url.clone()).timeout(self.timeout);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| request_error(e, url, self.timeout))?;
        self.moved_host(url, response.url());
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let wait = retry_after(response.headers().get(RETRY_AFTER), chrono::Utc::now());
            return Err(FetchError {
                message: format!(
                    "HTTP {status}: the server asked to wait {}s before the next request",
                    wait.as_secs()
                ),
                retry_after: Some(wait),
            });
        }
        if !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
            return Err(FetchError::new(format!("HTTP {status}")));
        }
        if let Some(len) = response.content_length()
            && len > self.max_bytes as u64
        {
            return Err(FetchError::new(format!(
                "the response is {len} bytes, over the limit of {}",
                self.max_bytes
            )));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_bytes {
                        return Err(FetchError::new(format!(
                            "the response is over the limit of {} bytes",
                            self.max_bytes
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(FetchError::new(format!(
                        "timed out: the whole response did not arrive within {} \
                         ({} bytes read; the source's timeout)",
                        show(self.timeout),
                        body.len()
                    )));
                }
                Err(e) => {
                    return Err(FetchError::new(format!(
                        "the response was cut short after {} bytes ({})",
                        body.len(),
                        error_chain(&e.without_url())
                    )));
                }
            }
        }
        Ok(Fetched {
            status,
            url: response.url().clone(),
            headers: std::mem::take(response.headers_mut()),
            body,
        })
    }

    /// Logs, once a pass, that the source's `asked` URL answered from
    /// another host (or port): the operator should update the source's
    /// url. An http to https move on the same host says nothing.
    fn moved_host(&self, asked: &Url, answered: &Url) {
        if same_host(asked, answered) || self.warned.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(
            source = %self.source,
            from = %asked,
            to = %answered,
            "the source redirected to another host; following it (update the source's url)"
        );
    }
}

/// Same host name and the same explicit port.
fn same_host(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str() && a.port() == b.port()
}

/// A duration as the config writes it: `30s`, `1500ms`.
fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A request that got no answer, in words. The caller names the URL
/// asked for; one redirected elsewhere first names where it went.
fn request_error(e: reqwest::Error, asked: &Url, timeout: Duration) -> FetchError {
    let elsewhere = e.url().filter(|u| *u != asked).cloned();
    let via = elsewhere
        .as_ref()
        .map(|u| format!(" (redirected to {u})"))
        .unwrap_or_default();
    let e = &e.without_url();
    if e.is_timeout() {
        FetchError::new(format!(
            "timed out: no answer within {}{via} (the source's timeout)",
            show(timeout)
        ))
    } else if e.is_connect() {
        FetchError::new(format!("cannot connect{via} ({})", error_chain(e)))
    } else if e.is_redirect() {
        let last = elsewhere
            .map(|u| format!(", the last one to {u}"))
            .unwrap_or_default();
        FetchError::new(format!(
            "too many redirects: gave up after {MAX_REDIRECTS}{last} \
             (point the source's url at where it ends up)"
        ))
    } else {
        FetchError::new(format!("{}{via}", error_chain(e)))
    }
}

/// An error with its causes, which hold the useful part for reqwest.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// `Retry-After` as seconds or an HTTP date; a minute when absent or
/// unreadable, an hour at most.
pub fn retry_after(value: Option<&HeaderValue>, now: chrono::DateTime<chrono::Utc>) -> Duration {
    let text = value.and_then(|v| v.to_str().ok()).map(str::trim);
    let wait = match text {
        Some(t) if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() => {
            t.parse().ok().map(Duration::from_secs)
        }
        Some(t) => httpdate::parse_http_date(t).ok().map(|at| {
            let at = chrono::DateTime::<chrono::Utc>::from(at);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }),
        None => None,
    };
    wait.unwrap_or(DEFAULT_RETRY_AFTER)
        .min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .to_utc();
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(retry_after(Some(&v("120")), now), Duration::from_secs(120));
        assert_eq!(
            retry_after(Some(&v("Wed, 25 Nov 2026 10:05:00 GMT")), now),
            Duration::from_secs(300)
        );
        assert_eq!(retry_after(None, now), DEFAULT_RETRY_AFTER);
        assert_eq!(retry_after(Some(&v("soon")), now), DEFAULT_RETRY_AFTER);
        assert_eq!(
            retry_after(Some(&v("999999")), now),
            Duration::from_secs(3600)
        );
    }
}
