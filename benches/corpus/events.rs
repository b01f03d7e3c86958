//! A synthetic history of topic occurrences with labelled scenarios, for
//! testing and timing trending. Seeded ChaCha8, so every platform gets the
//! same corpus.
//!
//! About `weeks` weeks at `per_week` articles a week; `topics` background
//! topics with Zipf-like popularity, 2-6 a article; a fifth of the articles
//! updated later, half of those updates adding a topic. Planted on top:
//! - `burst`: a new topic in 6 articles of the last week only;
//! - `ramp`: 1, then 3, then 7 articles over the last three weeks;
//! - `steady`: in a fifth of all articles, every week;
//! - `one-off`: single mentions scattered, one every other week;
//! - `old-pulse`: 10 articles in one week six weeks before the end.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use feedletter::topics::trending::{Input, Occurrence, TopicInfo};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct Corpus {
    pub now: DateTime<Utc>,
    pub published: Vec<DateTime<Utc>>,
    /// Every topic is a top-level vocabulary concept.
    pub topics: Vec<TopicInfo>,
    pub occurrences: Vec<Occurrence>,
}

impl Corpus {
    pub fn input(&self) -> Input<'_> {
        Input {
            published: &self.published,
            topics: &self.topics,
            occurrences: &self.occurrences,
        }
    }

    pub fn id(&self, topic: u32) -> &str {
        &self.topics[topic as usize].id
    }
}

pub const PLANTED_TRENDING: &[&str] = &["burst", "ramp"];
pub const PLANTED_QUIET: &[&str] = &["steady", "one-off", "old-pulse"];

pub fn generate(seed: u64, weeks: u32, per_week: u32, topics: u32, now: DateTime<Utc>) -> Corpus {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = now - Duration::weeks(i64::from(weeks));
    let total = weeks * per_week;
    // Zipf-like weights 1/k^1.1, as a cumulative table.
    let mut cumulative = Vec::with_capacity(topics as usize);
    let mut acc = 0.0;
    for k in 1..=topics {
        acc += 1.0 / f64::from(k).powf(1.1);
        cumulative.push(acc);
    }
    let mut names: Vec<TopicInfo> = (0..topics)
        .map(|i| TopicInfo {
            id: format!("topic-{i:03}"),
            parent: None,
            concept: true,
        })
        .collect();
    for name in PLANTED_TRENDING.iter().chain(PLANTED_QUIET) {
        names.push(TopicInfo {
            id: (*name).to_owned(),
            parent: None,
            concept: true,
        });
    }
    let planted = |name: &str| names.iter().position(|t| t.id == name).unwrap_or(0) as u32;
    let first_planted = topics;
    let pick = |rng: &mut ChaCha8Rng| -> u32 {
        let x = rng.random::<f64>() * acc;
        cumulative.partition_point(|c| *c < x) as u32
    };
    let mut published = Vec::with_capacity(total as usize);
    let mut occurrences = Vec::new();
    for a in 0..total {
        let t = start + Duration::seconds(rng.random_range(0..i64::from(weeks) * 7 * 86400));
        published.push(t);
        let n = rng.random_range(2..=6);
        let mut mine: Vec<u32> = Vec::new();
        while mine.len() < n {
            let topic = pick(&mut rng);
            if !mine.contains(&topic) {
                mine.push(topic);
            }
        }
        for topic in &mine {
            occurrences.push(Occurrence {
                article: a,
                topic: *topic,
                at: t,
                prominence: 2,
            });
        }
        // A fifth are updated later; half of those add a topic.
        if rng.random_bool(0.2) && rng.random_bool(0.5) {
            let later = t + Duration::hours(rng.random_range(1..72));
            if later < now {
                let topic = pick(&mut rng);
                if !mine.contains(&topic) {
                    occurrences.push(Occurrence {
                        article: a,
                        topic,
                        at: later,
                        prominence: 2,
                    });
                }
            }
        }
    }
    // Planted scenarios, on articles of the right weeks.
    // 0 = the last week.
    let week_of = |t: DateTime<Utc>| (now - t).num_seconds() / (7 * 86400);
    let plant = |name: &str, week: i64, count: usize, occurrences: &mut Vec<Occurrence>| {
        let name = planted(name);
        let mut planted = 0;
        for (i, t) in published.iter().enumerate() {
            if planted == count {
                break;
            }
            // Each planted story on articles of its own: two stories on the
            // same articles would be one story with an echo.
            if week_of(*t) == week
                && !occurrences
                    .iter()
                    .any(|o| o.article == i as u32 && o.topic >= first_planted)
            {
                occurrences.push(Occurrence {
                    article: i as u32,
                    topic: name,
                    at: *t,
                    prominence: 2,
                });
                planted += 1;
            }
        }
    };
    plant("burst", 0, 6, &mut occurrences);
    plant("ramp", 2, 1, &mut occurrences);
    plant("ramp", 1, 3, &mut occurrences);
    plant("ramp", 0, 7, &mut occurrences);
    plant("old-pulse", 6, 10, &mut occurrences);
    for w in (0..i64::from(weeks)).step_by(2) {
        plant("one-off", w, 1, &mut occurrences);
    }
    for w in 0..i64::from(weeks) {
        plant("steady", w, (per_week / 5) as usize, &mut occurrences);
    }
    Corpus {
        now,
        published,
        topics: names,
        occurrences,
    }
}
