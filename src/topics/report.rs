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
    /// Articles newly about the topic in each of the last 8 weeks, oldest
    /// first (for sparklines; not part of the JSON).
    #[serde(skip)]
    pub weekly: Vec<u32>,
}

/// Weeks in a sparkline.
pub const SPARK_WEEKS: usize = 8;

/// Counts of occurrences per week before `at`, oldest week first.
fn weekly(times: &[DateTime<Utc>], at: DateTime<Utc>) -> Vec<u32> {
    let mut out = vec![0u32; SPARK_WEEKS];
    for t in times {
        let age = (at - *t).num_seconds();
        if age >= 0 {
            let week = usize::try_from(age / (7 * 86400)).unwrap_or(usize::MAX);
            if week < SPARK_WEEKS {
                out[SPARK_WEEKS - 1 - week] += 1;
            }
        }
    }
    out
}

/// An inline SVG sparkline of `counts`, drawn on the server.
pub fn sparkline_svg(counts: &[u32]) -> String {
    let (w, h, pad) = (120.0_f64, 28.0_f64, 3.0_f64);
    let max = f64::from(counts.iter().copied().max().unwrap_or(0).max(1));
    let step = if counts.len() > 1 {
        (w - 2.0 * pad) / (counts.len() - 1) as f64
    } else {
        0.0
    };
    let points: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                pad + step * i as f64,
                h - pad - (h - 2.0 * pad) * f64::from(*c) / max,
            )
        })
        .collect();
    let line = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (lx, ly) = points.last().copied().unwrap_or((pad, h - pad));
    let label = counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"Articles per week, last {n} weeks: {label}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"{line}\"/>\
         <circle cx=\"{lx:.1}\" cy=\"{ly:.1}\" r=\"2.5\" fill=\"currentColor\"/></svg>",
        n = counts.len()
    )
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
    let mut times: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    for (_, topic, _, t) in &data.occurrences {
        times.entry(topic.as_str()).or_default().push(*t);
    }
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
                weekly: weekly(times.get(s.id.as_str()).map_or(&[][..], Vec::as_slice), at),
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
