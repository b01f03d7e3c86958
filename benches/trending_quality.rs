//! Trending quality on a labelled synthetic corpus:
//!
//!     cargo bench --bench trending_quality
//!     FEEDLETTER_BENCH_SEEDS=1-200 cargo bench --bench trending_quality
//!     FEEDLETTER_BENCH_MIN_SCORE=2.5 cargo bench --bench trending_quality   # try a threshold
//!
//! `benches/corpus/stories.rs` writes 16 weeks of a skincare site (about 25
//! articles a week, each concept's weekly count a Poisson draw) with planted
//! stories of every shape: split synonyms, echoes, ramps, bursts, off-topic
//! tag bursts, generic tags, new unknown ingredients, one-off days, an old
//! pulse, steady topics, and control weeks with nothing planted. The real
//! pipeline reads every article (the built-in vocabulary's matcher,
//! ancestors, salient phrases) and reports at each Monday 08:00 IST;
//! `benches/common/quality.rs` scores the reports against the labels, and
//! reports every 3 hours give detection delays.
//!
//! Prints seed 42 (or `FEEDLETTER_BENCH_DETAIL`) in full, then one line per seed and the totals over all
//! seeds (default 1-50). Targets: precision and recall of entries at least
//! 0.9, no duplicate entries, no false entry in the control weeks, ramps
//! found within 7 days of their onset, new ingredients found as candidates
//! the week they reach three articles (candidate precision and recall at
//! least 0.9).
//!
//! Other switches: `FEEDLETTER_BENCH_SMOOTH=1` (a background that never
//! varies by chance), `FEEDLETTER_BENCH_DUMP=<report index>` (the JSON of
//! that report of that seed), `FEEDLETTER_BENCH_PHRASE="sea fennel"` (that
//! seed's articles using it).

#[path = "common/quality.rs"]
mod quality;
#[path = "corpus/stories.rs"]
mod stories;

use feedletter::topics::trending::{Params, Spikes, Test};
use std::time::Instant;
use stories::Shape;

fn seeds() -> Vec<u64> {
    let spec = std::env::var("FEEDLETTER_BENCH_SEEDS").unwrap_or_else(|_| "1-50".into());
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.trim().split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.trim().parse::<u64>().ok()),
        }
    }
    out
}

fn corpus(seed: u64) -> stories::Bench {
    if std::env::var_os("FEEDLETTER_BENCH_SMOOTH").is_some() {
        stories::generate_smooth(seed)
    } else {
        stories::generate(seed)
    }
}

