//! `ingest` and `build`: the content folder in, the feeds out, once.

use crate::config::Config;
use crate::domain::Clock;
use crate::feeds::{BuildReport, Scope};
use crate::ingest::IngestReport;
use std::process::ExitCode;
use std::sync::Arc;

/// `ingest --json`: the ingest report and the feed files it wrote.
#[derive(serde::Serialize)]
struct IngestOutput<'a> {
    #[serde(flatten)]
    report: &'a IngestReport,
    feeds_written: &'a [String],
}

/// Ingests the content folder and polls every `[[source]]`, then writes
/// the feeds its changes touched, as the daemon does
/// (the main feeds, the changed articles' topics; the trending feed and the
/// OPML index when a change can move trending: an article published within
/// the trending windows and baseline, or a withdrawal). A feeds folder
/// without the main feed yet (one of its files) gets every feed. Exit 1
/// when a file was rejected or a source reported a problem, so a script
/// notices.
pub(super) async fn ingest(
    config: &Config,
    clock: Arc<dyn Clock>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = crate::store::connect(&config.store).await?;
    let mut cache = crate::ingest::IndexCache::rendering_ahead();
    // Every article's archive place is read while the folder is listed:
    // the build then reads again only those of the articles this ingest
    // wrote (tens of milliseconds at 10,000 articles off the one change's
    // path). A failed read is left for the build to meet and report.
    let before = store.revision().await.ok();
    let prefetch = tokio::spawn({
        let store = store.clone();
        async move {
            let mut places = crate::feeds::Places::default();
            let _ = places.prefetch(store.as_ref()).await;
            places
        }
    });
    let mut report = crate::ingest::ingest_with(
        store.as_ref(),
        config,
        clock.as_ref(),
        &mut cache,
        &crate::ingest::Scan::Full,
    )
    .await?;
    let after = store.revision().await.ok();
    // Nothing written: no build reads them (a scan of an unchanged folder
    // does not wait for them).
    if !report.wrote {
        prefetch.abort();
    }
    let mut places = prefetch.await.unwrap_or_default();
    places.advance((before, after), report.changed_slugs.as_deref());
    let polled = crate::sources::poll(
        store.as_ref(),
        config,
        clock.as_ref(),
        crate::sources::Poll::Command,
    )
    .await?;
    report.add_sources(polled);
    // A source's articles are not named: what was read is then read again.
    places.advance((after, store.revision().await.ok()), None);
    let scope = scope_after(config, &report);
    // The articles just stored are not read back (all of them, cold).
    let built = crate::feeds::build_feeds_with(
        store.as_ref(),
        config,
        clock.now(),
        &scope,
        &mut places,
        cache.handover(),
    )
    .await?;
    // A cold ingest of 100,000 articles leaves a 750 MB log on SQLite;
    // closing writes it back (`Store::close`).
    store.close().await;
    if json {
        let output = IngestOutput {
            report: &report,
            feeds_written: &built.written,
        };
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        print_ingest(&report);
        print_written(config, &built);
    }
    // The process ends with this command: what the ingest held (the index,
    // the folder's listing, every article's place: some 70,000 allocations
    // at 10,000 articles) is left to the exit to give back, as compilers
    // do (clang's -disable-free), not freed one by one (milliseconds).
    std::mem::forget(cache);
    std::mem::forget(places);
    Ok(
        if report.rejected.is_empty() && report.source_errors() == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// What `ingest` builds after `report`.
fn scope_after(config: &Config, report: &IngestReport) -> Scope {
    let missing = config
        .feeds
        .formats
        .iter()
        .any(|f| !config.feeds.dir.join(f.file_name()).exists());
    if missing {
        return Scope::All;
    }
    let changed = report.changed();
    Scope::Changed {
        main: changed,
        topics: report.topics_changed.clone(),
        // Computing trending reads every topic row of the windows: only
        // when a change can move it.
        trending: report.trending_may_move,
    }
}

fn print_written(config: &Config, built: &BuildReport) {
    for f in &built.written {
        println!("wrote      {}", config.feeds.dir.join(f).display());
    }
    for f in &built.removed {
        println!("removed    {}", config.feeds.dir.join(f).display());
    }
}

/// One line per file that changed or was refused, then the totals.
fn print_ingest(r: &IngestReport) {
    for s in &r.new {
        println!("new        {s}");
    }
    for s in &r.updated {
        println!("updated    {s}");
    }
    for s in &r.withdrawn {
        println!("withdrawn  {s}");
    }
    for s in &r.scheduled {
        println!("scheduled  {} at {} ({})", s.slug, s.published, s.file);
    }
    for w in &r.warnings {
        println!("warning    {}: {}", w.file, w.error);
    }
    for x in &r.rejected {
        println!("rejected   {}: {}", x.file, x.error);
    }
    println!(
        "{} new, {} updated, {} withdrawn, {} rejected, {} unchanged",
        r.new.len(),
        r.updated.len(),
        r.withdrawn.len(),
        r.rejected.len(),
        r.unchanged
    );
    for s in &r.sources {
        print_source(s);
    }
}

/// A source's changes and problems, each line led by its name.
fn print_source(s: &crate::sources::SourceReport) {
    let name = &s.name;
    for slug in &s.new {
        println!("new        {slug} ({name})");
    }
    for slug in &s.updated {
        println!("updated    {slug} ({name})");
    }
    for slug in &s.withdrawn {
        println!("withdrawn  {slug} ({name})");
    }
    for e in &s.errors {
        println!("error      {name}: {}: {}", e.url, e.error);
    }
    println!(
        "source {name}: {} new, {} updated, {} withdrawn, {} unchanged, {} error(s)",
        s.new.len(),
        s.updated.len(),
        s.withdrawn.len(),
        s.unchanged,
        s.errors.len()
    );
}

/// `sources test NAME`: one page of the source, read and shown, nothing
/// written. Exit 1 when it reported a problem.
pub(super) async fn test_source(
    config: &Config,
    name: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let preview = crate::sources::test(config, name)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&preview)?);
    } else {
        for i in &preview.items {
            println!("{}  {}  {}", i.published, i.slug, i.title);
            println!("    {}", i.url);
            if !i.tags.is_empty() {
                println!("    tags: {}", i.tags.join(", "));
            }
        }
        for e in &preview.errors {
            println!("error      {name}: {}: {}", e.url, e.error);
        }
        println!(
            "{}: {} article(s) would be ingested from this page, {} error(s); nothing was written",
            preview.name,
            preview.items.len(),
            preview.errors.len()
        );
    }
    Ok(if preview.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let store = crate::store::connect(&config.store).await?;
    let report = crate::feeds::build_feeds_once(store.as_ref(), config, clock.now()).await?;
    store.close().await;
    for f in &report.written {
        println!("wrote     {}", config.feeds.dir.join(f).display());
    }
    println!(
        "{} written, {} unchanged",
        report.written.len(),
        report.unchanged
    );
    Ok(ExitCode::SUCCESS)
}
