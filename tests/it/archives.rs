//! History and deletions: RFC 5005 archive pages (Atom, and JSON Feed's
//! `next_url`) that never change once full, and RFC 6721 tombstones that
//! appear on withdrawal and expire. Read back with feed-rs and roxmltree.

use crate::helpers::{BASE_URL, TestSite};
use crate::validity::{atom_problems, json_feed_problems};
use chrono::Duration;
use feedletter::Clock as _;
use feedletter::feeds::{BuildReport, Scope};
use std::collections::{BTreeMap, BTreeSet};

const AT: &str = "http://purl.org/atompub/tombstones/1.0";
const FH: &str = "http://purl.org/syndication/history/1.0";
const ATOM: &str = "http://www.w3.org/2005/Atom";

/// A small site: pages of 3 articles, a current feed of 4.
async fn small_site() -> TestSite {
    TestSite::new("[feeds]\nlimit = 4\narchive_page_size = 3\n").await
}

/// An article numbered `n`, published on day `n` of November 2026, with
/// tag `tag`.
fn numbered(site: &TestSite, n: u32, tag: &str) {
    site.write(
        &format!("a{n:02}.md"),
        format!(
            "---\ntitle: \"Article {n}\"\npublished: 2026-11-{n:02} 09:00\ntags: [\"{tag}\"]\n---\nBody of article {n}.\n"
        ),
    );
}

fn read(site: &TestSite, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(site.feeds_dir().join(rel)).ok()
}

/// Every archive page file under the feeds folder, with its bytes.
fn archive_files(site: &TestSite) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if rel.contains("archive/") && !rel.ends_with(".pages") {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&site.feeds_dir(), &site.feeds_dir(), &mut out);
    out
}

fn link(doc: &roxmltree::Document, rel: &str) -> Option<String> {
    doc.root_element()
        .children()
        .find(|n| {
            n.tag_name().name() == "link"
                && n.tag_name().namespace() == Some(ATOM)
                && n.attribute("rel") == Some(rel)
        })
        .and_then(|n| n.attribute("href"))
        .map(str::to_owned)
}

fn local(url: &str) -> String {
    url.strip_prefix(&format!("{BASE_URL}/feeds/"))
        .unwrap_or_else(|| panic!("{url} is not a feed URL"))
        .to_owned()
}

fn atom_ids(bytes: &[u8]) -> Vec<String> {
    let feed = feed_rs::parser::parse(bytes).unwrap();
    feed.entries.into_iter().map(|e| e.id).collect()
}

/// Walks `current` (an Atom or RSS document) and its archive chain back
/// to page 1: the current document's ids, then each page's, page by page.
fn walk_atom_chain(site: &TestSite, current: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = read(site, current).unwrap();
    let now = feed_rs::parser::parse(&bytes[..]).unwrap();
    let head_ids: Vec<String> = now.entries.into_iter().map(|e| e.id).collect();
    let text = String::from_utf8(bytes).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let channel = doc
        .root_element()
        .children()
        .find(|n| n.tag_name().name() == "channel");
    let prev = match channel {
        // RSS: the links are atom:link children of the channel.
        Some(ch) => ch
            .children()
            .find(|n| {
                n.tag_name().namespace() == Some(ATOM) && n.attribute("rel") == Some("prev-archive")
            })
            .and_then(|n| n.attribute("href"))
            .map(str::to_owned),
        None => link(&doc, "prev-archive"),
    };
    let mut pages = Vec::new();
    let mut next = prev;
    let mut newer: Option<String> = None;
    while let Some(url) = next {
        let rel = local(&url);
        let bytes = read(site, &rel).unwrap_or_else(|| panic!("{rel} is linked but missing"));
        let text = String::from_utf8(bytes.clone()).unwrap();
        let p = atom_problems(&text, &url);
        assert!(p.is_empty(), "{rel}:\n{}", p.join("\n"));
        let doc = roxmltree::Document::parse(&text).unwrap();
        assert!(
            doc.root_element()
                .children()
                .any(|n| n.tag_name().name() == "archive" && n.tag_name().namespace() == Some(FH)),
            "{rel}: no fh:archive"
        );
        let cur = link(&doc, "current").unwrap();
        assert!(cur.ends_with("/atom.xml"), "{rel}: current is {cur}");
        if let Some(newer) = &newer {
            assert_eq!(link(&doc, "next-archive").as_ref(), Some(newer), "{rel}");
        }
        pages.push(atom_ids(&bytes));
        newer = Some(url);
        next = link(&doc, "prev-archive");
        assert!(pages.len() < 100, "the chain loops");
    }
    (head_ids, pages)
}

