//! Trending measured against a synthetic corpus with planted, labelled
//! scenarios (benches/corpus/events.rs): every planted trend found in its
//! week, no steady topic, one-off or finished pulse flagged.

#[path = "../../benches/corpus/events.rs"]
mod events;

use chrono::{DateTime, Duration, Utc};
use feedletter::topics::trending::{Params, Status, trending};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z")
        .unwrap()
        .to_utc()
}

#[test]
fn planted_trends_are_found_and_nothing_else_is() {
    let c = events::generate(7, 12, 80, 150, now());
    let r = trending(c.now, &Params::default(), &c.published, &c.occurrences);
    let flagged: Vec<&str> = r
        .iter()
        .filter(|t| t.status != Status::Covered)
        .map(|t| t.id.as_str())
        .collect();
    for id in events::PLANTED_TRENDING {
        assert!(flagged.contains(id), "{id} not found; flagged {flagged:?}");
    }
    for id in events::PLANTED_QUIET {
        assert!(!flagged.contains(id), "{id} flagged: {r:?}");
    }
    let burst = r.iter().find(|t| t.id == "burst").unwrap();
    assert_eq!(burst.status, Status::New);
    assert_eq!(
        r.iter().find(|t| t.id == "ramp").unwrap().status,
        Status::Rising
    );
    // The Zipf background: popular topics are common, and none of them is
    // flagged just for being popular.
    let background: Vec<&str> = flagged
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
    let then = c.now - Duration::weeks(6);
    let r = trending(then, &Params::default(), &c.published, &c.occurrences);
    assert!(
        r.iter()
            .any(|t| t.id == "old-pulse" && t.status != Status::Covered),
        "{r:?}"
    );
}

#[test]
fn other_seeds_give_the_same_verdicts() {
    for seed in [1, 2, 3] {
        let c = events::generate(seed, 12, 80, 150, now());
        let r = trending(c.now, &Params::default(), &c.published, &c.occurrences);
        let flagged: Vec<&str> = r
            .iter()
            .filter(|t| t.status != Status::Covered)
            .map(|t| t.id.as_str())
            .collect();
        assert!(
            flagged.contains(&"burst") && flagged.contains(&"ramp"),
            "seed {seed}: {flagged:?}"
        );
        assert!(
            !flagged.contains(&"steady") && !flagged.contains(&"one-off"),
            "seed {seed}: {flagged:?}"
        );
    }
}
