//! `[[source]]` entries at their edges: a server that stalls past the
//! source's `timeout`, redirects to another host (logged, naming the
//! source and both URLs) or to the same one (silent), a redirect chain
//! that never ends, and a site fed by sources alone, with no content
//! folder.

use crate::helpers::{TestSite, article};
use crate::remote_server::{Fault, Post, Remote};
use crate::sources::{ingest, source};
use feedletter::ingest::IngestReport;
use feedletter::sources::{Poll, SourceReport};
use std::time::Duration;

fn rss(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(slug, day)| {
            format!(
                "<item><title>{slug}</title><link>https://partner.example/{slug}</link>\
                 <guid isPermaLink=\"false\">{slug}</guid><pubDate>{day} Nov 2026 08:00:00 GMT</pubDate>\
                 <description>About {slug}.</description></item>"
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Partner</title><link>https://partner.example/</link>
<description>d</description>{items}</channel></rss>"#
    )
}

fn by<'a>(r: &'a IngestReport, name: &str) -> &'a SourceReport {
    r.sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no report for {name}: {r:?}"))
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// Several threads: the servers answer while the test waits on the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_slower_than_its_timeout_is_reported_and_the_rest_ingests() {
    let slow = Remote::start().await;
    for id in 1..=2 {
        slow.put(Post::new(
            id,
            &format!("slow-{id}"),
            &format!("Slow {id}"),
            "2026-11-20T10:00:00Z",
        ));
    }
    let partner = Remote::start().await;
    partner.set_feed("rss", &rss(&[("zinc", "Fri, 20")]), "application/rss+xml");
    let site = TestSite::new(&format!(
        "{}timeout = \"1s\"\n{}",
        source("cms", "wordpress", &slow.wp_url()),
        source("partner", "feed", &partner.feed_url("rss"))
    ))
    .await;
    assert_eq!(site.config.sources[0].timeout, Duration::from_secs(1));
    assert_eq!(site.config.sources[1].timeout, Duration::from_secs(30));
    site.write("own.md", article("Our own", "2026-11-20 10:00", "Ours."));
    let first = ingest(&site, Poll::Command).await;
    assert_eq!(first.new, ["own"]);
    assert_eq!(by(&first, "cms").new, ["slow-1", "slow-2"]);
    assert_eq!(by(&first, "partner").new, ["zinc"]);

    // The WordPress server hangs far past the source's 1s; meanwhile the
    // feed and the folder each have something new.
    slow.fail_next(Fault::Stall(Duration::from_secs(60)));
    slow.put(Post::new(3, "slow-3", "Slow 3", "2026-11-21T10:00:00Z"));
    partner.set_feed(
        "rss",
        &rss(&[("zinc", "Fri, 20"), ("niacin", "Sat, 21")]),
        "application/rss+xml",
    );
    site.write("second.md", article("Second", "2026-11-21 10:00", "More."));
    let out = site.command().arg("ingest").output().unwrap();
    let text = stdout(&out);
    assert!(!out.status.success(), "a timed-out source exits 1: {text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("error      cms: "))
        .unwrap_or_else(|| panic!("no error line for cms:\n{text}{}", stderr(&out)));
    assert!(
        line.contains(&format!("{}posts?", slow.wp_url())) && line.contains("page=1"),
        "{line}"
    );
    assert!(line.contains("timed out"), "{line}");
    assert!(line.contains("within 1s"), "{line}");
    assert!(text.contains("new        second\n"), "{text}");
    assert!(text.contains("new        niacin (partner)"), "{text}");
    assert!(
        text.contains("source cms: 0 new, 0 updated, 0 withdrawn, 0 unchanged, 1 error(s)"),
        "{text}"
    );

    // What the slow source gave before stays published; nothing of it was
    // half-read.
    for slug in ["slow-1", "slow-2", "zinc", "niacin", "own", "second"] {
        assert!(
            site.store.article(slug).await.unwrap().is_some(),
            "{slug} is missing"
        );
    }
    assert!(site.store.article("slow-3").await.unwrap().is_none());
    let state = site.store.source_state("cms").await.unwrap().unwrap();
    assert_eq!(state.failures, 1);
    assert!(
        state.last_error.as_deref().unwrap().contains("timed out"),
        "{state:?}"
    );

    // A body that starts and then stops coming counts against the same
    // timeout.
    slow.fail_next(Fault::SlowBody(Duration::from_secs(60)));
    let r = ingest(&site, Poll::Command).await;
    let cms = by(&r, "cms");
    assert_eq!(cms.errors.len(), 1, "{cms:?}");
    let e = &cms.errors[0].error;
    assert!(
        e.starts_with("timed out: the whole response did not arrive within 1s (9 bytes read"),
        "{e}"
    );
    assert!(site.store.article("slow-1").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_followed_and_logged_naming_the_source_and_both_urls() {
    let old = Remote::start().await;
    let new = Remote::start().await;
    new.set_feed("rss", &rss(&[("zinc", "Fri, 20")]), "application/rss+xml");
    old.set_feed(
        "local",
        &rss(&[("azelaic", "Sat, 21")]),
        "application/rss+xml",
    );
    // The partner moved to another host (and port); the other feed moved
    // on its own host.
    let moved_to = format!("http://localhost:{}/feeds/rss", new.port());
    old.redirect("rss", &moved_to);
    old.redirect("local", &old.feed_url("local"));
    let moved_from = format!("{}/go/rss", old.base);
    let site = TestSite::new(&format!(
        "{}{}",
        source("partner", "feed", &moved_from),
        source("local", "feed", &format!("{}/go/local", old.base))
    ))
    .await;
    let out = site
        .command()
        .args(["--log-format", "json", "ingest", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_of = |name: &str| {
        json["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["new"].clone())
    };
    assert_eq!(new_of("partner"), Some(serde_json::json!(["zinc"])));
    assert_eq!(new_of("local"), Some(serde_json::json!(["azelaic"])));
    let host = new.seen()[0].headers["host"].to_str().unwrap().to_owned();
    assert!(host.starts_with("localhost:"), "{host}");

    let log = stderr(&out);
    let redirects: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("redirect"))
        })
        .collect();
    // One warning: the same-host move says nothing.
    assert_eq!(redirects.len(), 1, "{log}");
    let w = &redirects[0];
    assert_eq!(w["level"], "WARN", "{w}");
    assert_eq!(w["fields"]["source"], "partner", "{w}");
    assert_eq!(w["fields"]["from"], moved_from.as_str(), "{w}");
    assert_eq!(w["fields"]["to"], moved_to.as_str(), "{w}");
    assert!(
        w["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("another host"),
        "{w}"
    );
}

#[tokio::test]
async fn a_redirect_chain_that_never_ends_stops_with_a_clear_error() {
    let remote = Remote::start().await;
    let url = format!("{}/loop/0", remote.base);
    let site = TestSite::new(&source("partner", "feed", &url)).await;
    let r = ingest(&site, Poll::Command).await;
    let partner = by(&r, "partner");
    assert_eq!(partner.errors.len(), 1, "{partner:?}");
    let e = &partner.errors[0];
    assert_eq!(e.url, url);
    assert!(
        e.error.starts_with("too many redirects: gave up after 5"),
        "{e:?}"
    );
    // The first request and the five redirects followed, no more.
    let asked: Vec<String> = remote.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        asked,
        (0..=5).map(|n| format!("/loop/{n}")).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_fed_only_by_sources_needs_no_content_folder() {
    let remote = Remote::start().await;
    remote.put(Post::new(
        1,
        "spf-basics",
        "SPF basics",
        "2026-11-20T10:00:00Z",
    ));
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;
    let folder = site.content_dir();
    std::fs::remove_dir(&folder).unwrap();

    let out = site.command().arg("check").output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!(
            "note: the content folder {} is absent: articles come from the 1 [[source]] entry only",
            folder.display()
        )),
        "{text}"
    );
    assert!(text.contains(": ok"), "{text}");

    let out = site.command().args(["ingest", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["new"], serde_json::json!([]));
    assert_eq!(json["warnings"], serde_json::json!([]));
    assert_eq!(json["sources"][0]["new"], serde_json::json!(["spf-basics"]));
    let out = site.command().arg("build").output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        site.feed("atom.xml")
            .entries
            .iter()
            .any(|e| e.title.as_ref().unwrap().content == "SPF basics")
    );

    // The daemon starts, polls and serves without the folder.
    remote.put(Post::new(2, "zinc", "Zinc", "2026-11-21T10:00:00Z"));
    let app = site.spawn_at_fixed_time().await;
    app.background.poll_sources().await;
    let feed = app
        .get("/feeds/atom.xml")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        feed.contains("SPF basics") && feed.contains("Zinc"),
        "{feed}"
    );
    assert_eq!(app.get("/readyz").await.unwrap().status(), 200);
    app.stop().await;
    assert!(!folder.exists(), "nothing created the content folder");

    // Without sources, a missing folder stays an error.
    let bare = TestSite::new("").await;
    std::fs::remove_dir(bare.content_dir()).unwrap();
    let out = bare.command().arg("check").output().unwrap();
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("content folder {}", bare.content_dir().display()))
            && text.contains("create it"),
        "{text}"
    );
    let out = bare.command().arg("ingest").output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&bare.content_dir().display().to_string()),
        "{}",
        stderr(&out)
    );
}

