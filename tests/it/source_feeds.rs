//! `[[source]]` entries of kind "feed": RSS 2.0, Atom 1.0 (with xml:base
//! and RFC 6721 tombstones) and JSON Feed 1.1 documents served on loopback
//! with ETags.

use crate::helpers::TestSite;
use crate::remote_server::{Fault, Remote};
use crate::sources::{ingest, source};
use feedletter::ingest::IngestReport;
use feedletter::sources::Poll;

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Partner</title><link>https://partner.example/</link><description>d</description>
<item><title>Sunscreen &amp;#8217;s truths</title><link>https://partner.example/sunscreen-truths</link>
<guid isPermaLink="false">partner-1</guid><pubDate>Tue, 17 Nov 2026 08:00:00 GMT</pubDate>
<category>sunscreen</category>
<content:encoded><![CDATA[<p>SPF every day.</p><script>alert(1)</script><a href="/spf">more</a>]]></content:encoded></item>
<item><title>Ceramides</title><link>https://partner.example/ceramides</link>
<pubDate>Wed, 18 Nov 2026 08:00:00 GMT</pubDate><description>&lt;p&gt;Barrier.&lt;/p&gt;</description></item>
<item><title>Old news</title><link>https://partner.example/old</link><guid isPermaLink="false">partner-0</guid>
<pubDate>Mon, 16 Nov 2026 08:00:00 GMT</pubDate><description>Old.</description></item>
</channel></rss>"#;

fn atom(tombstone: bool) -> String {
    let gone = if tombstone {
        r#"<at:deleted-entry ref="tag:partner.example,2026:a" when="2026-11-24T10:00:00Z"/>"#
    } else {
        ""
    };
    let entry_a = if tombstone {
        ""
    } else {
        r#"<entry><id>tag:partner.example,2026:a</id><title>Azelaic acid</title>
<link href="posts/a"/><updated>2026-11-19T08:00:00Z</updated>
<content type="html">&lt;p&gt;Gentle.&lt;/p&gt;&lt;img src="img/a.png"&gt;</content></entry>"#
    };
    // The second version edits b, which has no `published`.
    let (b_updated, b_text) = if tombstone {
        ("2026-11-24T09:00:00Z", "Plant-based.")
    } else {
        ("2026-11-20T08:00:00Z", "Plant.")
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="http://purl.org/atompub/tombstones/1.0" xml:base="https://partner.example/blog/">
<title>Partner blog</title><id>tag:partner.example,2026:blog</id><updated>2026-11-24T10:00:00Z</updated>
<author><name>Partner Desk</name></author>
{gone}{entry_a}
<entry xml:base="https://partner.example/other/"><id>tag:partner.example,2026:b</id><title type="html">Bakuchiol &lt;em&gt;vs&lt;/em&gt; retinol</title>
<link href="b"/><updated>{b_updated}</updated><content type="html">&lt;p&gt;{b_text}&lt;/p&gt;</content></entry>
</feed>"#
    )
}

const JSON_FEED: &str = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J",
"home_page_url": "https://json.example/",
"items": [{"id": "j1", "url": "https://json.example/niacinamide", "title": "Niacinamide",
"content_html": "<p>Pores.</p>", "date_published": "2026-11-21T08:00:00Z", "tags": ["niacinamide"],
"authors": [{"name": "J Writer"}]},
{"id": "j2", "url": "https://json.example/undated", "title": "Undated", "content_html": "<p>x</p>"}]}"#;

