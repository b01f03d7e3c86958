//! Digest sending measured from outside: `feedletter digest send` as a
//! process against Postfix's `smtp-sink`, next to Postfix's own
//! `smtp-source` pushing messages of the same size over the same number of
//! reused connections to the same sink.
//!
//!     cargo bench --bench digest_send                                   # 20,000 subscribers
//!     FEEDLETTER_BENCH_SUBSCRIBERS=100000 cargo bench --bench digest_send
//!     FEEDLETTER_BENCH_POOL=8 cargo bench --bench digest_send           # SMTP connections (default 4)
//!     FEEDLETTER_BENCH_WRAP="perf record -g -o /tmp/send.perf --" cargo bench --bench digest_send
//!
//! Needs `smtp-sink` and `smtp-source` (Debian package `postfix`; the
//! Postfix daemon itself need not run); without them the bench says so and
//! stops. The site is the bench corpus (`benches/corpus`, default 4,000
//! articles over two years, so about 38 in the digest's week) ingested into
//! a fresh SQLite store, with N confirmed weekly subscribers who follow the
//! five topics trending that week: each digest holds five topics of three
//! articles, HTML and text. Set-up is not timed. Then `digest send` runs for the week's fire,
//! unpaced, with `pool_size` SMTP connections, timed from spawn to exit;
//! peak memory is its maximum resident size (`wait4`). Message size is
//! what the sink read per message (`/proc/<sink>/io`), SMTP commands
//! included; `smtp-source` is given the payload length that makes its
//! messages the same size on the wire, and runs twice.

use anyhow::{Context as _, Result, bail, ensure};
use chrono::{DateTime, Utc};
use feedletter::domain::{ConsentSource, Frequency, SubscriberEmail};
use feedletter::store::ImportRow;
use feedletter::{Config, FixedClock};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[path = "corpus/mod.rs"]
mod corpus;
use common::env_count;

const SEED: u64 = 16;
/// The moment `digest send` sends for: the corpus's last week is the
/// digest's (Monday 2026-06-29 08:00 IST fire).
const AT: &str = "2026-07-01T12:00:00+05:30";
/// With `FEEDLETTER_BENCH_CONTENT=sample`: the sample publication's week.
const SAMPLE_AT: &str = "2026-11-25T12:00:00+05:30";

/// The sample publication (`content/`, readers following everything)
/// rather than the corpus.
fn sample() -> bool {
    std::env::var("FEEDLETTER_BENCH_CONTENT").is_ok_and(|v| v == "sample")
}

fn at() -> &'static str {
    if sample() { SAMPLE_AT } else { AT }
}

/// `name` on PATH or in /usr/sbin (where Debian puts Postfix's tools).
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Bytes the process has read through read(2) and friends.
fn rchar(pid: u32) -> Result<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io"))?;
    io.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no rchar in /proc/<pid>/io")
}

/// A free loopback port (bound, then let go).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Sink {
    child: Child,
    addr: String,
}

impl Sink {
    fn start(bin: &Path) -> Result<Self> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let mut cmd = Command::new(bin);
        // As root it must drop privileges; `nobody` always exists.
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-u", "nobody"]);
        }
        // FEEDLETTER_BENCH_DUMP=<file>: the sink appends every message there
        // (slow; for looking at what is sent).
        if let Ok(file) = std::env::var("FEEDLETTER_BENCH_DUMP") {
            cmd.args(["-D", &file]);
        }
        let child = cmd
            .args([addr.as_str(), "256"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting smtp-sink")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(&addr).is_err() {
            ensure!(
                Instant::now() < deadline,
                "smtp-sink does not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, addr })
    }

    fn read(&self) -> Result<u64> {
        rchar(self.child.id())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to its end: (elapsed, peak resident MiB, stdout).
fn timed(mut cmd: Command) -> Result<(Duration, f64, String)> {
    let out = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    let child = cmd
        .stdout(out.reopen()?)
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let mut status = 0;
    // SAFETY: a plain wait4 on our own child; rusage is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(child.id())?;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    ensure!(waited == pid, "wait4 failed");
    ensure!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed (status {status})"
    );
    let stdout = std::fs::read_to_string(out.path())?;
    Ok((elapsed, usage.ru_maxrss as f64 / 1024.0, stdout))
}

fn site_config(dir: &Path, sink: &str, pool: usize) -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (host, port) = sink.rsplit_once(':').context("sink address")?;
    let path = dir.join("feedletter.toml");
    std::fs::write(
        &path,
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
host = "{host}"
port = {port}
tls = "none"
pool_size = {pool}
[[digest]]
name = "weekly"
frequency = "weekly"
cron = "0 8 * * Mon"
timezone = "Asia/Kolkata"
subject = "This week: {{{{ top_topic }}}}"
max_topics = 5
max_articles_per_topic = 3
"#,
            templates = root.join("templates").display(),
            db = dir.join("bench.db").display(),
            content = dir.join("content").display(),
            feeds = dir.join("feeds").display(),
        ),
    )?;
    Ok(path)
}

