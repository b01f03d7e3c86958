//! Crash recovery: how long the rest of a digest run takes to go out after
//! its sender dies, measured with the real binary.
//!
//!     cargo bench --bench recovery
//!     FEEDLETTER_BENCH_SUBSCRIBERS=3000 FEEDLETTER_BENCH_KILL_AT=1000 cargo bench --bench recovery
//!
//! The sample publication is ingested into a fresh SQLite store and N
//! confirmed weekly subscribers (default 3,000) are imported; that set-up
//! is not timed. `feedletter digest send` runs against an SMTP sink in
//! this process that counts messages per recipient, unpaced, four SMTP
//! connections. Two scenarios:
//!
//! - **kill -9 and restart**: SIGKILL once K messages (default 1,000) have
//!   arrived, then `digest send` again at once; timed from the restart to
//!   the last subscriber's first message;
//! - **frozen, another sender**: SIGSTOP instead (the process still exists,
//!   so only its heartbeat can tell it is gone), another `digest send` at
//!   once; timed the same way, then the frozen one is killed.
//!
//! Each prints the time, the messages sent twice (at most `pool_size` = 4)
//! and whether every subscriber got one.

use anyhow::{Context as _, Result, ensure};
use chrono::{DateTime, Utc};
use feedletter::domain::{ConsentSource, Frequency, SubscriberEmail};
use feedletter::store::ImportRow;
use feedletter::{Config, FixedClock};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

#[path = "common/mod.rs"]
mod common;
use common::env_count;

/// Messages received, per recipient.
type Counts = Arc<Mutex<HashMap<String, u32>>>;