fn main() {
    let mut params = Params::default();
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
    if let Some(s) = env("FEEDLETTER_BENCH_MIN_SCORE") {
        params.min_score = s;
    }
    if let Some(s) = env("FEEDLETTER_BENCH_MIN_LIFT") {
        params.min_lift = s;
    }
    match std::env::var("FEEDLETTER_BENCH_SPIKES").as_deref() {
        Ok("kept") => params.spikes = Spikes::Kept,
        Ok("implausible") => params.spikes = Spikes::Implausible,
        Ok(m) => {
            if let Some(k) = m.strip_prefix("median").and_then(|k| k.parse().ok()) {
                params.spikes = Spikes::Median(k);
            }
        }
        Err(_) => {}
    }
    match std::env::var("FEEDLETTER_BENCH_TEST").as_deref() {
        Ok("beta") => params.test = Test::BetaBinomial,
        Ok("binomial") => params.test = Test::Binomial,
        _ => {}
    }
    if let Some(s) = env("FEEDLETTER_BENCH_PROMINENCE") {
        params.min_prominence = s as u8;
    }
    if let Some(s) = env("FEEDLETTER_BENCH_MIN_COUNT") {
        params.min_count = s as u32;
    }
    if let Some(s) = env("FEEDLETTER_BENCH_LONG_WINDOW") {
        params.long_window_days = s as u32;
    }
    println!(
        "parameters: min_count {}, min_score {}, min_lift {}, windows {} and {} days, baseline {} days, spikes {:?}, test {:?}",
        params.min_count,
        params.min_score,
        params.min_lift,
        params.window_days,
        params.long_window_days,
        params.baseline_days,
        params.spikes,
        params.test
    );
    if std::env::var_os("FEEDLETTER_BENCH_QUIET").is_none() {
        let seed = std::env::var("FEEDLETTER_BENCH_DETAIL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(42);
        detail(seed, &params);
    }

    let seeds = seeds();
    let started = Instant::now();
    let mut total = quality::Evaluation::default();
    let mut seeds_missing_targets = 0;
    println!(
        "| seed | precision | recall | duplicates | control false | cand. precision | cand. recall | worst ramp delay |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for seed in &seeds {
        let bench = corpus(*seed);
        let read = quality::read(&bench);
        let e = quality::evaluate(&bench, &read, &params, 3);
        let ramp = e.worst_delay(Shape::Ramp).unwrap_or(0.0);
        if !meets(&e) {
            seeds_missing_targets += 1;
        }
        println!(
            "| {seed} | {:.3} | {:.3} | {} | {} | {:.3} | {:.3} | {ramp:.1} |",
            e.precision(),
            e.recall(),
            e.duplicates(),
            e.control_false_entries(),
            e.candidate_precision(),
            e.candidate_recall()
        );
        if std::env::var_os("FEEDLETTER_BENCH_EXPLAIN").is_some() {
            explain(*seed, &bench, &read, &params, &e);
        }
        total.weeks.extend(e.weeks);
        total.delays.extend(e.delays);
    }
    println!();
    println!(
        "over {} seeds ({} weekly reports, {} ms):",
        seeds.len(),
        total.weeks.len(),
        started.elapsed().as_millis()
    );
    summary(&total);
    println!(
        "seeds where one report or more missed a target: {seeds_missing_targets} of {}",
        seeds.len()
    );
}

fn meets(e: &quality::Evaluation) -> bool {
    checks(e).iter().all(|c| c.2)
}

fn checks(e: &quality::Evaluation) -> Vec<(&'static str, String, bool, &'static str)> {
    let (folded, echoes) = e.echoes_folded();
    let ramp = e.worst_delay(Shape::Ramp).unwrap_or(0.0);
    let found = |w: &quality::Week| w.found.len();
    let sum = |f: &dyn Fn(&quality::Week) -> usize| e.weeks.iter().map(f).sum::<usize>();
    vec![
        (
            "entry precision",
            format!(
                "{:.3} ({} right, {} false)",
                e.precision(),
                sum(&found),
                sum(&|w| w.false_entries.len())
            ),
            e.precision() >= 0.9,
            ">= 0.9",
        ),
        (
            "entry recall",
            format!("{:.3} ({} missed)", e.recall(), sum(&|w| w.missed.len())),
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
            format!(
                "{:.3} ({} false)",
                e.candidate_precision(),
                sum(&|w| w.false_candidates.len())
            ),
            e.candidate_precision() >= 0.9,
            ">= 0.9",
        ),
        (
            "candidate recall (the week of 3 articles)",
            format!("{:.3}", e.candidate_recall()),
            e.candidate_recall() >= 0.9,
            ">= 0.9",
        ),
    ]
}

fn summary(e: &quality::Evaluation) {
    println!();
    println!("| measure | figure | target | met? |");
    println!("|---|---:|---|---|");
    for (name, figure, met, target) in checks(e) {
        println!(
            "| {name} | {figure} | {target} | {} |",
            if met { "yes" } else { "**no**" }
        );
    }
    let mut false_entries: Vec<&str> = e
        .weeks
        .iter()
        .flat_map(|w| w.false_entries.iter().map(String::as_str))
        .collect();
    false_entries.sort_unstable();
    let mut false_candidates: Vec<&str> = e
        .weeks
        .iter()
        .flat_map(|w| w.false_candidates.iter().map(String::as_str))
        .collect();
    false_candidates.sort_unstable();
    let mut missed: Vec<&str> = e
        .weeks
        .iter()
        .flat_map(|w| w.missed.iter().map(String::as_str))
        .collect();
    missed.sort_unstable();
    let mut slow: Vec<String> = e
        .delays
        .iter()
        .filter(|d| d.days.is_none_or(|x| x > 7.0))
        .map(|d| d.story.to_owned())
        .collect();
    slow.sort_unstable();
    let slow: Vec<&str> = slow.iter().map(String::as_str).collect();
    println!("missed entries: {}", counted(&missed));
    println!("stories not found within 7 days: {}", counted(&slow));
    println!("false entries: {}", counted(&false_entries));
    println!("false candidates: {}", counted(&false_candidates));
    println!();
}

/// "a (3), b (1)".
fn counted(items: &[&str]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    let mut out: Vec<(usize, &str)> = Vec::new();
    for i in items {
        match out.iter_mut().find(|(_, x)| x == i) {
            Some(e) => e.0 += 1,
            None => out.push((1, i)),
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    out.iter()
        .map(|(n, x)| format!("{x} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn detail(seed: u64, params: &Params) {
    let started = Instant::now();
    let bench = corpus(seed);
    let bytes: usize = bench
        .articles
        .iter()
        .map(|a| a.title.len() + a.summary.len() + a.body_html.len())
        .sum();
    let read = quality::read(&bench);
    let e = quality::evaluate(&bench, &read, params, 3);
    println!(
        "seed {seed}: {} articles ({:.1} MB), {} weekly reports, evaluated in {} ms",
        bench.articles.len(),
        bytes as f64 / 1e6,
        bench.reports.len(),
        started.elapsed().as_millis()
    );
    if let Ok(phrase) = std::env::var("FEEDLETTER_BENCH_PHRASE") {
        for row in &read.phrases {
            let (slug, at, p) = (&row.slug, row.published, &row.phrases);
            if p.seen.contains(&phrase) {
                let salient = p.salient.iter().find(|s| s.text == phrase);
                let concepts: Vec<&str> = read
                    .data
                    .occurrences
                    .iter()
                    .filter(|o| read.data.articles[o.article as usize].slug == *slug)
                    .map(|o| read.data.topic(o).id.as_str())
                    .collect();
                println!(
                    "{at} {slug}: salient {:?}; about {concepts:?}",
                    salient.map(|s| s.mentions)
                );
            }
        }
    }
    if let Some(i) = std::env::var("FEEDLETTER_BENCH_DUMP")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|i| *i < bench.reports.len())
    {
        let r = read.report(params, bench.reports[i]);
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    }
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
    summary(&e);
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

/// Prints the figures behind each false and missed entry of a seed.
fn explain(
    seed: u64,
    bench: &stories::Bench,
    read: &quality::Read,
    params: &Params,
    e: &quality::Evaluation,
) {
    let mut loose = *params;
    (loose.min_score, loose.min_lift, loose.min_count) = (0.0, 0.0, 1);
    for (i, w) in e.weeks.iter().enumerate() {
        let at = bench.reports[i];
        let all = read.report(&loose, at);
        let show = |kind: &str, id: &str| {
            let t = all.topics.iter().find(|t| t.id == id);
            match t {
                Some(t) => println!(
                    "EXPLAIN seed {seed} report {i}{} {kind} {id}: count {} baseline {} score {:.2} lift {:.2} weekly {:?} prominence {:?}",
                    if w.control { " (control)" } else { "" },
                    t.count,
                    t.baseline_count,
                    t.score,
                    t.lift,
                    t.weekly,
                    quality::prominences(read, at, params, id)
                ),
                None => {
                    println!("EXPLAIN seed {seed} report {i} {kind} {id}: not listed even loosely")
                }
            }
        };
        if std::env::var_os("FEEDLETTER_BENCH_FEATURES").is_some() {
            for t in all.topics.iter().filter(|t| t.count >= 3) {
                let class = if w.expected.contains(&t.id) {
                    "positive"
                } else if bench
                    .labels
                    .iter()
                    .any(|l| l.tolerated.contains(&i) && l.expect == t.id)
                {
                    "tolerated"
                } else {
                    "other"
                };
                println!(
                    "FEATURE,{seed},{i},{},{},{class},{},{},{:.3},{:.3},{}",
                    w.control,
                    t.id,
                    t.count,
                    t.baseline_count,
                    t.score,
                    t.lift,
                    quality::prominences(read, at, params, &t.id)
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
        for f in &w.false_entries {
            show("false", f);
        }
        for m in &w.missed {
            show("missed", m);
        }
    }
}
