//! What every handler can reach.

use crate::config::Config;
use crate::domain::Clock;
use crate::store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A feed file's ETag, remembered with the (mtime, length) it was computed for.
pub type EtagCache = Arc<Mutex<HashMap<PathBuf, (i128, u64, String)>>>;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub tera: Arc<tera::Tera>,
    pub clock: Arc<dyn Clock>,
    /// ETags of feed files by (path, mtime, length): hashing a file once per
    /// version rather than once per request.
    pub etags: EtagCache,
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
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        tera: Arc<tera::Tera>,
        clock: Arc<dyn Clock>,
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
        Self {
            config,
            store,
            tera,
            clock,
            etags: Arc::default(),
            subs,
            limiter,
            digest_wake: Arc::default(),
            websub: None,
            built: Default::default(),
        }
    }
}
