//! RFC 5005 archived feeds and RFC 6721 tombstones.
//!
//! **Archive pages.** Every feed but the trending one (the site feed and
//! each topic feed) is paged back through its whole history:
//! `archive/<n>.xml` (Atom) and `archive/<n>.json` (JSON Feed) beside its
//! subscription documents, numbered from the oldest (1). A page holds a
//! fixed run of `feeds.archive_page_size` articles of one order that only
//! ever grows at its end: the order in which the store first saw them
//! (`articles.seq`, given at first insert, in publication order within
//! one ingest). Withdrawn articles keep their place there, so page
//! boundaries never move; only full pages are published. Articles after
//! the last full page (the "tail") are always in the subscription
//! document, beside its newest `feeds.limit` ones, so that the current
//! document and the pages together hold every published article.
//!
//! Links: the subscription documents carry `prev-archive` to the newest
//! page and `current` to themselves (the RSS one as `atom:link`, pointing
//! at the Atom pages); each page carries `<fh:archive/>`, `current`,
//! `prev-archive` (older, absent on page 1) and `next-archive` (newer).
//! `next-archive` always names page n+1, even while that page is not yet
//! full and so not yet written: the link never has to change when it
//! fills, so the page's bytes do not either. JSON Feed has no archive
//! vocabulary: `next_url` (which JSON Feed 1.1 defines as "the next n
//! items", that is, older ones) chains the current `feed.json` to the
//! newest page and each page to the one before it.
//!
//! **Topic pages are summaries.** Site pages carry each article whole, as
//! the subscription documents do. Topic pages carry its title, summary,
//! dates, categories and link, without the body (in JSON Feed, the summary
//! as `content_text`, and only there): an article has several topics (8.6
//! on average in the benchmark corpus, its concepts' ancestors included),
//! so full topic pages would hold every body that many times over, about
//! 500 MB at 10,000 articles, all rendered by a first build. The site's
//! pages are the full history; a topic's are its index.
//!
//! **What a build renders.** A page's bytes depend only on its members'
//! rendering (their content hash and effective `updated`), on the feed's
//! title and on the configuration that shapes a feed. A build computes a
//! fingerprint of those from the store's index (no bodies) and keeps the
//! fingerprints of the pages it wrote in `archive/.pages` (a dot file, so
//! nothing serves it). A page whose fingerprint and files are unchanged is
//! not rendered at all; a page that just became full, or one of whose
//! articles was edited or withdrawn, is. So a scoped build after one
//! changed article reads the feed's index and renders at most the pages
//! that hold it, and a full build of an unchanged site renders no page.
//! An edited or withdrawn article changes the one page that holds it
//! (RFC 5005 expects archives to be stable and lets clients miss such
//! changes; a withdrawal also gets a tombstone in the current feed).
//!
//! **Tombstones.** The Atom subscription documents (site and topics: a
//! withdrawn article keeps its topic rows) carry an `at:deleted-entry`
//! with the entry's id and the withdrawal time for each article withdrawn
//! in the last `feeds.tombstone_days`; the build's `now` decides. JSON
//! Feed and RSS have no standard way to say an item was deleted, so they
//! just stop listing it.

use super::{FeedView, Tombstone};
use crate::config::{Config, FeedFormat};
use crate::store::{ArchiveEntry, StoreError, Withdrawn};
use foldhash::HashMap;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The archive folder of each feed.
pub const DIR: &str = "archive";
/// Where a feed's archive keeps its pages' fingerprints.
const MANIFEST: &str = ".pages";
/// Moves when archive pages render differently, so that pages an older
/// version wrote are rendered again.
const RENDER_VERSION: &str = "feedletter archive 2";

/// The namespace of `<fh:archive/>` (RFC 5005).
pub const NS_FH: &str = "http://purl.org/syndication/history/1.0";
/// The namespace of `<at:deleted-entry>` (RFC 6721).
pub const NS_AT: &str = "http://purl.org/atompub/tombstones/1.0";

