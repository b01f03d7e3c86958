//! Ingest and feed build over a generated corpus.
//!
//!     cargo bench --bench ingest
//!     FEEDLETTER_BENCH_ARTICLES=500 cargo bench --bench ingest   # quick run
//!
//! Scenarios, each timed as `ingest_once` + `build_feeds_once`:
//! - cold: fresh database and empty feeds folder, every file new (and the
//!   store closed after, as the command does);
//! - no change: a re-run over the same database with nothing touched;
//! - one change: the newest article's body rewritten (new size and mtime).
//!
//! What topic and candidate extraction cost is measured at the end, as a
//! process (see below); in process, compare with
//!
//!     FEEDLETTER_BENCH_CANDIDATES=off FEEDLETTER_BENCH_VOCABULARY=$PWD/benches/one-topic.toml \
//!         cargo bench --bench ingest      # neither (the path must be absolute)
//!     FEEDLETTER_BENCH_CANDIDATES=off cargo bench --bench ingest   # topics only
//!
//! At the end, `feedletter trending --json` and `topics candidates --json`
//! are timed as processes on the store the cold run left; then, on that
//! store, one changed file as a user meets it: `feedletter ingest` as a
//! process (target 150 ms), and `feedletter run` watching the folder, from
//! the save to `GET /feeds/rss.xml` serving it (target 1 s) and the run's
//! own `ms=` (target 60 ms); last, rounds of a cold `feedletter ingest` as
//! a process with and without topic and candidate extraction (target under
//! +30 %), each round followed by Hugo (if installed) building the same
//! files from nothing: the cold command with extraction against Hugo's
//! median is the cold figure that counts (target at most 1.5x). The cold
//! runs in process above (ingest + build + closing the store) are for
//! profiling.
//!
//! `FEEDLETTER_BENCH_KEEP=1` keeps the bench's folder (corpus, store,
//! config, feeds) for profiling the binary on it afterwards.
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

/// One timed `ingest_once` + `build_feeds_once` (+ `Store::close` in a
/// cold run).
struct Run {
    ingest: Duration,
    build: Duration,
    /// Closing the store after a cold run, as the command does: SQLite's
    /// log is copied back into the database file (in the background since
    /// the ingest's commit, so the build overlaps it).
    close: Duration,
    report: IngestReport,
    built: BuildReport,
}

