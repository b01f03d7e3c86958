//! Digest sending measured from outside: `feedletter digest send` as a
//! process against Postfix's `smtp-sink`, next to Postfix's own
//! `smtp-source` pushing messages of the same size over the same number of
//! reused connections to the same sink.
//!
//!     cargo bench --bench digest_send                                   # 20,000 subscribers
//!     FEEDLETTER_BENCH_SUBSCRIBERS=100000 cargo bench --bench digest_send
//!     FEEDLETTER_BENCH_POOL=8 cargo bench --bench digest_send           # SMTP connections (default 4)
//!     FEEDLETTER_BENCH_DIGEST=2x3 cargo bench --bench digest_send        # topics x articles (default 5x3)
//!     FEEDLETTER_BENCH_CONTENT=sample cargo bench --bench digest_send   # the sample publication
//!     FEEDLETTER_BENCH_WRAP="perf record -g -o /tmp/send.perf --" cargo bench --bench digest_send
//!
//! Needs `smtp-sink` and `smtp-source` (Debian package `postfix`; the
//! Postfix daemon itself need not run); without them the bench says so and
//! stops. The site is the bench corpus (`benches/corpus`, default 4,000
//! articles over two years, so about 38 in the digest's week) ingested into
//! a fresh SQLite store, with N confirmed weekly subscribers who follow the
//! five topics trending that week: each digest holds five topics of three
//! articles, HTML and text (`FEEDLETTER_BENCH_DIGEST=TxA`: T topics of A
//! articles, the schedule's `max_topics` and `max_articles_per_topic`, for
//! smaller or larger messages). Set-up is not timed, and runs in a process
//! of its own. Then `digest send` runs for the week's fire, unpaced, with
//! `pool_size` SMTP connections, timed from spawn to exit; peak memory is
//! its maximum resident size (`wait4`; Linux counts a child's share of its
//! parent's memory before exec in that figure, so it is never below the
//! bench process's own peak, which is printed). Message size is
//! what the sink read per message (`/proc/<sink>/io`), SMTP commands
//! included; `smtp-source` is given the payload length that makes its
//! messages the same size on the wire, and runs after each round of sends.
//!
//! `FEEDLETTER_BENCH_BEFORE=<another feedletter binary>` sends with it
//! too, just before this build's, from the same store; with
//! `FEEDLETTER_BENCH_ROUNDS=N` every round runs each sender and then
//! `smtp-source`, and the ratios of each round and their medians are
//! printed. With `FEEDLETTER_BENCH_WRAP` (a profiler, say) the peak memory
//! is the wrapper's.

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

/// Topics and articles per topic of each digest (`FEEDLETTER_BENCH_DIGEST`,
/// `TxA`, default `5x3`).
fn shape() -> Result<(usize, usize)> {
    let Ok(v) = std::env::var("FEEDLETTER_BENCH_DIGEST") else {
        return Ok((5, 3));
    };
    v.split_once('x')
        .and_then(|(t, a)| Some((t.trim().parse().ok()?, a.trim().parse().ok()?)))
        .filter(|&(t, a)| t > 0 && a > 0)
        .with_context(|| format!("FEEDLETTER_BENCH_DIGEST='{v}' is not `TxA` (e.g. 5x3)"))
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
    let (topics, per_topic) = shape()?;
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
max_topics = {topics}
max_articles_per_topic = {per_topic}
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
        trending_topics(store.as_ref(), &config, now).await?
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

/// The topics trending at the fire with the most news, as many as a digest
/// shows: a reader who follows them gets that many topics, each with as
/// many articles as a topic shows, and no "also new".
async fn trending_topics(
    store: &dyn feedletter::store::Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let schedule = feedletter::digest::schedule(config, "weekly")?;
    let fire = feedletter::digest::fire_at(schedule, now)?;
    let since = fire - chrono::Duration::days(7);
    let material = feedletter::digest::material(store, config, fire, since).await?;
    let everything = material.compose(&[], since, feedletter::digest::limits(schedule));
    let (topics, per_topic) = (schedule.max_topics, schedule.max_articles_per_topic);
    let follows: Vec<String> = everything.topics.iter().map(|s| s.topic.clone()).collect();
    let full = everything
        .topics
        .iter()
        .filter(|s| s.articles.len() == per_topic)
        .count();
    ensure!(
        follows.len() == topics && full == topics,
        "the corpus week has {} trending topics, {full} with {per_topic} articles; {topics} wanted",
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

/// A copy of the store in `dir` as it is now, in `to` (`VACUUM INTO`:
/// consistent whatever the set-up's connections still hold).
async fn snapshot(dir: &Path, to: &Path) -> Result<()> {
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("bench.db").display())).await?;
    let target = to.join("bench.db");
    sqlx::query("VACUUM INTO $1")
        .bind(target.to_str().context("a path in UTF-8")?)
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

/// The store in `dir` replaced by the snapshot in `from`.
fn restore(from: &Path, dir: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("bench.db{suffix}")));
    }
    std::fs::copy(from.join("bench.db"), dir.join("bench.db"))?;
    Ok(())
}

