//! What every handler can reach.

use super::feed_cache::{FeedCache, ServeSettings};
use super::page_cache::PageCache;
use crate::config::Config;
use crate::domain::Clock;
use crate::store::Store;
use axum::http::HeaderValue;
use std::sync::Arc;

/// What the daemon serves from memory: the built feeds and the pages
/// every visitor sees.
#[derive(Clone, Debug)]
pub struct Served {
    pub feeds: Arc<FeedCache>,
    pub pages: Arc<PageCache>,
}

impl Served {
    /// After a build that wrote `written` and removed `removed` (paths
    /// under the feeds folder): the feeds' new versions are served from
    /// now on, and pages are rendered again. Every build goes through here.
    pub async fn after_build(&self, written: &[String], removed: &[String]) {
        self.pages.invalidate();
        if written.is_empty() && removed.is_empty() {
            return;
        }
        let feeds = self.feeds.clone();
        let (written, removed) = (written.to_vec(), removed.to_vec());
        let _ = tokio::task::spawn_blocking(move || feeds.refresh(&written, &removed)).await;
        // Pages rendered while the files were read may hold the old state.
        self.pages.invalidate();
    }

    /// Checks the cached feeds against the folder every `every`, for files
    /// changed by something other than this process's builds.
    pub async fn revalidate_until(
        self,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    let feeds = self.feeds.clone();
                    let _ = tokio::task::spawn_blocking(move || feeds.revalidate()).await;
                }
            }
        }
    }
}

/// What every handler shares, behind one `Arc`: axum clones the state
/// for each request it routes, and a struct of a dozen `Arc`s cost a dozen
/// atomic increments and decrements per request, each on a line the other
/// core also writes (8 % of the daemon's CPU under a load of 304s).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub tera: Arc<tera::Tera>,
    pub clock: Arc<dyn Clock>,
    /// Feeds and pages as served, kept in memory.
    pub served: Served,
    /// The per-client limit on feed requests (`http.feed_requests_per_minute`).
    pub feed_limiter: Arc<super::guard::RateLimiter>,
    pub subs: crate::subscribers::Subscriptions,
    pub limiter: Arc<super::guard::RateLimiter>,
    /// Wakes the daemon's digest sweep (a run created from the admin API).
    pub digest_wake: Arc<tokio::sync::Notify>,
    /// Tells the WebSub hub about changed feeds, when `[websub]` is set.
    pub websub: Option<crate::feeds::websub::Publisher>,
    /// The store revision this instance's feeds were built from.
    pub built: crate::feeds::revision::BuiltRevision,
}

impl AppState {
    /// `websub` tells the hub about changed feeds (`[websub]`), when set.
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        tera: Arc<tera::Tera>,
        clock: Arc<dyn Clock>,
        websub: Option<crate::feeds::websub::Publisher>,
    ) -> Self {
        let subs = crate::subscribers::Subscriptions::new(
            store.clone(),
            config.clone(),
            tera.clone(),
            clock.clone(),
        );
        let limiter = Arc::new(super::guard::RateLimiter::per_minute(
            config.http.subscribe_per_minute,
        ));
        let feed_limiter = Arc::new(super::guard::RateLimiter::per_minute(
            config.http.feed_requests_per_minute,
        ));
        let feeds = Arc::new(FeedCache::new(
            config.feeds.dir.clone(),
            ServeSettings {
                cache_control: HeaderValue::from_str(&format!(
                    "public, max-age={}",
                    config.http.feed_max_age.as_secs()
                ))
                .unwrap_or(HeaderValue::from_static("public, max-age=300")),
                links: {
                    let config = config.clone();
                    Arc::new(move |path| crate::feeds::websub::link_header(&config, path))
                },
            },
        ));
        Self(Arc::new(Shared {
            config,
            store,
            tera,
            clock,
            served: Served {
                feeds,
                pages: Arc::default(),
            },
            feed_limiter,
            subs,
            limiter,
            digest_wake: Arc::default(),
            websub,
            built: Default::default(),
        }))
    }
}

impl Shared {
    /// Whether cookies get `Secure`: the site is served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.config.site.base_url.scheme() == "https"
    }
}
