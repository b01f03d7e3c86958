//! A test site in a temporary folder: its own content, feeds folder and
//! store (a SQLite file, or a database of its own on the PostgreSQL server
//! `FEEDLETTER_TEST_POSTGRES_URL` names), a fixed clock, and the daemon on a
//! free port when asked.
//!
//! A test daemon does its background work when the test says so, not on a
//! timer: its ingest job is scheduled once a year, and tests drive ingest,
//! digests and mail through `RunningApp` (the library's `Background`
//! handle). Tests of the scheduler itself set their own crontab lines.

pub use crate::testdb::TestDb;
use chrono::{DateTime, Utc};
use feedletter::config::Config;
use feedletter::feeds::BuildReport;
use feedletter::ingest::IngestReport;
use feedletter::store::Store;
use feedletter::{FixedClock, SystemClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const BASE_URL: &str = "https://dewline.test";

/// 2026-11-25 12:00 IST: after the whole sample publication but its
/// scheduled article.
pub fn sample_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00+05:30")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn init_logs() {
    // The tests' HTTP clients use rustls through reqwest, as the daemon does.
    feedletter::telemetry::install_crypto();
    if std::env::var_os("TEST_LOG").is_some() {
        feedletter::telemetry::init(feedletter::telemetry::LogFormat::Text);
    }
}

pub struct TestSite {
    pub dir: TempDir,
    pub config: Config,
    pub clock: FixedClock,
    pub store: Arc<dyn Store>,
    /// Last, so that it is dropped after the store.
    pub db: Option<TestDb>,
}

impl TestSite {
    /// The `feedletter` binary on this site's config, as an operator runs it.
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"));
        c.arg("--config")
            .arg(self.dir.path().join("feedletter.toml"))
            .env_remove("FEEDLETTER_CONFIG")
            .env("RUST_LOG", "warn");
        c
    }

    /// An empty site; `extra` is appended to the config file.
    pub async fn new(extra: &str) -> Self {
        Self::on(extra, true).await
    }

    /// An empty site on SQLite whatever the suite runs on.
    pub async fn new_on_sqlite(extra: &str) -> Self {
        Self::on(extra, false).await
    }

    async fn on(extra: &str, postgres_if_named: bool) -> Self {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        let db = if postgres_if_named {
            TestDb::create().await
        } else {
            None
        };
        let store = db
            .as_ref()
            .map(|d| format!("[store]\nurl = \"{}\"\n", d.url))
            .unwrap_or_default();
        // Like the sample's feedletter.toml: a small publication, where
        // three headlines in a week already make a story.
        let extra = match extra.split_once("[topics]\n") {
            Some((before, after)) => format!("{before}[topics]\nmin_count = 3\n{after}"),
            None => format!("{extra}\n[topics]\nmin_count = 3\n"),
        };
        let text = format!(
            r#"{store}
[site]
title = "The Dewline (test)"
base_url = "{BASE_URL}"
description = "Test copy of the sample publication"
language = "en-IN"
timezone = "Asia/Kolkata"
author = {{ name = "The Dewline Desk", email = "desk@dewline.example" }}
templates = "{templates}"

[http]
bind = "127.0.0.1:0"
subscribe_per_minute = 0

[schedule]
# Once a year: see the module comment.
ingest = "0 0 0 1 1 *"
{extra}
"#,
            templates = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates")
                .display()
        );
        let path = dir.path().join("feedletter.toml");
        std::fs::write(&path, &text).unwrap();
        let config = Config::load(&path).unwrap_or_else(|e| panic!("test config: {e}"));
        let store = feedletter::store::connect(&config.store).await.unwrap();
        Self {
            dir,
            config,
            clock: FixedClock::new(sample_now()),
            store,
            db,
        }
    }

    /// A site holding a copy of the sample publication.
    pub async fn sample() -> Self {
        Self::sample_with("").await
    }

    /// The sample publication with `extra` appended to the config.
    pub async fn sample_with(extra: &str) -> Self {
        Self::new(extra).await.with_sample()
    }

    /// The store's kind: "postgres" or "sqlite".
    pub fn backend(&self) -> &'static str {
        if self.db.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Copies the sample publication into the site's content folder.
    pub fn with_sample(self) -> Self {
        let site = self;
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), site.content_dir().join(entry.file_name())).unwrap();
        }
        site
    }

    pub fn content_dir(&self) -> PathBuf {
        self.config.content.dir.clone()
    }

    pub fn feeds_dir(&self) -> PathBuf {
        self.config.feeds.dir.clone()
    }

    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) {
        let path = self.content_dir().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.content_dir().join(name)).unwrap();
    }

    pub async fn ingest(&self) -> IngestReport {
        feedletter::ingest::ingest_once(self.store.as_ref(), &self.config, &self.clock)
            .await
            .unwrap()
    }

    pub async fn build(&self) -> BuildReport {
        use feedletter::Clock as _;
        feedletter::feeds::build_feeds_once(self.store.as_ref(), &self.config, self.clock.now())
            .await
            .unwrap()
    }

    pub fn feed_bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.feeds_dir().join(name)).unwrap()
    }

    pub fn feed(&self, name: &str) -> feed_rs::model::Feed {
        feed_rs::parser::parse(&self.feed_bytes(name)[..])
            .unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
    }

    /// Starts the daemon (system clock) on a free port.
    pub async fn spawn(&self) -> RunningApp {
        self.spawn_with(Arc::new(SystemClock)).await
    }

    /// Starts the daemon with the site's fixed clock: what it shows is what
    /// it would show at that time (the scheduler still waits in real time,
    /// from that time).
    pub async fn spawn_at_fixed_time(&self) -> RunningApp {
        self.spawn_with(Arc::new(self.clock.clone())).await
    }

    async fn spawn_with(&self, clock: Arc<dyn feedletter::Clock>) -> RunningApp {
        let app = feedletter::App::build(self.config.clone(), clock)
            .await
            .unwrap();
        let port = app.port();
        let background = app.background();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let running = RunningApp {
            address: format!("http://127.0.0.1:{port}"),
            client,
            background,
            stop: Some(tx),
            handle: Some(handle),
        };
        // Ready once the first ingest and build are done and HTTP answers.
        for _ in 0..200 {
            if let Ok(r) = running.get("/healthz").await
                && r.status() == 200
            {
                return running;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the app did not come up");
    }
}

pub struct RunningApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The daemon's background work, driven directly.
    pub background: feedletter::app::Background,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl RunningApp {
    pub async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    /// One run of the ingest job, as its schedule would run it now: the
    /// files are ingested and the feeds built by the time this returns.
    pub async fn ingest(&self) {
        self.background.ingest().await;
    }

    /// Sends the transactional mail due now, as the mail queue does when
    /// woken, and returns what it did.
    pub async fn drain_mail(&self) -> feedletter::subscribers::queue::QueueReport {
        self.background.drain_mail().await.unwrap()
    }

    /// Stops the app the way SIGTERM does and waits for it: background work
    /// in progress has finished, and the start-up catch-ups are decided.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// Runs `feedletter args` on the site, asserts it succeeded, and returns
/// its standard output.
pub fn run_ok(site: &TestSite, args: &[&str]) -> String {
    let out = site.command().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "feedletter {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A minimal valid article.
pub fn article(title: &str, published: &str, body: &str) -> String {
    format!("---\ntitle: \"{title}\"\npublished: {published}\ntags: [test]\n---\n{body}\n")
}

/// Every file below `dir`, by path relative to it, with its bytes.
pub fn files_below(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
