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

/// Decodes a response body in the coding it says it has.
fn decoded(coding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    match coding {
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut plain)
                .unwrap();
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .unwrap();
        }
        None => plain = body.to_vec(),
        Some(other) => panic!("unexpected coding {other}"),
    }
    plain
}

#[tokio::test]
async fn each_client_gets_the_best_coding_it_accepts_with_one_etag_for_all() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let file = site.feed_bytes("rss.xml");
    let mut etags = Vec::new();
    for (accept, want) in [
        (Some("gzip, deflate, br"), Some("br")),
        (Some("br;q=0, gzip"), Some("gzip")),
        (Some("gzip;q=0"), None),
        (Some("identity"), None),
        (None, None),
        // The second request for a coding is served from the copy the
        // first one made.
        (Some("br"), Some("br")),
    ] {
        let mut request = app.request(Method::GET, "/feeds/rss.xml");
        if let Some(a) = accept {
            request = request.header(ACCEPT_ENCODING, a);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200, "{accept:?}");
        let coding = r
            .headers()
            .get(CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(coding.as_deref(), want, "{accept:?}");
        assert_eq!(r.headers()["vary"], "accept-encoding");
        etags.push(r.headers()[ETAG].to_str().unwrap().to_owned());
        let body = r.bytes().await.unwrap();
        assert_eq!(decoded(want, &body), file, "{accept:?}: the file, decoded");
        if want.is_some() {
            assert!(body.len() * 3 < file.len(), "{accept:?}: compressed");
        }
    }
    etags.dedup();
    assert_eq!(etags.len(), 1, "one (weak) ETag whatever the coding");
    let r = app
        .request(Method::GET, "/feeds/rss.xml")
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, &etags[0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    app.stop().await;
}

/// A new file reaches the served feed at the daemon's next ingest: the
/// old ETag gets the new version, and the new ETag gets 304.
#[tokio::test]
async fn after_a_rebuild_the_new_version_answers_and_its_etag_gets_304() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let old = app.get("/feeds/atom.xml").await.unwrap();
    let old_tag = old.headers()[ETAG].to_str().unwrap().to_owned();
    site.write(
        "retinal-versus-retinol.md",
        article(
            "Retinal or retinol: which one first?",
            "2026-11-26 09:00",
            "Start slow.",
        ),
    );
    app.ingest().await;
    let conditional = |tag: String| {
        app.request(Method::GET, "/feeds/atom.xml")
            .header(IF_NONE_MATCH, tag)
            .send()
    };
    let r = conditional(old_tag.clone()).await.unwrap();
    assert_eq!(r.status(), 200, "the old ETag gets the new version");
    let new_tag = r.headers()[ETAG].to_str().unwrap().to_owned();
    assert_ne!(new_tag, old_tag);
    let body = r.bytes().await.unwrap();
    assert_eq!(&body[..], &site.feed_bytes("atom.xml")[..]);
    assert!(String::from_utf8_lossy(&body).contains("Retinal or retinol"));
    let r = conditional(new_tag).await.unwrap();
    assert_eq!(r.status(), 304, "the new ETag is current");
    app.stop().await;
}

#[tokio::test]
async fn a_feed_file_changed_by_another_program_is_served_within_seconds() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let before = app
        .get("/feeds/feed.json")
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // As `feedletter build` run by hand, or a copy from elsewhere, would.
    let mut changed = before.to_vec();
    changed.extend_from_slice(b"\n");
    std::fs::write(site.feeds_dir().join("feed.json"), &changed).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = app
            .get("/feeds/feed.json")
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        if now[..] == changed[..] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the changed file was never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn feeds_carry_the_configured_max_age() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let r = app.get("/feeds/rss.xml").await.unwrap();
    assert_eq!(r.headers()[CACHE_CONTROL], "public, max-age=300", "default");
    app.stop().await;

    let mut site = TestSite::sample().await;
    site.config.http.feed_max_age = std::time::Duration::from_secs(90);
    let app = site.spawn().await;
    for path in ["/feeds/rss.xml", "/feeds/index.opml"] {
        let r = app.get(path).await.unwrap();
        assert_eq!(r.headers()[CACHE_CONTROL], "public, max-age=90", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_client_over_the_configured_feed_limit_gets_429_with_retry_after() {
    let mut site = TestSite::sample().await;
    site.config.http.feed_requests_per_minute = 3;
    let app = site.spawn().await;
    for i in 0..3 {
        let r = app.get("/feeds/atom.xml").await.unwrap();
        assert_eq!(r.status(), 200, "request {i}");
    }
    let r = app.get("/feeds/rss.xml").await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        app.get("/").await.unwrap().status(),
        200,
        "pages are not limited"
    );
    app.stop().await;

    // Without a limit, a busy reader is always answered.
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    for _ in 0..100 {
        assert_eq!(app.get("/feeds/atom.xml").await.unwrap().status(), 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn the_landing_page_gives_each_visitor_a_token_and_shows_new_articles_after_ingest() {
    let site = TestSite::sample().await;
    let app = site.spawn().await;
    let token_of = |html: &str| {
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("a token in the form")
            + 19;
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let r = app.get("/").await.unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        let html = r.text().await.unwrap();
        let token = token_of(&html);
        assert!(
            cookie.starts_with(&format!("feedletter_csrf={token};")),
            "the cookie holds the form's token: {cookie}"
        );
        assert!(!html.contains("csrfplaceholder"));
        tokens.push(token);
    }
    assert_ne!(
        tokens[0], tokens[1],
        "each new visitor has a token of their own"
    );
    // A returning visitor keeps theirs.
    let r = app
        .request(Method::GET, "/")
        .header("cookie", format!("feedletter_csrf={}", tokens[0]))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(token_of(&r.text().await.unwrap()), tokens[0]);

    site.write(
        "sunscreen-on-cloudy-days.md",
        article(
            "Yes, sunscreen on cloudy days too",
            "2026-11-26 08:00",
            "Clouds let UVA through.",
        ),
    );
    app.ingest().await;
    let html = app.get("/").await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Yes, sunscreen on cloudy days too"),
        "the page is rendered again after an ingest"
    );
    let page = app
        .get("/articles/sunscreen-on-cloudy-days")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Clouds let UVA through."));
    app.stop().await;
}