/// The corpus ingested and `n` subscribers who follow everything.
async fn set_up(config_path: &Path, n: usize, articles: usize) -> Result<()> {
    let config = Config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if sample() {
        std::fs::create_dir_all(&config.content.dir)?;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        for e in std::fs::read_dir(root)? {
            let e = e?;
            std::fs::copy(e.path(), config.content.dir.join(e.file_name()))?;
        }
    } else {
        corpus::write_articles(&config.content.dir, articles, SEED)?;
    }
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(at())?.into();
    let clock = FixedClock::new(now);
    let store = feedletter::store::connect(&config.store).await?;
    feedletter::ingest::ingest_once(store.as_ref(), &config, &clock).await?;
    let follows = if sample() {
        Vec::new()
    } else {
        five_topics(store.as_ref(), &config, now).await?
    };
    let mut rows = Vec::with_capacity(2000);
    for i in 0..n {
        rows.push(ImportRow {
            email: SubscriberEmail::parse(&format!("reader{i}@inbox{}.example", i % 50))
                .map_err(anyhow::Error::msg)?,
            topics: follows.clone(),
            frequency: Frequency::Weekly,
        });
        if rows.len() == 2000 || i + 1 == n {
            store
                .import_batch(&rows, true, &ConsentSource::Import("bench".into()), now)
                .await?;
            rows.clear();
        }
    }
    Ok(())
}

/// The five topics trending at the fire with the most news: a reader who
/// follows them gets five topics of three articles and no "also new".
async fn five_topics(
    store: &dyn feedletter::store::Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let schedule = feedletter::digest::schedule(config, "weekly")?;
    let fire = feedletter::digest::fire_at(schedule, now)?;
    let since = fire - chrono::Duration::days(7);
    let material = feedletter::digest::material(store, config, fire, since).await?;
    let everything = material.compose(&[], since, feedletter::digest::limits(schedule));
    let follows: Vec<String> = everything.topics.iter().map(|s| s.topic.clone()).collect();
    let full = everything
        .topics
        .iter()
        .filter(|s| s.articles.len() == 3)
        .count();
    ensure!(
        follows.len() == 5 && full == 5,
        "the corpus week has {} trending topics, {full} with three articles",
        follows.len()
    );
    Ok(follows)
}

/// `smtp-source` sending `count` messages of `payload` bytes over `pool`
/// kept connections: (messages/s, bytes the sink read per message).
fn source(bin: &Path, sink: &Sink, pool: usize, count: usize, payload: u64) -> Result<(f64, f64)> {
    let before = sink.read()?;
    let mut cmd = Command::new(bin);
    cmd.args(["-d", "-s", &pool.to_string(), "-m", &count.to_string()])
        .args(["-l", &payload.to_string()])
        .args(["-f", "digest@dewline.example", "-t", "reader@inbox.example"])
        .arg(&sink.addr);
    let (elapsed, _, _) = timed(cmd)?;
    // The sink reads the last bytes a moment after the sender has exited.
    std::thread::sleep(Duration::from_millis(200));
    let per = (sink.read()? - before) as f64 / count as f64;
    Ok((count as f64 / elapsed.as_secs_f64(), per))
}

fn main() -> Result<()> {
    let n = env_count("FEEDLETTER_BENCH_SUBSCRIBERS", 20_000)?;
    let pool = env_count("FEEDLETTER_BENCH_POOL", 4)?;
    let articles = env_count("FEEDLETTER_BENCH_ARTICLES", 4_000)?;
    let (Some(sink_bin), Some(source_bin)) = (tool("smtp-sink"), tool("smtp-source")) else {
        println!("smtp-sink or smtp-source not found (Debian: apt-get install postfix): skipped");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let sink = Sink::start(&sink_bin)?;
    let config = site_config(dir.path(), &sink.addr, pool)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    rt.block_on(set_up(&config, n, articles))?;
    drop(rt);
    let site = if sample() {
        format!("the sample publication, {n} confirmed weekly subscribers following everything")
    } else {
        format!(
            "{articles} corpus articles, {n} confirmed weekly subscribers following five trending topics"
        )
    };
    println!(
        "set-up: {site} in {:.1} s (not timed below)",
        started.elapsed().as_secs_f64()
    );

    let before = sink.read()?;
    let wrap = std::env::var("FEEDLETTER_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut cmd = match words.next() {
        Some(first) => {
            let mut c = Command::new(first);
            c.args(words).arg(env!("CARGO_BIN_EXE_feedletter"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_feedletter")),
    };
    cmd.arg("--config")
        .arg(&config)
        .args(["digest", "send", "--schedule", "weekly", "--at", at()])
        .env("RUST_LOG", "warn");
    let (elapsed, peak, out) = timed(cmd)?;
    std::thread::sleep(Duration::from_millis(200));
    let sent: u64 = out
        .split_once(" sent now;")
        .and_then(|(head, _)| head.rsplit(' ').next())
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no `N sent now` in the output: {out}"))?;
    if sent != n as u64 {
        bail!("sent {sent} of {n}: {out}");
    }
    let per = (sink.read()? - before) as f64 / n as f64;
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "feedletter digest send: {n} messages over {pool} connections in {:.2} s: {rate:.0} messages/s; \
         {:.1} KB per message on the wire; peak resident {peak:.1} MiB{}",
        elapsed.as_secs_f64(),
        per / 1000.0,
        if wrap.is_empty() {
            ""
        } else {
            " (wrapped: peak is the wrapper's)"
        }
    );

    // smtp-source's own headers and commands: a small run tells their size.
    let (_, overhead) = source(&source_bin, &sink, pool, 200, 1)?;
    let payload = (per - overhead + 1.0).max(1.0) as u64;
    for round in 1..=2 {
        let (src_rate, src_per) = source(&source_bin, &sink, pool, n, payload)?;
        println!(
            "smtp-source round {round}: {n} messages of {:.1} KB on the wire (payload {payload} B) over {pool} connections: \
             {src_rate:.0} messages/s; feedletter at {:.2}x",
            src_per / 1000.0,
            rate / src_rate
        );
    }
    Ok(())
}
