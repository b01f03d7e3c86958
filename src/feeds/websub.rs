//! WebSub (W3C): when a feed's bytes change, tell the hub
//! (`hub.mode=publish`, `hub.url=<feed>`), so subscribers hear of it within
//! seconds instead of at their next poll. Announcements run in the
//! background; a hub that fails is asked again with backoff.

use crate::config::Config;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// First wait after a failed announcement, doubling up to `RETRY_MAX`.
const RETRY_INITIAL: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(300);
/// Then the announcement is dropped (the feed is still served; readers
/// find the change at their next poll).
const MAX_TRIES: u32 = 10;

/// Hands changed feeds to the background announcer.
#[derive(Clone, Debug)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Vec<String>>,
    base: String,
}

impl Publisher {
    /// Starts the announcer when `[websub] hub` is set.
    /// The background task ends when the last `Publisher` clone is dropped.
    pub fn start(config: &Config) -> Option<Self> {
        let hub = config.websub.as_ref()?.hub.clone();
        crate::telemetry::install_crypto();
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("feedletter/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "websub: cannot build an HTTP client; announcements are off");
                return None;
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(announce_loop(client, hub.to_string(), rx));
        Some(Self {
            tx,
            base: format!("{}/feeds", config.site.base()),
        })
    }

    /// Announces the feed files (paths relative to the feeds folder) whose
    /// bytes changed. The OPML index is not a feed and is left out, and so
    /// are archive pages: they name no hub, and nobody subscribes to them.
    pub fn announce(&self, written: &[String]) {
        let urls: Vec<String> = written
            .iter()
            .filter(|p| !p.ends_with(".opml") && !super::archive::is_page(p))
            .map(|p| format!("{}/{}", self.base, p.trim_start_matches('/')))
            .collect();
        if !urls.is_empty() {
            let _ = self.tx.send(urls);
        }
    }
}

/// The `Link` header of a feed response: where to subscribe, and the
/// feed's own URL.
pub fn link_header(config: &Config, path: &str) -> Option<String> {
    let hub = &config.websub.as_ref()?.hub;
    Some(format!(
        "<{hub}>; rel=\"hub\", <{}/feeds/{}>; rel=\"self\"",
        config.site.base(),
        path.trim_start_matches('/')
    ))
}

async fn announce_loop(
    client: reqwest::Client,
    hub: String,
    mut rx: mpsc::UnboundedReceiver<Vec<String>>,
) {
    // Feed URL -> (tries so far, when to try next). A newer change to the
    // same feed replaces a pending retry: one announcement covers both.
    let mut pending: HashMap<String, (u32, Instant)> = HashMap::new();
    loop {
        let now = Instant::now();
        let due: Vec<String> = pending
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for url in due {
            let tries = pending.get(&url).map_or(0, |p| p.0) + 1;
            match publish(&client, &hub, &url).await {
                Ok(()) => {
                    metrics::counter!("feedletter_websub_announcements_total", "result" => "ok")
                        .increment(1);
                    tracing::debug!(feed = %url, "websub: hub told");
                    pending.remove(&url);
                }
                Err(e) if tries >= MAX_TRIES => {
                    metrics::counter!("feedletter_websub_announcements_total", "result" => "given_up")
                        .increment(1);
                    tracing::warn!(feed = %url, hub = %hub, error = %e, tries, "websub: hub kept failing; announcement dropped");
                    pending.remove(&url);
                }
                Err(e) => {
                    metrics::counter!("feedletter_websub_announcements_total", "result" => "retried")
                        .increment(1);
                    let wait = RETRY_INITIAL
                        .saturating_mul(1 << (tries - 1).min(16))
                        .min(RETRY_MAX);
                    tracing::warn!(feed = %url, hub = %hub, error = %e, retry_in_s = wait.as_secs(), "websub: hub failed; will retry");
                    pending.insert(url, (tries, Instant::now() + wait));
                }
            }
        }
        let next = pending.values().map(|(_, at)| *at).min();
        tokio::select! {
            urls = rx.recv() => match urls {
                Some(urls) => {
                    let now = Instant::now();
                    for url in urls {
                        pending.insert(url, (0, now));
                    }
                }
                None => return,
            },
            () = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}

async fn publish(client: &reqwest::Client, hub: &str, url: &str) -> Result<(), String> {
    let response = client
        .post(hub)
        .form(&[("hub.mode", "publish"), ("hub.url", url)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the hub answered {}", response.status()))
    }
}
