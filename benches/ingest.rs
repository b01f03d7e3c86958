//! Ingest and feed build over a generated corpus.
//!
//!     cargo bench --bench ingest
//!     FEEDLETTER_BENCH_ARTICLES=500 cargo bench --bench ingest   # quick run
//!
//! Scenarios, each timed as `ingest_once` + `build_feeds_once`:
//! - cold: fresh database and empty feeds folder, every file new;
//! - no change: a re-run over the same database with nothing touched;
//! - one change: the newest article's body rewritten (new size and mtime).
//!
//! What topic and candidate extraction cost: compare with
//!
//!     FEEDLETTER_BENCH_CANDIDATES=off FEEDLETTER_BENCH_VOCABULARY=$PWD/benches/one-topic.toml \
//!         cargo bench --bench ingest      # neither (the path must be absolute)
//!     FEEDLETTER_BENCH_CANDIDATES=off cargo bench --bench ingest   # topics only
//!
//! At the end, `feedletter trending --json` and `topics candidates --json`
//! are timed as processes on the store the cold run left.
//!
//! The corpus is generated once; each cold run gets its own database, since
//! the store remembers file stamps. Files are in the page cache throughout.
//! The store is a SQLite file, or with
//! `FEEDLETTER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres`
//! a fresh database on that PostgreSQL server per cold run.

#[path = "corpus/mod.rs"]
mod corpus;
#[path = "common/store.rs"]
mod store;

use anyhow::{Context as _, Result, ensure};
use chrono::{DateTime, Utc};
use feedletter::feeds::{BuildReport, Scope, build_feeds, build_feeds_once};
use feedletter::ingest::{IngestReport, check_content, ingest_once};
use feedletter::store::Store;
use feedletter::{Config, FixedClock};
use std::path::Path;
use std::time::{Duration, Instant};

const SEED: u64 = 0x00fe_ed1e;
const DEFAULT_ARTICLES: usize = 10_000;
const COLD_RUNS: usize = 5;
const NO_CHANGE_RUNS: usize = 20;
const ONE_CHANGE_RUNS: usize = 20;
const PHASE_RUNS: usize = 3;
const COLD_TARGET_MS: f64 = 3_000.0;
const ONE_CHANGE_TARGET_MS: f64 = 150.0;

/// One timed `ingest_once` + `build_feeds_once`.
struct Run {
    ingest: Duration,
    build: Duration,
    report: IngestReport,
    built: BuildReport,
}

impl Run {
    fn total(&self) -> Duration {
        self.ingest + self.build
    }
}

