//! `ingest` and `build`: the content folder in, the feeds out, once.

use crate::config::Config;
use crate::domain::Clock;
use crate::ingest::IngestReport;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit 1 when a file was rejected, so a script notices.
pub(super) async fn ingest(
    config: &Config,
    clock: Arc<dyn Clock>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = crate::store::connect(&config.store).await?;
    let report = crate::ingest::ingest_once(store.as_ref(), config, clock.as_ref()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_ingest(&report);
    }
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
}

pub(super) async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let store = crate::store::connect(&config.store).await?;
    let report = crate::feeds::build_feeds_once(store.as_ref(), config, clock.now()).await?;
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
