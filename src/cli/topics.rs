//! `trending` and `topics`: what trends, what might, and adding concepts to
//! the local vocabulary.

use super::{TopicsCommand, parse_at};
use crate::config::Config;
use crate::domain::Clock;
use crate::topics::report::{TrendingReport, TrendingTopic, sparkline_text, trending_at};
use chrono::{DateTime, Utc};
use std::process::ExitCode;
use std::sync::Arc;

pub(super) async fn trending(
    config: &Config,
    at: DateTime<Utc>,
    json: bool,
    limit: usize,
) -> anyhow::Result<ExitCode> {
    let store = crate::store::connect(&config.store).await?;
    let report = trending_at(store.as_ref(), config, at, limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_trending(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The trending table: one line per entry, then why, what it includes and
/// its articles, indented under it; the emerging candidates last.
fn print_trending(report: &TrendingReport) -> anyhow::Result<()> {
    println!(
        "trending at {} (last {} days against the {} before)",
        report.at, report.window_days, report.baseline_days
    );
    if report.topics.is_empty() {
        println!("no articles in the window");
    } else {
        println!(
            "{:<30} {:<8} {:>5} {:>8} {:>7} {:>6}  {:<10} weekly",
            "topic", "status", "count", "baseline", "score", "lift", "first seen"
        );
    }
    for t in &report.topics {
        print_entry(t)?;
    }
    if !report.candidates.is_empty() {
        println!("\nemerging (not in the vocabulary; `feedletter topics candidates`):");
        for c in &report.candidates {
            println!(
                "    {} ({} articles, {} before)",
                c.phrase, c.count, c.baseline_count
            );
        }
    }
    Ok(())
}

fn print_entry(t: &TrendingTopic) -> anyhow::Result<()> {
    // The status as the JSON spells it.
    let status = serde_json::to_value(t.status)?;
    println!(
        "{:<30} {:<8} {:>5} {:>8} {:>7.2} {:>6.1}  {:<10} {} {}",
        t.label,
        status.as_str().unwrap_or(""),
        t.count,
        t.baseline_count,
        t.score,
        t.lift,
        t.first_seen.get(..10).unwrap_or(""),
        sparkline_text(&t.weekly),
        t.weekly
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("    why: {}", t.why);
    if !t.includes.is_empty() {
        println!("    includes: {}", t.includes_text());
    }
    if !t.related.is_empty() {
        let list: Vec<String> = t
            .related
            .iter()
            .map(|r| format!("{} ({} shared)", r.label, r.shared))
            .collect();
        println!("    related: {}", list.join(", "));
    }
    for a in &t.articles {
        println!("    - {}  {}", a.published.get(..10).unwrap_or(""), a.title);
    }
    Ok(())
}

pub(super) async fn topics(
    cmd: TopicsCommand,
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    match cmd {
        TopicsCommand::Candidates { at, json } => {
            let at = parse_at(at.as_deref(), clock.as_ref())?;
            candidates(config, at, json).await?;
        }
        TopicsCommand::Add {
            phrase,
            kind,
            parent,
            label,
            id,
        } => {
            let kind = crate::topics::vocabulary::TopicKind::from(kind);
            let added = crate::topics::add_local(
                config,
                &crate::topics::NewConcept {
                    phrase,
                    kind: kind.as_str().to_owned(),
                    parent,
                    label,
                    id,
                },
            )?;
            println!(
                "added '{}' ({}, {}) to {}",
                added.topic.id,
                added.topic.label,
                added.topic.kind.as_str(),
                added.file.display()
            );
            println!("the next ingest reads every article again with it");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The candidates alone: the trending report without its entries.
async fn candidates(config: &Config, at: DateTime<Utc>, json: bool) -> anyhow::Result<()> {
    let store = crate::store::connect(&config.store).await?;
    let report = trending_at(store.as_ref(), config, at, 0).await?;
    if json {
        let doc = serde_json::json!({
            "at": report.at,
            "window_days": report.window_days,
            "baseline_days": report.baseline_days,
            "candidates": report.candidates,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "emerging phrases at {} (skincare articles, last {} days against the {} before)",
        report.at, report.window_days, report.baseline_days
    );
    if report.candidates.is_empty() {
        println!("none");
    }
    for c in &report.candidates {
        let also = if c.variants.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", c.variants.join(", "))
        };
        println!(
            "{:<30} {:>3} articles, {:>3} before, score {:.2}{also}",
            c.phrase, c.count, c.baseline_count, c.score,
        );
        for a in &c.articles {
            println!("    - {}  {}", a.title, a.url);
        }
    }
    if !report.candidates.is_empty() {
        println!(
            "\nadd one: feedletter topics add \"PHRASE\" --kind ingredient [--parent ID] [--label LABEL]"
        );
    }
    Ok(())
}
