//! The binary as operators use it: exit codes, one-line errors that name the
//! key or file, JSON output, and a clean stop on SIGTERM.

use crate::helpers::{TestSite, article, files_below, run_ok};
use std::process::{Command, Stdio};

#[tokio::test]
async fn check_passes_on_the_sample_and_lists_every_problem_otherwise() {
    let site = TestSite::sample().await;
    let out = site.command().arg("check").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    site.write("broken.md", "---\ntitle: Broken\npublished: someday\n---\n");
    let path = site.dir.path().join("feedletter.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replace(
        "timezone = \"Asia/Kolkata\"",
        "timezone = \"Asia/Mumbai\"\nfont = \"serif\"",
    );
    let ingest = "ingest = \"0 0 0 1 1 *\"";
    assert!(text.contains(ingest), "{text}");
    text = text.replace(ingest, "ingest = \"0 8 * * 8\"");
    std::fs::write(&path, text).unwrap();
    let out = site.command().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "site.timezone",
        "Asia/Mumbai",
        "site.font",
        "schedule.ingest",
    ] {
        assert!(stdout.contains(needle), "{needle} not in:\n{stdout}");
    }
}

#[tokio::test]
async fn a_bad_config_stops_any_command_with_the_key_named() {
    let site = TestSite::new("").await;
    let out = site
        .command()
        .arg("build")
        .env("FEEDLETTER_SITE__BASE_URL", "ftp://nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("site.base_url") && stderr.contains("ftp://nope"),
        "{stderr}"
    );
}

