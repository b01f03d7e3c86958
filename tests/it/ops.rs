//! What an operator's monitoring sees: readiness and Prometheus metrics.

use crate::helpers::TestSite;

#[tokio::test]
async fn readyz_and_metrics_report_the_store_the_feeds_and_the_requests() {
    let site = TestSite::sample().await;
    let app = site.spawn_at_fixed_time().await;

    let r = app.get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ready\n");
    assert_eq!(app.get("/feeds/rss.xml").await.unwrap().status(), 200);
    assert_eq!(
        app.get("/articles/no-such-article").await.unwrap().status(),
        404
    );

    let r = app.get("/metrics").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    let line = |name: &str, labels: &[&str]| {
        text.lines()
            .find(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    // The sample publication: 24 files, one draft and one scheduled.
    assert_eq!(line("feedletter_articles{", &["state=\"published\""]), 22.0);
    assert_eq!(line("feedletter_articles{", &["state=\"withdrawn\""]), 0.0);
    assert!(
        line(
            "feedletter_http_requests_total{",
            &["route=\"/feeds/{*path}\"", "status=\"200\""]
        ) >= 1.0
    );
    assert!(
        line(
            "feedletter_http_requests_total{",
            &["route=\"/articles/{slug}\"", "status=\"404\""]
        ) >= 1.0
    );
    assert!(
        line(
            "feedletter_job_duration_seconds_count{",
            &["job=\"ingest\""]
        ) >= 1.0
    );
    assert!(line("feedletter_outbox_depth{", &["queue=\"digest\""]) >= 0.0);
    assert!(line("feedletter_feed_writes_total", &[]) >= 3.0);
    // Alone on its store, the instance holds the scheduler lease.
    assert_eq!(line("feedletter_scheduler_lease_held", &[]), 1.0);
    app.stop().await;
}

#[tokio::test]
async fn a_store_without_its_migrations_is_not_ready_and_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::TestDb::create().await;
    let store: Box<dyn feedletter::store::Store> = match &db {
        Some(db) => Box::new(feedletter::store::PgStore::open(&db.url).await.unwrap()),
        None => Box::new(
            feedletter::store::SqliteStore::open(&dir.path().join("fresh.db"))
                .await
                .unwrap(),
        ),
    };
    store.ping().await.unwrap();
    let e = store.ready().await.unwrap_err().to_string();
    assert!(e.contains("feedletter migrate"), "{e}");
    store.migrate().await.unwrap();
    store.ready().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn json_logs_carry_one_summary_line_per_job_run() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    let site = TestSite::sample().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedletter"))
        .arg("--config")
        .arg(site.dir.path().join("feedletter.toml"))
        .args(["--log-format", "json", "run"])
        .env_remove("FEEDLETTER_CONFIG")
        .env_remove("RUST_LOG")
        .env("FEEDLETTER_HTTP__BIND", "127.0.0.1:0")
        // The scheduler's own runs, every second.
        .env("FEEDLETTER_SCHEDULE__INGEST", "* * * * * *")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    let is_summary = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| {
            v["fields"]["message"] == "job finished" && v["fields"]["job"] == "ingest"
        })
    };
    // The start-up run and at least one scheduled one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| is_summary(l))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than two summary lines in:\n{}",
            lines.lock().unwrap().join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    reader.join().unwrap();
    let lines = lines.lock().unwrap();
    let mut summaries = 0;
    for line in lines.iter() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if is_summary(line) {
            summaries += 1;
            assert!(v["fields"]["ms"].is_u64(), "{line}");
            assert!(v["fields"]["new"].is_u64(), "{line}");
        }
    }
    assert!(summaries >= 2, "{summaries} summary lines");
}
