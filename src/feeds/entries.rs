//! Rendered entries, kept between builds.
//!
//! A topic feed shows its 50 newest articles in full, and an article sits in
//! the site feed and in every topic it names (and their ancestors), in three
//! formats: one saved file used to be rendered some thirty times per build,
//! and every build rendered every entry of every feed it touched again.
//!
//! Each entry is now rendered once, by the same crate that writes the feed
//! (`atom_syndication`, `rss`, `serde_json`), as the only entry of a small
//! document; its bytes are cut out of that document and kept here, keyed by
//! the format and a fingerprint of everything the entry shows. A feed is
//! then written as its skeleton (the feed with one placeholder entry, or an
//! empty item list) with the kept entries spliced in where the placeholder
//! was. The result is the same, byte for byte, as the crate writing the
//! whole feed: the tests of each format compare the two.
//!
//! The cache lives as long as the process: the daemon keeps it between
//! builds; a command-line build still renders each entry once per format
//! instead of once per feed. It is bounded by bytes, in two generations: an
//! entry used in the current generation stays, one unused for a whole
//! generation is dropped.
//!
//! **Entries rendered ahead.** A cold ingest writes thousands of new
//! articles to the store on one thread (SQLite writes on one), leaving the
//! other cores idle, and then the build renders every one of them. So while
//! the store writes, `ahead` renders the new articles' archive entries on
//! one thread into a pinned set, outside the generations' bound (at 10,000
//! articles about 100 MB, for as long as the build takes): a build takes
//! an entry from there into the current generation when it uses it, and
//! the rest is dropped with the `Ahead` handle, after the build.

use super::ItemView;
use crate::config::FeedFormat;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Bytes of rendered entries one generation may hold; the cache holds at
/// most two generations. 10,000 articles of about 10 KB in three formats
/// are 300 MB, more than a daemon should keep for a feed it renders
/// rarely; one change touches some 1,500 entries (15 MB).
const GENERATION_BYTES: usize = 48 << 20;

/// The id of the placeholder entry a skeleton carries.
pub(super) const PLACEHOLDER: &str = "urn:feedletter:entries-go-here";

struct Kept {
    /// The entry's id, checked on a hit, so that two entries whose
    /// fingerprints collide are never confused.
    id: String,
    bytes: Arc<[u8]>,
}

#[derive(Default)]
struct Generations {
    current: HashMap<(FeedFormat, u64), Kept>,
    current_bytes: usize,
    previous: HashMap<(FeedFormat, u64), Kept>,
    /// Rendered ahead of a build (see the module's text), outside the bound.
    pinned: HashMap<(FeedFormat, u64), Kept>,
    /// `Ahead` handles alive: the pinned set is dropped with the last.
    ahead: usize,
}

impl Generations {
    fn get(&mut self, key: (FeedFormat, u64), id: &str) -> Option<Arc<[u8]>> {
        if let Some(k) = self.current.get(&key) {
            return (k.id == id).then(|| k.bytes.clone());
        }
        let k = match self.previous.remove(&key) {
            Some(k) => k,
            None => self.pinned.remove(&key)?,
        };
        if k.id != id {
            return None;
        }
        let bytes = k.bytes.clone();
        self.put(key, k);
        Some(bytes)
    }

    fn put(&mut self, key: (FeedFormat, u64), kept: Kept) {
        let len = kept.bytes.len();
        if self.current_bytes + len > GENERATION_BYTES {
            self.previous = std::mem::take(&mut self.current);
            self.current_bytes = 0;
        }
        self.current_bytes += len;
        self.current.insert(key, kept);
    }
}

fn cache() -> &'static Mutex<Generations> {
    static CACHE: OnceLock<Mutex<Generations>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// A fingerprint of everything an entry shows.
fn fingerprint(item: &ItemView) -> u64 {
    let mut h = foldhash::quality::FixedState::with_seed(0x6665_6564).build_hasher();
    let ItemView {
        slug,
        id,
        url,
        title,
        summary,
        content_html,
        author,
        reviewed_by,
        tags,
        category,
        image,
        published,
        updated,
    } = item;
    (slug, id, url, title, summary, content_html).hash(&mut h);
    (
        &author.name,
        &author.email,
        reviewed_by,
        tags,
        category,
        image,
    )
        .hash(&mut h);
    (published.to_rfc3339(), updated.to_rfc3339()).hash(&mut h);
    h.finish()
}

