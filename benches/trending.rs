//! Trending over a large synthetic history:
//!
//!     cargo bench --bench trending
//!
//! 100,000 articles over 12 weeks and 500 topics (2-6 an article), the
//! pure `trending::analyze` function timed alone (no database): 3 warm-up
//! runs, then 20 timed runs; min / median / max.

#[path = "corpus/events.rs"]
mod events;

use chrono::DateTime;
use feedletter::topics::trending::{Params, analyze};
use std::time::Instant;

fn main() {
    let now = DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z")
        .unwrap_or_default()
        .to_utc();
    let per_week = 100_000 / 12 + 1;
    let t = Instant::now();
    let c = events::generate(42, 12, per_week, 500, now);
    println!(
        "corpus: {} articles, {} topic occurrences, generated in {} ms",
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
        "trending: min {:.1} ms, median {:.1} ms, max {:.1} ms (target: under 200 ms); {} topics flagged, first {:?}",
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        r.len(),
        r.first().map(|t| c.id(t.topic))
    );
}
