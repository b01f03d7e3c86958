//! Trending as the command line, the pages, the feeds and the digests show
//! it: stored topic data and the vocabulary in, ranked entries with labels,
//! explanations, articles and feed links out, plus the emerging candidates.

use super::candidates::{self, PhraseArticle};
use super::extract::Matcher;
use super::trending::{self, Input, Occurrence, Params, Status, TopicInfo};
use super::vocabulary::normalize;
use crate::config::Config;
use crate::domain::Slug;
use crate::store::{Store, StoreError, TopicArticle};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Candidates a report shows at most.
pub const MAX_CANDIDATES: usize = 10;

/// The JSON of `trending --json` (INTERFACES.md).
#[derive(Debug, Clone, Serialize)]
pub struct TrendingReport {
    pub at: String,
    pub window_days: u32,
    pub baseline_days: u32,
    pub topics: Vec<TrendingTopic>,
    pub candidates: Vec<CandidateView>,
}

/// One entry: a topic and why it trends.
#[derive(Debug, Clone, Serialize)]
pub struct TrendingTopic {
    pub id: String,
    pub label: String,
    pub status: Status,
    pub count: u32,
    pub baseline_count: u32,
    /// Rounded to 3 decimals, so the output is the same on every platform.
    pub score: f64,
    pub lift: f64,
    pub feed: String,
    /// The first article ever about it (RFC 3339).
    pub first_seen: String,
    /// Articles about it per window-sized period over the baseline and the
    /// window, oldest first; the last is `count`.
    pub weekly: Vec<u32>,
    /// Narrower concepts it includes, with their articles this window.
    pub includes: Vec<Included>,
    /// Topics that trend on mostly the same articles (echoes).
    pub related: Vec<Related>,
    /// Its articles this window, each listed under one entry only.
    pub articles: Vec<EntryArticle>,
    /// Why it is listed, in a sentence.
    pub why: String,
    /// Its broader concepts, nearest first (for digests: a reader who
    /// follows retinoids wants the retinol entry).
    #[serde(skip)]
    pub ancestors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Included {
    pub id: String,
    pub label: String,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Related {
    pub id: String,
    pub label: String,
    pub shared: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntryArticle {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub published: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CandidateArticle {
    pub slug: String,
    pub title: String,
    pub url: String,
}

/// A phrase no vocabulary knows, bursting in skincare articles.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateView {
    pub phrase: String,
    pub count: u32,
    pub baseline_count: u32,
    pub score: f64,
    pub articles: Vec<CandidateArticle>,
    /// Overlapping phrases folded into this one.
    pub variants: Vec<String>,
}

impl TrendingTopic {
    /// The ids a digest reader may follow to want this entry: its own, its
    /// broader concepts' and the narrower ones it includes.
    pub fn followed_by(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.ancestors.iter().map(String::as_str))
            .chain(self.includes.iter().map(|i| i.id.as_str()))
    }
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

/// A text sparkline for terminals: one block per week.
pub fn sparkline_text(counts: &[u32]) -> String {
    const BARS: [char; 8] = [
        '\u{2581}', '\u{2582}', '\u{2583}', '\u{2584}', '\u{2585}', '\u{2586}', '\u{2587}',
        '\u{2588}',
    ];
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|c| {
            if *c == 0 || max == 0 {
                ' '
            } else {
                let i = (usize::try_from(*c).unwrap_or(0) * (BARS.len() - 1))
                    / usize::try_from(max).unwrap_or(1);
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        x
    }
}

pub fn params(config: &Config) -> Params {
    let t = &config.topics;
    Params {
        window_days: t.window_days,
        baseline_days: t.baseline_days,
        long_window_days: t.long_window_days,
        min_count: t.min_count,
        min_score: t.min_score,
        min_lift: t.min_lift,
        trend_tags: t.trend_tags,
        ..Params::default()
    }
}

/// "this week" for a 7-day window, else "in the last N days".
fn window_phrase(days: u32) -> String {
    match days {
        1 => "today".into(),
        7 => "this week".into(),
        d => format!("in the last {d} days"),
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why an entry is listed, as an editor would say it.
pub fn explain(t: &TrendingTopic, window_days: u32, baseline_days: u32) -> String {
    let this = window_phrase(window_days);
    let articles = plural(t.count, "article", "articles");
    let weeks = f64::from(baseline_days) / 7.0;
    match t.status {
        Status::New => format!(
            "{articles} {this}, none in the {} weeks before: new",
            weeks.round()
        ),
        Status::Rising => {
            let per_week = f64::from(t.baseline_count) / weeks.max(1.0);
            format!(
                "{articles} {this}, against {} a week over the {} weeks before ({:.1}x the usual rate)",
                if per_week < 0.95 {
                    format!("{per_week:.1}")
                } else {
                    format!("{}", per_week.round())
                },
                weeks.round(),
                t.lift
            )
        }
        Status::Covered => format!("{articles} {this}: among the most covered, not trending"),
    }
}

/// Trending topics (and candidates) at `at`, at most `limit` topics.
pub async fn trending_at(
    store: &dyn Store,
    config: &Config,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<TrendingReport, StoreError> {
    let matcher = super::load_matcher(config).map_err(|e| StoreError::Other(e.into()))?;
    let p = params(config);
    let since = at
        - Duration::days(
            i64::from(p.window_days.max(p.long_window_days)) + i64::from(p.baseline_days) + 1,
        );
    let data = store.topic_data().await?;
    let phrases = if config.topics.candidates {
        let rows = store.phrase_data(since).await?;
        rows.into_iter()
            .map(|r| (r.slug, r.published, r.phrases))
            .collect()
    } else {
        Vec::new()
    };
    Ok(report_from(&data, &phrases, &matcher, &p, at, limit))
}

/// Published articles with their salient phrases: (slug, published, phrases).
pub type PhraseData = [(String, DateTime<Utc>, super::phrases::ArticlePhrases)];

/// The report at `at` from data already loaded: pure, the same for the
/// daemon, the command line and the quality benchmark.
pub fn report_from(
    data: &crate::store::TopicData,
    phrases: &PhraseData,
    matcher: &Matcher,
    p: &Params,
    at: DateTime<Utc>,
    limit: usize,
) -> TrendingReport {
    let vocabulary = matcher.vocabulary();
    let index: HashMap<&str, u32> = data
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| (a.slug.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let published: Vec<DateTime<Utc>> = data.articles.iter().map(|a| a.published).collect();

    // Topics as indexes, with their labels: the vocabulary's for concepts,
    // the stored one for tags; every ancestor present.
    let mut ids: Vec<String> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut position: HashMap<String, u32> = HashMap::new();
    let mut intern = |id: &str, label: &str, ids: &mut Vec<String>, labels: &mut Vec<String>| {
        *position.entry(id.to_owned()).or_insert_with(|| {
            ids.push(id.to_owned());
            labels.push(
                vocabulary
                    .get(id)
                    .map_or_else(|| label.to_owned(), |t| t.label.clone()),
            );
            u32::try_from(ids.len() - 1).unwrap_or(u32::MAX)
        })
    };
    let mut occurrences = Vec::with_capacity(data.occurrences.len());
    for o in &data.occurrences {
        let topic = intern(&o.topic, &o.label, &mut ids, &mut labels);
        if let Some(article) = index.get(o.slug.as_str()) {
            occurrences.push(Occurrence {
                article: *article,
                topic,
                at: o.first_seen,
                prominence: o.prominence,
            });
        }
    }
    for i in 0..ids.len() {
        let id = ids[i].clone();
        for a in vocabulary.ancestors(&id) {
            intern(&a.id, &a.label, &mut ids, &mut labels);
        }
    }
    let topics: Vec<TopicInfo> = ids
        .iter()
        .map(|id| TopicInfo {
            id: id.clone(),
            parent: vocabulary
                .get(id)
                .and_then(|t| t.parent.as_ref())
                .and_then(|p| position.get(p).copied()),
            concept: vocabulary.get(id).is_some(),
        })
        .collect();
    let input = Input {
        published: &published,
        topics: &topics,
        occurrences: &occurrences,
    };
    let entries = trending::analyze(at, p, &input);

    let article_view = |i: u32| {
        let a: &TopicArticle = &data.articles[i as usize];
        EntryArticle {
            slug: a.slug.clone(),
            title: a.title.clone(),
            url: a.url.clone(),
            published: a.published.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    };
    let topic_list: Vec<TrendingTopic> = entries
        .into_iter()
        .take(limit)
        .map(|e| {
            let id = ids[e.topic as usize].clone();
            let mut t = TrendingTopic {
                label: labels[e.topic as usize].clone(),
                feed: format!("/feeds/topics/{id}/atom.xml"),
                first_seen: e.first_seen.to_rfc3339_opts(SecondsFormat::Secs, true),
                weekly: e.weekly,
                includes: e
                    .includes
                    .iter()
                    .map(|(t, n)| Included {
                        id: ids[*t as usize].clone(),
                        label: labels[*t as usize].clone(),
                        count: *n,
                    })
                    .collect(),
                related: e
                    .related
                    .iter()
                    .map(|(t, n)| Related {
                        id: ids[*t as usize].clone(),
                        label: labels[*t as usize].clone(),
                        shared: *n,
                    })
                    .collect(),
                articles: e.articles.iter().map(|a| article_view(*a)).collect(),
                ancestors: vocabulary
                    .ancestors(&id)
                    .iter()
                    .map(|a| a.id.clone())
                    .collect(),
                id,
                status: e.status,
                count: e.count,
                baseline_count: e.baseline_count,
                score: round3(e.score),
                lift: round3(e.lift),
                why: String::new(),
            };
            t.why = explain(&t, p.window_days, p.baseline_days);
            t
        })
        .collect();

    // Candidates: skincare articles only; tags and aliases are known.
    let scope = trending::in_scope(&input, p);
    let tag_names: HashSet<String> = ids
        .iter()
        .zip(&labels)
        .filter(|(id, _)| vocabulary.get(id).is_none())
        .flat_map(|(id, label)| [id.clone(), normalize(label)])
        .collect();
    let known = |phrase: &str| {
        tag_names.contains(phrase)
            || Slug::slugify(phrase).is_ok_and(|s| tag_names.contains(s.as_str()))
            || !matcher.mentions(phrase).is_empty()
    };
    let phrase_articles: Vec<PhraseArticle> = phrases
        .iter()
        .filter_map(|(slug, published, phrases)| {
            Some(PhraseArticle {
                article: *index.get(slug.as_str())?,
                published: *published,
                phrases,
            })
        })
        .collect();
    let found = candidates::candidates(at, p, &phrase_articles, &scope, &known, MAX_CANDIDATES);
    TrendingReport {
        at: at.to_rfc3339_opts(SecondsFormat::Secs, true),
        window_days: p.window_days,
        baseline_days: p.baseline_days,
        topics: topic_list,
        candidates: found
            .into_iter()
            .map(|c| CandidateView {
                phrase: c.phrase,
                count: c.count,
                baseline_count: c.baseline_count,
                score: round3(c.score),
                articles: c
                    .articles
                    .iter()
                    .map(|a| {
                        let v = article_view(*a);
                        CandidateArticle {
                            slug: v.slug,
                            title: v.title,
                            url: v.url,
                        }
                    })
                    .collect(),
                variants: c.variants,
            })
            .collect(),
    }
}
