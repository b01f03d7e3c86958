//! Trending quality on a labelled synthetic corpus (issue 12):
//!
//!     cargo bench --bench trending_quality
//!     FEEDLETTER_BENCH_SEEDS=1,2,3 cargo bench --bench trending_quality
//!
//! `benches/corpus/stories.rs` writes 16 weeks of a skincare site (about 25
//! articles a week) with planted stories of every shape: split synonyms,
//! echoes, ramps, bursts, off-topic tag bursts, generic tags, new unknown
//! ingredients, one-off days, an old pulse, steady topics, and control weeks
//! with nothing planted. The real pipeline reads every article (the
//! built-in vocabulary's matcher, ancestors, salient phrases) and reports
//! at each Monday 08:00 IST; `benches/common/quality.rs` scores the reports
//! against the labels, and reports every 3 hours give detection delays.
//! Targets: precision and recall of entries at least 0.9, no duplicate
//! entries, no false entry in the control weeks, ramps found within 7 days
//! of their onset, new ingredients found as candidates the week they reach
//! three articles.

#[path = "common/quality.rs"]
mod quality;
#[path = "corpus/stories.rs"]
mod stories;

use feedletter::topics::trending::Params;
use std::time::Instant;
use stories::Shape;

fn main() {
    let seeds: Vec<u64> = std::env::var("FEEDLETTER_BENCH_SEEDS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| vec![42]);
    let params = Params::default();
    let mut all_met = true;
    for seed in seeds {
        let started = Instant::now();
        let bench = stories::generate(seed);
        let bytes: usize = bench
            .articles
            .iter()
            .map(|a| a.title.len() + a.summary.len() + a.body_html.len())
            .sum();
        let read = quality::read(&bench);
        let e = quality::evaluate(&bench, &read, &params, 3);
        // FEEDLETTER_BENCH_PHRASE="sea fennel" lists the articles using it.
        if let Ok(phrase) = std::env::var("FEEDLETTER_BENCH_PHRASE") {
            for (slug, at, p) in &read.phrases {
                if p.seen.contains(&phrase) {
                    let salient = p.salient.iter().find(|s| s.text == phrase);
                    let concepts = read
                        .data
                        .occurrences
                        .iter()
                        .filter(|o| o.0 == *slug)
                        .map(|o| o.1.as_str())
                        .collect::<Vec<_>>();
                    println!(
                        "{at} {slug}: salient {:?}; about {concepts:?}",
                        salient.map(|s| s.mentions)
                    );
                }
            }
        }
        // FEEDLETTER_BENCH_DUMP=<report index> prints that report's JSON.
        if let Some(i) = std::env::var("FEEDLETTER_BENCH_DUMP")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|i| *i < bench.reports.len())
        {
            let r = read.report(&params, bench.reports[i]);
            println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        }
        println!(
            "seed {seed}: {} articles ({:.1} MB), {} weekly reports, evaluated in {} ms",
            bench.articles.len(),
            bytes as f64 / 1e6,
            bench.reports.len(),
            started.elapsed().as_millis()
        );
        println!();
        println!(
            "| report | entries | expected | missed | false | duplicates | candidates (expected) |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (i, w) in e.weeks.iter().enumerate() {
            println!(
                "| {}{} {} | {} | {} | {} | {} | {} | {} ({}) |",
                i,
                if w.control { " (control)" } else { "" },
                &w.at[..10],
                list(&w.entries),
                list(&w.expected),
                list(&w.missed),
                list(&w.false_entries),
                list(&w.duplicates),
                list(&w.candidates),
                list(&w.expected_candidates),
            );
        }
        println!();
        println!("| story | shape | delay from onset (days) | from its first article |");
        println!("|---|---|---:|---:|");
        for d in &e.delays {
            println!(
                "| {} | {:?} | {} | {} |",
                d.story,
                d.shape,
                d.days.map_or("not found".into(), |x| format!("{x:.1}")),
                d.from_first_article
                    .map_or("-".into(), |x| format!("{x:.1}"))
            );
        }
        let (folded, echoes) = e.echoes_folded();
        let ramp = e.worst_delay(Shape::Ramp).unwrap_or(0.0);
        let checks = [
            (
                "entry precision",
                format!("{:.3}", e.precision()),
                e.precision() >= 0.9,
                ">= 0.9",
            ),
            (
                "entry recall",
                format!("{:.3}", e.recall()),
                e.recall() >= 0.9,
                ">= 0.9",
            ),
            (
                "duplicate entries",
                e.duplicates().to_string(),
                e.duplicates() == 0,
                "0",
            ),
            (
                "false entries in control weeks",
                e.control_false_entries().to_string(),
                e.control_false_entries() == 0,
                "0",
            ),
            (
                "echoes folded as related",
                format!("{folded} of {echoes}"),
                folded == echoes,
                "all",
            ),
            (
                "worst ramp delay (days)",
                format!("{ramp:.1}"),
                ramp <= 7.0,
                "<= 7",
            ),
            (
                "candidate precision",
                format!("{:.3}", e.candidate_precision()),
                e.candidate_precision() >= 0.9,
                ">= 0.9",
            ),
            (
                "candidate recall (the week of 3 articles)",
                format!("{:.3}", e.candidate_recall()),
                e.candidate_recall() >= 0.9,
                ">= 0.9",
            ),
        ];
        println!();
        println!("| measure | figure | target | met? |");
        println!("|---|---:|---|---|");
        for (name, figure, met, target) in checks {
            all_met &= met;
            println!(
                "| {name} | {figure} | {target} | {} |",
                if met { "yes" } else { "**no**" }
            );
        }
        println!();
    }
    println!("all targets met: {}", if all_met { "yes" } else { "NO" });
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}