/// The formats archive pages are written in: Atom when RSS or Atom is
/// configured (RSS has no paging of its own; its `prev-archive` points at
/// the Atom pages), JSON Feed when it is.
pub fn page_formats(formats: &[FeedFormat]) -> Vec<FeedFormat> {
    let mut out = Vec::new();
    if formats
        .iter()
        .any(|f| matches!(f, FeedFormat::Rss | FeedFormat::Atom))
    {
        out.push(FeedFormat::Atom);
    }
    if formats.contains(&FeedFormat::Json) {
        out.push(FeedFormat::Json);
    }
    out
}

/// Page `n` of the feed in folder `feed` ("" or "topics/x") in `format`,
/// relative to the feeds folder.
pub fn page_file(feed: &str, n: u32, format: FeedFormat) -> String {
    if feed.is_empty() {
        format!("{DIR}/{}", page_name(n, format))
    } else {
        format!("{feed}/{DIR}/{}", page_name(n, format))
    }
}

/// The file name of page `n` in `format`, in its archive folder.
fn page_name(n: u32, format: FeedFormat) -> String {
    let ext = match format {
        FeedFormat::Json => "json",
        FeedFormat::Rss | FeedFormat::Atom => "xml",
    };
    format!("{n}.{ext}")
}

/// Whether `rel` (relative to the feeds folder) is an archive page:
/// `<n>.xml` or `<n>.json` in an archive folder (a topic may be called
/// "archive": its `topics/archive/atom.xml` is not a page).
pub fn is_page(rel: &str) -> bool {
    let mut parts = rel.rsplit('/');
    let name = parts.next().unwrap_or_default();
    parts.next() == Some(DIR) && is_page_name(name)
}

/// `<n>.xml` or `<n>.json`.
fn is_page_name(name: &str) -> bool {
    name.split_once('.').is_some_and(|(n, ext)| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && matches!(ext, "xml" | "json")
    })
}

/// Full pages of a feed with `total` articles (published or withdrawn).
pub fn full_pages(total: u64, size: usize) -> u32 {
    if size == 0 {
        return 0;
    }
    u32::try_from(total / size as u64).unwrap_or(u32::MAX)
}

