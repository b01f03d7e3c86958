//! `[[source]]` entries against real HTTP servers on loopback: a WordPress
//! REST API (paged JSON with `_embed`, `modified_after`, id listings) and
//! RSS, Atom and JSON feeds with ETags. Source articles go through the same
//! store and feeds as content files.

use crate::helpers::{TestSite, article};
use crate::remote_server::{Fault, Post, Remote, Seen};
use chrono::{DateTime, Utc};
use feedletter::ingest::IngestReport;
use feedletter::sources::{Poll, SourceReport};

pub fn source(name: &str, kind: &str, url: &str) -> String {
    format!("[[source]]\nname = \"{name}\"\nkind = \"{kind}\"\nurl = \"{url}\"\nevery = \"5m\"\n")
}

/// Ingests the content folder and polls the sources as `feedletter ingest`
/// does.
pub async fn ingest(site: &TestSite, poll: Poll) -> IngestReport {
    let mut report = site.ingest().await;
    let polled = feedletter::sources::poll(site.store.as_ref(), &site.config, &site.clock, poll)
        .await
        .unwrap();
    report.add_sources(polled);
    report
}

fn only(report: &IngestReport) -> &SourceReport {
    assert_eq!(report.sources.len(), 1, "{report:?}");
    &report.sources[0]
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Requests for posts with content (not id listings).
fn post_pages(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| s.path.starts_with("/wp-json/") && !s.query.contains_key("_fields"))
        .collect()
}

fn listings(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| s.query.get("_fields").map(String::as_str) == Some("id"))
        .collect()
}

/// 250 posts two hours apart from 1 October, a few of them special.
fn publication(remote: &Remote) {
    let start = at("2026-10-01T00:00:00Z");
    for id in 1..=250u64 {
        let date = (start + chrono::Duration::hours(2 * id as i64)).to_rfc3339();
        let mut post = Post::new(id, &format!("post-{id}"), &format!("Post {id}"), &date);
        match id {
            7 => post.slug = "vitamin-c-serums".into(),
            8 => {
                post.slug = "retinols-first-month".into();
                post.title = "Retinol&#8217;s first month &amp; beyond".into();
            }
            9 => {
                post.content = r#"<p onclick="steal()">Barrier first.</p><script>alert(1)</script><img src="/uploads/a.jpg" alt="jar">"#.into();
                post.image = Some((
                    "https://cms.example/wp-content/uploads/hero.jpg".into(),
                    "A jar of barrier cream".into(),
                ));
            }
            10 => post.title = "  ".into(),
            _ => {}
        }
        remote.put(post);
    }
}

