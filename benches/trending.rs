//! Trending over a large history, in two parts:
//!
//!     cargo bench --bench trending
//!     FEEDLETTER_BENCH_ARTICLES=10000 cargo bench --bench trending   # smaller store
//!     FEEDLETTER_BENCH_DIR=/tmp/trending cargo bench --bench trending # keep and reuse the store
//!
//! 1. In process, for profiling: the pure `trending::analyze` over 100,000
//!    synthetic articles over 12 weeks and 500 topics (2-6 an article), no
//!    database: 3 warm-up runs, then 20 timed runs; min / median / max.
//! 2. As a user meets it (the figure that counts): the `feedletter` binary
//!    as a process on a SQLite store of `FEEDLETTER_BENCH_ARTICLES`
//!    (default 100,000) generated Markdown articles over two years, the
//!    built-in vocabulary and candidates on. The store is made once by a
//!    cold `feedletter ingest` (not timed here: see the ingest bench); then
//!    `feedletter trending --json` and `feedletter topics candidates
//!    --json` run 9 times each, wall clock from start to exit; min /
//!    median / max. Target: trending under 200 ms.
//!
//! `FEEDLETTER_BENCH_DIR=<folder>` makes the store there, or reuses the
//! one a previous run made there (delete the folder to start again).

#[path = "corpus/mod.rs"]
mod corpus;
#[path = "corpus/events.rs"]
mod events;

use anyhow::{Context as _, Result, ensure};
use chrono::DateTime;
use feedletter::topics::trending::{Params, analyze};
use std::path::Path;
use std::time::{Duration, Instant};

const SEED: u64 = 0x007e_4d11;
const PROCESS_RUNS: usize = 9;
const TARGET_MS: f64 = 200.0;

fn main() -> Result<()> {
    in_process();
    as_process()
}

fn in_process() {
    let now = DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z")
        .unwrap_or_default()
        .to_utc();
    let per_week = 100_000 / 12 + 1;
    let t = Instant::now();
    let c = events::generate(42, 12, per_week, 500, now);
    println!(
        "in process: {} articles, {} topic occurrences, generated in {} ms",
        c.published.len(),
        c.occurrences.len(),
        t.elapsed().as_millis()
    );
    let params = Params::default();
    for _ in 0..3 {
        std::hint::black_box(analyze(c.now, &params, &c.input()));
    }
    let mut ms: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let r = analyze(c.now, &params, &c.input());
            std::hint::black_box(r);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let r = analyze(c.now, &params, &c.input());
    println!(
        "  trending::analyze: min {:.1} ms, median {:.1} ms, max {:.1} ms; {} topics flagged, first {:?}",
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        r.len(),
        r.first().map(|t| c.id(t.topic))
    );
}

fn as_process() -> Result<()> {
    let count = match std::env::var("FEEDLETTER_BENCH_ARTICLES") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .with_context(|| format!("FEEDLETTER_BENCH_ARTICLES='{v}' is not a count"))?,
        Err(_) => 100_000,
    };
    ensure!(count > 0, "FEEDLETTER_BENCH_ARTICLES must be at least 1");
    let temp;
    let root = match std::env::var_os("FEEDLETTER_BENCH_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let config = root.join("feedletter.toml");
    let made = root.join("store-made");
    if made.exists() {
        println!("as a process: reusing the store in {}", root.display());
    } else {
        let t = Instant::now();
        let content = root.join("content");
        corpus::write_articles(&content, count, SEED)?;
        let generated = t.elapsed();
        std::fs::write(
            &config,
            format!(
                "[site]\ntitle = \"Feedletter bench\"\nbase_url = \"https://bench.example\"\n\
                 timezone = \"Asia/Kolkata\"\n[store]\nurl = \"sqlite://{}\"\n\
                 [content]\ndir = \"{}\"\n[feeds]\ndir = \"{}\"\n",
                escape(&root.join("bench.db")),
                escape(&content),
                escape(&root.join("feeds")),
            ),
        )?;
        let t = Instant::now();
        let out = feedletter(&config, &["ingest", "--json"])?;
        let v: serde_json::Value = serde_json::from_slice(&out)?;
        ensure!(
            v["new"].as_array().map(Vec::len) == Some(count),
            "the cold ingest stored {} of {count} articles",
            v["new"].as_array().map_or(0, Vec::len)
        );
        println!(
            "as a process: {count} articles generated in {:.1} s and ingested in {:.1} s (not timed below)",
            generated.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        std::fs::write(&made, b"")?;
    }
    let mut trending_ms = 0.0;
    for (name, args) in [
        (
            "trending --json",
            vec!["trending", "--json", "--at", corpus::AFTER_ALL],
        ),
        (
            "topics candidates --json",
            vec!["topics", "candidates", "--json", "--at", corpus::AFTER_ALL],
        ),
    ] {
        // One untimed run warms the page cache, as a daemon's store is.
        let out = feedletter(&config, &args)?;
        let v: serde_json::Value = serde_json::from_slice(&out)?;
        let mut runs: Vec<Duration> = Vec::new();
        for _ in 0..PROCESS_RUNS {
            let t = Instant::now();
            let again = feedletter(&config, &args)?;
            runs.push(t.elapsed());
            ensure!(
                again == out,
                "feedletter {name} answered differently on the same store"
            );
        }
        runs.sort();
        let median = ms(runs[runs.len() / 2]);
        let what = if name.starts_with("trending") {
            trending_ms = median;
            let topics = v["topics"].as_array().map_or(0, Vec::len);
            format!("{topics} topics, first {}", v["topics"][0]["id"])
        } else {
            format!(
                "{} candidates",
                v["candidates"].as_array().map_or(0, Vec::len)
            )
        };
        println!(
            "  feedletter {name:<26} min {:>7.1}  median {:>7.1}  max {:>7.1} ms ({what})",
            ms(runs[0]),
            median,
            ms(runs[runs.len() - 1]),
        );
    }
    println!(
        "  trending as a process at {count} articles: {trending_ms:.1} ms (target: under {TARGET_MS:.0} ms: {})",
        if trending_ms < TARGET_MS {
            "met"
        } else {
            "missed"
        }
    );
    Ok(())
}

/// Runs the binary with `args` on `config`; its standard output.
fn feedletter(config: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()?;
    ensure!(
        out.status.success(),
        "feedletter {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

fn escape(p: &Path) -> String {
    p.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
