//! Subscribers: `POST /subscribe` throughput against the running
//! app on SQLite, and a streaming CSV import of a million rows.
//!
//!     cargo bench --bench subscribers
//!     FEEDLETTER_BENCH_REQUESTS=500 FEEDLETTER_BENCH_ROWS=20000 cargo bench --bench subscribers
//!
//! Subscribe: real HTTP on loopback, JSON bodies, new addresses, 16
//! requests in flight, rate limit off. Each request stores the subscriber
//! and its token and queues the confirmation mail; the daemon's queue sends
//! it (to the outbox folder) in the background, not inside the request.
//!
//! Import: a generated CSV (one bad row in 1,000) through
//! `Subscriptions::import_csv`, with the process's resident memory sampled
//! every 50 ms to show that it stays flat.

use anyhow::{Result, ensure};
use feedletter::{Config, SystemClock};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
use common::env_count;

fn config(dir: &std::path::Path) -> Result<Config> {
    let text = format!(
        "[site]\ntitle = \"Bench\"\nbase_url = \"https://bench.example\"\n\
         [store]\nurl = \"sqlite://{}\"\n\
         [content]\ndir = \"{}\"\n\
         [feeds]\ndir = \"{}\"\n\
         [http]\nbind = \"127.0.0.1:0\"\nsubscribe_per_minute = 0\n\
         [mail]\nfrom = \"Bench <digest@bench.example>\"\ntransport = \"file\"\noutbox_dir = \"{}\"\n",
        dir.join("bench.db").display(),
        dir.join("content").display(),
        dir.join("feeds").display(),
        dir.join("outbox").display(),
    );
    std::fs::create_dir_all(dir.join("content"))?;
    let path = dir.join("feedletter.toml");
    std::fs::write(&path, text)?;
    Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Resident set size of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<()> {
    let requests = env_count("FEEDLETTER_BENCH_REQUESTS", 5_000)?;
    let rows = env_count("FEEDLETTER_BENCH_ROWS", 1_000_000)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(subscribe_throughput(requests))?;
    rt.block_on(import(rows))?;
    Ok(())
}

async fn subscribe_throughput(n: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = config(dir.path())?;
    let app = feedletter::App::build(config, Arc::new(SystemClock)).await?;
    let store = app.store();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Warm-up, not timed.
    for i in 0..50 {
        client
            .post(format!("{base}/subscribe"))
            .json(&serde_json::json!({ "email": format!("warm{i}@bench.example") }))
            .send()
            .await?;
    }
    let in_flight = 16;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (client, base, next) = (client.clone(), base.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/subscribe"))
                    .json(&serde_json::json!({ "email": format!("reader{i}@bench.example"), "frequency": "weekly" }))
                    .send()
                    .await?;
                ensure!(r.status() == 202, "request {i}: {}", r.status());
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    let stored = store.count_subscribers(None).await?;
    ensure!(
        stored as usize == n + 50,
        "stored {stored} subscribers, expected {}",
        n + 50
    );
    println!("POST /subscribe, SQLite, {in_flight} in flight, {n} new addresses:");
    println!(
        "  {:.0} requests/s ({:.2} s); latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
    // Let the queue drain, then report how far it got.
    let drain = Instant::now();
    while store.mail_queue_depth().await? > 0 && drain.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = std::fs::read_dir(dir.path().join("outbox"))?.count();
    println!(
        "  confirmation mails in the outbox {:.1} s after the last request: {sent}; still queued: {}",
        drain.elapsed().as_secs_f64(),
        store.mail_queue_depth().await?
    );
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}

async fn import(n: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = config(dir.path())?;
    let store = feedletter::store::connect(&config.store).await?;
    let tera = feedletter::templates::load(&config.site.templates_dir)?;
    let subs = feedletter::subscribers::Subscriptions::new(
        store.clone(),
        Arc::new(config),
        Arc::new(tera),
        Arc::new(SystemClock),
    );
    let csv = dir.path().join("list.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(f, "email,topics,frequency")?;
        for i in 0..n {
            if i % 1000 == 999 {
                writeln!(f, "broken-row-{i},,weekly")?;
            } else {
                let topics = ["retinol", "exosomes;niacinamide", "", "sunscreen"][i % 4];
                let freq = if i % 3 == 0 { "daily" } else { "weekly" };
                writeln!(f, "Reader.{i}@Example{}.com,{topics},{freq}", i % 97)?;
            }
        }
    }
    let size = std::fs::metadata(&csv)?.len();
    let before = rss_mib();
    let peak = Arc::new(std::sync::Mutex::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let r = rss_mib();
                samples.push(r);
                let mut p = peak.lock().unwrap_or_else(|e| e.into_inner());
                *p = p.max(r);
                drop(p);
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        })
    };
    let started = Instant::now();
    let report = subs
        .import_csv(
            std::fs::File::open(&csv)?,
            true,
            &feedletter::domain::ConsentSource::Import("bench".into()),
            |_| {},
        )
        .await?;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let samples = sampler
        .join()
        .map_err(|_| anyhow::anyhow!("sampler panicked"))?;
    ensure!(
        report.rows as usize == n,
        "read {} rows of {n}",
        report.rows
    );
    ensure!(
        report.bad.len() == n / 1000,
        "{} bad rows",
        report.bad.len()
    );
    ensure!(
        report.added as usize == n - n / 1000,
        "added {} of {}",
        report.added,
        n - n / 1000
    );
    let quart = |q: usize| samples.get(samples.len() * q / 4).copied().unwrap_or(0.0);
    println!();
    println!(
        "CSV import, {n} rows ({:.1} MB), --confirmed, batches of {}:",
        size as f64 / 1e6,
        feedletter::subscribers::import::BATCH
    );
    println!(
        "  {:.1} s ({:.0} rows/s); {} added, {} bad rows reported",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        report.added,
        report.bad.len()
    );
    println!(
        "  resident memory: {before:.1} MiB before, {:.1} / {:.1} / {:.1} MiB at 25/50/75 % of the run, peak {:.1} MiB",
        quart(1),
        quart(2),
        quart(3),
        *peak.lock().unwrap_or_else(|e| e.into_inner())
    );
    Ok(())
}
