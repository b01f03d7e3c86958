//! Built feeds held in memory: a poll is a map lookup.
//!
//! Each file under the feeds folder that a reader asked for is kept with
//! its bytes, its ETag, its Last-Modified date and the headers it is
//! served with, all computed once per version of the file. Its gzip and
//! brotli encodings are made the first time a client asks for them, once
//! per version. A build tells the cache which files it wrote or removed
//! ([`FeedCache::refresh`]), and the new version replaces the old one in a
//! single swap, so readers see the old bytes or the new ones, never a mix.
//! A revalidation ([`FeedCache::revalidate`], every few seconds in the
//! daemon) catches files changed by anything else (`feedletter build` run
//! by hand, another tool writing the folder).
//!
//! The cache holds at most [`BUDGET`] bytes; past that, the files polled
//! least recently leave it, and their next request reads the disk again.

use axum::body::Bytes;
use axum::http::HeaderValue;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The most bytes (plain and compressed) the cache keeps.
pub const BUDGET: usize = 160 * 1024 * 1024;

/// `Cache-Control` of archive pages: a full page changes only when one of
/// its own articles is edited or withdrawn, so a day, not the feeds' few
/// minutes (and not `immutable`, so an edit is seen the next day).
const ARCHIVE_CACHE_CONTROL: &str = "public, max-age=86400";

/// The version of a file: a file rewritten in place changes its
/// modification time or its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    /// Nanoseconds since the Unix epoch.
    pub modified_ns: i128,
    pub len: u64,
}

/// A content coding the client accepts and the cache can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The best coding `accept_encoding` allows: brotli, then gzip, then
    /// none. A coding with `q=0` is refused, as RFC 9110 says.
    pub fn negotiate(accept_encoding: Option<&str>) -> Self {
        let (br, gzip) = Self::accepted(accept_encoding);
        if br {
            Self::Brotli
        } else if gzip {
            Self::Gzip
        } else {
            Self::Identity
        }
    }

    /// Whether `accept_encoding` allows gzip (by name, or by `*`).
    pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
        Self::accepted(accept_encoding).1
    }

    /// Whether brotli and gzip are acceptable.
    fn accepted(accept_encoding: Option<&str>) -> (bool, bool) {
        let Some(header) = accept_encoding else {
            return (false, false);
        };
        let (mut br, mut gzip, mut any) = (None, None, None);
        for item in header.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            let ok = q > 0.0;
            if name.eq_ignore_ascii_case("br") {
                br = Some(ok);
            } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(ok);
            } else if name == "*" {
                any = Some(ok);
            }
        }
        (br.or(any) == Some(true), gzip.or(any) == Some(true))
    }

    pub fn header(self) -> Option<HeaderValue> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some(HeaderValue::from_static("gzip")),
            Self::Brotli => Some(HeaderValue::from_static("br")),
        }
    }
}

/// One version of one feed file, ready to send.
#[derive(Debug)]
pub struct CachedFeed {
    version: FileVersion,
    pub identity: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    /// The modification time in whole seconds: all an HTTP date can say.
    pub modified: SystemTime,
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
    /// The WebSub `Link` header, when a hub is configured.
    pub link: Option<HeaderValue>,
    /// When it was last served, in seconds since the cache started.
    last_used: AtomicU64,
}

impl CachedFeed {
    /// The bytes in `coding`, when they are ready (None: compress first).
    pub fn encoded(&self, coding: Coding) -> Option<Bytes> {
        match coding {
            Coding::Identity => Some(self.identity.clone()),
            Coding::Gzip => self.gzip.get().cloned(),
            Coding::Brotli => self.brotli.get().cloned(),
        }
    }

    /// Compresses into `coding` (once per version; CPU work, so callers run
    /// it off the async workers) and returns the bytes.
    pub fn encode(&self, coding: Coding) -> Bytes {
        match coding {
            Coding::Identity => self.identity.clone(),
            Coding::Gzip => self.gzip.get_or_init(|| gzip(&self.identity)).clone(),
            Coding::Brotli => self.brotli.get_or_init(|| brotli(&self.identity)).clone(),
        }
    }

    /// Whether the client's validators describe this version: its ETag in
    /// `If-None-Match`, or (without one) a date not before its
    /// modification in `If-Modified-Since`.
    pub fn is_current(
        &self,
        if_none_match: Option<&[u8]>,
        if_modified_since: Option<&[u8]>,
    ) -> bool {
        match (if_none_match, if_modified_since) {
            (Some(inm), _) => etag_matches(inm, self.etag.as_bytes()),
            (None, Some(ims)) => std::str::from_utf8(ims)
                .ok()
                .and_then(|s| httpdate::parse_http_date(s).ok())
                .is_some_and(|since| self.modified <= since),
            (None, None) => false,
        }
    }