async fn published_guids(site: &TestSite) -> BTreeSet<String> {
    site.store
        .published_articles(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.guid)
        .collect()
}

/// The chain holds every published article once: the pages are disjoint
/// and, with the current document, cover them all.
async fn assert_complete(site: &TestSite, current: &str) -> usize {
    let (head, pages) = walk_atom_chain(site, current);
    let mut seen = BTreeSet::new();
    for page in &pages {
        for id in page {
            assert!(seen.insert(id.clone()), "{id} is on two archive pages");
        }
    }
    seen.extend(head);
    assert_eq!(
        seen,
        published_guids(site).await,
        "{current}: chain and store differ"
    );
    pages.len()
}

fn changed(report: &BuildReport, rel: &str) -> bool {
    report.written.iter().any(|w| w == rel)
}

#[tokio::test]
async fn full_archive_pages_never_change_when_articles_arrive_and_rebuild_to_the_same_bytes() {
    let site = small_site().await;
    for n in 1..=7 {
        numbered(&site, n, "quokka");
    }
    site.ingest().await;
    let first = site.build().await;
    // 7 articles, pages of 3: two full pages; the seventh is in no page yet.
    assert!(changed(&first, "archive/1.xml") && changed(&first, "archive/2.json"));
    let pages = archive_files(&site);
    let site_pages: Vec<&String> = pages.keys().filter(|k| k.starts_with("archive/")).collect();
    assert_eq!(
        site_pages,
        [
            "archive/1.json",
            "archive/1.xml",
            "archive/2.json",
            "archive/2.xml"
        ]
    );
    assert!(
        pages.contains_key("topics/quokka/archive/2.xml"),
        "{:?}",
        pages.keys()
    );
    // Page 1 is the oldest three, newest first inside the page.
    let titles: Vec<String> = feed_rs::parser::parse(&pages["archive/1.xml"][..])
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.title.unwrap().content)
        .collect();
    assert_eq!(titles, ["Article 3", "Article 2", "Article 1"]);
    // Site pages carry the articles whole; topic pages their summaries and
    // links (JSON Feed: the summary as content_text, not twice).
    let site_page = feed_rs::parser::parse(&pages["archive/1.xml"][..]).unwrap();
    assert!(site_page.entries.iter().all(|e| e.content.is_some()));
    let topic_page = feed_rs::parser::parse(&pages["topics/quokka/archive/1.xml"][..]).unwrap();
    assert_eq!(topic_page.entries.len(), 3);
    assert!(
        topic_page
            .entries
            .iter()
            .all(|e| e.content.is_none() && e.summary.is_some() && !e.links.is_empty())
    );
    let json: serde_json::Value =
        serde_json::from_slice(&pages["topics/quokka/archive/1.json"]).unwrap();
    assert!(json["items"][0]["content_html"].is_null());
    assert!(
        json["items"][0]["summary"].is_null(),
        "{}",
        json["items"][0]
    );
    assert_eq!(
        json["items"][0]["content_text"].as_str(),
        topic_page.entries[0]
            .summary
            .as_ref()
            .map(|s| s.content.as_str())
    );
    // The current feed keeps its limit of 4 (articles 4 to 7).
    assert_eq!(site.feed("atom.xml").entries.len(), 4);
    assert_eq!(assert_complete(&site, "atom.xml").await, 2);
    assert_eq!(assert_complete(&site, "rss.xml").await, 2);

    // A rebuild writes nothing and leaves every page byte for byte.
    let again = site.build().await;
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert_eq!(archive_files(&site), pages);
    // A page deleted by hand comes back with the same bytes.
    std::fs::remove_file(site.feeds_dir().join("archive/1.xml")).unwrap();
    let again = site.build().await;
    assert_eq!(again.written, ["archive/1.xml"]);
    assert_eq!(archive_files(&site), pages);

    // New articles: the full pages keep their bytes and page 3 fills.
    site.clock.advance(Duration::hours(1));
    numbered(&site, 8, "quokka");
    numbered(&site, 9, "quokka");
    let r = site.ingest().await;
    assert_eq!(r.new.len(), 2);
    let b = site.build().await;
    let now = archive_files(&site);
    for (rel, bytes) in &pages {
        assert_eq!(now.get(rel), Some(bytes), "{rel} changed");
        assert!(!changed(&b, rel), "{rel} rewritten");
    }
    assert!(now.contains_key("archive/3.xml") && now.contains_key("archive/3.json"));
    // An article back-dated before every other goes to the end of the
    // archive order, not the start: no page shifts, and until its page is
    // full the current document carries it beside its newest four.
    site.clock.advance(Duration::hours(1));
    site.write(
        "old.md",
        "---\ntitle: \"Back-dated\"\npublished: 2025-01-01 09:00\ntags: [\"quokka\"]\n---\nOld.\n",
    );
    assert_eq!(site.ingest().await.new.len(), 1);
    let b = site.build().await;
    let now = archive_files(&site);
    for (rel, bytes) in &pages {
        assert_eq!(now.get(rel), Some(bytes), "{rel} changed");
        assert!(!changed(&b, rel), "{rel} rewritten");
    }
    assert!(!now.contains_key("archive/4.xml"));
    let current = site.feed("atom.xml");
    assert_eq!(current.entries.len(), 5);
    assert!(
        current
            .entries
            .iter()
            .any(|e| e.title.as_ref().unwrap().content == "Back-dated"),
        "the tail stays in the current document"
    );
    assert_eq!(assert_complete(&site, "atom.xml").await, 3);
    assert_eq!(assert_complete(&site, "topics/quokka/atom.xml").await, 3);
    // Rebuilding from scratch (an empty feeds folder) gives the same bytes.
    std::fs::remove_dir_all(site.feeds_dir()).unwrap();
    site.build().await;
    assert_eq!(archive_files(&site), now);
}

