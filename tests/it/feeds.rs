//! Feeds out: read back with feed-rs, exactly the expected items, in order,
//! byte-identical across builds, never rewritten when unchanged.

use crate::helpers::{TestSite, article, files_below};
use chrono::Duration;

#[tokio::test]
async fn the_three_feeds_hold_the_published_articles_newest_first() {
    let site = TestSite::sample().await;
    site.ingest().await;
    let b = site.build().await;
    assert_eq!(&b.written[..3], ["rss.xml", "atom.xml", "feed.json"]);

    let mut expected: Vec<(chrono::DateTime<chrono::FixedOffset>, String)> = site
        .store
        .published_articles(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.article.published, a.article.url))
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(expected.len(), 22);

    for name in ["rss.xml", "atom.xml", "feed.json"] {
        let feed = site.feed(name);
        assert_eq!(
            feed.title.as_ref().unwrap().content,
            "The Dewline (test)",
            "{name}"
        );
        let urls: Vec<String> = feed
            .entries
            .iter()
            .map(|e| e.links[0].href.clone())
            .collect();
        let want: Vec<String> = expected.iter().map(|e| e.1.clone()).collect();
        assert_eq!(urls, want, "{name}: items and order");
        let first = &feed.entries[0];
        assert_eq!(
            first.links[0].href,
            "https://dewline.test/articles/delhi-smog-winter-routine-niacinamide-sunscreen"
        );
        assert!(first.published.is_some(), "{name}: published date");
        let exo = feed
            .entries
            .iter()
            .find(|e| e.links[0].href.ends_with("/exosomes-viral-skincare-trend"))
            .unwrap();
        assert_eq!(
            exo.title.as_ref().unwrap().content,
            "All you need to know about exosomes, the viral skincare trend"
        );
        assert_eq!(
            exo.published.unwrap().to_rfc3339(),
            "2026-11-18T05:00:00+00:00"
        );
        assert!(
            exo.content
                .as_ref()
                .and_then(|c| c.body.as_ref())
                .unwrap()
                .contains("<h2>"),
            "{name}: full HTML"
        );
        assert!(exo.summary.is_some(), "{name}: summary");
        assert_eq!(
            exo.authors[0].name.as_deref(),
            Some("Meera Kapoor"),
            "{name}: author"
        );
        assert!(
            exo.categories.iter().any(|c| c.term == "exosomes"),
            "{name}: tags"
        );
        if name != "rss.xml" {
            // RSS has no updated date per item.
            assert_eq!(
                exo.updated.unwrap().to_rfc3339(),
                "2026-11-20T13:15:00+00:00",
                "{name}"
            );
        }
    }
    let rss = String::from_utf8(site.feed_bytes("rss.xml")).unwrap();
    assert!(
        rss.contains("<pubDate>Wed, 18 Nov 2026 10:30:00 +0530</pubDate>"),
        "RFC 822 with the article's offset"
    );
    assert!(rss.contains("<dc:creator>Meera Kapoor</dc:creator>"));
}

