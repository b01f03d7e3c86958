//! Trending measured against a synthetic corpus of topic occurrences with
//! planted, labelled scenarios (benches/corpus/events.rs): every planted
//! trend found in its week, no steady topic, one-off or finished pulse
//! flagged. The labelled corpus of article texts (benches/corpus/stories.rs)
//! is in `trending_quality`.

#[path = "../../benches/corpus/events.rs"]
mod events;

use chrono::{DateTime, Duration, Utc};
use feedletter::topics::trending::{Params, Status, analyze};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z")
        .unwrap()
        .to_utc()
}

fn flagged(c: &events::Corpus, at: DateTime<Utc>) -> Vec<(String, Status)> {
    analyze(at, &Params::default(), &c.input())
        .into_iter()
        .filter(|e| e.status != Status::Covered)
        .map(|e| (c.id(e.topic).to_owned(), e.status))
        .collect()
}

#[test]
fn planted_trends_are_found_and_nothing_else_is() {
    let c = events::generate(7, 12, 80, 150, now());
    let r = flagged(&c, c.now);
    let ids: Vec<&str> = r.iter().map(|(id, _)| id.as_str()).collect();
    for id in events::PLANTED_TRENDING {
        assert!(ids.contains(id), "{id} not found; flagged {ids:?}");
    }
    for id in events::PLANTED_QUIET {
        assert!(!ids.contains(id), "{id} flagged: {r:?}");
    }
    assert!(r.contains(&("burst".to_owned(), Status::New)), "{r:?}");
    assert!(r.contains(&("ramp".to_owned(), Status::Rising)), "{r:?}");
    // The Zipf background: popular topics are common, and none of them is
    // flagged just for being popular.
    let background: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| id.starts_with("topic-"))
        .collect();
    assert!(background.len() <= 1, "background flagged: {background:?}");
}

#[test]
fn the_old_pulse_was_found_in_its_own_week() {
    let c = events::generate(7, 12, 80, 150, now());
    // Six weeks back the pulse was news.
    let r = flagged(&c, c.now - Duration::weeks(6));
    assert!(r.iter().any(|(id, _)| id == "old-pulse"), "{r:?}");
}

#[test]
fn other_seeds_give_the_same_verdicts() {
    for seed in [1, 2, 3] {
        let c = events::generate(seed, 12, 80, 150, now());
        let ids: Vec<String> = flagged(&c, c.now).into_iter().map(|(id, _)| id).collect();
        assert!(
            ids.iter().any(|i| i == "burst") && ids.iter().any(|i| i == "ramp"),
            "seed {seed}: {ids:?}"
        );
        assert!(
            !ids.iter().any(|i| i == "steady" || i == "one-off"),
            "seed {seed}: {ids:?}"
        );
    }
}