/// Accepts every message and counts it against each of its recipients.
async fn sink(listener: tokio::net::TcpListener, counts: Counts) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let counts = counts.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut line = Vec::new();
            let mut rcpts: Vec<String> = Vec::new();
            if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                return;
            }
            loop {
                line.clear();
                match read.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line).to_ascii_uppercase();
                let reply: &[u8] = if text.starts_with("EHLO") {
                    b"250-sink\r\n250 PIPELINING\r\n"
                } else if text.starts_with("RCPT TO:") {
                    let raw = String::from_utf8_lossy(&line);
                    let addr = raw[8..].trim().trim_matches(|c| c == '<' || c == '>');
                    rcpts.push(addr.to_ascii_lowercase());
                    b"250 ok\r\n"
                } else if text.starts_with("DATA") {
                    if write.write_all(b"354 go\r\n").await.is_err() {
                        return;
                    }
                    loop {
                        line.clear();
                        match read.read_until(b'\n', &mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == b".\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
                    for r in rcpts.drain(..) {
                        *c.entry(r).or_insert(0) += 1;
                    }
                    b"250 queued\r\n"
                } else if text.starts_with("QUIT") {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                } else {
                    if text.starts_with("RSET") || text.starts_with("MAIL") {
                        rcpts.clear();
                    }
                    b"250 ok\r\n"
                };
                if write.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn sample_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00+05:30")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

/// A site in `dir`: the sample publication, `n` weekly subscribers, mail
/// to the sink on `port`.
async fn site(
    dir: &Path,
    port: u16,
    n: usize,
) -> Result<(std::path::PathBuf, Arc<dyn feedletter::store::Store>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let content = dir.join("content");
    std::fs::create_dir_all(&content)?;
    for e in std::fs::read_dir(root.join("content"))? {
        let e = e?;
        std::fs::copy(e.path(), content.join(e.file_name()))?;
    }
    let config_path = dir.join("feedletter.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"[site]
title = "The Dewline (bench)"
base_url = "https://dewline.test"
timezone = "Asia/Kolkata"
author = {{ name = "Desk", email = "desk@dewline.example" }}
templates = "{templates}"
[store]
url = "sqlite://{db}"
[content]
dir = "{content}"
[feeds]
dir = "{feeds}"
[mail]
from = "The Dewline <digest@dewline.example>"
transport = "smtp"
rate_per_second = 0
postal_address = "12 Test Lane, Mumbai"
[mail.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
pool_size = 4
[[digest]]
name = "weekly"
frequency = "weekly"
cron = "0 8 * * Mon"
timezone = "Asia/Kolkata"
subject = "This week: {{{{ top_topic }}}}"
"#,
            templates = root.join("templates").display(),
            db = dir.join("bench.db").display(),
            content = content.display(),
            feeds = dir.join("feeds").display(),
        ),
    )?;
    let config = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = feedletter::store::connect(&config.store).await?;
    let clock = FixedClock::new(sample_now());
    feedletter::ingest::ingest_once(store.as_ref(), &config, &clock).await?;
    let rows: Vec<ImportRow> = (0..n)
        .map(|i| {
            Ok(ImportRow {
                email: SubscriberEmail::parse(&format!("r{i}@inbox.example"))?,
                topics: Vec::new(),
                frequency: Frequency::Weekly,
            })
        })
        .collect::<Result<_>>()?;
    for chunk in rows.chunks(2000) {
        store
            .import_batch(
                chunk,
                true,
                &ConsentSource::Import("bench".into()),
                sample_now(),
            )
            .await?;
    }
    Ok((config_path, store))
}

/// SIGSTOP at an instant the process holds no SQLite write lock: frozen
/// inside a write transaction it would keep every other writer out (the
/// file has one writer), which no recovery can help.
async fn freeze_outside_a_write(store: &dyn feedletter::store::Store, child: &Child) -> Result<()> {
    for attempt in 0..50 {
        signal(child, "-STOP")?;
        let id = format!("probe-{attempt}");
        let probe = store.register_instance(&id, "bench", None, Utc::now());
        if tokio::time::timeout(Duration::from_millis(500), probe)
            .await
            .is_ok_and(|r| r.is_ok())
        {
            return Ok(());
        }
        signal(child, "-CONT")?;
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    anyhow::bail!("could not freeze the sender outside a write")
}

fn send(config: &Path) -> Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_feedletter"))
        .arg("--config")
        .arg(config)
        .args(["digest", "send", "--schedule", "weekly", "--at"])
        .arg("2026-11-25T12:00:00+05:30")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting feedletter")
}

fn signal(child: &Child, sig: &str) -> Result<()> {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()?;
    ensure!(ok.success(), "kill {sig} failed");
    Ok(())
}

fn received(counts: &Counts) -> (usize, u32) {
    let c = counts.lock().unwrap_or_else(|p| p.into_inner());
    (c.len(), c.values().map(|n| n.saturating_sub(1)).sum())
}

/// One scenario: interrupt the first sender with `sig` at `kill_at`
/// messages, start the second, time it to the last subscriber.
async fn scenario(name: &str, sig: &str, n: usize, kill_at: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let counts: Counts = Arc::default();
    tokio::spawn(sink(listener, counts.clone()));
    let (config, store) = site(dir.path(), port, n).await?;

    let mut first = send(&config)?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while received(&counts).0 < kill_at {
        ensure!(
            Instant::now() < deadline,
            "{name}: the first sender stalled"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    if sig == "-KILL" {
        signal(&first, sig)?;
        first.wait()?;
    } else {
        freeze_outside_a_write(store.as_ref(), &first).await?;
    }
    let at_kill = received(&counts).0;
    let restarted = Instant::now();
    let mut second = send(&config)?;
    while received(&counts).0 < n {
        ensure!(
            restarted.elapsed() < Duration::from_secs(300),
            "{name}: {} of {n} after 300 s",
            received(&counts).0
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last = restarted.elapsed();
    second.wait()?;
    let exited = restarted.elapsed();
    if sig == "-STOP" {
        signal(&first, "-KILL")?;
        first.wait()?;
    }
    let (got, twice) = received(&counts);
    println!(
        "{name}: {n} subscribers, interrupted at {at_kill}: restart to last message {:.2} s \
         (second sender exited at {:.2} s); {got} of {n} received, {twice} twice",
        last.as_secs_f64(),
        exited.as_secs_f64()
    );
    ensure!(got == n, "{name}: not every subscriber got the digest");
    ensure!(
        twice <= 4,
        "{name}: {twice} duplicates, more than pool_size"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    feedletter::telemetry::install_crypto();
    let n = env_count("FEEDLETTER_BENCH_SUBSCRIBERS", 3000)?;
    let kill_at = env_count("FEEDLETTER_BENCH_KILL_AT", n / 3)?;
    scenario("kill -9 and restart", "-KILL", n, kill_at).await?;
    scenario("frozen, another sender", "-STOP", n, kill_at).await?;
    Ok(())
}