#[tokio::test]
async fn builds_are_byte_identical_and_unchanged_files_are_not_rewritten() {
    let site = TestSite::sample().await;
    site.ingest().await;
    site.build().await;
    let first: Vec<Vec<u8>> = ["rss.xml", "atom.xml", "feed.json"]
        .iter()
        .map(|n| site.feed_bytes(n))
        .collect();
    // Dated far back, so that a rewrite, however soon, shows in the mtime.
    let mtime = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(site.feeds_dir().join("rss.xml"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    // Later, with a different clock: the output depends on the data only.
    site.clock.advance(Duration::days(3));
    site.ingest().await;
    let b = site.build().await;
    // Only the trending feed depends on the time: three days later the
    // window has moved on.
    let written: Vec<&String> = b
        .written
        .iter()
        .filter(|w| !w.starts_with("trending/"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert!(b.unchanged > 3);
    let second: Vec<Vec<u8>> = ["rss.xml", "atom.xml", "feed.json"]
        .iter()
        .map(|n| site.feed_bytes(n))
        .collect();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::metadata(site.feeds_dir().join("rss.xml"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );

    // A second site from the same content writes the same bytes.
    let other = TestSite::sample().await;
    other.ingest().await;
    other.build().await;
    for (i, n) in ["rss.xml", "atom.xml", "feed.json"].iter().enumerate() {
        assert_eq!(
            other.feed_bytes(n),
            first[i],
            "{n} differs between two sites"
        );
    }
}

#[tokio::test]
async fn an_edit_shows_as_a_later_updated_with_the_same_id_and_a_deletion_leaves_the_feed() {
    let site = TestSite::new("").await;
    site.write(
        "barrier.md",
        article("Barrier basics", "2026-11-01 09:00", "One."),
    );
    site.write("spf.md", article("SPF basics", "2026-11-02 09:00", "Two."));
    site.ingest().await;
    site.build().await;
    let before = site.feed("atom.xml");
    let old = before
        .entries
        .iter()
        .find(|e| e.links[0].href.ends_with("/barrier"))
        .unwrap()
        .clone();

    site.clock.advance(Duration::hours(5));
    site.write(
        "barrier.md",
        article(
            "Barrier basics",
            "2026-11-01 09:00",
            "One, revised with ceramides.",
        ),
    );
    site.remove("spf.md");
    site.ingest().await;
    let b = site.build().await;
    assert_eq!(&b.written[..3], ["rss.xml", "atom.xml", "feed.json"]);
    for name in ["atom.xml", "feed.json"] {
        let after = site.feed(name);
        assert_eq!(after.entries.len(), 1, "{name}: the deleted article left");
        let new = &after.entries[0];
        assert_eq!(new.id, old.id, "{name}: same id");
        assert!(
            new.updated.unwrap() > old.updated.unwrap(),
            "{name}: later updated"
        );
        assert!(
            new.content
                .as_ref()
                .unwrap()
                .body
                .as_ref()
                .unwrap()
                .contains("ceramides")
        );
    }
    assert_eq!(site.feed("rss.xml").entries.len(), 1);
    // Feed-level dates follow the data.
    let atom = site.feed("atom.xml");
    assert_eq!(atom.updated, atom.entries[0].updated);
}

#[tokio::test]
async fn the_limit_caps_items_and_ties_break_by_slug() {
    let site = TestSite::new("[feeds]\nlimit = 3\n").await;
    for slug in ["delta", "alpha", "charlie", "bravo"] {
        site.write(
            &format!("{slug}.md"),
            article(slug, "2026-11-01 09:00", "same time"),
        );
    }
    site.write("older.md", article("older", "2026-10-01 09:00", "older"));
    site.ingest().await;
    site.build().await;
    for name in ["rss.xml", "atom.xml", "feed.json"] {
        let slugs: Vec<String> = site
            .feed(name)
            .entries
            .iter()
            .map(|e| e.links[0].href.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(slugs, vec!["alpha", "bravo", "charlie"], "{name}");
    }
}

#[tokio::test]
async fn an_empty_site_still_writes_valid_feeds() {
    let site = TestSite::new("").await;
    site.ingest().await;
    site.build().await;
    for name in ["rss.xml", "atom.xml", "feed.json"] {
        assert!(site.feed(name).entries.is_empty(), "{name}");
    }
}

/// The same content, ingested and built at the same time, gives the same
/// bytes in every feed file on PostgreSQL as on SQLite, also after an edit
/// and a withdrawal. It runs in the PostgreSQL pass of the suite (where
/// `TestSite` is on PostgreSQL, in a database with a linguistic collation
/// when the server has ICU); a twin site on SQLite is built beside it.
#[tokio::test]
async fn the_same_content_gives_byte_identical_feeds_on_sqlite_and_postgresql() {
    let pg = TestSite::sample().await;
    if pg.backend() != "postgres" {
        eprintln!("runs in the PostgreSQL pass (FEEDLETTER_TEST_POSTGRES_URL)");
        return;
    }
    let sqlite = TestSite::new_on_sqlite("").await.with_sample();
    // Ties on the published time, broken by slug, and mixed-case tags.
    for site in [&pg, &sqlite] {
        for slug in ["tie-b", "tie-a", "tiea", "Tie-c"] {
            site.write(
                &format!("{}.md", slug.to_lowercase()),
                format!(
                    "---\ntitle: \"Tie {slug}\"\npublished: 2026-11-20T09:00:00+05:30\n\
                     tags: [Retinol, sunscreen, SPF]\n---\nRetinol at night, sunscreen by day.\n"
                ),
            );
        }
    }
    let compare = |step: &str| {
        let files = |site: &TestSite| -> Vec<(String, Vec<u8>)> {
            files_below(&site.feeds_dir()).into_iter().collect()
        };
        let (a, b) = (files(&pg), files(&sqlite));
        let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b), "{step}: different feed files");
        assert!(a.len() > 20, "{step}: only {} files", a.len());
        for ((name, x), (_, y)) in a.iter().zip(&b) {
            assert!(
                x == y,
                "{step}: {name} differs between PostgreSQL and SQLite:\n{}\n---\n{}",
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    };
    for site in [&pg, &sqlite] {
        site.ingest().await;
        site.build().await;
    }
    compare("first build");

    for site in [&pg, &sqlite] {
        site.clock.advance(Duration::hours(2));
        site.write(
            "tie-a.md",
            "---\ntitle: \"Tie a, revised\"\npublished: 2026-11-20T09:00:00+05:30\n\
             updated: 2026-11-25T10:00:00+05:30\ntags: [Niacinamide]\n---\nNow about niacinamide.\n",
        );
        site.remove("tiea.md");
        site.ingest().await;
        site.build().await;
    }
    compare("after an edit and a withdrawal");
}