#[tokio::test]
async fn wordpress_first_pass_then_only_changes_with_edits_and_trashed_posts_withdrawn() {
    let remote = Remote::start().await;
    publication(&remote);
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;
    // A content file with the slug post 7 has at the source.
    site.write(
        "vitamin-c-serums.md",
        article("Vitamin C serums", "2026-11-02 10:00", "Our own guide."),
    );

    let first = ingest(&site, Poll::Command).await;
    assert_eq!(first.new, ["vitamin-c-serums"]);
    let cms = only(&first);
    assert_eq!(cms.name, "cms");
    assert_eq!(cms.new.len(), 249, "{:?}", cms.errors);
    assert!(cms.new.contains(&"cms-vitamin-c-serums".to_string()));
    assert!(cms.new.contains(&"retinols-first-month".to_string()));
    // The post without a title is reported by its link; the rest of its
    // page is read.
    assert_eq!(cms.errors.len(), 1, "{:?}", cms.errors);
    assert_eq!(cms.errors[0].url, "https://cms.example/2026/10/post-10/");
    assert!(
        cms.errors[0].error.contains("post 10: title"),
        "{:?}",
        cms.errors
    );

    // Three pages of 100, in order of modification, with authors, terms
    // and images embedded; then the id listing.
    let seen = remote.seen();
    let pages = post_pages(&seen);
    assert_eq!(pages.len(), 3);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p.query["per_page"], "100");
        assert_eq!(p.query["page"], (i + 1).to_string());
        assert_eq!(p.query["orderby"], "modified");
        assert!(p.query.contains_key("_embed"));
        assert!(!p.query.contains_key("modified_after"), "{:?}", p.query);
        let ua = p.headers["user-agent"].to_str().unwrap();
        assert!(
            ua.starts_with("feedletter/") && ua.ends_with("(+https://dewline.test)"),
            "{ua}"
        );
    }
    assert_eq!(listings(&seen).len(), 3);

    let entities = site
        .store
        .article("retinols-first-month")
        .await
        .unwrap()
        .unwrap();
    let a = &entities.article;
    assert_eq!(a.title, "Retinol’s first month & beyond");
    assert_eq!(a.url, "https://cms.example/2026/10/retinols-first-month/");
    assert_eq!(a.author.name, "Meera Iyer");
    assert_eq!(a.tags, ["Skincare", "retinol"]);
    assert_eq!(a.category.as_deref(), Some("Skincare"));
    assert_eq!(a.published.to_utc(), at("2026-10-01T16:00:00Z"));
    assert_eq!(entities.source, "source:cms:8");

    let scripted = site.store.article("post-9").await.unwrap().unwrap().article;
    for bad in ["script", "onclick", "alert"] {
        assert!(
            !scripted.content_html.contains(bad),
            "{}",
            scripted.content_html
        );
    }
    assert!(
        scripted
            .content_html
            .contains(r#"src="https://cms.example/uploads/a.jpg""#),
        "{}",
        scripted.content_html
    );
    assert_eq!(
        scripted.image.as_deref(),
        Some("https://cms.example/wp-content/uploads/hero.jpg")
    );
    // The file kept its slug.
    let file = site
        .store
        .article("vitamin-c-serums")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.source, "file:vitamin-c-serums.md");

    // The feeds carry source articles like any other, linking to the
    // original.
    site.build().await;
    let feed = site.feed("atom.xml");
    let newest = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == "Post 250")
        .unwrap();
    assert_eq!(
        newest.links[0].href,
        "https://cms.example/2026/10/post-250/"
    );
    let topics = site.store.topics().await.unwrap();
    assert!(
        topics
            .iter()
            .any(|t| t.label.to_lowercase().contains("retinol") && t.articles > 200),
        "{topics:?}"
    );

    // A file that claims a slug the source holds is refused, naming it.
    site.write("post-100.md", article("Mine", "2026-11-03 10:00", "Mine."));
    let clash = ingest(&site, Poll::Command).await;
    assert_eq!(clash.rejected.len(), 1, "{clash:?}");
    assert!(
        clash.rejected[0].error.contains("source:cms:100"),
        "{:?}",
        clash.rejected
    );
    site.remove("post-100.md");

    // An edit, a post trashed, a new post: the next pass asks only for
    // what changed since the newest modification it saw.
    remote.forget_requests();
    remote.edit(3, "2026-11-24T10:00:00Z", |p| {
        p.title = "Post 3, revised".into();
    });
    remote.trash(5);
    remote.put(Post::new(
        251,
        "post-251",
        "Post 251",
        "2026-11-24T09:00:00Z",
    ));
    let next = ingest(&site, Poll::Command).await;
    let cms = only(&next);
    assert_eq!(cms.updated, ["post-3"]);
    assert_eq!(cms.new, ["post-251"]);
    assert_eq!(cms.withdrawn, ["post-5"]);
    assert!(cms.errors.is_empty(), "{:?}", cms.errors);
    let seen = remote.seen();
    let pages = post_pages(&seen);
    assert_eq!(pages.len(), 1, "one page of changes");
    // The newest modification seen was post 250's; a day before it.
    assert_eq!(pages[0].query["modified_after"], "2026-10-20T20:00:00Z");
    assert_eq!(pages[0].query["orderby"], "modified");
    assert!(
        cms.unchanged < 20,
        "only recent changes are read again: {}",
        cms.unchanged
    );
    let revised = site.store.article("post-3").await.unwrap().unwrap();
    assert_eq!(revised.article.title, "Post 3, revised");
    assert!(site.store.article("post-5").await.unwrap().is_none());

    // Nothing changed: nothing written.
    let quiet = ingest(&site, Poll::Command).await;
    assert!(!quiet.changed(), "{quiet:?}");
    assert!(!quiet.wrote);
}