impl Run {
    fn total(&self) -> Duration {
        self.ingest + self.build + self.close
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
    if std::env::var_os("FEEDLETTER_BENCH_KEEP").is_some() {
        // For profiling the binary on this store afterwards.
        println!("keeping the bench folder: {}", root.path().display());
    }
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
    // The runs' feeds folders are removed only at the end of the bench: ext4
    // creates files slowly for some seconds after thousands were deleted
    // (it skips each recently freed inode, reading it first), which doubled
    // the next cold run's writing and tripled a one-change build's. A first
    // build on a new deployment pays none of that; `rm -rf feeds &&
    // feedletter build` does (see BENCHMARKS.md).
    let mut cold = Vec::new();
    let mut kept = None;
    let mut used_dirs = Vec::new();
    for r in 0..COLD_RUNS {
        let dir = root.path().join(format!("run-{r}"));
        std::fs::create_dir_all(&dir)?;
        let db = rt.block_on(store::BenchStore::create(&dir))?;
        let config = config_for(&dir, &content, &db.url)?;
        let store = rt.block_on(feedletter::store::connect(&config.store))?;
        if r == 0 {
            println!("store: {}", db.kind());
        }
        let mut run = rt.block_on(run_once(store.as_ref(), &config, &clock, true))?;
        let t = Instant::now();
        rt.block_on(store.close());
        run.close = t.elapsed();
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
            let store = rt.block_on(feedletter::store::connect(&config.store))?;
            kept = Some((db, config, store));
        } else {
            drop(store);
            rt.block_on(db.remove())?;
            used_dirs.push(dir);
        }
    }
    let (db, config, store) = kept.context("no cold run")?;
    let db_bytes = rt.block_on(db.size_bytes())?;
    // Rows written besides the articles: one per (article, topic).
    let topic_rows = rt
        .block_on(store.topic_data(DateTime::<Utc>::MIN_UTC))?
        .occurrences
        .len();

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
        "{:<12} {:>5} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10}  target ms",
        "scenario", "runs", "ingest med", "build med", "close med", "min ms", "median ms", "max ms"
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
    // One changed file as a user sees it: the binary as a process, then the
    // daemon watching the folder; then what topic and candidate extraction
    // add to a cold ingest; last, Hugo building the same articles.
    println!();
    let cli = cli_one_change(&config_file, &newest.path)?;
    let daemon = daemon_one_change(&config_file, &newest.path)?;
    drop(store);
    let cold_process = cold_as_process(root.path(), &content)?;
    // Every measurement is done: the folders kept from deletion go now.
    for entry in std::fs::read_dir(root.path())? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("extraction-"))
        {
            std::fs::remove_dir_all(&path)?;
        }
    }
    for dir in used_dirs {
        std::fs::remove_dir_all(&dir)?;
    }
    if std::env::var_os("FEEDLETTER_BENCH_KEEP").is_some() {
        let _ = root.keep();
    }
    let cold_median = ms(median(&mut cold.iter().map(Run::total).collect::<Vec<_>>()));
    println!();
    println!("summary (medians, ms):");
    println!(
        "  feedletter ingest after one change, as a process   {:>8.1}   target 150: {}",
        cli,
        if cli < 150.0 { "met" } else { "MISSED" }
    );
    if let Some((served, work)) = daemon {
        println!(
            "  daemon: save to served feed                        {:>8.1}   target 1000: {}",
            served,
            if served < 1000.0 { "met" } else { "MISSED" }
        );
        println!(
            "  daemon: the run's own work (ms= in its log line)   {:>8.1}   target 60: {}",
            work,
            if work < 60.0 { "met" } else { "MISSED" }
        );
    }
    println!(
        "  extraction: cold ingest, neither {:.1} -> both {:.1}: {:+.0} %   target +30 %: {}",
        cold_process.ingest_neither,
        cold_process.ingest_both,
        (cold_process.ingest_both / cold_process.ingest_neither - 1.0) * 100.0,
        if cold_process.ingest_both <= cold_process.ingest_neither * 1.3 {
            "met"
        } else {
            "MISSED"
        }
    );
    match cold_process.hugo {
        Some(h) => {
            let both = cold_process.wall_both;
            println!(
                "  cold `feedletter ingest` as a process {both:.1} against Hugo {h:.1}: {:.2}x   target 1.5x: {}",
                both / h,
                if both / h <= 1.5 { "met" } else { "MISSED" }
            );
            println!(
                "  (in process, ingest + build + close: {cold_median:.1}, {:.2}x Hugo)",
                cold_median / h
            );
        }
        None => println!("  Hugo: not measured (see above)"),
    }
    rt.block_on(db.remove())?;
    Ok(())
}

const PROCESS_RUNS: usize = 9;

/// Rounds of `cold_as_process`.
const COLD_ROUNDS: usize = 5;

/// A cold `feedletter ingest` as a user runs it, beside Hugo: medians of
/// `COLD_ROUNDS` rounds, each a new folder.
struct ColdAsProcess {
    /// The ingest alone (its own debug line), without and with topic and
    /// candidate extraction.
    ingest_neither: f64,
    ingest_both: f64,
    /// The whole command, from start to exit: the ingest, every feed
    /// written, the store closed (its log copied back into the file).
    wall_neither: f64,
    wall_both: f64,
    /// Hugo building the same files from nothing, when installed.
    hugo: Option<f64>,
}