/// A folder that goes away on a site with sources is not an empty one:
/// what was read from it stays published, with a warning.
#[tokio::test]
async fn a_content_folder_that_goes_away_withdraws_nothing() {
    let remote = Remote::start().await;
    remote.put(Post::new(
        1,
        "spf-basics",
        "SPF basics",
        "2026-11-20T10:00:00Z",
    ));
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;
    site.write("own.md", article("Our own", "2026-11-20 10:00", "Ours."));
    let first = ingest(&site, Poll::Command).await;
    assert_eq!(first.new, ["own"]);
    std::fs::remove_dir_all(site.content_dir()).unwrap();
    let r = ingest(&site, Poll::Command).await;
    assert!(r.withdrawn.is_empty(), "{r:?}");
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert_eq!(r.warnings[0].file, site.content_dir().display().to_string());
    assert!(
        r.warnings[0]
            .error
            .contains("the 1 article(s) read from files before stay published"),
        "{r:?}"
    );
    assert!(site.store.article("own").await.unwrap().is_some());
    assert!(site.store.article("spf-basics").await.unwrap().is_some());
    // An empty folder is the way to withdraw them.
    std::fs::create_dir(site.content_dir()).unwrap();
    let r = ingest(&site, Poll::Command).await;
    assert_eq!(r.withdrawn, ["own"], "{r:?}");
}