#[tokio::test]
async fn a_source_that_fails_is_reported_and_keeps_what_it_gave() {
    let remote = Remote::start().await;
    for id in 1..=3 {
        remote.put(Post::new(
            id,
            &format!("post-{id}"),
            &format!("Post {id}"),
            "2026-11-20T10:00:00Z",
        ));
    }
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;
    let first = ingest(&site, Poll::Command).await;
    assert_eq!(only(&first).new.len(), 3);
    // A push onto a source's slug is refused, naming the source.
    let pushed = feedletter::ingest::api::push(
        site.store.as_ref(),
        &site.config,
        &site.clock,
        "post-1",
        serde_json::json!({"title": "Mine", "published": "2026-11-21 10:00", "body": "x"}),
    )
    .await;
    match pushed {
        Err(feedletter::ingest::api::PushError::Conflict(m)) => {
            assert!(m.contains("source 'cms' (item 1)"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let still_there = || async {
        for id in 1..=3 {
            assert!(
                site.store
                    .article(&format!("post-{id}"))
                    .await
                    .unwrap()
                    .is_some(),
                "post-{id} went"
            );
        }
    };

    let cases: [(Fault, &[&str]); 3] = [
        (Fault::Status(500), &["HTTP 500"]),
        (Fault::Html, &["expected JSON", "text/html"]),
        (Fault::Truncated, &["cut short"]),
    ];
    for (fault, words) in cases {
        // Past the back-off the failure before left.
        site.clock.advance(chrono::Duration::hours(2));
        remote.fail_next(fault.clone());
        let r = ingest(&site, Poll::Command).await;
        let cms = only(&r);
        assert!(!cms.changed(), "{fault:?}: {cms:?}");
        let e = &cms.errors[0];
        assert!(e.url.starts_with(&remote.wp_url()), "{fault:?}: {e:?}");
        assert!(e.url.contains("page=1"), "{fault:?}: {e:?}");
        for w in words {
            assert!(e.error.contains(w), "{fault:?}: {e:?}");
        }
        still_there().await;
    }

    // A failure backs off: the next poll waits (5m, then doubling).
    let r = ingest(&site, Poll::Command).await;
    let e = &only(&r).errors[0];
    assert!(
        e.error.starts_with("not polled before") && e.error.contains("3 failed poll(s)"),
        "{e:?}"
    );

    // 429 with Retry-After: nothing is asked before that time.
    site.clock.advance(chrono::Duration::hours(2));
    remote.fail_next(Fault::TooMany(120));
    let r = ingest(&site, Poll::Command).await;
    let e = &only(&r).errors[0];
    assert!(e.error.contains("429") && e.error.contains("120s"), "{e:?}");
    let asked = remote.seen().len();
    site.clock.advance(chrono::Duration::seconds(100));
    let r = ingest(&site, Poll::Command).await;
    let e = &only(&r).errors[0];
    assert!(e.error.starts_with("not polled before"), "{e:?}");
    assert_eq!(remote.seen().len(), asked, "a request within Retry-After");
    site.clock.advance(chrono::Duration::seconds(30));
    let r = ingest(&site, Poll::Command).await;
    assert!(only(&r).errors.is_empty(), "{r:?}");
    assert_eq!(only(&r).unchanged, 3);
    still_there().await;
}

#[tokio::test]
async fn every_post_type_named_is_read_and_listed() {
    let remote = Remote::start().await;
    remote.put(Post::new(
        1,
        "spf-basics",
        "SPF basics",
        "2026-11-20T10:00:00Z",
    ));
    let mut recipe = Post::new(2, "oat-mask", "An oat mask", "2026-11-21T10:00:00Z");
    recipe.kind = "recipes";
    remote.put(recipe);
    let config =
        source("cms", "wordpress", &remote.wp_url()) + "types = [\"posts\", \"recipes\"]\n";
    let site = TestSite::new(&config).await;
    let first = ingest(&site, Poll::Command).await;
    assert_eq!(only(&first).new, ["oat-mask", "spf-basics"]);
    let paths: Vec<String> = remote.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        paths.contains(&"/wp-json/wp/v2/recipes".to_string()),
        "{paths:?}"
    );
    // Each type's listing counts: neither is withdrawn by the other's.
    let again = ingest(&site, Poll::Command).await;
    assert!(!again.changed(), "{again:?}");
    assert!(only(&again).errors.is_empty(), "{again:?}");
    remote.trash(2);
    let trashed = ingest(&site, Poll::Command).await;
    assert_eq!(only(&trashed).withdrawn, ["oat-mask"]);
}

// Several threads: the server answers while the test waits on the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_json_reports_sources_and_sources_test_writes_nothing() {
    let remote = Remote::start().await;
    remote.put(Post::new(
        1,
        "zinc-facts",
        "Zinc &#038; you",
        "2026-11-20T10:00:00Z",
    ));
    remote.put(Post::new(
        2,
        "spf-myths",
        "SPF myths",
        "2026-11-21T10:00:00Z",
    ));
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;

    let out = site
        .command()
        .args(["sources", "test", "cms"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("zinc-facts  Zinc & you"), "{text}");
    assert!(text.contains("2 article(s) would be ingested"), "{text}");
    assert_eq!(site.store.article_counts().await.unwrap(), (0, 0));
    let unknown = site
        .command()
        .args(["sources", "test", "nope"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no [[source]] named 'nope' (sources: cms)")
    );

    remote.trash(2);
    remote.fail_next(Fault::Status(500));
    let out = site.command().args(["ingest", "--json"]).output().unwrap();
    assert!(!out.status.success(), "a source error exits non-zero");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &json["sources"][0];
    assert_eq!(s["name"], "cms");
    assert_eq!(s["new"], serde_json::json!([]));
    assert_eq!(s["unchanged"], 0);
    assert!(
        s["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{json}"
    );
    assert!(
        s["errors"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&remote.wp_url())
    );

    let out = site.command().args(["ingest", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["sources"][0]["new"], serde_json::json!(["zinc-facts"]));
    assert_eq!(json["sources"][0]["errors"], serde_json::json!([]));
    let zinc = site.store.article("zinc-facts").await.unwrap().unwrap();
    assert_eq!(zinc.article.title, "Zinc & you");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_each_bad_source_key() {
    let site = TestSite::new("").await;
    let bad = "[[source]]\nname = \"Bad Name\"\nkind = \"blog\"\nurl = \"ftp://x.example/\"\nevery = \"1s\"\n\
               [[source]]\nname = \"f\"\nkind = \"feed\"\nurl = \"https://x.example/feed\"\nevery = \"5m\"\ntypes = [\"posts\"]\ntimeout = \"0s\"\n\
               [[source]]\nname = \"g\"\nkind = \"feed\"\nurl = \"https://x.example/g\"\nevery = \"5m\"\ntimeout = \"a while\"\n";
    let path = site.dir.path().join("feedletter.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n{bad}")).unwrap();
    let out = site.command().arg("check").output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "source[0].name: 'Bad Name' must be lowercase letters",
        "source[0].kind: 'blog' is not wordpress or feed",
        "source[0].url: 'ftp://x.example/' must be an http(s) URL",
        "source[0].every: '1s' is too often",
        "source[1].types: only a wordpress source has types",
        "source[1].timeout: '0s' would fail every request",
        "source[2].timeout: 'a while' is not a duration",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Two daemons on one store: only the lease holder polls; when it stops,
/// the other takes the lease and goes on from the stored cursor.
#[tokio::test]
async fn two_instances_share_the_polling_through_the_store() {
    let remote = Remote::start().await;
    for id in 1..=120 {
        let date = (at("2026-11-01T00:00:00Z") + chrono::Duration::hours(id)).to_rfc3339();
        remote.put(Post::new(
            id as u64,
            &format!("post-{id}"),
            &format!("Post {id}"),
            &date,
        ));
    }
    let site = TestSite::new(&format!(
        "lease = \"3s\"\n{}",
        source("shared", "wordpress", &remote.wp_url())
    ))
    .await;
    let a = site.spawn_at_fixed_time().await;
    // The holder polls on its own when it starts.
    let mut polled = false;
    for _ in 0..200 {
        if site.store.article_counts().await.unwrap().0 == 120 {
            polled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        polled,
        "the lease holder did not poll: {:?}",
        remote.seen().len()
    );
    let r = a.get("/feeds/atom.xml").await.unwrap();
    assert_eq!(r.status(), 200);
    let b = site.spawn_at_fixed_time().await;
    remote.forget_requests();
    b.background.poll_sources().await;
    assert!(
        remote.seen().is_empty(),
        "an instance without the lease polled"
    );

    remote.edit(2, "2026-11-24T12:00:00Z", |p| {
        p.title = "Post 2, revised".into()
    });
    a.stop().await;
    // B takes the lease once A has given it up, and resumes.
    let mut resumed = false;
    for _ in 0..100 {
        b.background.poll_sources().await;
        if !remote.seen().is_empty() {
            resumed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(resumed, "the other instance never polled");
    let seen = remote.seen();
    let pages = post_pages(&seen);
    assert!(
        pages.iter().all(|p| p.query.contains_key("modified_after")),
        "the cursor was not taken over: {:?}",
        pages.iter().map(|p| &p.query).collect::<Vec<_>>()
    );
    let revised = site.store.article("post-2").await.unwrap().unwrap();
    assert_eq!(revised.article.title, "Post 2, revised");
    let feed = b
        .get("/feeds/atom.xml")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains("Post 120"), "B serves the source's articles");
    // The landing page links to the original.
    let home = b.get("/").await.unwrap().text().await.unwrap();
    assert!(
        home.contains(r#"href="https://cms.example/2026/11/post-120/""#),
        "{home}"
    );

    // A failing source is reported in the metrics; the instance stays ready.
    remote.fail_next(Fault::Status(503));
    site.clock.advance(chrono::Duration::hours(1));
    b.background.poll_sources().await;
    let ready = b.get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = b.get("/metrics").await.unwrap().text().await.unwrap();
    for line in [
        r#"feedletter_source_errors_total{source="shared"}"#,
        r#"feedletter_source_items_total{source="shared",change="updated"}"#,
        r#"feedletter_source_last_success_timestamp_seconds{source="shared"}"#,
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    let errors: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"feedletter_source_errors_total{source="shared"} "#))
        .unwrap()
        .parse()
        .unwrap();
    assert!(errors >= 1.0, "{metrics}");
    assert!(site.store.article("post-2").await.unwrap().is_some());
    b.stop().await;
}

/// The daemon polls each source on its own `every`, by the site's clock.
#[tokio::test]
async fn the_daemon_polls_a_source_when_its_every_has_passed() {
    let remote = Remote::start().await;
    remote.put(Post::new(
        1,
        "spf-basics",
        "SPF basics",
        "2026-11-20T10:00:00Z",
    ));
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;
    let app = site.spawn_at_fixed_time().await;
    let wait_for_requests = |atleast: usize, secs: u64| {
        let remote = remote.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
            while std::time::Instant::now() < deadline {
                if post_pages(&remote.seen()).len() >= atleast {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            false
        }
    };
    assert!(wait_for_requests(1, 10).await, "no first poll");
    remote.forget_requests();
    // Four minutes on: not due yet (every = 5m).
    site.clock.advance(chrono::Duration::minutes(4));
    assert!(!wait_for_requests(1, 6).await, "polled before its time");
    site.clock.advance(chrono::Duration::minutes(2));
    assert!(wait_for_requests(1, 10).await, "not polled once due");
    let pages = post_pages(&remote.seen()).len();
    assert_eq!(pages, 1, "one page of changes");
    app.stop().await;
}
