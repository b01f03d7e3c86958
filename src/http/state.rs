//! What every handler can reach.

use crate::config::Config;
use crate::domain::Clock;
use crate::store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The version of a file an ETag was computed for: a file rewritten in
/// place changes its modification time or its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    /// Nanoseconds since the Unix epoch.
    pub modified_ns: i128,
    pub len: u64,
}

/// A feed file's ETag with the version of the file it describes.
#[derive(Debug, Clone)]
struct CachedEtag {
    version: FileVersion,
    etag: String,
}

/// ETags of feed files by path, so that a file is hashed once per version
/// rather than once per request.
#[derive(Debug, Default)]
pub struct EtagCache {
    entries: Mutex<HashMap<PathBuf, CachedEtag>>,
}

impl EtagCache {
    /// The ETag of `path` if it was computed for this version of the file.
    pub fn get(&self, path: &Path, version: FileVersion) -> Option<String> {
        // A panic elsewhere while holding the lock leaves the map usable.
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(path)
            .filter(|c| c.version == version)
            .map(|c| c.etag.clone())
    }

    pub fn insert(&self, path: PathBuf, version: FileVersion, etag: String) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(path, CachedEtag { version, etag });
    }
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub tera: Arc<tera::Tera>,
    pub clock: Arc<dyn Clock>,
    pub etags: Arc<EtagCache>,
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

    /// Whether cookies get `Secure`: the site is served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.config.site.base_url.scheme() == "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_is_kept_for_its_version_of_the_file() {
        let cache = EtagCache::default();
        let path = Path::new("/srv/feeds/rss.xml");
        let v1 = FileVersion {
            modified_ns: 1,
            len: 10,
        };
        cache.insert(path.to_path_buf(), v1, "W/\"a\"".into());
        assert_eq!(cache.get(path, v1).as_deref(), Some("W/\"a\""));
        assert_eq!(cache.get(path, FileVersion { len: 11, ..v1 }), None);
        assert_eq!(
            cache.get(
                path,
                FileVersion {
                    modified_ns: 2,
                    ..v1
                }
            ),
            None
        );
        assert_eq!(cache.get(Path::new("/srv/feeds/atom.xml"), v1), None);
    }
}
