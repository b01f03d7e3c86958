//! The running daemon over real HTTP: pages, feed files with caching
//! headers, conditional GET, gzip, HEAD, and no way out of the feed folder.

use crate::helpers::{TestSite, article};
use reqwest::Method;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED,
};
use std::io::Read;

#[tokio::test]
async fn feeds_are_served_with_their_media_types_and_validators() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    for (path, media) in [
        ("/feeds/rss.xml", "application/rss+xml"),
        ("/feeds/atom.xml", "application/atom+xml"),
        ("/feeds/feed.json", "application/feed+json"),
    ] {
        let r = app.get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(ct.starts_with(media), "{path}: {ct}");
        let etag = r.headers()[ETAG].to_str().unwrap().to_owned();
        let last_modified = r.headers()[LAST_MODIFIED].to_str().unwrap().to_owned();
        assert!(r.headers().contains_key(CACHE_CONTROL));
        let body = r.bytes().await.unwrap();
        assert_eq!(
            &body[..],
            &site.feed_bytes(&path["/feeds/".len()..])[..],
            "{path}: the file as written"
        );

        let r = app
            .request(Method::GET, path)
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path}: If-None-Match");
        assert_eq!(r.headers()[ETAG].to_str().unwrap(), etag);
        assert!(r.bytes().await.unwrap().is_empty());

        let r = app
            .request(Method::GET, path)
            .header(IF_MODIFIED_SINCE, &last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path}: If-Modified-Since");

        let r = app
            .request(Method::GET, path)
            .header(IF_NONE_MATCH, "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}: a stale ETag gets the file");

        let r = app.request(Method::HEAD, path).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[ETAG].to_str().unwrap(), etag);
        assert!(r.bytes().await.unwrap().is_empty(), "HEAD has no body");
    }
    app.stop().await;
}

#[tokio::test]
async fn feeds_are_gzipped_for_clients_that_ask() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let r = app
        .request(Method::GET, "/feeds/atom.xml")
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    let zipped = r.bytes().await.unwrap();
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, site.feed_bytes("atom.xml"));
    assert!(
        zipped.len() * 2 < plain.len(),
        "compressed: {} of {}",
        zipped.len(),
        plain.len()
    );
    app.stop().await;
}

#[tokio::test]
async fn nothing_outside_the_feed_folder_is_served() {
    let site = TestSite::sample().await;
    std::fs::write(site.dir.path().join("secret.txt"), "do not serve").unwrap();
    std::fs::create_dir_all(site.feeds_dir()).unwrap();
    std::fs::write(site.feeds_dir().join(".rss.xml.123.tmp"), "half a file").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        site.dir.path().join("secret.txt"),
        site.feeds_dir().join("link.xml"),
    )
    .unwrap();
    let app = site.spawn().await;
    for path in [
        "/feeds/../secret.txt",
        "/feeds/%2e%2e/secret.txt",
        "/feeds/%2E%2E%2Fsecret.txt",
        "/feeds/..%2fsecret.txt",
        "/feeds/.rss.xml.123.tmp",
        "/feeds/link.xml",
        "/feeds/",
        "/feeds/topics",
        "/feeds/nope.xml",
    ] {
        let r = app.get(path).await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(
            !body.contains("do not serve") && !body.contains("half a file"),
            "{path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_landing_page_shows_the_publication_its_feeds_and_latest_articles() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let r = app.get("/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("The Dewline (test)"));
    for (t, href) in [
        ("application/rss+xml", "https://dewline.test/feeds/rss.xml"),
        (
            "application/atom+xml",
            "https://dewline.test/feeds/atom.xml",
        ),
        (
            "application/feed+json",
            "https://dewline.test/feeds/feed.json",
        ),
    ] {
        assert!(
            html.contains(&format!("<link rel=\"alternate\" type=\"{t}\"")) && html.contains(href),
            "autodiscovery for {t}"
        );
    }
    assert!(html.contains("All you need to know about exosomes, the viral skincare trend"));
    assert!(!html.contains("Polynucleotides"), "no drafts on the page");

    let r = app
        .get("/articles/exosomes-viral-skincare-trend")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Medically reviewed by Dr. Kavya Raman"));
    assert!(
        html.contains("18 Nov 2026, 10:30 IST"),
        "dates in the site's zone"
    );
    assert!(html.contains("Updated"));

    assert_eq!(
        app.get("/articles/polynucleotides-pdrn-salmon-dna")
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("/articles/no-such-thing").await.unwrap().status(),
        404
    );
    assert_eq!(app.get("/healthz").await.unwrap().status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_new_file_reaches_the_served_feed_while_the_daemon_runs() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let before = app.get("/feeds/rss.xml").await.unwrap();
    let etag = before.headers()[ETAG].to_str().unwrap().to_owned();

    site.write(
        "exosomes-and-rosacea.md",
        article(
            "Exosomes and rosacea: too soon to tell",
            "2026-11-25 09:00",
            "Early days.",
        ),
    );
    // The daemon's next ingest run, driven rather than waited for.
    app.ingest().await;
    let r = app
        .request(Method::GET, "/feeds/rss.xml")
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the served feed did not change");
    let feed = feed_rs::parser::parse(&r.bytes().await.unwrap()[..]).unwrap();
    assert!(
        feed.entries
            .iter()
            .any(|e| e.links[0].href.ends_with("/exosomes-and-rosacea")),
        "the new article is not in the served feed"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_landing_page_shows_this_weeks_trending_topics_with_sparklines() {
    let site = TestSite::sample().await;
    site.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-11-23T08:00:00+05:30")
            .unwrap()
            .to_utc(),
    );
    let app = site.spawn_at_fixed_time().await;
    let html = app.get("/").await.unwrap().text().await.unwrap();
    assert!(html.contains("Trending this week"), "{html}");
    let section =
        &html[html.find("trending-heading").unwrap()..html.find("latest-heading").unwrap()];
    let first = &section[section.find("<li>").unwrap()..section.find("</li>").unwrap()];
    assert!(
        first.contains("Exosomes") && first.contains("status-new"),
        "{first}"
    );
    // An inline SVG sparkline, no script: the 8 weeks of the baseline, then
    // this week's 3 articles.
    assert!(
        first.contains("<svg") && first.contains("<polyline"),
        "{first}"
    );
    assert!(
        first.contains("last 9 weeks: 0, 0, 0, 0, 0, 0, 0, 0, 3"),
        "{first}"
    );
    // Why it is there, what it includes, and the articles that made it.
    assert!(
        first.contains("3 articles this week, none in the 8 weeks before: new"),
        "{first}"
    );
    assert!(
        first.contains("Includes Exosome facials (2), Exosome therapy (1), Plant exosomes (1)."),
        "{first}"
    );
    assert!(
        first.contains("href=\"https://dewline.test/articles/plant-derived-exosomes-serums\""),
        "{first}"
    );
    assert!(first.contains("href=\"https://dewline.test/feeds/topics/exosomes/atom.xml\""));
    assert!(!html.contains("<script"));
    app.stop().await;
}