/// Each topic's entries in archive order, from the site's (`site`, every
/// article in that order) and each topic's slugs. The slugs must have been
/// read before `site`: articles are never deleted, so each is among them.
pub(super) fn topic_entries(
    site: &[ArchiveEntry],
    slugs: BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Vec<ArchiveEntry>>, StoreError> {
    let place: HashMap<&str, usize> = site
        .iter()
        .enumerate()
        .map(|(i, e)| (&*e.slug, i))
        .collect();
    let mut out = BTreeMap::new();
    for (topic, slugs) in slugs {
        let mut at = Vec::with_capacity(slugs.len());
        for slug in &slugs {
            let Some(i) = place.get(slug.as_str()) else {
                return Err(StoreError::Corrupt(format!(
                    "topic row {topic} of {slug} has no article"
                )));
            };
            at.push(*i);
        }
        at.sort_unstable();
        out.insert(topic, at.into_iter().map(|i| site[i].clone()).collect());
    }
    Ok(out)
}

/// The slugs of the `limit` newest published articles among `entries`,
/// newest first (then by slug): what `Store::topic_articles` reads, taken
/// from entries a build has in hand.
pub(super) fn newest_published(entries: &[ArchiveEntry], limit: usize) -> Vec<String> {
    let mut published: Vec<&ArchiveEntry> = entries.iter().filter(|e| e.published).collect();
    published.sort_unstable_by(|a, b| {
        b.published_ts
            .cmp(&a.published_ts)
            .then_with(|| a.slug.cmp(&b.slug))
    });
    published
        .into_iter()
        .take(limit)
        .map(|e| e.slug.to_string())
        .collect()
}

/// What one feed's archive needs from a build.
#[derive(Debug, Default)]
pub(super) struct ArchivePlan {
    /// The newest full page.
    pub newest: Option<u32>,
    /// Whether `newest` differs from what the last build wrote.
    pub newest_moved: bool,
    /// Pages to render: their number and published members.
    pub render: Vec<(u32, Vec<String>)>,
    /// Published articles after the last full page.
    pub tail: Vec<String>,
    /// Files of pages the feed no longer has, relative to the feeds folder.
    pub stale: Vec<String>,
    /// The fingerprints file, relative to the feeds folder, and its new
    /// bytes (None: delete it).
    pub manifest: (String, Option<Vec<u8>>),
}

/// Plans the archive of the feed in folder `feed`, titled `title`, whose
/// articles in archive order are `entries`.
///
/// `kept`: the fingerprints of earlier builds, when the caller keeps them
/// (see `PagePrints`).
pub(super) fn plan(
    config: &Config,
    feed: &str,
    title: &str,
    entries: &[ArchiveEntry],
    kept: Option<&PagePrints>,
) -> ArchivePlan {
    let size = config.feeds.archive_page_size;
    let dir = config.feeds.dir.join(feed).join(DIR);
    let manifest_rel = if feed.is_empty() {
        format!("{DIR}/{MANIFEST}")
    } else {
        format!("{feed}/{DIR}/{MANIFEST}")
    };
    let old = read_manifest(&dir.join(MANIFEST));
    // The page files there, listed once: a stat per page and format costs
    // more once a feed has hundreds of pages.
    let present: HashSet<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let full = full_pages(entries.len() as u64, size);
    let formats = page_formats(&config.feeds.formats);
    let mut plan = ArchivePlan {
        newest: (full > 0).then_some(full),
        ..Default::default()
    };
    plan.newest_moved = old.keys().next_back().copied() != plan.newest;
    // Every full page is hashed (10,000 articles are 200 site pages):
    // on every core.
    let head: Arc<[u8]> = page_head(config, feed, title).into();
    let prints: Vec<String> = (1..=full)
        .into_par_iter()
        .map(|n| {
            let start = (n as usize - 1) * size;
            let members = &entries[start..start + size];
            match kept {
                Some(kept) => kept.get(feed, &head, n, members),
                None => fingerprint(&head, n, members),
            }
        })
        .collect();
    let mut manifest = String::new();
    for (n, print) in (1..=full).zip(prints) {
        let start = (n as usize - 1) * size;
        let members = &entries[start..start + size];
        let on_disk = old.get(&n) == Some(&print)
            && formats.iter().all(|f| present.contains(&page_name(n, *f)));
        if !on_disk {
            let published = members
                .iter()
                .filter(|e| e.published)
                .map(|e| e.slug.to_string())
                .collect();
            plan.render.push((n, published));
        }
        manifest.push_str(&format!("{n} {print}\n"));
    }
    let tail_start = (full as usize) * size;
    plan.tail = entries
        .get(tail_start..)
        .unwrap_or_default()
        .iter()
        .filter(|e| e.published)
        .map(|e| e.slug.to_string())
        .collect();
    for n in old.keys().filter(|n| **n > full) {
        for f in [FeedFormat::Atom, FeedFormat::Json] {
            plan.stale.push(page_file(feed, *n, f));
        }
    }
    plan.manifest = (manifest_rel, (full > 0).then(|| manifest.into_bytes()));
    plan
}

/// The fingerprints a build recorded: page number to fingerprint.
fn read_manifest(path: &Path) -> BTreeMap<u32, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let (n, print) = l.split_once(' ')?;
            Some((n.parse().ok()?, print.to_owned()))
        })
        .collect()
}

/// Everything a page's bytes depend on but its number and members: the
/// first fields of its fingerprint, the same for every page of a feed.
fn page_head(config: &Config, feed: &str, title: &str) -> Vec<u8> {
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut field = |s: &str| {
        buf.extend_from_slice(s.as_bytes());
        buf.push(0x1f);
    };
    let site = &config.site;
    field(RENDER_VERSION);
    field(env!("CARGO_PKG_VERSION"));
    field(site.base());
    field(&site.title);
    field(&site.description);
    field(&site.language);
    field(&site.author.name);
    field(site.author.email.as_deref().unwrap_or(""));
    field(&format!("{:?}", config.feeds.formats));
    field(&config.feeds.archive_page_size.to_string());
    field(feed);
    field(title);
    buf
}