/// `item` rendered in `format` by `render`, which makes a whole document
/// holding it as its only entry; `open` and `close` are the entry
/// element's tags (see `cut`). Rendered at most once while it is kept.
pub(super) fn entry(
    format: FeedFormat,
    item: &ItemView,
    render: impl FnOnce(&ItemView) -> Vec<u8>,
    cut_out: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Arc<[u8]> {
    let key = (format, fingerprint(item));
    let lock = || cache().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(bytes) = lock().get(key, &item.id) {
        return bytes;
    }
    // Rendered outside the lock: the feeds of a build render in parallel.
    let bytes: Arc<[u8]> = cut_out(&render(item)).into();
    lock().put(
        key,
        Kept {
            id: item.id.clone(),
            bytes: bytes.clone(),
        },
    );
    bytes
}

/// Renders `item` in `format` into the pinned set, unless it is kept
/// already.
fn pin(
    format: FeedFormat,
    item: &ItemView,
    render: impl FnOnce(&ItemView) -> Vec<u8>,
    cut_out: impl FnOnce(&[u8]) -> Vec<u8>,
) {
    let key = (format, fingerprint(item));
    let lock = || cache().lock().unwrap_or_else(|p| p.into_inner());
    {
        let g = lock();
        if g.current.contains_key(&key)
            || g.previous.contains_key(&key)
            || g.pinned.contains_key(&key)
        {
            return;
        }
    }
    let bytes: Arc<[u8]> = cut_out(&render(item)).into();
    let kept = Kept {
        id: item.id.clone(),
        bytes,
    };
    let mut g = lock();
    // Only while a handle is alive: one dropped before this entry was
    // done must not leave it pinned.
    if g.ahead > 0 {
        g.pinned.insert(key, kept);
    }
}

/// How one format renders and cuts out a lone entry.
#[derive(Clone, Copy)]
pub(super) struct Renderer {
    pub format: FeedFormat,
    pub lone: fn(&ItemView) -> Vec<u8>,
    pub cut: fn(&[u8]) -> Vec<u8>,
}

/// Entries being rendered ahead of a build, on a thread of their own; the
/// rendering stops, and what it pinned is dropped (unless another handle
/// is alive), when this is dropped.
pub struct Ahead {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

/// Starts rendering the items `plan` gives, in order, in each of
/// `formats`, into the pinned set, on a thread of its own (`plan` runs
/// there too).
pub(super) fn ahead(
    formats: Vec<Renderer>,
    plan: impl FnOnce() -> Vec<ItemView> + Send + 'static,
) -> Ahead {
    cache().lock().unwrap_or_else(|p| p.into_inner()).ahead += 1;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("entries-ahead".to_owned())
        .spawn(move || {
            let mut done = 0;
            for item in &plan() {
                for r in &formats {
                    if flag.load(Ordering::Relaxed) {
                        return done;
                    }
                    pin(r.format, item, r.lone, r.cut);
                    done += 1;
                }
            }
            done
        })
        .ok();
    Ahead { stop, thread }
}

impl std::fmt::Debug for Ahead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ahead")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl Ahead {
    /// Stops rendering ahead, now that the build renders: the entries
    /// pinned so far stay until this is dropped. The number rendered.
    pub fn stop(&mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits for the thread: the number of entries it rendered.
    fn join(&mut self) -> usize {
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop();
        let mut g = cache().lock().unwrap_or_else(|p| p.into_inner());
        g.ahead = g.ahead.saturating_sub(1);
        if g.ahead == 0 {
            g.pinned = HashMap::new();
        }
    }
}

/// How an XML format's entries are written: the entry element's tags, and
/// what the writer puts around the placeholder's id.
pub(super) struct XmlEntries {
    pub format: FeedFormat,
    pub open: &'static [u8],
    pub close: &'static [u8],
    /// The placeholder's id with the markup the writer puts beside it.
    pub mark: String,
    /// A document holding the one entry, for `cut`.
    pub lone: fn(&ItemView) -> Vec<u8>,
}

impl XmlEntries {
    /// `items`, each from the cache or rendered, spliced into `skeleton` in
    /// place of its placeholder entry; None when it has none.
    pub(super) fn splice_into(&self, skeleton: &[u8], items: &[Arc<ItemView>]) -> Option<Vec<u8>> {
        let parts: Vec<Arc<[u8]>> = items
            .iter()
            .map(|i| {
                entry(self.format, i, self.lone, |doc| {
                    cut(doc, self.open, self.close)
                })
            })
            .collect();
        splice(
            skeleton,
            self.mark.as_bytes(),
            self.open,
            self.close,
            &parts,
        )
    }
}

/// The one `open`…`close` element of a document holding a single entry,
/// with the line break and indentation before it: what the writer puts
/// between two entries. The document's other text is fixed and escaped, so
/// the first `open` is the entry's; the entry's own text may hold `close`
/// (inside CDATA), so its end is the last one.
pub(super) fn cut(doc: &[u8], open: &[u8], close: &[u8]) -> Vec<u8> {
    let (Some(start), Some(end)) = (find(doc, open, 0), rfind(doc, close)) else {
        return Vec::new();
    };
    let start = line_start(doc, start);
    doc[start..end + close.len()].to_vec()
}

/// `skeleton` with its placeholder entry (the `open`…`close` element
/// holding `mark`, a tag and `PLACEHOLDER` as the writer puts them, which no
/// escaped text can hold) replaced by `parts`, in order; None when the
/// skeleton has no placeholder.
pub(super) fn splice(
    skeleton: &[u8],
    mark: &[u8],
    open: &[u8],
    close: &[u8],
    parts: &[Arc<[u8]>],
) -> Option<Vec<u8>> {
    let at = find(skeleton, mark, 0)?;
    let start = line_start(skeleton, rfind(&skeleton[..at], open)?);
    let end = find(skeleton, close, at)? + close.len();
    let len = skeleton.len() - (end - start) + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&skeleton[..start]);
    for p in parts {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(&skeleton[end..]);
    Some(out)
}

/// Where the line holding `at` starts, counting its line break: the start
/// of the indentation the pretty writer put before an element.
fn line_start(doc: &[u8], at: usize) -> usize {
    let indent = doc[..at].iter().rev().take_while(|b| **b == b' ').count();
    let start = at - indent;
    if start > 0 && doc[start - 1] == b'\n' {
        start - 1
    } else {
        start
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_takes_the_entry_with_its_indentation_and_the_last_close() {
        let doc = b"<a>\n  <e>x</e> </e>\n</a>";
        assert_eq!(cut(doc, b"<e>", b"</e>"), b"\n  <e>x</e> </e>".to_vec());
    }

    #[test]
    fn splice_replaces_the_placeholder_only() {
        let skeleton = format!("<a>\n  <e><id>{PLACEHOLDER}</id></e>\n  <t/>\n</a>");
        let parts: Vec<Arc<[u8]>> = vec![
            b"\n  <e>1</e>".to_vec().into(),
            b"\n  <e>2</e>".to_vec().into(),
        ];
        let mark = format!("<id>{PLACEHOLDER}</id>");
        let out = splice(
            skeleton.as_bytes(),
            mark.as_bytes(),
            b"<e>",
            b"</e>",
            &parts,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<a>\n  <e>1</e>\n  <e>2</e>\n  <t/>\n</a>"
        );
        assert!(splice(b"<a></a>", mark.as_bytes(), b"<e>", b"</e>", &parts).is_none());
    }

    #[test]
    fn generations_keep_what_is_used_and_check_the_id() {
        let mut g = Generations::default();
        let kept = |id: &str, n: usize| Kept {
            id: id.to_owned(),
            bytes: vec![0u8; n].into(),
        };
        g.put((FeedFormat::Atom, 1), kept("a", 10));
        assert!(g.get((FeedFormat::Atom, 1), "a").is_some());
        assert!(g.get((FeedFormat::Atom, 1), "b").is_none(), "another id");
        assert!(g.get((FeedFormat::Rss, 1), "a").is_none(), "another format");
        // A full generation moves to the previous one; a hit there comes back.
        g.put((FeedFormat::Atom, 2), kept("b", GENERATION_BYTES));
        assert!(g.get((FeedFormat::Atom, 1), "a").is_some());
        // Unused for a whole generation: dropped.
        g.put((FeedFormat::Atom, 3), kept("c", GENERATION_BYTES));
        g.put((FeedFormat::Atom, 4), kept("d", GENERATION_BYTES));
        assert!(g.get((FeedFormat::Atom, 2), "b").is_none());
    }

    use crate::domain::Person;
    use crate::feeds::{FeedView, Tombstone, atom, json, rss};
    use chrono::{DateTime, Duration};

    fn item(n: usize, content: &str) -> Arc<ItemView> {
        let published = DateTime::parse_from_rfc3339("2026-11-02T09:30:00+05:30").unwrap()
            - Duration::hours(n as i64);
        Arc::new(ItemView {
            slug: format!("story-{n}"),
            id: if n.is_multiple_of(2) {
                format!("https://example.org/story-{n}/")
            } else {
                format!("tag:example.org,2026:story-{n}")
            },
            url: format!("https://example.org/story-{n}/"),
            title: format!("Story {n}: \"exosomes\" & <retinol>"),
            summary: "Sum & mary <b>not bold</b> \u{2014} ü".to_owned(),
            content_html: content.to_owned(),
            author: Person {
                name: "Meera Iyer".to_owned(),
                email: n.is_multiple_of(3).then(|| "meera@example.org".to_owned()),
            },
            reviewed_by: (n % 2 == 1).then(|| "Dr. Kavya Rao".to_owned()),
            tags: vec!["Retinol".to_owned(), "retinol".to_owned(), "SPF".to_owned()],
            category: (n.is_multiple_of(2)).then(|| "Skincare".to_owned()),
            image: (n.is_multiple_of(2)).then(|| format!("https://example.org/{n}.jpg")),
            published,
            updated: published + Duration::minutes(n as i64),
        })
    }

    fn view(items: Vec<Arc<ItemView>>) -> FeedView {
        FeedView {
            title: "The Dewy Ledger: Retinol & <friends>".to_owned(),
            description: "Articles about \"retinol\"".to_owned(),
            home_url: "https://example.org/".to_owned(),
            path: "topics/retinol".to_owned(),
            base_url: "https://example.org".to_owned(),
            language: "en-IN".to_owned(),
            author: Person {
                name: "The Dewy Ledger".to_owned(),
                email: None,
            },
            updated: items
                .iter()
                .map(|i| i.updated)
                .max()
                .unwrap_or(DateTime::UNIX_EPOCH.fixed_offset()),
            items,
            hub: Some("https://hub.example.org/".to_owned()),
            page: None,
            newest_archive: None,
            tombstones: Vec::new(),
            formats: vec![FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json],
        }
    }

    /// Contents that could confuse the cutting: the closing tags, CDATA's
    /// end, JSON's list end, the placeholder's id, nothing at all.
    const AWKWARD: &[&str] = &[
        "<p>Plain.</p>",
        "<p>An </entry> and </item> in text</p>",
        "<pre>]]> then ]]]]><![CDATA[> </item>\n  ]</pre>",
        "<p>urn:feedletter:entries-go-here</p>",
        "",
        "<p>\"items\": [] and \\n  ]</p>",
    ];

    fn views() -> Vec<FeedView> {
        let items: Vec<_> = (0..12)
            .map(|n| item(n, AWKWARD[n % AWKWARD.len()]))
            .collect();
        let mut out = vec![
            view(Vec::new()),
            view(items[..1].to_vec()),
            view(items.clone()),
        ];
        let mut archived = view(items.clone());
        archived.newest_archive = Some(3);
        archived.tombstones = vec![Tombstone {
            id: "https://example.org/gone/".to_owned(),
            when: DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
                .unwrap()
                .to_utc(),
        }];
        out.push(archived);
        let mut page = view(items);
        page.page = Some(2);
        page.hub = None;
        out.push(page);
        out
    }

    fn pinned() -> usize {
        cache().lock().unwrap().pinned.len()
    }

    /// The only test that renders ahead: no other handle is alive while it
    /// runs, so the pinned set's size is its own.
    #[test]
    fn entries_rendered_ahead_are_what_the_build_splices_and_go_with_their_handle() {
        let items: Vec<Arc<ItemView>> = (0..6)
            .map(|n| item(n, &format!("<p>Rendered ahead, {n}: {}</p>", AWKWARD[n])))
            .collect();
        let slims: Vec<Arc<ItemView>> = items.iter().map(|i| Arc::new(i.slim())).collect();
        let formats = || vec![atom::RENDERER, json::RENDERER];
        let plan = {
            let (items, slims) = (items.clone(), slims.clone());
            move || -> Vec<ItemView> { items.iter().chain(&slims).map(|i| (**i).clone()).collect() }
        };
        let mut ahead = super::ahead(formats(), plan);
        assert_eq!(ahead.join(), 24, "12 items in 2 formats");
        assert_eq!(pinned(), 24);
        // Each entry comes from the pinned set: none is rendered again.
        for i in items.iter().chain(&slims) {
            for r in [atom::RENDERER, json::RENDERER] {
                let bytes = entry(r.format, i, |_| panic!("{} rendered again", i.slug), r.cut);
                assert_eq!(bytes[..], (r.cut)(&(r.lone)(i))[..]);
            }
        }
        assert_eq!(pinned(), 0, "each moved to the current generation");
        // The build splices them as the crates write whole feeds.
        let mut page = view(slims.clone());
        page.page = Some(4);
        for v in [view(items.clone()), page] {
            assert_eq!(atom::render(&v), atom::render_whole(&v));
            assert_eq!(json::render(&v), json::render_whole(&v));
        }
        drop(ahead);
        let unused = |from: usize| -> Vec<ItemView> {
            (from..from + 2)
                .map(|n| (*item(n, &format!("<p>Never used, {n}</p>"))).clone())
                .collect()
        };
        // What no build took goes with the handle.
        let mut ahead = super::ahead(formats(), {
            let planned = unused(100);
            move || planned
        });
        assert_eq!(ahead.join(), 4);
        assert_eq!(pinned(), 4);
        drop(ahead);
        assert_eq!(pinned(), 0, "dropped with the handle");
        // Told to stop before it starts, it renders nothing.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let mut ahead = super::ahead(formats(), {
            let planned = unused(200);
            move || {
                let _ = wait.recv();
                planned
            }
        });
        ahead.stop.store(true, Ordering::Relaxed);
        go.send(()).unwrap();
        assert_eq!(ahead.stop(), 0);
        assert_eq!(pinned(), 0);
    }

    #[test]
    fn spliced_feeds_equal_the_crates_whole_feeds() {
        for v in views() {
            // Twice: rendered, then from the cache.
            for _ in 0..2 {
                assert_eq!(
                    String::from_utf8(atom::render(&v)).unwrap(),
                    String::from_utf8(atom::render_whole(&v)).unwrap(),
                    "atom, {} items, page {:?}",
                    v.items.len(),
                    v.page
                );
                assert_eq!(
                    String::from_utf8(rss::render(&v)).unwrap(),
                    String::from_utf8(rss::render_whole(&v)).unwrap(),
                    "rss, {} items",
                    v.items.len()
                );
                assert_eq!(
                    String::from_utf8(json::render(&v)).unwrap(),
                    String::from_utf8(json::render_whole(&v)).unwrap(),
                    "json, {} items",
                    v.items.len()
                );
            }
        }
    }

    #[test]
    fn an_edited_entry_is_rendered_again() {
        let before = view(vec![item(1, "<p>Before the edit.</p>")]);
        let after = view(vec![item(1, "<p>After the edit.</p>")]);
        for render in [atom::render, rss::render, json::render] {
            let old = String::from_utf8(render(&before)).unwrap();
            let new = String::from_utf8(render(&after)).unwrap();
            assert!(old.contains("Before the edit") && !old.contains("After the edit"));
            assert!(new.contains("After the edit") && !new.contains("Before the edit"));
        }
    }
}