/// `feedletter digest send` (the binary `bin`) as a process, wrapped as
/// `FEEDLETTER_BENCH_WRAP` says: (messages/s, bytes the sink read per
/// message, peak resident MiB).
fn send(bin: &Path, config: &Path, sink: &Sink, n: usize) -> Result<(f64, f64, f64)> {
    let before = sink.read()?;
    let wrap = std::env::var("FEEDLETTER_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut cmd = match words.next() {
        Some(first) => {
            let mut c = Command::new(first);
            c.args(words).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("--config")
        .arg(config)
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
    Ok((n as f64 / elapsed.as_secs_f64(), per, peak))
}

/// Set by the bench for the copy of itself that sets the site up: the
/// config's path.
const SET_UP_VAR: &str = "FEEDLETTER_BENCH_SET_UP";

/// The site ingested, the subscribers imported and the store's snapshot
/// taken, in a process of its own (see `main`).
fn set_up_process(config: &Path) -> Result<()> {
    let n = env_count("FEEDLETTER_BENCH_SUBSCRIBERS", 20_000)?;
    let articles = env_count("FEEDLETTER_BENCH_ARTICLES", 4_000)?;
    let dir = config.parent().context("the config's folder")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(set_up(config, n, articles))?;
    let pristine = dir.join("pristine");
    std::fs::create_dir_all(&pristine)?;
    rt.block_on(snapshot(dir, &pristine))
}

/// This process's own peak resident size, MiB.
fn own_peak() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<()> {
    if let Some(config) = std::env::var_os(SET_UP_VAR) {
        return set_up_process(Path::new(&config));
    }
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
    let started = Instant::now();
    // Set-up (ingest, import, a snapshot every send starts from) runs in a
    // copy of this process: a process started from this one begins with
    // this one's peak resident size as its own (Linux counts the memory
    // map it shares until exec), so this one stays small.
    let status = Command::new(std::env::current_exe()?)
        .env(SET_UP_VAR, &config)
        .status()?;
    ensure!(status.success(), "set-up failed ({status})");
    let pristine = dir.path().join("pristine");
    let site = if sample() {
        format!("the sample publication, {n} confirmed weekly subscribers following everything")
    } else {
        let (topics, per_topic) = shape()?;
        format!(
            "{articles} corpus articles, {n} confirmed weekly subscribers following {topics} trending topics \
             ({per_topic} articles each)"
        )
    };
    println!(
        "set-up: {site} in {:.1} s (not timed below); the bench process's own peak: {:.1} MiB",
        started.elapsed().as_secs_f64(),
        own_peak().unwrap_or(f64::NAN)
    );

    let mut senders = Vec::new();
    if let Ok(other) = std::env::var("FEEDLETTER_BENCH_BEFORE") {
        senders.push(("before", PathBuf::from(other)));
    }
    senders.push((
        "this build",
        PathBuf::from(env!("CARGO_BIN_EXE_feedletter")),
    ));
    let rounds = env_count("FEEDLETTER_BENCH_ROUNDS", 1)?.max(1);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); senders.len()];
    let mut payload = None;
    for round in 1..=rounds {
        let mut rates = Vec::new();
        for (name, bin) in &senders {
            restore(&pristine, dir.path())?;
            let (rate, per, peak) = send(bin, &config, &sink, n)?;
            println!(
                "round {round}, {name}: feedletter digest send: {n} messages over {pool} connections: \
                 {rate:.0} messages/s; {:.1} KB per message on the wire; peak resident {peak:.1} MiB",
                per / 1000.0,
            );
            rates.push(rate);
            if payload.is_none() {
                // smtp-source's own headers and commands: a small run
                // tells their size.
                let (_, overhead) = source(&source_bin, &sink, pool, 200, 1)?;
                payload = Some((per - overhead + 1.0).max(1.0) as u64);
            }
        }
        let payload = payload.context("no send ran")?;
        let (src_rate, src_per) = source(&source_bin, &sink, pool, n, payload)?;
        println!(
            "round {round}: smtp-source: {n} messages of {:.1} KB on the wire (payload {payload} B) over {pool} connections: \
             {src_rate:.0} messages/s",
            src_per / 1000.0,
        );
        for (i, rate) in rates.iter().enumerate() {
            println!(
                "round {round}, {}: {:.2}x smtp-source",
                senders[i].0,
                rate / src_rate
            );
            ratios[i].push(rate / src_rate);
        }
    }
    for (i, (name, _)) in senders.iter().enumerate() {
        let r = &mut ratios[i];
        r.sort_by(f64::total_cmp);
        println!(
            "{name}: median {:.2}x smtp-source over {rounds} round(s) (rounds: {})",
            r[r.len() / 2],
            r.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