#[tokio::test]
async fn feeds_are_read_with_conditional_gets_tombstones_and_relative_links() {
    let remote = Remote::start().await;
    remote.set_feed("rss", RSS, "application/rss+xml");
    remote.set_feed("atom", &atom(false), "application/atom+xml");
    remote.set_feed("json", JSON_FEED, "application/feed+json");
    let config = [
        source("partner", "feed", &remote.feed_url("rss")),
        source("blog", "feed", &remote.feed_url("atom")),
        source("jf", "feed", &remote.feed_url("json")),
    ]
    .concat();
    let site = TestSite::new(&config).await;
    let first = ingest(&site, Poll::Command).await;
    let by =
        |r: &IngestReport, name: &str| r.sources.iter().find(|s| s.name == name).unwrap().clone();
    assert_eq!(
        by(&first, "partner").new,
        ["ceramides", "old", "sunscreen-truths"]
    );
    assert_eq!(by(&first, "blog").new, ["a", "b"]);
    assert_eq!(by(&first, "jf").new, ["niacinamide"]);
    // The item without a date is reported; the other is read.
    let jf_errors = by(&first, "jf").errors;
    assert_eq!(jf_errors.len(), 1);
    assert_eq!(jf_errors[0].url, "https://json.example/undated");
    assert!(jf_errors[0].error.contains("date"), "{jf_errors:?}");

    let sun = site
        .store
        .article("sunscreen-truths")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sun.source, "source:partner:partner-1");
    assert_eq!(sun.article.title, "Sunscreen ’s truths");
    assert!(!sun.article.content_html.contains("script"));
    assert!(
        sun.article
            .content_html
            .contains(r#"href="https://partner.example/spf""#),
        "{}",
        sun.article.content_html
    );
    // No guid: the link is the identity.
    let ceramides = site.store.article("ceramides").await.unwrap().unwrap();
    assert_eq!(
        ceramides.source,
        "source:partner:https://partner.example/ceramides"
    );
    // xml:base of the feed and of the entry.
    let a = site.store.article("a").await.unwrap().unwrap().article;
    assert_eq!(a.url, "https://partner.example/blog/posts/a");
    assert!(
        a.content_html
            .contains(r#"src="https://partner.example/blog/posts/img/a.png""#),
        "{}",
        a.content_html
    );
    assert_eq!(a.author.name, "Partner Desk");
    let b = site.store.article("b").await.unwrap().unwrap().article;
    assert_eq!(b.url, "https://partner.example/other/b");
    assert_eq!(b.title, "Bakuchiol vs retinol");
    let n = site
        .store
        .article("niacinamide")
        .await
        .unwrap()
        .unwrap()
        .article;
    assert_eq!(n.author.name, "J Writer");
    assert_eq!(n.tags, ["niacinamide"]);

    // Unchanged documents: the conditional GET is answered 304.
    remote.forget_requests();
    let second = ingest(&site, Poll::Command).await;
    assert!(!second.changed(), "{second:?}");
    let rss_request = remote
        .seen()
        .into_iter()
        .find(|s| s.path == "/feeds/rss")
        .unwrap();
    assert!(rss_request.headers.contains_key("if-none-match"));
    assert!(by(&second, "partner").errors.is_empty());

    // An item drops off the end and another changes: an update, and no
    // withdrawal. The Atom entry gone with a tombstone is withdrawn.
    let edited = RSS
        .replace("<p>SPF every day.</p>", "<p>SPF every single day.</p>")
        .replace(
            r#"<item><title>Old news</title><link>https://partner.example/old</link><guid isPermaLink="false">partner-0</guid>
<pubDate>Mon, 16 Nov 2026 08:00:00 GMT</pubDate><description>Old.</description></item>"#,
            "",
        );
    assert_ne!(edited, RSS);
    remote.set_feed("rss", &edited, "application/rss+xml");
    remote.set_feed("atom", &atom(true), "application/atom+xml");
    let third = ingest(&site, Poll::Command).await;
    let partner = by(&third, "partner");
    assert_eq!(partner.updated, ["sunscreen-truths"]);
    assert!(partner.withdrawn.is_empty());
    assert!(site.store.article("old").await.unwrap().is_some());
    assert_eq!(by(&third, "blog").withdrawn, ["a"]);
    // An entry dated only by `updated` keeps its first date when edited.
    assert_eq!(by(&third, "blog").updated, ["b"]);
    let b = site.store.article("b").await.unwrap().unwrap();
    assert_eq!(
        b.article.published.to_rfc3339(),
        "2026-11-20T08:00:00+00:00"
    );
    assert_eq!(b.updated.to_rfc3339(), "2026-11-24T09:00:00+00:00");
    assert!(site.store.article("a").await.unwrap().is_none());

    // HTML where a feed was expected.
    remote.fail_next(Fault::Html);
    remote.set_feed("rss", &edited.replace("single ", ""), "application/rss+xml");
    let fourth = ingest(&site, Poll::Command).await;
    let e = &by(&fourth, "partner").errors[0];
    assert_eq!(e.url, remote.feed_url("rss"));
    assert!(e.error.contains("HTML"), "{e:?}");
    assert!(
        site.store
            .article("sunscreen-truths")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_feed_moved_to_another_host_is_followed_and_read() {
    let remote = Remote::start().await;
    remote.set_feed("rss", RSS, "application/rss+xml");
    let moved = format!("{}/moved/rss", remote.base);
    let site = TestSite::new(&source("partner", "feed", &moved)).await;
    let r = ingest(&site, Poll::Command).await;
    let partner = &r.sources[0];
    assert!(partner.errors.is_empty(), "{partner:?}");
    assert_eq!(partner.new.len(), 3);
    // The request reached the feed by its new name.
    let seen = remote.seen();
    let host = seen[0].headers["host"].to_str().unwrap();
    assert!(host.starts_with("localhost:"), "{host}");
}
