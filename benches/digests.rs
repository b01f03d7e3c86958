//! Digests: render and send personalised digests of the sample
//! publication to a local SMTP sink, as `digest send` does.
//!
//!     cargo bench --bench digests
//!     FEEDLETTER_BENCH_SUBSCRIBERS=5000 cargo bench --bench digests   # quick
//!     FEEDLETTER_BENCH_DKIM=ed25519 cargo bench --bench digests       # signed
//!
//! The store is SQLite (or, with `FEEDLETTER_BENCH_POSTGRES_URL`, a fresh
//! database on that PostgreSQL server) with the sample publication ingested
//! at a fixed time; the subscribers (default 100,000, confirmed, weekly) follow one of
//! eight topic choices. The sink is a minimal SMTP server in this process
//! on loopback (EHLO, MAIL, RCPT, DATA, RSET, QUIT; it stores nothing), so
//! the figure includes the cost of SMTP itself. Peak memory is the
//! process's high-water mark (VmHWM), sink included.

use anyhow::{Result, ensure};
use chrono::{DateTime, Utc};
use feedletter::delivery::{Deliverer, Options};
use feedletter::domain::{ConsentSource, Frequency, SubscriberEmail};
use feedletter::store::ImportRow;
use feedletter::{Config, FixedClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

#[path = "common/mod.rs"]
mod common;
#[path = "common/store.rs"]
mod store;
use common::env_count;

fn proc_status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Accepts every message and forgets it; counts messages and bytes.
async fn sink(listener: tokio::net::TcpListener, messages: Arc<AtomicU64>, bytes: Arc<AtomicU64>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (messages, bytes) = (messages.clone(), bytes.clone());
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut line = Vec::new();
            if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                return;
            }
            loop {
                line.clear();
                match read.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let verb = line
                    .get(..4)
                    .map(|v| v.to_ascii_uppercase())
                    .unwrap_or_default();
                let reply: &[u8] = match &verb[..] {
                    b"EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                    b"DATA" => {
                        if write.write_all(b"354 go on\r\n").await.is_err() {
                            return;
                        }
                        let mut size = 0u64;
                        loop {
                            line.clear();
                            match read.read_until(b'\n', &mut line).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => size += n as u64,
                            }
                            if line == b".\r\n" {
                                break;
                            }
                        }
                        messages.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(size, Ordering::Relaxed);
                        b"250 queued\r\n"
                    }
                    b"QUIT" => {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    }
                    _ => b"250 ok\r\n",
                };
                if write.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn config(
    dir: &std::path::Path,
    store_url: &str,
    port: u16,
    pool: u32,
    dkim: bool,
) -> Result<Config> {
    let dkim = if dkim {
        // An Ed25519 key (a base64 seed of 32 bytes), made up for the bench.
        let key = dir.join("dkim.key");
        std::fs::write(&key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")?;
        format!(
            "[mail.dkim]\nselector = \"bench\"\ndomain = \"dewline.example\"\nkey_file = \"{}\"\n",
            key.display()
        )
    } else {
        String::new()
    };
    let content = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let text = format!(
        "[site]\ntitle = \"The Dewline\"\nbase_url = \"https://dewline.example\"\ntimezone = \"Asia/Kolkata\"\n\
         [store]\nurl = \"{store_url}\"\n\
         [content]\ndir = \"{content}\"\n\
         [feeds]\ndir = \"{feeds}\"\n\
         [mail]\nfrom = \"The Dewline <digest@dewline.example>\"\ntransport = \"smtp\"\n\
         rate_per_second = 0\npostal_address = \"The Dewline, Bandra West, Mumbai 400050\"\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\npool_size = {pool}\n{dkim}\
         [[digest]]\nname = \"weekly\"\nfrequency = \"weekly\"\ncron = \"0 8 * * Mon\"\n\
         subject = \"This week in skincare: {{{{ top_topic }}}}\"\nmax_topics = 5\nmax_articles_per_topic = 3\n",
        content = content.display(),
        feeds = dir.join("feeds").display(),
    );
    let path = dir.join("feedletter.toml");
    std::fs::write(&path, text)?;
    Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// What the bench's subscribers follow: eight choices, each with news in
/// the sample week, so every subscriber gets a digest.
const CHOICES: &[&[&str]] = &[
    &[],
    &["exosomes"],
    &["exosomes", "microneedling"],
    &["microneedling"],
    &["sunscreen", "microneedling"],
    &["niacinamide", "exosomes"],
    &["hyaluronic-acid", "exosomes"],
    &["retinol", "microneedling"],
];

fn main() -> Result<()> {
    let n = env_count("FEEDLETTER_BENCH_SUBSCRIBERS", 100_000)?;
    let pool = u32::try_from(env_count("FEEDLETTER_BENCH_POOL", 8)?)?;
    let dkim = std::env::var("FEEDLETTER_BENCH_DKIM").is_ok_and(|v| v == "ed25519");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (messages, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        tokio::spawn(sink(listener, messages.clone(), bytes.clone()));

        let db = store::BenchStore::create(dir.path()).await?;
        let config = config(dir.path(), &db.url, port, pool, dkim)?;
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-25T12:00:00+05:30")?.into();
        let clock = FixedClock::new(now);
        let store = feedletter::store::connect(&config.store).await?;
        feedletter::ingest::ingest_once(store.as_ref(), &config, &clock).await?;
        let started = Instant::now();
        let mut rows = Vec::with_capacity(2000);
        for i in 0..n {
            rows.push(ImportRow {
                email: SubscriberEmail::parse(&format!("reader{i}@inbox{}.example", i % 50))
                    .map_err(anyhow::Error::msg)?,
                topics: CHOICES[i % CHOICES.len()]
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect(),
                frequency: Frequency::Weekly,
            });
            if rows.len() == 2000 || i + 1 == n {
                store.import_batch(&rows, true, &ConsentSource::Import("bench".into()), now).await?;
                rows.clear();
            }
        }
        println!(
            "set-up: {n} confirmed weekly subscribers in {:.1} s (not timed below)",
            started.elapsed().as_secs_f64()
        );

        let deliverer = Deliverer {
            store: store.clone(),
            mailer: feedletter::mail::Mailer::from_config(&config.mail)?,
            config: Arc::new(config.clone()),
            tera: Arc::new(feedletter::templates::load(&config.site.templates_dir)?),
            clock: Arc::new(clock.clone()),
            instance: feedletter::delivery::instance::Instance::register(
                store.clone(),
                Arc::new(clock.clone()),
                "digest send",
            )
            .await?,
        };
        let schedule = feedletter::digest::schedule(&config, "weekly")?.clone();
        let fire = feedletter::digest::fire_at(&schedule, now)?;
        let stop = tokio_util::sync::CancellationToken::new();
        // Start the high-water mark afresh: the set-up's peak is not the run's.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = proc_status_mib("VmRSS:");
        let started = Instant::now();
        let report = deliverer
            .fire(&schedule, fire, &Options::default(), &stop)
            .await?;
        let elapsed = started.elapsed();
        let got = messages.load(Ordering::Relaxed);
        ensure!(
            report.sent + report.skipped == n as u64,
            "sent {} + skipped {} of {n}",
            report.sent,
            report.skipped
        );
        ensure!(got == report.sent, "the sink got {got} of {}", report.sent);
        println!(
            "digest run on {}, {n} subscribers, SMTP pool of {pool}, no pacing, {}:",
            db.kind(),
            if dkim { "Ed25519 DKIM" } else { "no DKIM" }
        );
        println!(
            "  {} sent, {} skipped (nothing new in their topics) in {:.1} s: {:.0} messages/s",
            report.sent,
            report.skipped,
            elapsed.as_secs_f64(),
            report.sent as f64 / elapsed.as_secs_f64()
        );
        println!(
            "  {:.1} KB per message on average; resident memory {before:.1} MiB before, peak {:.1} MiB (VmHWM, whole process)",
            bytes.load(Ordering::Relaxed) as f64 / got.max(1) as f64 / 1000.0,
            proc_status_mib("VmHWM:")
        );
        println!(
            "  database after the run: {:.1} MB",
            db.size_bytes().await? as f64 / 1e6
        );
        drop(deliverer);
        drop(store);
        db.remove().await?;
        Ok(())
    })
}