/// Everything a page's bytes depend on, hashed: `head` (`page_head`), its
/// number and its published members.
fn fingerprint(head: &[u8], n: u32, members: &[ArchiveEntry]) -> String {
    // The fields joined in one buffer and hashed once: the same digest as
    // hashing them one by one, without SHA-256's per-call work for each of
    // the 150 small fields of a page (a visible part of a daemon's run).
    let mut buf: Vec<u8> = Vec::with_capacity(head.len() + 16 + members.len() * 96);
    buf.extend_from_slice(head);
    let mut field = |s: &str| {
        buf.extend_from_slice(s.as_bytes());
        buf.push(0x1f);
    };
    field(&n.to_string());
    let mut ts = String::new();
    for e in members.iter().filter(|e| e.published) {
        field(&e.slug);
        field(&e.content_hash);
        ts.clear();
        let _ = write!(ts, "{}", e.updated_ts);
        field(&ts);
    }
    hex::encode(&Sha256::digest(&buf)[..16])
}

/// The page fingerprints of earlier builds, kept by a process that builds
/// again and again (`Places::with_members`): a page whose head and
/// members are those it had then has the fingerprint it had then. SHA-256
/// over every full page of the touched feeds (200 site pages at 10,000
/// articles, and each touched topic's) was a tenth of a daemon's run
/// after one save; comparing members that share their strings with the
/// last build's is a pointer check each. Only an exact match is reused,
/// so what is kept can be stale but never wrong.
#[derive(Debug, Default)]
pub struct PagePrints(Mutex<HashMap<(String, u32), KeptPrint>>);

#[derive(Debug)]
struct KeptPrint {
    head: Arc<[u8]>,
    members: Vec<ArchiveEntry>,
    print: String,
}

impl PagePrints {
    /// The fingerprint of page `n` of `feed`, kept or computed (and kept).
    fn get(&self, feed: &str, head: &Arc<[u8]>, n: u32, members: &[ArchiveEntry]) -> String {
        let lock = || self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (feed.to_owned(), n);
        if let Some(k) = lock().get(&key)
            && k.head == *head
            && k.members == members
        {
            return k.print.clone();
        }
        let print = fingerprint(head, n, members);
        lock().insert(
            key,
            KeptPrint {
                head: head.clone(),
                members: members.to_vec(),
                print: print.clone(),
            },
        );
        print
    }

    /// Pages kept (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or_default()
    }
}

/// The title of archive page `n` of a feed titled `title`.
pub fn page_title(title: &str, n: u32) -> String {
    format!("{title} (archive, page {n})")
}

/// The tombstones of `withdrawn` for the feed of `topic` (None: the site
/// feed), newest first.
pub(super) fn tombstones(withdrawn: &[Withdrawn], topic: Option<&str>) -> Vec<Tombstone> {
    withdrawn
        .iter()
        .filter(|w| topic.is_none_or(|t| w.topics.iter().any(|x| x == t)))
        .map(|w| Tombstone {
            id: w.guid.clone(),
            when: w.at,
        })
        .collect()
}

/// Sets a subscription document's archive link and tombstones; a
/// tombstone counts as a change to the feed's `updated`.
pub(super) fn decorate(view: &mut FeedView, newest: Option<u32>, tombstones: Vec<Tombstone>) {
    view.newest_archive = newest;
    if let Some(latest) = tombstones.iter().map(|t| t.when).max() {
        let latest = latest.fixed_offset();
        if latest > view.updated {
            view.updated = latest;
        }
    }
    view.tombstones = tombstones;
}