    fn size(&self) -> usize {
        self.identity.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.brotli.get().map_or(0, Bytes::len)
    }
}

/// Whether an `If-None-Match` list names `etag`, comparing weakly.
pub fn etag_matches(header: &[u8], etag: &[u8]) -> bool {
    fn bare(t: &[u8]) -> &[u8] {
        let t = t.trim_ascii();
        t.strip_prefix(b"W/").unwrap_or(t)
    }
    header.trim_ascii() == b"*" || header.split(|b| *b == b',').any(|t| bare(t) == bare(etag))
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::new(6),
    );
    // Writing to a Vec cannot fail.
    let _ = e.write_all(bytes);
    Bytes::from(e.finish().unwrap_or_default())
}

fn brotli(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() / 5);
    {
        // Quality 9, window 22: within a few per cent of the best size for
        // feed XML, at a fraction of quality 11's time.
        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 9, 22);
        let _ = w.write_all(bytes);
    }
    Bytes::from(out)
}

/// The WebSub `Link` header of a file, by its path under the folder.
pub type LinkHeader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What each file is served with, besides its bytes.
#[derive(Clone)]
pub struct ServeSettings {
    /// `Cache-Control` of the feeds readers subscribe to.
    pub cache_control: HeaderValue,
    /// The WebSub `Link` header of a file, by its path under the folder.
    pub links: LinkHeader,
}

impl std::fmt::Debug for ServeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeSettings")
            .field("cache_control", &self.cache_control)
            .finish_non_exhaustive()
    }
}

/// The feeds folder's files as served, by path under the folder.
#[derive(Debug)]
pub struct FeedCache {
    root: PathBuf,
    settings: ServeSettings,
    entries: RwLock<HashMap<Box<str>, Arc<CachedFeed>>>,
    bytes: AtomicUsize,
    started: Instant,
}