#[tokio::test]
async fn json_feed_pages_chain_by_next_url_and_validate() {
    let site = small_site().await;
    for n in 1..=10 {
        numbered(&site, n, "wombat");
    }
    site.ingest().await;
    site.build().await;
    let mut seen: Vec<String> = Vec::new();
    let mut on_pages: BTreeSet<String> = BTreeSet::new();
    let mut url = format!("{BASE_URL}/feeds/feed.json");
    let mut hops = 0;
    loop {
        let bytes = read(&site, &local(&url)).unwrap();
        let p = json_feed_problems(&bytes, &url);
        assert!(p.is_empty(), "{url}:\n{}", p.join("\n"));
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for item in v["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_owned();
            // The current feed may overlap the newest page; pages may not
            // overlap each other.
            if hops > 0 {
                assert!(on_pages.insert(id.clone()), "{id} on two pages");
            }
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        match v["next_url"].as_str() {
            Some(next) => {
                assert_ne!(next, url);
                url = next.to_owned();
                hops += 1;
            }
            None => break,
        }
    }
    assert_eq!(hops, 3, "feed.json, then pages 3, 2, 1");
    assert!(url.ends_with("/feeds/archive/1.json"), "{url}");
    let seen: BTreeSet<String> = seen.into_iter().collect();
    assert_eq!(seen, published_guids(&site).await);
}

#[tokio::test]
async fn a_scoped_build_renders_only_the_page_that_holds_the_changed_article() {
    let site = small_site().await;
    for n in 1..=9 {
        numbered(&site, n, "numbat");
    }
    site.ingest().await;
    site.build().await;
    let before = archive_files(&site);
    site.clock.advance(Duration::hours(1));
    site.write(
        "a05.md",
        "---\ntitle: \"Article 5, corrected\"\npublished: 2026-11-05 09:00\ntags: [\"numbat\"]\n---\nBody of article 5, corrected.\n",
    );
    let r = site.ingest().await;
    assert_eq!(r.updated.len(), 1);
    let scope = Scope::Changed {
        main: true,
        topics: r.topics_changed.clone(),
        trending: false,
    };
    let b =
        feedletter::feeds::build_feeds(site.store.as_ref(), &site.config, site.clock.now(), &scope)
            .await
            .unwrap();
    let pages: Vec<&String> = b
        .written
        .iter()
        .filter(|w| w.contains("archive/"))
        .collect();
    assert_eq!(
        pages,
        [
            "archive/2.xml",
            "archive/2.json",
            "topics/numbat/archive/2.xml",
            "topics/numbat/archive/2.json"
        ]
    );
    // Nothing else was even rendered: the two subscription documents' 6
    // files and those 4 pages.
    assert_eq!(b.written.len() + b.unchanged, 10, "{b:?}");
    let after = archive_files(&site);
    for rel in [
        "archive/1.xml",
        "archive/3.xml",
        "topics/numbat/archive/3.json",
    ] {
        assert_eq!(before[rel], after[rel], "{rel}");
    }
    let page2 = feed_rs::parser::parse(&after["archive/2.xml"][..]).unwrap();
    assert!(
        page2
            .entries
            .iter()
            .any(|e| e.title.as_ref().unwrap().content == "Article 5, corrected")
    );
    // The full build that follows agrees with the scoped one.
    let full = site.build().await;
    assert!(
        full.written.iter().all(|w| !w.contains("archive/")),
        "{:?}",
        full.written
    );
}

fn tombstones(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.root_element()
        .children()
        .filter(|n| n.tag_name().name() == "deleted-entry" && n.tag_name().namespace() == Some(AT))
        .map(|n| {
            (
                n.attribute("ref").unwrap().to_owned(),
                n.attribute("when").unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_withdrawn_article_leaves_a_tombstone_that_expires_after_the_configured_days() {
    let site = TestSite::new("[feeds]\ntombstone_days = 10\n").await;
    for n in 1..=3 {
        numbered(&site, n, "bilby");
    }
    site.ingest().await;
    site.build().await;
    // The slug comes from the file name.
    let guid = site.store.article("a02").await.unwrap().unwrap().guid;
    assert!(tombstones(&site.feed_bytes("atom.xml")).is_empty());

    site.clock.advance(Duration::hours(2));
    let withdrawn_at = site.clock.now();
    site.remove("a02.md");
    let r = site.ingest().await;
    assert_eq!(r.withdrawn.len(), 1);
    site.build().await;
    let when = withdrawn_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let topic = r
        .topics_changed
        .first()
        .cloned()
        .expect("the article had a topic");
    for rel in ["atom.xml".to_owned(), format!("topics/{topic}/atom.xml")] {
        let bytes = site.feed_bytes(&rel);
        assert_eq!(tombstones(&bytes), [(guid.clone(), when.clone())], "{rel}");
        assert!(!atom_ids(&bytes).contains(&guid), "{rel} still lists it");
        let p = atom_problems(
            &String::from_utf8(bytes).unwrap(),
            &format!("{BASE_URL}/feeds/{rel}"),
        );
        assert!(p.is_empty(), "{rel}:\n{}", p.join("\n"));
        // feed-rs reads the document with its tombstone.
        assert_eq!(site.feed(&rel).entries.len(), 2);
    }
    // RSS and JSON Feed have no tombstone: the item is just gone.
    assert!(
        !String::from_utf8(site.feed_bytes("rss.xml"))
            .unwrap()
            .contains("deleted-entry")
    );

    // Still there a day before it expires...
    site.clock.set(withdrawn_at + Duration::days(9));
    site.build().await;
    assert_eq!(tombstones(&site.feed_bytes("atom.xml")).len(), 1);
    // ...also after an hourly scoped build, which takes the tombstones
    // from the withdrawals of its wider sweep...
    let scope = Scope::Changed {
        main: false,
        topics: Vec::new(),
        trending: true,
    };
    feedletter::feeds::build_feeds(site.store.as_ref(), &site.config, site.clock.now(), &scope)
        .await
        .unwrap();
    for rel in ["atom.xml".to_owned(), format!("topics/{topic}/atom.xml")] {
        assert_eq!(tombstones(&site.feed_bytes(&rel)).len(), 1, "{rel}");
    }
    // ...and gone after the configured ten days, from an hourly scoped
    // build too (the expiry is a matter of time, not of a change).
    site.clock
        .set(withdrawn_at + Duration::days(10) + Duration::hours(1));
    let b =
        feedletter::feeds::build_feeds(site.store.as_ref(), &site.config, site.clock.now(), &scope)
            .await
            .unwrap();
    assert!(changed(&b, "atom.xml"), "{:?}", b.written);
    assert!(tombstones(&site.feed_bytes("atom.xml")).is_empty());
    assert!(tombstones(&site.feed_bytes(&format!("topics/{topic}/atom.xml"))).is_empty());
}

#[tokio::test]
async fn tombstone_days_zero_publishes_none() {
    let site = TestSite::new("[feeds]\ntombstone_days = 0\n").await;
    numbered(&site, 1, "bettong");
    numbered(&site, 2, "bettong");
    site.ingest().await;
    site.remove("a01.md");
    site.ingest().await;
    site.build().await;
    assert!(tombstones(&site.feed_bytes("atom.xml")).is_empty());
}

#[tokio::test]
async fn a_topic_that_disappears_loses_its_archive_pages_and_the_opml_lists_the_heads() {
    let site = TestSite::new("[feeds]\narchive_page_size = 2\n").await;
    for n in 1..=5 {
        numbered(&site, n, if n <= 3 { "dingo" } else { "emu" });
    }
    site.ingest().await;
    site.build().await;
    let files = archive_files(&site);
    assert!(
        files.contains_key("topics/dingo/archive/1.xml"),
        "{:?}",
        files.keys()
    );
    let opml = String::from_utf8(site.feed_bytes("index.opml")).unwrap();
    let doc = roxmltree::Document::parse(&opml).unwrap();
    let heads: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("type") == Some("link"))
        .filter_map(|n| n.attribute("url"))
        .collect();
    assert_eq!(
        heads,
        [
            format!("{BASE_URL}/feeds/archive/2.xml"),
            format!("{BASE_URL}/feeds/archive/2.json"),
            format!("{BASE_URL}/feeds/topics/dingo/archive/1.xml"),
            format!("{BASE_URL}/feeds/topics/dingo/archive/1.json"),
            format!("{BASE_URL}/feeds/topics/emu/archive/1.xml"),
            format!("{BASE_URL}/feeds/topics/emu/archive/1.json"),
        ]
    );
    // Every head is a page that exists.
    for h in &heads {
        assert!(read(&site, &local(h)).is_some(), "{h}");
    }

    // Every dingo article goes: a scoped build removes the folder,
    // archive included, and says so.
    site.clock.advance(Duration::hours(1));
    for n in 1..=3 {
        site.remove(&format!("a{n:02}.md"));
    }
    let r = site.ingest().await;
    let scope = Scope::Changed {
        main: true,
        topics: r.topics_changed.clone(),
        trending: true,
    };
    let b =
        feedletter::feeds::build_feeds(site.store.as_ref(), &site.config, site.clock.now(), &scope)
            .await
            .unwrap();
    assert!(
        b.removed.contains(&"topics/dingo".to_owned()),
        "{:?}",
        b.removed
    );
    assert!(!site.feeds_dir().join("topics/dingo").exists());
    let opml = String::from_utf8(site.feed_bytes("index.opml")).unwrap();
    assert!(!opml.contains("dingo"));
    // The site's pages keep their places: the withdrawn articles leave
    // holes, not shifts, so page 2 still holds article 4 alone.
    let page2 = feed_rs::parser::parse(&site.feed_bytes("archive/2.xml")[..]).unwrap();
    let titles: Vec<String> = page2
        .entries
        .into_iter()
        .map(|e| e.title.unwrap().content)
        .collect();
    assert_eq!(titles, ["Article 4"]);
    let page1 = feed_rs::parser::parse(&site.feed_bytes("archive/1.xml")[..]).unwrap();
    assert!(page1.entries.is_empty());
    assert_complete(&site, "atom.xml").await;
}

#[tokio::test]
async fn archive_page_size_zero_publishes_no_archive_and_removes_the_pages() {
    let mut site = TestSite::new("[feeds]\nlimit = 2\narchive_page_size = 2\n").await;
    for n in 1..=5 {
        numbered(&site, n, "potoroo");
    }
    site.ingest().await;
    site.build().await;
    assert_eq!(
        archive_files(&site).len(),
        8,
        "2 pages x 2 formats, site and topic"
    );
    site.config.feeds.archive_page_size = 0;
    let b = site.build().await;
    assert!(archive_files(&site).is_empty());
    for rel in [
        "archive/1.xml",
        "archive/2.json",
        "topics/potoroo/archive/2.xml",
    ] {
        assert!(
            b.removed.iter().any(|r| r == rel),
            "{rel} not in {:?}",
            b.removed
        );
    }
    assert!(
        !String::from_utf8(site.feed_bytes("atom.xml"))
            .unwrap()
            .contains("prev-archive")
    );
    assert!(
        !String::from_utf8(site.feed_bytes("feed.json"))
            .unwrap()
            .contains("next_url")
    );
    assert_eq!(site.feed("atom.xml").entries.len(), 2);
}

/// The daemon keeps every article's archive place and every topic's
/// articles between builds, and reads only the changed articles again:
/// through new, changed, withdrawn and returning articles, and a push from
/// elsewhere, its scoped builds leave exactly the files a full build from
/// nothing writes.
#[tokio::test]
async fn builds_with_places_and_members_kept_between_them_write_what_a_full_build_writes() {
    builds_with_kept_places(feedletter::feeds::Places::with_members()).await;
}

/// The same with the places alone kept, each topic's articles read.
#[tokio::test]
async fn builds_with_places_kept_between_them_write_what_a_full_build_writes() {
    builds_with_kept_places(feedletter::feeds::Places::default()).await;
}

async fn builds_with_kept_places(mut places: feedletter::feeds::Places) {
    use feedletter::feeds::build_feeds_with;
    use feedletter::ingest::{IndexCache, Scan, ingest_with};
    let site = small_site().await;
    let store = site.store.as_ref();
    for n in 1..=7 {
        numbered(&site, n, if n % 2 == 0 { "even" } else { "odd" });
    }
    let mut index = IndexCache::default();
    let mut first = true;
    let mut step = async |what: &str| {
        site.clock.advance(Duration::minutes(10));
        let before = store.revision().await.ok();
        let r = ingest_with(store, &site.config, &site.clock, &mut index, &Scan::Full)
            .await
            .unwrap();
        let after = store.revision().await.ok();
        places.advance((before, after), r.changed_slugs.as_deref());
        let scope = if std::mem::take(&mut first) {
            Scope::All
        } else {
            Scope::Changed {
                main: r.changed(),
                topics: r.topics_changed.clone(),
                trending: false,
            }
        };
        build_feeds_with(
            store,
            &site.config,
            site.clock.now(),
            &scope,
            &mut places,
            Default::default(),
        )
        .await
        .unwrap();
        let kept = archive_files(&site);
        std::fs::remove_dir_all(site.feeds_dir()).unwrap();
        site.build().await;
        assert_eq!(
            kept.keys().collect::<Vec<_>>(),
            archive_files(&site).keys().collect::<Vec<_>>(),
            "after {what}"
        );
        assert!(kept == archive_files(&site), "after {what}: pages differ");
        kept.len()
    };
    let pages = step("the first build").await;
    for n in 8..=11 {
        numbered(&site, n, "odd");
    }
    assert!(step("four new articles").await > pages);
    site.write(
        "a02.md",
        "---\ntitle: \"Article 2, corrected\"\npublished: 2026-11-02 09:00\ntags: [\"odd\"]\n---\nBody, corrected.\n",
    );
    step("a change of text and topic").await;
    site.remove("a05.md");
    step("a withdrawal").await;
    numbered(&site, 5, "even");
    step("a return").await;
    // A concept added to the local vocabulary while the process runs: the
    // unchanged files are read again and get its topic (restamps).
    std::fs::write(
        site.dir.path().join("topics.local.toml"),
        "[[topic]]\nid = \"numbered-notes\"\nlabel = \"Numbered notes\"\nkind = \"trend\"\naliases = [\"article\"]\n",
    )
    .unwrap();
    step("a vocabulary change").await;
    let body = serde_json::json!({
        "title": "Pushed",
        "published": "2026-11-20 09:00",
        "tags": ["odd"],
        "body": "From the API.",
    });
    feedletter::ingest::api::push(store, &site.config, &site.clock, "pushed", body)
        .await
        .unwrap();
    numbered(&site, 12, "odd");
    step("a push from elsewhere, then a new article").await;
}
