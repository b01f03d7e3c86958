//! The daemon watching its content folder: saved, renamed and deleted
//! articles reach the served feeds without waiting for the ingest schedule
//! (once a year in these tests), a burst of saves is one run, editors'
//! companion files are ignored, and lost events are caught up.

use crate::helpers::{RunningApp, TestSite, article};
use crate::websub::Hub;
use feedletter::ingest::{IndexCache, Scan, ingest_with};
use std::time::{Duration, Instant};

/// How long a change may take to reach the served feed in these tests
/// (the target is under a second at 10,000 articles; the test machine is
/// shared).
const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `path` until its body satisfies `ok`; the last body otherwise.
async fn served_until(app: &RunningApp, path: &str, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let body = match app.get(path).await {
            Ok(r) if r.status() == 200 => r.text().await.unwrap_or_default(),
            _ => String::new(),
        };
        if ok(&body) {
            return body;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{path} did not change within {DEADLINE:?}; it serves:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An article whose slug, title and tags are `slug`.
fn titled(slug: &str) -> String {
    format!(
        "---\ntitle: \"Title {slug}\"\npublished: 2026-11-20 09:00\ntags: [watched]\n---\nAbout {slug}.\n"
    )
}

#[tokio::test]
async fn saved_renamed_and_deleted_files_reach_the_served_feeds_and_the_hub() {
    let hub = Hub::default();
    let hub_url = hub.start().await;
    let site = TestSite::new(&format!("[websub]\nhub = \"{hub_url}\"\n")).await;
    site.write("first.md", titled("first"));
    let app = site.spawn_at_fixed_time().await;
    served_until(&app, "/feeds/rss.xml", |b| b.contains("Title first")).await;

    // Saved: the site feed, the topic feed and the hub hear of it.
    hub.published.lock().unwrap().clear();
    site.write("saved.md", titled("saved"));
    served_until(&app, "/feeds/rss.xml", |b| b.contains("Title saved")).await;
    served_until(&app, "/feeds/topics/watched/rss.xml", |b| {
        b.contains("Title saved")
    })
    .await;
    assert!(
        hub.wait_for("https://dewline.test/feeds/rss.xml").await,
        "the hub was told: {:?}",
        hub.published.lock().unwrap()
    );

    // Renamed: the slug follows the file name.
    std::fs::rename(
        site.content_dir().join("saved.md"),
        site.content_dir().join("renamed.md"),
    )
    .unwrap();
    // (The old slug's withdrawal leaves a tombstone naming it: entries are
    // what count.)
    let entry_links = |b: &str| -> Vec<String> {
        feed_rs::parser::parse(b.as_bytes())
            .map(|f| {
                f.entries
                    .iter()
                    .flat_map(|e| e.links.iter().map(|l| l.href.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let feed = served_until(&app, "/feeds/atom.xml", |b| {
        let links = entry_links(b);
        links.iter().any(|l| l.ends_with("/articles/renamed"))
            && !links.iter().any(|l| l.ends_with("/articles/saved"))
    })
    .await;
    assert!(
        feed.contains("at:deleted-entry") && feed.contains("/articles/saved"),
        "the old slug's tombstone: {feed}"
    );
    assert!(feed.contains("Title first"), "{feed}");

    // Deleted: out of the site feed and the topic feed.
    site.remove("renamed.md");
    served_until(&app, "/feeds/rss.xml", |b| {
        b.contains("Title first") && !b.contains("/articles/renamed")
    })
    .await;
    served_until(&app, "/feeds/topics/watched/rss.xml", |b| {
        b.contains("Title first") && !b.contains("/articles/renamed")
    })
    .await;
    // The store agrees with what is served.
    let slugs: Vec<String> = site
        .store
        .published_articles(None)
        .await
        .unwrap()
        .iter()
        .map(|a| a.article.slug.to_string())
        .collect();
    assert_eq!(slugs, ["first"]);
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_500_saves_is_one_run_not_500() {
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    let runs_before = app.background.ingest_runs();
    for i in 0..500 {
        site.write(
            &format!("burst-{i:03}.md"),
            article(&format!("Burst {i}"), "2026-11-20 09:00", "Saved at once."),
        );
    }
    let started = Instant::now();
    loop {
        let n = site.store.published_articles(None).await.unwrap().len();
        if n == 500 && app.background.ingest_runs() > runs_before {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "{n} of 500 articles ingested");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Same date: the feed lists the first 50 by slug.
    served_until(&app, "/feeds/rss.xml", |b| {
        b.contains("/articles/burst-000")
    })
    .await;
    let runs = app.background.ingest_runs() - runs_before;
    assert!(
        (1..=3).contains(&runs),
        "500 saves at once took {runs} ingest runs"
    );
    app.stop().await;
}

#[tokio::test]
async fn editors_temporary_and_swap_files_are_ignored() {
    let site = TestSite::new("").await;
    site.write("draft-me.md", titled("draft-me"));
    let app = site.spawn_at_fixed_time().await;
    let runs_before = app.background.ingest_runs();
    // What Emacs and Vim leave beside a file being edited, with an
    // article's text (they would be new articles if read) or not.
    site.write(".#draft-me.md", titled("emacs-lock"));
    site.write("#draft-me.md#", titled("emacs-autosave"));
    site.write("draft-me.md~", titled("backup"));
    site.write(".draft-me.md.swp", b"\x00\x01 vim swap \xff");
    site.write("4913", "");
    site.remove("4913");
    // No run: give the watcher a debounce and more to (wrongly) react.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        app.background.ingest_runs(),
        runs_before,
        "editors' files woke ingest"
    );
    // And a scan that does run neither reads nor rejects them.
    let report = site.ingest().await;
    assert!(
        !report.changed() && report.rejected.is_empty() && report.warnings.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.unchanged, 1);
    // A real save beside them is picked up, alone.
    site.write("second.md", titled("second"));
    served_until(&app, "/feeds/rss.xml", |b| b.contains("Title second")).await;
    let slugs = site.store.published_articles(None).await.unwrap();
    assert_eq!(slugs.len(), 2);
    app.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn lost_events_are_caught_up_by_a_rescan() {
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    // A file the content folder shares with a folder outside it: written
    // through the outside name, the watcher on the content folder hears
    // nothing, as when the kernel drops events.
    let outside = site.dir.path().join("outside.md");
    std::fs::write(&outside, titled("linked")).unwrap();
    std::fs::hard_link(&outside, site.content_dir().join("linked.md")).unwrap();
    served_until(&app, "/feeds/rss.xml", |b| b.contains("Title linked")).await;
    std::fs::write(
        &outside,
        titled("linked").replace("Title linked", "Changed unseen"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let served = app
        .get("/feeds/rss.xml")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        served.contains("Title linked") && !served.contains("Changed unseen"),
        "the change was seen after all: the test proves nothing\n{served}"
    );
    // The overflow notice: a rescan at once.
    app.background.content_events_lost();
    served_until(&app, "/feeds/rss.xml", |b| b.contains("Changed unseen")).await;
    app.stop().await;
}

#[tokio::test]
async fn without_the_watcher_the_schedule_still_ingests() {
    let mut site = TestSite::new("[content]\nwatch = false\n").await;
    // Every second instead of once a year.
    let path = site.dir.path().join("feedletter.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("ingest = \"0 0 0 1 1 *\"", "ingest = \"* * * * * *\"");
    std::fs::write(&path, text).unwrap();
    site.config = feedletter::config::Config::load(&path).unwrap();
    let app = site.spawn_at_fixed_time().await;
    site.write("ticked.md", titled("ticked"));
    served_until(&app, "/feeds/rss.xml", |b| b.contains("Title ticked")).await;
    app.stop().await;
}

/// The index kept between scans stays what the store holds, through the
/// scans' own changes and a push from elsewhere; a scan told which files
/// changed (as the watcher tells it) looks at those alone, and one told of
/// a folder lists everything.
#[tokio::test]
async fn the_index_kept_between_scans_matches_the_store() {
    let site = TestSite::new("").await;
    let store = site.store.as_ref();
    let root = site.content_dir();
    let mut cache = IndexCache::default();
    let mut scan_and_check = async |when: &str, scan: Scan| {
        let report = ingest_with(store, &site.config, &site.clock, &mut cache, &scan)
            .await
            .unwrap();
        let stored = store.article_index().await.unwrap();
        assert_eq!(cache.entries(), Some(&stored[..]), "after {when}");
        report
    };
    let only = |names: &[&str]| Scan::Paths {
        root: root.clone(),
        paths: names.iter().map(|n| root.join(n)).collect(),
    };
    site.write("a.md", titled("a"));
    site.write("b.md", titled("b"));
    // Without a listing kept, a scan of some paths lists the folder.
    assert_eq!(
        scan_and_check("a cold scan", only(&[])).await.new,
        ["a", "b"]
    );
    site.write("a.md", titled("a").replace("About a.", "About a, again."));
    assert_eq!(
        scan_and_check("an update", only(&["a.md"])).await.updated,
        ["a"]
    );
    std::fs::rename(root.join("b.md"), root.join("c.md")).unwrap();
    let renamed = scan_and_check("a rename", only(&["b.md", "c.md"])).await;
    assert_eq!(
        (renamed.new, renamed.withdrawn),
        (vec!["c".to_owned()], vec!["b".to_owned()])
    );
    // A file nobody named is not looked at until a full scan...
    site.write("d.md", titled("d"));
    assert!(
        scan_and_check("an unnamed file", only(&[]))
            .await
            .new
            .is_empty()
    );
    assert_eq!(scan_and_check("a full scan", Scan::Full).await.new, ["d"]);
    // ...or until a folder is named.
    site.write("2026/e.md", titled("e"));
    assert_eq!(
        scan_and_check("a new folder", only(&["2026"])).await.new,
        ["e"]
    );
    site.remove("a.md");
    assert_eq!(
        scan_and_check("a deletion", only(&["a.md"]))
            .await
            .withdrawn,
        ["a"]
    );
    // Another writer: the revision moves, so the next scan reads the index
    // again.
    let body = serde_json::json!({
        "title": "Pushed",
        "published": "2026-11-21 09:00",
        "body": "From the API.",
    });
    let pushed = feedletter::ingest::api::push(store, &site.config, &site.clock, "pushed", body)
        .await
        .unwrap();
    assert!(!pushed.feeds_written.is_empty());
    site.write("a.md", titled("a"));
    let back = scan_and_check("a push, then a return", only(&["a.md"])).await;
    assert_eq!(back.new, ["a"]);
}

/// `feedletter ingest` writes the feeds its changes touched (all of them
/// into an empty feeds folder); `build` stays the full rebuild.
#[tokio::test]
async fn the_ingest_command_writes_the_feeds_its_changes_touched() {
    let site = TestSite::new("").await;
    site.write("a.md", titled("a"));
    site.write(
        "b.md",
        titled("b").replace("tags: [watched]", "tags: [elsewhere]"),
    );
    let ingest = |json: bool| {
        let mut c = site.command();
        c.arg("ingest");
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let out = ingest(false);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for file in [
        "rss.xml",
        "topics/watched/atom.xml",
        "topics/elsewhere/feed.json",
    ] {
        let line = format!("wrote      {}", site.feeds_dir().join(file).display());
        assert!(text.contains(&line), "{text}");
    }
    assert!(site.feeds_dir().join("index.opml").is_file());

    site.write("a.md", titled("a").replace("About a.", "About a, again."));
    let out = ingest(true);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["updated"], serde_json::json!(["a"]));
    let written: Vec<&str> = v["feeds_written"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for file in ["rss.xml", "atom.xml", "feed.json", "topics/watched/rss.xml"] {
        assert!(written.contains(&file), "{written:?}");
    }
    assert!(
        !written.iter().any(|f| f.starts_with("topics/elsewhere/")),
        "{written:?}"
    );

    let out = ingest(true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["feeds_written"], serde_json::json!([]), "nothing changed");

    // `build` still rewrites whatever differs; here nothing does.
    std::fs::remove_file(site.feeds_dir().join("topics/elsewhere/rss.xml")).unwrap();
    let out = site.command().arg("build").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("topics/elsewhere/rss.xml"), "{text}");
}
