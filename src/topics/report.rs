//! Trending as the command line and the pages show it: stored topic data in,
//! ranked topics with labels and feed links out.

use super::trending::{self, Occurrence, Params, TopicScore};
use crate::config::Config;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// The JSON of `trending --json` (INTERFACES.md).
#[derive(Debug, Clone, Serialize)]
pub struct TrendingReport {
    pub at: String,
    pub window_days: u32,
    pub baseline_days: u32,
    pub topics: Vec<TrendingTopic>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendingTopic {
    pub id: String,
    pub label: String,
    pub status: trending::Status,
    pub count: u32,
    pub baseline_count: u32,
    /// Rounded to 3 decimals, so the output is the same on every platform.
    pub score: f64,
    pub lift: f64,
    pub feed: String,
}

fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        x
    }
}

pub fn params(config: &Config) -> Params {
    Params {
        window_days: config.topics.window_days,
        baseline_days: config.topics.baseline_days,
        ..Params::default()
    }
}

/// Trending topics at `at`, at most `limit`.
pub async fn trending_at(
    store: &dyn Store,
    config: &Config,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<TrendingReport, StoreError> {
    let data = store.topic_data().await?;
    let index: HashMap<&str, u32> = data
        .articles
        .iter()
        .enumerate()
        .map(|(i, (slug, _))| (slug.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let published: Vec<DateTime<Utc>> = data.articles.iter().map(|(_, t)| *t).collect();
    let mut labels: HashMap<&str, &str> = HashMap::new();
    let occurrences: Vec<Occurrence> = data
        .occurrences
        .iter()
        .filter_map(|(slug, topic, label, t)| {
            labels.insert(topic.as_str(), label.as_str());
            Some(Occurrence {
                article: *index.get(slug.as_str())?,
                topic: topic.clone(),
                at: *t,
            })
        })
        .collect();
    let p = params(config);
    let scores: Vec<TopicScore> = trending::trending(at, &p, &published, &occurrences);
    Ok(TrendingReport {
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        window_days: p.window_days,
        baseline_days: p.baseline_days,
        topics: scores
            .into_iter()
            .take(limit)
            .map(|s| TrendingTopic {
                label: labels
                    .get(s.id.as_str())
                    .map_or_else(|| s.id.clone(), |l| (*l).to_owned()),
                feed: format!("/feeds/topics/{}/atom.xml", s.id),
                id: s.id,
                status: s.status,
                count: s.count,
                baseline_count: s.baseline_count,
                score: round3(s.score),
                lift: round3(s.lift),
            })
            .collect(),
    })
}