/// Cold `feedletter ingest` as a process on a new SQLite store, with the
/// built-in vocabulary and candidates ("both", as the cold runs above)
/// and with a vocabulary that never matches and no candidates
/// ("neither"), then Hugo on the same articles: the three alternate in
/// each round, so that the machine's changes of speed (2x within an hour
/// on these VMs) fall on all of them alike. The command also writes every
/// feed after its ingest, and "both" has more topics, so more feeds to
/// write; the ingest itself (listing, reading and extracting, deciding,
/// storing) is read from the process's own debug line.
fn cold_as_process(root: &Path, content: &Path) -> Result<ColdAsProcess> {
    let one_topic = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/one-topic.toml");
    let hugo = hugo_site(root, content)?;
    let mut ingest: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut wall: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut hugo_runs = Vec::new();
    for r in 0..COLD_ROUNDS {
        for (v, name) in ["neither", "both"].into_iter().enumerate() {
            let dir = root.join(format!("extraction-{name}-{r}"));
            std::fs::create_dir_all(&dir)?;
            let mut text = format!(
                "[site]\ntitle = \"Feedletter bench\"\nbase_url = \"https://bench.example\"\n\
                 timezone = \"Asia/Kolkata\"\n[store]\nurl = \"sqlite://{}\"\n\
                 [content]\ndir = \"{}\"\n[feeds]\ndir = \"{}\"\n",
                toml_escape(&dir.join("bench.db")),
                toml_escape(content),
                toml_escape(&dir.join("feeds")),
            );
            if v == 0 {
                text.push_str(&format!(
                    "[topics]\nvocabulary = \"{}\"\ncandidates = false\n",
                    toml_escape(&one_topic)
                ));
            }
            let config = dir.join("feedletter.toml");
            std::fs::write(&config, text)?;
            settle();
            let t = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"))
                .arg("--config")
                .arg(&config)
                .args(["--log-format", "json", "ingest", "--json"])
                .env("RUST_LOG", "warn,feedletter::ingest=debug")
                .output()?;
            wall[v].push(ms(t.elapsed()));
            ensure!(
                out.status.success(),
                "feedletter ingest ({name}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let phases = String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["fields"]["message"] == "content folder ingested")
                .context("no 'content folder ingested' line")?;
            let f = &phases["fields"];
            let total: f64 = ["list_ms", "read_ms", "decide_ms", "write_ms"]
                .iter()
                .map(|k| f[*k].as_f64().unwrap_or(0.0))
                .sum();
            ingest[v].push(total);
        }
        if let Some((site, _)) = &hugo {
            hugo_runs.push(hugo_once(site, r)?);
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let cold = ColdAsProcess {
        ingest_neither: med(&mut ingest[0]),
        ingest_both: med(&mut ingest[1]),
        wall_neither: med(&mut wall[0]),
        wall_both: med(&mut wall[1]),
        hugo: hugo.as_ref().map(|_| med(&mut hugo_runs)),
    };
    println!(
        "cold `feedletter ingest` as a process ({COLD_ROUNDS} rounds, alternating with Hugo), medians: \
         the ingest (its own debug line) neither {:.1}, both {:.1} ms ({:+.0} %); \
         the whole command with its feeds neither {:.1}, both {:.1} ms ({:+.0} %); both, the {COLD_ROUNDS} runs sorted: {:?}",
        cold.ingest_neither,
        cold.ingest_both,
        (cold.ingest_both / cold.ingest_neither - 1.0) * 100.0,
        cold.wall_neither,
        cold.wall_both,
        (cold.wall_both / cold.wall_neither - 1.0) * 100.0,
        wall[1].iter().map(|w| w.round()).collect::<Vec<_>>(),
    );
    match (&hugo, cold.hugo) {
        (Some((_, version)), Some(h)) => println!(
            "{version}: cold build of the same articles ({COLD_ROUNDS} runs, one per round): min {:.1}  median {h:.1}  max {:.1} ms",
            hugo_runs[0],
            hugo_runs[hugo_runs.len() - 1]
        ),
        _ => println!("Hugo: not installed (apt-get install hugo), skipped"),
    }
    Ok(cold)
}

/// Rewrites the body of the article at `path` so that its text holds
/// `marker`, in one write.
fn rewrite_with_marker(path: &Path, seed: u64, marker: &str) -> Result<()> {
    corpus::rewrite_body(path, seed)?;
    let mut text = std::fs::read_to_string(path)?;
    text.push_str(&format!("\n{marker}\n"));
    // Written to a temporary name and renamed, as editors save.
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// `feedletter ingest` after one file changed: the process from start to
/// exit (ingest, then the feeds the change touched), median of
/// `PROCESS_RUNS`.
fn cli_one_change(config_file: &Path, newest: &Path) -> Result<f64> {
    let mut runs = Vec::new();
    for r in 0..PROCESS_RUNS {
        rewrite_with_marker(
            newest,
            SEED ^ (0xc1 + r as u64),
            &format!("Marker cli {r}."),
        )?;
        let t = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"))
            .arg("--config")
            .arg(config_file)
            .args(["ingest", "--json"])
            .env("RUST_LOG", "warn")
            .output()?;
        runs.push(t.elapsed());
        ensure!(
            out.status.success(),
            "feedletter ingest: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        ensure!(
            v["updated"].as_array().map(Vec::len) == Some(1)
                && v["feeds_written"]
                    .as_array()
                    .is_some_and(|w| w.iter().any(|f| f == "rss.xml")),
            "feedletter ingest after one change: {v}"
        );
    }
    runs.sort();
    println!(
        "feedletter ingest after one change, as a process ({PROCESS_RUNS} runs): min {:.1}  median {:.1}  max {:.1} ms",
        ms(runs[0]),
        ms(runs[runs.len() / 2]),
        ms(runs[runs.len() - 1])
    );
    Ok(ms(runs[runs.len() / 2]))
}

/// One HTTP/1.1 GET on loopback; the body, or None if nothing answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    poll_feed(port, path, &mut None)
}

/// A feed reader's poll: `GET path` with `If-None-Match: etag` when one is
/// known. The body of a 200 (the ETag it carried kept for the next poll);
/// None for a 304 or a failure.
fn poll_feed(port: u16, path: &str, etag: &mut Option<String>) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let condition = etag
        .as_deref()
        .map(|e| format!("If-None-Match: {e}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\n{condition}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    if !text.starts_with("HTTP/1.1 200") {
        return None;
    }
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    *etag = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("etag")
            .then(|| value.trim().to_owned())
    });
    Some(text)
}

/// The daemon (`feedletter run`, watching the content folder, its ingest
/// schedule once a year) on the bench store: from saving one file to
/// `GET /feeds/rss.xml` serving it, polled every 2 ms as a feed reader
/// polls (conditional GETs: a 304 until the feed changes), and the run's
/// own `ms=` from its log line; medians of `PROCESS_RUNS`, after one save
/// left out (the first watched run after start lists the whole folder, and
/// the start-up build must be done).
fn daemon_one_change(config_file: &Path, newest: &Path) -> Result<Option<(f64, f64)>> {
    use std::io::BufRead as _;
    use std::sync::{Arc, Mutex};
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"))
        .arg("--config")
        .arg(config_file)
        .args(["--log-format", "json", "run"])
        .env("RUST_LOG", "info")
        .env("FEEDLETTER_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("FEEDLETTER_SCHEDULE__INGEST", "0 0 0 1 1 *")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // The work each watcher-driven run reports.
    let works: Arc<Mutex<Vec<f64>>> = Arc::default();
    let stderr = child.stderr.take().context("the daemon's stderr")?;
    let seen = works.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let f = &v["fields"];
            if f["message"] == "job finished"
                && f["trigger"] == "watch"
                && let Some(ms) = f["ms"].as_f64()
            {
                seen.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
            }
        }
    });
    let stop = |child: &mut std::process::Child| {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    };
    let up = Instant::now();
    while http_get(port, "/healthz").is_none() {
        if up.elapsed() > Duration::from_secs(60) {
            stop(&mut child);
            println!("the daemon did not come up within 60 s: not measured");
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut served = Vec::new();
    let mut etag = None;
    for r in 0..=PROCESS_RUNS {
        // Let the previous run finish: one change per run.
        std::thread::sleep(Duration::from_millis(400));
        let marker = format!("Marker daemon {r}.");
        let before = works.lock().unwrap_or_else(|p| p.into_inner()).len();
        let t = Instant::now();
        rewrite_with_marker(newest, SEED ^ (0xd1 + r as u64), &marker)?;
        loop {
            if poll_feed(port, "/feeds/rss.xml", &mut etag).is_some_and(|b| b.contains(&marker)) {
                break;
            }
            if t.elapsed() > Duration::from_secs(30) {
                stop(&mut child);
                anyhow::bail!("the daemon did not serve the change within 30 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let seen_at = t.elapsed();
        while works.lock().unwrap_or_else(|p| p.into_inner()).len() == before {
            ensure!(t.elapsed() < Duration::from_secs(30), "no job line logged");
            std::thread::sleep(Duration::from_millis(5));
        }
        if r == 0 {
            works.lock().unwrap_or_else(|p| p.into_inner()).clear();
        } else {
            served.push(seen_at);
        }
    }
    stop(&mut child);
    served.sort();
    let mut work = works.lock().unwrap_or_else(|p| p.into_inner()).clone();
    work.sort_by(f64::total_cmp);
    println!(
        "the daemon, save to served feed ({PROCESS_RUNS} runs): min {:.1}  median {:.1}  max {:.1} ms; the runs' work (ms=): {:?}",
        ms(served[0]),
        ms(served[served.len() / 2]),
        ms(served[served.len() - 1]),
        work
    );
    Ok(Some((ms(served[served.len() / 2]), work[work.len() / 2])))
}

/// Hugo (from the system, if installed) building the same articles: the
/// front matter renamed to Hugo's (`date`, `lastmod`), a config with no
/// theme, so Hugo writes what its built-in templates make: RSS for the
/// home page, the section and every tag and category (50 items each, as
/// feedletter's feeds; Hugo's default is every page), and a sitemap;
/// the median of 3 builds from nothing, as a process.
/// A Hugo site of the same articles (their dates as Hugo reads them), and
/// Hugo's version; None when Hugo is not installed.
fn hugo_site(root: &Path, content: &Path) -> Result<Option<(std::path::PathBuf, String)>> {
    let version = std::process::Command::new("hugo").arg("version").output();
    let Ok(version) = version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
        return Ok(None);
    };
    let site = root.join("hugo");
    let posts = site.join("content").join("posts");
    std::fs::create_dir_all(&posts)?;
    std::fs::write(
        site.join("hugo.toml"),
        "baseURL = \"https://bench.example/\"\ntitle = \"Feedletter bench\"\n\
         timeZone = \"Asia/Kolkata\"\n[services.rss]\nlimit = 50\n",
    )?;
    for entry in std::fs::read_dir(content)? {
        let entry = entry?;
        let text = std::fs::read_to_string(entry.path())?;
        let text =
            text.replacen("\npublished: ", "\ndate: ", 1)
                .replacen("\nupdated: ", "\nlastmod: ", 1);
        std::fs::write(posts.join(entry.file_name()), to_hugo_dates(&text))?;
    }
    Ok(Some((site, version)))
}

/// Writes every dirty page out before a timed cold run (`sync`), so that
/// no run pays for the write-back of what the runs before it wrote: the
/// bench's own cold runs leave some 2 GB of stores and feeds behind, and
/// without this the cold command as a process measured 3.3 s where the
/// same binary took 2.4 s on its own, against Hugo's 1.7 s both times.
fn settle() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// One cold Hugo build of `site` into a new folder, `public-<round>`, in
/// ms. Nothing is deleted before a timed run, Hugo's output included: on
/// this VM's ext4 (no journal) creating a file costs more for minutes after
/// thousands were deleted (the kernel's `recently_deleted` check on each
/// free inode it considers), which once took a third of a cold run's time.
/// The folders go with the rest at the end.
fn hugo_once(site: &Path, round: usize) -> Result<f64> {
    let public = site.join(format!("public-{round}"));
    settle();
    let t = Instant::now();
    let out = std::process::Command::new("hugo")
        .args(["--quiet", "--source"])
        .arg(site)
        .arg("--destination")
        .arg(&public)
        .output()?;
    let took = ms(t.elapsed());
    ensure!(
        out.status.success(),
        "hugo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        public.join("index.xml").is_file(),
        "hugo wrote no index.xml"
    );
    Ok(took)
}

/// `date: 2025-01-02 10:30` (read in the site's zone by feedletter) as
/// RFC 3339 in Asia/Kolkata, which Hugo reads the same way.
fn to_hugo_dates(text: &str) -> String {
    text.lines()
        .map(|line| {
            for key in ["date: ", "lastmod: "] {
                if let Some(v) = line.strip_prefix(key) {
                    let v = v.trim().trim_matches('"');
                    if v.len() == 16 && v.as_bytes()[10] == b' ' {
                        return format!("{key}{}T{}:00+05:30", &v[..10], &v[11..]);
                    }
                }
            }
            line.to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
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
        close: Duration::ZERO,
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
        "{name:<12} {:>5} {:>12.1} {:>12.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}  {target}",
        runs.len(),
        ms(median_of(runs, |r| r.ingest)),
        ms(median_of(runs, |r| r.build)),
        ms(median_of(runs, |r| r.close)),
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