impl FeedCache {
    pub fn new(root: PathBuf, settings: ServeSettings) -> Self {
        Self {
            root,
            settings,
            entries: RwLock::default(),
            bytes: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    fn now_s(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The cached version of `path`; None when it has not been read yet
    /// (or left the cache).
    pub fn get(&self, path: &str) -> Option<Arc<CachedFeed>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let found = entries.get(path).cloned();
        drop(entries);
        if let Some(f) = &found {
            f.last_used.store(self.now_s(), Ordering::Relaxed);
        }
        found
    }

    /// Reads `path` from the folder and keeps it (blocking: file system
    /// calls). None when no servable file is there.
    pub fn load(&self, path: &str) -> Option<Arc<CachedFeed>> {
        let (real, meta) = locate(&self.root, path)?;
        let version = version_of(&meta);
        if let Some(f) = self.get(path).filter(|f| f.version == version) {
            return Some(f);
        }
        let bytes = std::fs::read(&real).ok()?;
        let feed = Arc::new(self.entry(path, bytes, version));
        self.insert(path, feed.clone());
        Some(feed)
    }

    fn entry(&self, path: &str, bytes: Vec<u8>, version: FileVersion) -> CachedFeed {
        use sha2::{Digest, Sha256};
        let etag = format!("W/\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]));
        let modified =
            UNIX_EPOCH + Duration::from_secs((version.modified_ns / 1_000_000_000) as u64);
        let name = path.rsplit('/').next().unwrap_or(path);
        let archive = crate::feeds::archive::is_page(path);
        CachedFeed {
            version,
            identity: Bytes::from(bytes),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("W/\"\"")),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            modified,
            content_type: HeaderValue::from_static(media_type(name)),
            cache_control: if archive {
                HeaderValue::from_static(ARCHIVE_CACHE_CONTROL)
            } else {
                self.settings.cache_control.clone()
            },
            link: (self.settings.links)(path).and_then(|l| HeaderValue::from_str(&l).ok()),
            last_used: AtomicU64::new(self.now_s()),
        }
    }

    fn insert(&self, path: &str, feed: Arc<CachedFeed>) {
        let added = feed.size();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = entries.insert(path.into(), feed) {
            self.bytes.fetch_sub(old.size(), Ordering::Relaxed);
        }
        self.bytes.fetch_add(added, Ordering::Relaxed);
        if self.bytes.load(Ordering::Relaxed) > BUDGET {
            self.evict(&mut entries);
        }
    }

    /// Counts bytes compressed after an entry was inserted.
    pub fn account(&self, added: usize) {
        self.bytes.fetch_add(added, Ordering::Relaxed);
        if self.bytes.load(Ordering::Relaxed) > BUDGET {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            self.evict(&mut entries);
        }
    }

    /// Drops the files used least recently until a quarter of the budget
    /// is free.
    fn evict(&self, entries: &mut HashMap<Box<str>, Arc<CachedFeed>>) {
        let mut by_use: Vec<(u64, Box<str>)> = entries
            .iter()
            .map(|(k, v)| (v.last_used.load(Ordering::Relaxed), k.clone()))
            .collect();
        by_use.sort();
        for (_, key) in by_use {
            if self.bytes.load(Ordering::Relaxed) <= BUDGET / 4 * 3 {
                break;
            }
            if let Some(old) = entries.remove(&key) {
                self.bytes.fetch_sub(old.size(), Ordering::Relaxed);
            }
        }
    }

    /// After a build: the files it wrote get their new version now (those
    /// in the cache; others are read when first asked for), and the files
    /// under the paths it removed leave the cache.
    pub fn refresh(&self, written: &[String], removed: &[String]) {
        for path in written {
            if self.contains(path) {
                self.reload(path);
            }
        }
        if !removed.is_empty() {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            entries.retain(|k, v| {
                let gone = removed
                    .iter()
                    .any(|r| **k == **r || k.starts_with(&format!("{r}/")));
                if gone {
                    self.bytes.fetch_sub(v.size(), Ordering::Relaxed);
                }
                !gone
            });
        }
    }

    fn contains(&self, path: &str) -> bool {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.contains_key(path)
    }

    /// Reads `path` again, or drops it when it is no longer there.
    fn reload(&self, path: &str) {
        if self.load(path).is_none() {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            if let Some(old) = entries.remove(path) {
                self.bytes.fetch_sub(old.size(), Ordering::Relaxed);
            }
        }
    }

    /// Checks every cached file against the folder (a `stat` each) and
    /// reloads or drops those that changed: what no build of this process
    /// reported. Blocking.
    pub fn revalidate(&self) {
        let paths: Vec<(Box<str>, FileVersion)> = {
            let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
            entries
                .iter()
                .map(|(k, v)| (k.clone(), v.version))
                .collect()
        };
        for (path, version) in paths {
            let now = locate(&self.root, &path).map(|(_, m)| version_of(&m));
            if now != Some(version) {
                self.reload(&path);
            }
        }
    }

    /// The bytes held, plain and compressed.
    pub fn held_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

fn version_of(meta: &std::fs::Metadata) -> FileVersion {
    let since_epoch = meta
        .modified()
        .unwrap_or(UNIX_EPOCH)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    FileVersion {
        modified_ns: since_epoch.as_nanos() as i128,
        len: meta.len(),
    }
}

/// The media type of a feed file, by name.
pub fn media_type(name: &str) -> &'static str {
    match name {
        "rss.xml" => "application/rss+xml; charset=utf-8",
        "atom.xml" => "application/atom+xml; charset=utf-8",
        n if n.ends_with(".json") => "application/feed+json; charset=utf-8",
        n if n.ends_with(".opml") => "text/x-opml; charset=utf-8",
        n if n.ends_with(".xml") => "application/atom+xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether a request path may name a file under the folder: no empty,
/// hidden (temporary) or parent segment, no backslash, NUL or colon.
pub fn safe_path(requested: &str) -> bool {
    !requested.is_empty()
        && requested.split('/').all(|seg| {
            !(seg.is_empty()
                || seg.starts_with('.')
                || seg.contains('\\')
                || seg.contains('\0')
                || seg.contains(':'))
        })
}

/// The file under `root` that `path` names, if it may be served: no step
/// out of the folder, by `..` or by a symbolic link, and only files.
fn locate(root: &Path, path: &str) -> Option<(PathBuf, std::fs::Metadata)> {
    if !safe_path(path) {
        return None;
    }
    let real = std::fs::canonicalize(root.join(path)).ok()?;
    let real_root = std::fs::canonicalize(root).ok()?;
    if !real.starts_with(&real_root) {
        return None;
    }
    let meta = std::fs::metadata(&real).ok()?;
    meta.is_file().then_some((real, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(root: &Path) -> FeedCache {
        FeedCache::new(
            root.to_path_buf(),
            ServeSettings {
                cache_control: HeaderValue::from_static("public, max-age=300"),
                links: Arc::new(|_| None),
            },
        )
    }

    #[test]
    fn paths_stay_inside_the_folder() {
        assert!(safe_path("topics/retinol/rss.xml"));
        for bad in [
            "../etc/passwd",
            "topics/../../x",
            "/etc/passwd",
            ".rss.xml.1.tmp",
            "a//b",
            "..\\x",
            "c:x",
            "",
        ] {
            assert!(!safe_path(bad), "{bad} accepted");
        }
    }

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches(b"W/\"abc\"", b"W/\"abc\""));
        assert!(etag_matches(b"\"x\", \"abc\"", b"W/\"abc\""));
        assert!(etag_matches(b"*", b"W/\"abc\""));
        assert!(!etag_matches(b"\"abd\"", b"W/\"abc\""));
    }

    #[test]
    fn the_best_accepted_coding_is_chosen() {
        use Coding::*;
        for (header, want) in [
            (None, Identity),
            (Some("gzip, deflate"), Gzip),
            (Some("gzip, deflate, br"), Brotli),
            (Some("br;q=0, gzip"), Gzip),
            (Some("gzip;q=0"), Identity),
            (Some("*"), Brotli),
            (Some("identity"), Identity),
            (Some("GZIP ; q=0.5"), Gzip),
        ] {
            assert_eq!(Coding::negotiate(header), want, "{header:?}");
        }
    }

    #[test]
    fn a_build_swaps_the_version_and_a_removal_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("topics/retinol")).unwrap();
        std::fs::write(dir.path().join("rss.xml"), b"one").unwrap();
        std::fs::write(dir.path().join("topics/retinol/rss.xml"), b"topic").unwrap();
        let c = cache(dir.path());
        let first = c.load("rss.xml").unwrap();
        assert_eq!(&first.identity[..], b"one");
        c.load("topics/retinol/rss.xml").unwrap();
        std::fs::write(dir.path().join("rss.xml"), b"two, longer").unwrap();
        // Until the build reports it, the cached version is served.
        assert_eq!(&c.get("rss.xml").unwrap().identity[..], b"one");
        c.refresh(&["rss.xml".into()], &["topics/retinol".into()]);
        let second = c.get("rss.xml").unwrap();
        assert_eq!(&second.identity[..], b"two, longer");
        assert_ne!(first.etag, second.etag);
        assert!(c.get("topics/retinol/rss.xml").is_none());
        assert_eq!(c.held_bytes(), second.size());
    }

    #[test]
    fn revalidation_finds_files_changed_behind_its_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("atom.xml"), b"a").unwrap();
        std::fs::write(dir.path().join("rss.xml"), b"r").unwrap();
        let c = cache(dir.path());
        c.load("atom.xml").unwrap();
        c.load("rss.xml").unwrap();
        std::fs::write(dir.path().join("atom.xml"), b"a, rewritten").unwrap();
        std::fs::remove_file(dir.path().join("rss.xml")).unwrap();
        c.revalidate();
        assert_eq!(&c.get("atom.xml").unwrap().identity[..], b"a, rewritten");
        assert!(c.get("rss.xml").is_none());
    }