#[tokio::test]
async fn ingest_json_reports_each_outcome() {
    let site = TestSite::new("").await;
    site.write("ok.md", article("Fine", "2026-11-01 09:00", "ok"));
    site.write("bad.md", "---\ntitle: Bad\n---\n");
    let out = site.command().args(["ingest", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "rejections make the exit code non-zero"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["new"], serde_json::json!(["ok"]));
    assert_eq!(v["updated"], serde_json::json!([]));
    assert_eq!(v["withdrawn"], serde_json::json!([]));
    assert!(
        v["rejected"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("bad.md")
    );
    assert!(
        v["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("published")
    );

    let out = site.command().arg("build").output().unwrap();
    assert!(out.status.success());
    assert!(site.feeds_dir().join("atom.xml").is_file());
}

#[cfg(unix)]
#[tokio::test]
async fn run_stops_cleanly_on_sigterm() {
    let site = TestSite::sample().await;
    let mut child = site
        .command()
        .arg("run")
        .env("FEEDLETTER_HTTP__BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first build has written the feeds.
    for _ in 0..300 {
        if site.feeds_dir().join("feed.json").is_file() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        site.feeds_dir().join("feed.json").is_file(),
        "the daemon never built its feeds"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = 0;
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            waited < 200,
            "the daemon did not stop within 10 s of SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    };
    assert_eq!(code.code(), Some(0));
}

#[tokio::test]
async fn subscribers_commands_add_import_list_export_and_erase() {
    let site = TestSite::sample().await;
    site.ingest().await;
    // Add without --confirmed: pending, and the confirmation mail is sent
    // (to the outbox folder) by the command itself.
    let out = run_ok(
        &site,
        &[
            "subscribers",
            "add",
            "Pending@Example.com",
            "--topics",
            "retinol,exosomes",
        ],
    );
    assert!(out.contains("added Pending@example.com (pending)"), "{out}");
    assert!(out.contains("1 sent"), "{out}");
    assert_eq!(
        std::fs::read_dir(&site.config.mail.outbox_dir)
            .unwrap()
            .count(),
        1
    );
    run_ok(
        &site,
        &["subscribers", "add", "kept@example.com", "--confirmed"],
    );
    run_ok(
        &site,
        &["subscribers", "add", "left@example.com", "--confirmed"],
    );
    assert!(run_ok(&site, &["subscribers", "remove", "left@example.com"]).contains("unsubscribed"));

    let csv = site.dir.path().join("list.csv");
    std::fs::write(
        &csv,
        "email,frequency\nnew@example.com,daily\nleft@example.com,weekly\nnot an address,weekly\n",
    )
    .unwrap();
    let out = site
        .command()
        .args(["subscribers", "import", "--confirmed"])
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "bad rows exit 1: {stdout}");
    assert!(
        stdout.contains("list.csv:4: email `not an address`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 rows: 1 added, 0 confirmed, 0 already on the list, 1 not re-subscribed"),
        "{stdout}"
    );

    let list = run_ok(&site, &["subscribers", "list", "--status", "confirmed"]);
    assert!(list.contains("kept@example.com"), "{list}");
    assert!(list.contains("new@example.com"), "{list}");
    assert!(!list.contains("left@example.com"), "{list}");

    let export = run_ok(&site, &["subscribers", "export", "--format", "json"]);
    let all: serde_json::Value = serde_json::from_str(&export).unwrap();
    let left = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "left@example.com")
        .unwrap();
    assert_eq!(left["status"], "unsubscribed");
    assert_eq!(left["consent"]["source"], "cli");
    assert!(left["unsubscribed_at"].is_string());

    let out = run_ok(
        &site,
        &["subscribers", "remove", "left@example.com", "--erase"],
    );
    assert!(out.contains("erased"), "{out}");
    let export = run_ok(&site, &["subscribers", "export"]);
    assert!(export.starts_with("email,status,"), "{export}");
    assert!(!export.contains("left@example.com"), "{export}");
    let out = site
        .command()
        .args(["subscribers", "remove", "left@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// A PostgreSQL server that is not there: the command fails at once with
/// the reason and the URL, and never prints the password.
#[tokio::test]
async fn an_unreachable_postgres_store_is_named_without_its_password() {
    let site = TestSite::new("").await;
    // A free port with nothing listening on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = site
        .command()
        .env(
            "FEEDLETTER_STORE__URL",
            format!("postgres://feedletter:s3cret-pw@127.0.0.1:{port}/feedletter"),
        )
        .arg("migrate")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "connecting to PostgreSQL at postgres://feedletter:***@127.0.0.1:{port}/feedletter"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
}

/// `ingest` builds from the articles it has just stored instead of reading
/// them back: a full `build` from the store afterwards must find every
/// file as `ingest` wrote it, after a cold ingest and after one that adds
/// an article and edits another.
/// Hundreds of new articles at once: the command renders their archive
/// entries while the store writes them (`feeds::render_ahead`), and what it
/// writes is still, byte for byte, what a build from the store writes.
#[tokio::test]
async fn a_cold_ingest_of_hundreds_of_articles_writes_what_a_build_from_the_store_writes() {
    let site = TestSite::sample_with("[feeds]\nlimit = 10\narchive_page_size = 25\n").await;
    let subjects = [
        "retinol",
        "niacinamide",
        "sunscreen",
        "hyaluronic acid",
        "melasma",
        "exosomes",
    ];
    for n in 0..240 {
        let (a, b) = (subjects[n % 6], subjects[(n / 6) % 6]);
        site.write(
            &format!("note-{n:03}.md"),
            format!(
                "---\ntitle: \"Field note {n}: {a} & <{b}>\"\n\
                 published: 2026-{:02}-{:02} {:02}:15\ntags: [{a}]\n---\n\
                 A dermatologist on {a} with {b}, note {n}: start low, patch test first.\n\n\
                 ## What to expect\n\nResults with {a} take {} weeks.\n",
                9 + n / 100,
                1 + n % 28,
                n % 24,
                4 + n % 9
            ),
        );
    }
    let out = site
        .command()
        .args(["--log-format", "json", "ingest"])
        .env("RUST_LOG", "warn,feedletter::feeds=debug")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // The build says how many entries were rendered ahead: the field is
    // there when the rendering ran beside the write, however far it got
    // (the whole suite running on two cores may leave it little time; the
    // files must be right either way).
    let ahead = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["fields"]["rendered_ahead"].as_u64());
    assert!(ahead.is_some(), "no rendering ahead: {log}");
    let ingested = files_below(&site.feeds_dir());
    assert!(
        ingested.keys().filter(|k| k.contains("/archive/")).count() > 40,
        "{:?}",
        ingested.keys()
    );
    // From nothing: a build over the folder would keep archive pages its
    // fingerprints file vouches for, without rendering them.
    std::fs::remove_dir_all(site.feeds_dir()).unwrap();
    run_ok(&site, &["build"]);
    let built = files_below(&site.feeds_dir());
    assert_eq!(
        ingested.keys().collect::<Vec<_>>(),
        built.keys().collect::<Vec<_>>()
    );
    for (rel, bytes) in &ingested {
        assert!(*bytes == built[rel], "{rel} as ingest wrote it differs");
    }
}

#[tokio::test]
async fn the_feeds_ingest_writes_are_those_a_full_build_from_the_store_writes() {
    // Pages of four: the edited article is on a full archive page, which
    // the second ingest must render again from the places it read while
    // it listed the folder, brought up to date with its own write.
    let site = TestSite::sample_with("[feeds]\narchive_page_size = 4\n").await;
    let same_as_a_build = |when: &str| {
        let ingested = files_below(&site.feeds_dir());
        // From nothing, so that archive pages are rendered again too.
        std::fs::remove_dir_all(site.feeds_dir()).unwrap();
        run_ok(&site, &["build"]);
        let built = files_below(&site.feeds_dir());
        assert_eq!(
            ingested.keys().collect::<Vec<_>>(),
            built.keys().collect::<Vec<_>>(),
            "{when}: the files differ"
        );
        for (rel, bytes) in &ingested {
            assert!(
                *bytes == built[rel],
                "{when}: {rel} as ingest wrote it differs from a build from the store"
            );
        }
        ingested
    };
    run_ok(&site, &["ingest"]);
    let cold = same_as_a_build("cold");
    assert!(cold.len() > 20, "only {} files written", cold.len());

    site.write(
        "tranexamic-acid-for-melasma.md",
        "---\ntitle: \"Tranexamic acid, the quiet melasma fighter\"\n\
         published: 2026-11-24 08:30\ntags: [melasma, pigmentation]\n---\n\
         Dermatologists reach for tranexamic acid when melasma shrugs off sunscreen alone.\n",
    );
    // One of the sample's oldest articles: on the site's first page.
    let edited = site.content_dir().join("niacinamide-and-pores.md");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str("\nAn editor's note added on review.\n");
    std::fs::write(&edited, text).unwrap();
    let out = run_ok(&site, &["ingest", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["new"], serde_json::json!(["tranexamic-acid-for-melasma"]));
    let pages: Vec<&str> = v["feeds_written"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .filter(|f| f.starts_with("archive/"))
        .collect();
    assert!(
        pages.contains(&"archive/1.xml") && pages.iter().all(|p| p.starts_with("archive/1.")),
        "the site's first page alone should be written again: {out}"
    );
    assert_eq!(v["updated"].as_array().map(Vec::len), Some(1), "{out}");
    let warm = same_as_a_build("after a new and an edited article");
    let rss = String::from_utf8_lossy(&warm["rss.xml"]);
    assert!(rss.contains("Tranexamic acid, the quiet melasma fighter"));
}
