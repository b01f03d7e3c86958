//! The binary as operators use it: exit codes, one-line errors that name the
//! key or file, JSON output, and a clean stop on SIGTERM.

use crate::helpers::{TestSite, article};
use std::process::{Command, Stdio};

fn feedletter(site: &TestSite) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedletter"));
    c.arg("--config")
        .arg(site.dir.path().join("feedletter.toml"));
    c.env_remove("FEEDLETTER_CONFIG");
    c.env("RUST_LOG", "warn");
    c
}

#[tokio::test]
async fn check_passes_on_the_sample_and_lists_every_problem_otherwise() {
    let site = TestSite::sample().await;
    let out = feedletter(&site).arg("check").output().unwrap();
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
    text = text.replace("ingest = \"* * * * * *\"", "ingest = \"0 8 * * 8\"");
    std::fs::write(&path, text).unwrap();
    let out = feedletter(&site).arg("check").output().unwrap();
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
    let out = feedletter(&site)
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
    let out = feedletter(&site)
        .args(["ingest", "--json"])
        .output()
        .unwrap();
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

    let out = feedletter(&site).arg("build").output().unwrap();
    assert!(out.status.success());
    assert!(site.feeds_dir().join("atom.xml").is_file());
}

#[cfg(unix)]
#[tokio::test]
async fn run_stops_cleanly_on_sigterm() {
    let site = TestSite::sample().await;
    let mut child = feedletter(&site)
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
        std::thread::sleep(std::time::Duration::from_millis(50));
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
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
    };
    assert_eq!(code.code(), Some(0));
}