    #[test]
    fn compressed_copies_decode_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let body = "<rss>retinol, niacinamide, sunscreen</rss>".repeat(200);
        std::fs::write(dir.path().join("rss.xml"), &body).unwrap();
        let c = cache(dir.path());
        let f = c.load("rss.xml").unwrap();
        assert!(f.encoded(Coding::Gzip).is_none(), "compressed on demand");
        let gz = f.encode(Coding::Gzip);
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain)
            .unwrap();
        assert_eq!(plain, body);
        let br = f.encode(Coding::Brotli);
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut brotli::Decompressor::new(&br[..], 4096), &mut plain)
            .unwrap();
        assert_eq!(plain, body);
        assert!(br.len() < body.len() / 10);
    }

    #[test]
    fn archive_pages_are_cached_for_good() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("archive")).unwrap();
        std::fs::write(dir.path().join("archive/1.xml"), b"old").unwrap();
        std::fs::write(dir.path().join("atom.xml"), b"new").unwrap();
        let c = cache(dir.path());
        assert_eq!(
            c.load("archive/1.xml").unwrap().cache_control,
            ARCHIVE_CACHE_CONTROL
        );
        assert_eq!(
            c.load("atom.xml").unwrap().cache_control,
            "public, max-age=300"
        );
    }
}