/// Deletes what a build wrote in the archive folder `dir` (pages and the
/// fingerprints file), and the folder when that leaves it empty; anything
/// else there is not ours and stays.
pub(super) fn remove_folder(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name == MANIFEST || is_page_name(&name);
        if ours {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dewline() -> Config {
        Config::from_toml_str(
            "[site]\ntitle = \"The Dewline\"\nbase_url = \"https://dewline.example\"\n",
            Path::new("/srv/dew/feedletter.toml"),
            &[],
        )
        .unwrap()
    }

    /// A published page member with content hash `hash`.
    fn member(slug: &str, hash: &str) -> ArchiveEntry {
        ArchiveEntry {
            slug: slug.into(),
            published: true,
            content_hash: hash.into(),
            updated_ts: 1_764_000_000,
            published_ts: 1_763_000_000,
        }
    }

    /// Manifests written by earlier builds stay valid: the fingerprint of a
    /// page is pinned (a change here re-renders every archive page once;
    /// it last moved with `RENDER_VERSION` 2, when JSON topic pages stopped
    /// carrying each summary twice).
    #[test]
    fn a_page_fingerprint_is_the_one_earlier_builds_recorded() {
        let config = dewline();
        let entry = |slug: &str, published| ArchiveEntry {
            published,
            ..member(slug, &format!("hash-of-{slug}"))
        };
        let members = [
            entry("retinol-101", true),
            entry("gone", false),
            entry("spf", true),
        ];
        let head = page_head(&config, "topics/retinol", "Retinol");
        let print = fingerprint(&head, 3, &members);
        assert_eq!(print, "c3b64cbcaf979ff2039017f2d539f8c6");
    }

    /// A kept fingerprint is the one a build from nothing computes, for
    /// exactly the same page, and only for it: another member, another
    /// content hash, another title or another page number is hashed anew.
    #[test]
    fn kept_page_fingerprints_are_reused_only_for_the_same_page() {
        let config = dewline();
        let page = vec![member("retinol-101", "h1"), member("spf", "h2")];
        let head: Arc<[u8]> = page_head(&config, "topics/retinol", "Retinol").into();
        let kept = PagePrints::default();
        let first = kept.get("topics/retinol", &head, 1, &page);
        assert_eq!(first, fingerprint(&head, 1, &page));
        assert_eq!(kept.get("topics/retinol", &head, 1, &page), first);
        assert_eq!(kept.len(), 1);
        // The same page read again from the store (other allocations).
        let again = vec![member("retinol-101", "h1"), member("spf", "h2")];
        assert_eq!(kept.get("topics/retinol", &head, 1, &again), first);
        // An edited member.
        let edited = vec![member("retinol-101", "h1"), member("spf", "h3")];
        let print = kept.get("topics/retinol", &head, 1, &edited);
        assert_ne!(print, first);
        assert_eq!(print, fingerprint(&head, 1, &edited));
        // A renamed feed, and another page number, with the same members.
        let renamed: Arc<[u8]> = page_head(&config, "topics/retinol", "Retinoids").into();
        let print = kept.get("topics/retinol", &renamed, 1, &edited);
        assert_eq!(print, fingerprint(&renamed, 1, &edited));
        assert_ne!(print, fingerprint(&head, 1, &edited));
        assert_eq!(
            kept.get("topics/retinol", &renamed, 2, &edited),
            fingerprint(&renamed, 2, &edited)
        );
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn pages_are_numbered_from_the_oldest_and_only_full_ones_count() {
        assert_eq!(full_pages(0, 50), 0);
        assert_eq!(full_pages(49, 50), 0);
        assert_eq!(full_pages(50, 50), 1);
        assert_eq!(full_pages(149, 50), 2);
        assert_eq!(full_pages(149, 0), 0, "0 turns archives off");
        assert_eq!(page_file("", 3, FeedFormat::Atom), "archive/3.xml");
        assert_eq!(page_file("", 3, FeedFormat::Rss), "archive/3.xml");
        assert_eq!(
            page_file("topics/retinol", 12, FeedFormat::Json),
            "topics/retinol/archive/12.json"
        );
        assert_eq!(
            page_formats(&[FeedFormat::Rss, FeedFormat::Json]),
            [FeedFormat::Atom, FeedFormat::Json]
        );
        assert_eq!(page_formats(&[FeedFormat::Json]), [FeedFormat::Json]);
        assert!(is_page("archive/3.xml") && is_page("topics/x/archive/3.json"));
        assert!(!is_page("atom.xml") && !is_page("topics/archive/atom.xml"));
    }
}