fn main() -> Result<()> {
    let count = match std::env::var("FEEDLETTER_BENCH_ARTICLES") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .with_context(|| format!("FEEDLETTER_BENCH_ARTICLES='{v}' is not a count"))?,
        Err(_) => DEFAULT_ARTICLES,
    };
    ensure!(count > 0, "FEEDLETTER_BENCH_ARTICLES must be at least 1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let now: DateTime<Utc> = corpus::AFTER_ALL.parse()?;
    let clock = FixedClock::new(now);

    let root = tempfile::tempdir()?;
    let content = root.path().join("content");
    let started = Instant::now();
    let corpus = corpus::write_articles(&content, count, SEED)?;
    let generated = started.elapsed();
    let newest = corpus.newest().context("empty corpus")?.clone();
    println!(
        "corpus: {count} files, {:.1} MB ({:.0} bytes per file on average), generated in {} ms",
        mb(corpus.total_bytes),
        corpus.total_bytes as f64 / count as f64,
        generated.as_millis()
    );

    // Cold: a fresh database and feeds folder each time, same content folder.
    let mut cold = Vec::new();
    let mut kept = None;
    for r in 0..COLD_RUNS {
        let dir = root.path().join(format!("run-{r}"));
        std::fs::create_dir_all(&dir)?;
        let db = rt.block_on(store::BenchStore::create(&dir))?;
        let config = config_for(&dir, &content, &db.url)?;
        let store = rt.block_on(feedletter::store::connect(&config.store))?;
        if r == 0 {
            println!("store: {}", db.kind());
        }
        let run = rt.block_on(run_once(store.as_ref(), &config, &clock, true))?;
        ensure!(
            run.report.new.len() == count && run.report.rejected.is_empty(),
            "cold run {r}: {} new, {} rejected (first: {:?}); expected {count} new, 0 rejected",
            run.report.new.len(),
            run.report.rejected.len(),
            run.report.rejected.first()
        );
        ensure!(
            run.report.updated.is_empty() && run.report.scheduled.is_empty(),
            "cold run {r}: unexpected updated or scheduled articles"
        );
        ensure!(
            ["rss.xml", "atom.xml", "feed.json"].iter().all(|f| run
                .built
                .written
                .iter()
                .any(|w| w == f)),
            "cold run {r}: wrote {:?}",
            run.built.written
        );
        cold.push(run);
        if r + 1 == COLD_RUNS {
            kept = Some((db, config, store));
        } else {
            drop(store);
            rt.block_on(db.remove())?;
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let (db, config, store) = kept.context("no cold run")?;
    let db_bytes = rt.block_on(db.size_bytes())?;
    // Rows written besides the articles: one per (article, topic).
    let topic_rows = rt.block_on(store.topic_data())?.occurrences.len();

    // No change: nothing to read, nothing to write.
    let mut unchanged = Vec::new();
    for r in 0..NO_CHANGE_RUNS {
        let run = rt.block_on(run_once(store.as_ref(), &config, &clock, false))?;
        ensure!(
            !run.report.changed() && run.report.unchanged == count,
            "no-change run {r}: {} new, {} updated, {} withdrawn, {} unchanged",
            run.report.new.len(),
            run.report.updated.len(),
            run.report.withdrawn.len(),
            run.report.unchanged
        );
        ensure!(
            run.built.written.is_empty(),
            "no-change run {r}: wrote {:?}",
            run.built.written
        );
        unchanged.push(run);
    }

    // One change: the newest article (so the feeds change too), a new body
    // each time. The rewrite itself is not timed.
    let mut one = Vec::new();
    for r in 0..ONE_CHANGE_RUNS {
        corpus::rewrite_body(&newest.path, SEED ^ (r as u64 + 1))?;
        let run = rt.block_on(run_once(store.as_ref(), &config, &clock, false))?;
        ensure!(
            run.report.updated == [newest.slug.clone()]
                && run.report.new.is_empty()
                && run.report.withdrawn.is_empty()
                && run.report.rejected.is_empty()
                && run.report.unchanged == count - 1,
            "one-change run {r}: {} new, {:?} updated, {} withdrawn, {} rejected, {} unchanged",
            run.report.new.len(),
            run.report.updated,
            run.report.withdrawn.len(),
            run.report.rejected.len(),
            run.report.unchanged
        );
        ensure!(
            ["rss.xml", "atom.xml", "feed.json"].iter().all(|f| run
                .built
                .written
                .iter()
                .any(|w| w == f)),
            "one-change run {r}: wrote {:?}",
            run.built.written
        );
        one.push(run);
    }

    // Where the time goes: the parts that can be timed from outside.
    let p = rt.block_on(phases(&content, store.as_ref(), &config))?;

    println!();
    println!(
        "{:<12} {:>5} {:>12} {:>12} {:>10} {:>10} {:>10}  target ms",
        "scenario", "runs", "ingest med", "build med", "min ms", "median ms", "max ms"
    );
    row("cold", &cold, Some(COLD_TARGET_MS));
    row("no change", &unchanged, None);
    row("one change", &one, Some(ONE_CHANGE_TARGET_MS));
    println!();
    println!(
        "database after the cold run: {:.1} MB (a SQLite file with its WAL, or pg_database_size); feeds: {} files of up to {} articles",
        mb(db_bytes),
        config.feeds.formats.len(),
        config.feeds.limit
    );
    println!(
        "topic rows after the cold run: {topic_rows} ({:.1} per article)",
        topic_rows as f64 / count as f64
    );
    println!();
    println!("where ingest's time goes (medians, ms; parts timed apart, \"rest\" by subtraction):");
    let cold_ingest = median_of(&cold, |r| r.ingest);
    let still_ingest = median_of(&unchanged, |r| r.ingest);
    let one_ingest = median_of(&one, |r| r.ingest);
    let lines = [
        ("cold ingest_once", cold_ingest),
        (
            "  check_content(): scan, read, parse all files",
            p.scan_parse,
        ),
        (
            "  rest: decide + apply_changes (all inserts)",
            cold_ingest.saturating_sub(p.scan_parse),
        ),
        ("no-change ingest_once", still_ingest),
        ("  store.article_index(), full database", p.index),
        ("  read_dir + metadata of every file", p.walk),
        (
            "  rest: compare stamps + decide",
            still_ingest.saturating_sub(p.index + p.walk),
        ),
        ("one-change ingest_once", one_ingest),
        ("store.published_articles(feeds.limit)", p.published),
    ];
    for (name, d) in lines {
        println!("  {name:<48} {:>9.1}", ms(d));
    }
    println!(
        "  {:<48} {:>+9.1}",
        "one-change minus no-change ingest",
        ms(one_ingest) - ms(still_ingest)
    );

    // Trending as a user runs it: the binary as a process on this store.
    println!();
    println!("the feedletter binary on this store (5 runs each, wall clock, ms):");
    let config_file = config.path.clone().context("the bench config has a path")?;
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
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"))
                .arg("--config")
                .arg(&config_file)
                .args(&args)
                .env("RUST_LOG", "warn")
                .output()?;
            runs.push(t.elapsed());
            ensure!(
                out.status.success(),
                "feedletter {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        runs.sort();
        println!(
            "  feedletter {name:<28} min {:>7.1}  median {:>7.1}  max {:>7.1}",
            ms(runs[0]),
            ms(runs[runs.len() / 2]),
            ms(runs[runs.len() - 1])
        );
    }
    drop(store);
    rt.block_on(db.remove())?;
    Ok(())
}

fn config_for(dir: &Path, content: &Path, store_url: &str) -> Result<Config> {
    std::fs::create_dir_all(dir)?;
    let mut text = format!(
        "[site]\n\
         title = \"Feedletter bench\"\n\
         base_url = \"https://bench.example\"\n\
         timezone = \"Asia/Kolkata\"\n\
         \n\
         [store]\n\
         url = \"{}\"\n\
         \n\
         [content]\n\
         dir = \"{}\"\n\
         \n\
         [feeds]\n\
         dir = \"{}\"\n",
        store_url.replace('\\', "\\\\").replace('"', "\\\""),
        toml_escape(content),
        toml_escape(&dir.join("feeds")),
    );
    // FEEDLETTER_BENCH_VOCABULARY=<file> swaps the built-in vocabulary, e.g.
    // for a one-topic file to see what extraction costs;
    // FEEDLETTER_BENCH_CANDIDATES=off stops collecting phrases. Both
    // together give the ingest without topic and candidate extraction.
    let vocabulary = std::env::var("FEEDLETTER_BENCH_VOCABULARY").ok();
    let candidates = std::env::var("FEEDLETTER_BENCH_CANDIDATES").map_or(true, |v| v != "off");
    if vocabulary.is_some() || !candidates {
        text.push_str("\n[topics]\n");
        if let Some(v) = vocabulary {
            text.push_str(&format!(
                "vocabulary = \"{}\"\n",
                toml_escape(Path::new(&v))
            ));
        }
        text.push_str(&format!("candidates = {candidates}\n"));
    }
    // Written out too, for the runs of the binary.
    let path = dir.join("feedletter.toml");
    std::fs::write(&path, &text)?;
    Config::from_toml_str(&text, &path, &[]).map_err(|e| anyhow::anyhow!("bench config: {e}"))
}

fn toml_escape(p: &Path) -> String {
    p.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// As the daemon does it: a full build after a cold ingest, then only the
/// feeds an ingest's changes touched.
async fn run_once(
    store: &dyn Store,
    config: &Config,
    clock: &FixedClock,
    cold: bool,
) -> Result<Run> {
    use feedletter::Clock as _;
    let t0 = Instant::now();
    let report = ingest_once(store, config, clock).await?;
    let t1 = Instant::now();
    let built = if cold {
        build_feeds_once(store, config, clock.now()).await?
    } else {
        let scope = Scope::Changed {
            main: report.changed(),
            topics: report.topics_changed.clone(),
            // As the daemon: trending is refreshed hourly, not per change.
            trending: false,
        };
        build_feeds(store, config, clock.now(), &scope).await?
    };
    let t2 = Instant::now();
    Ok(Run {
        ingest: t1 - t0,
        build: t2 - t1,
        report,
        built,
    })
}

/// Times apart the steps of ingest that the public API exposes, to see where
/// the time goes. `store` is the populated database of the last cold run.
async fn phases(content: &Path, store: &dyn Store, config: &Config) -> Result<Phases> {
    let mut scan_parse = Vec::new();
    let mut index = Vec::new();
    let mut walk = Vec::new();
    let mut published = Vec::new();
    for _ in 0..PHASE_RUNS {
        let t = Instant::now();
        check_content(config).await?;
        scan_parse.push(t.elapsed());

        let t = Instant::now();
        store.article_index().await?;
        index.push(t.elapsed());

        let t = Instant::now();
        let mut n = 0usize;
        for entry in std::fs::read_dir(content)? {
            n += usize::from(entry?.metadata()?.is_file());
        }
        ensure!(n > 0, "empty content folder");
        walk.push(t.elapsed());

        let t = Instant::now();
        store.published_articles(Some(config.feeds.limit)).await?;
        published.push(t.elapsed());
    }
    Ok(Phases {
        scan_parse: median(&mut scan_parse),
        index: median(&mut index),
        walk: median(&mut walk),
        published: median(&mut published),
    })
}

struct Phases {
    scan_parse: Duration,
    index: Duration,
    walk: Duration,
    published: Duration,
}

fn median_of(runs: &[Run], f: impl Fn(&Run) -> Duration) -> Duration {
    median(&mut runs.iter().map(f).collect::<Vec<_>>())
}

fn row(name: &str, runs: &[Run], target_ms: Option<f64>) {
    let mut total: Vec<Duration> = runs.iter().map(Run::total).collect();
    let med = median(&mut total);
    let max = total.iter().max().copied().unwrap_or_default();
    // Met when the median is under the target; "(max over)" flags outliers.
    let target = match target_ms {
        Some(t) if ms(max) < t => format!("{t:.0} met"),
        Some(t) if ms(med) < t => format!("{t:.0} met (max over)"),
        Some(t) => format!("{t:.0} MISSED"),
        None => "-".into(),
    };
    println!(
        "{name:<12} {:>5} {:>12.1} {:>12.1} {:>10.1} {:>10.1} {:>10.1}  {target}",
        runs.len(),
        ms(median_of(runs, |r| r.ingest)),
        ms(median_of(runs, |r| r.build)),
        ms(total.iter().min().copied().unwrap_or_default()),
        ms(med),
        ms(max),
    );
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
