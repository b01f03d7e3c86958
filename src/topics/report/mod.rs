//! Trending as the command line, the pages, the feeds and the digests show
//! it: stored topic data and the vocabulary in, ranked entries with labels,
//! explanations, articles and feed links out, plus the emerging candidates.

mod explain;
mod sparkline;

pub use explain::explain;
pub use sparkline::{sparkline_svg, sparkline_text};

use super::candidates::{self, PhraseArticle};
use super::extract::Matcher;
use super::trending::{self, Entry, Input, Occurrence, Params, Status, TopicInfo};
use super::vocabulary::{Vocabulary, normalize};
use crate::config::Config;
use crate::domain::Slug;
use crate::store::{Store, StoreError, TopicArticle, TopicData};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Candidates a report shows at most.
pub const MAX_CANDIDATES: usize = 10;

/// The JSON of `trending --json`: one object per entry, with its explanation.
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
    /// Of `count` and `baseline_count`, the articles the test counted:
    /// those that name the topic in their headline (`topics.counted_in`).
    pub headlines: u32,
    pub baseline_headlines: u32,
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

    /// The narrower concepts it includes, as readers see them: "Exosome
    /// facials (2), Plant exosomes (1)".
    pub fn includes_text(&self) -> String {
        let parts: Vec<String> = self
            .includes
            .iter()
            .map(|i| format!("{} ({})", i.label, i.count))
            .collect();
        parts.join(", ")
    }

    /// The echoes folded into it, by label: "Microneedling, Pollution".
    pub fn related_text(&self) -> String {
        let labels: Vec<&str> = self.related.iter().map(|r| r.label.as_str()).collect();
        labels.join(", ")
    }
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
        min_prominence: t.counted_in.min_prominence(),
        min_score: t.min_score,
        min_lift: t.min_lift,
        trend_tags: t.trend_tags,
        ..Params::default()
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
    // Only the span's articles count, but an entry's first appearance may
    // be older: read it for the entries alone.
    let data = store.topic_data(since).await?;
    let phrases = if config.topics.candidates {
        store.phrase_data(since).await?
    } else {
        Vec::new()
    };
    let mut report = report_from(&data, &phrases, &matcher, &p, at, limit);
    let ids: Vec<&str> = report.topics.iter().map(|t| t.id.as_str()).collect();
    let firsts = store.first_appearances(&ids).await?;
    for t in &mut report.topics {
        if let Some(first) = firsts.get(&t.id) {
            t.first_seen = first.to_rfc3339_opts(SecondsFormat::Secs, true);
        }
    }
    Ok(report)
}

/// Published articles with their salient phrases, as the store reads them.
pub type PhraseData = [crate::store::PublishedPhrases];

/// The report at `at` from data already loaded: pure, the same for the
/// daemon, the command line and the quality benchmark.
pub fn report_from(
    data: &TopicData,
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
    let (names, occurrences) = TopicNames::of(data, vocabulary);
    let topics = names.infos(vocabulary);
    let input = Input {
        published: &published,
        topics: &topics,
        occurrences: &occurrences,
    };
    let topic_list: Vec<TrendingTopic> = trending::analyze(at, p, &input)
        .into_iter()
        .take(limit)
        .map(|e| names.view(e, data, vocabulary, p))
        .collect();
    // Candidates: skincare articles only; tags and aliases are known.
    let scope = trending::in_scope(&input, p);
    let tag_names = names.tag_names(vocabulary);
    let known = |phrase: &str| {
        tag_names.contains(phrase)
            || Slug::slugify(phrase).is_ok_and(|s| tag_names.contains(s.as_str()))
            || !matcher.mentions(phrase).is_empty()
    };
    let phrase_articles: Vec<PhraseArticle> = phrases
        .iter()
        .filter_map(|row| {
            Some(PhraseArticle {
                article: *index.get(row.slug.as_str())?,
                published: row.published,
                phrases: &row.phrases,
            })
        })
        .collect();
    let found = candidates::candidates(at, p, &phrase_articles, &scope, &known, MAX_CANDIDATES);
    TrendingReport {
        at: at.to_rfc3339_opts(SecondsFormat::Secs, true),
        window_days: p.window_days,
        baseline_days: p.baseline_days,
        topics: topic_list,
        candidates: found.into_iter().map(|c| candidate_view(c, data)).collect(),
    }
}

/// The topics trending sees, as indexes, with their labels: the
/// vocabulary's for concepts, the stored one for tags; every ancestor of a
/// stored topic is present.
struct TopicNames {
    ids: Vec<String>,
    labels: Vec<String>,
    position: HashMap<String, u32>,
}

impl TopicNames {
    /// The stored topics and their occurrences.
    fn of(data: &TopicData, vocabulary: &Vocabulary) -> (Self, Vec<Occurrence>) {
        let mut names = Self {
            ids: Vec::new(),
            labels: Vec::new(),
            position: HashMap::new(),
        };
        // Interned in the order their first rows come (by article, then
        // topic id), so that the indexes do not depend on the store.
        let mut of_stored: Vec<Option<u32>> = vec![None; data.topics.len()];
        let mut occurrences = Vec::with_capacity(data.occurrences.len());
        for o in &data.occurrences {
            let Some(slot) = of_stored.get_mut(o.topic as usize) else {
                continue;
            };
            let topic = *slot.get_or_insert_with(|| {
                let t = &data.topics[o.topic as usize];
                names.intern(&t.id, &t.label, vocabulary)
            });
            occurrences.push(Occurrence {
                article: o.article,
                topic,
                at: o.first_seen,
                prominence: o.prominence,
            });
        }
        for i in 0..names.ids.len() {
            let id = names.ids[i].clone();
            for a in vocabulary.ancestors(&id) {
                names.intern(&a.id, &a.label, vocabulary);
            }
        }
        (names, occurrences)
    }

    /// The index of `id`, added with its label when new.
    fn intern(&mut self, id: &str, label: &str, vocabulary: &Vocabulary) -> u32 {
        let (ids, labels) = (&mut self.ids, &mut self.labels);
        *self.position.entry(id.to_owned()).or_insert_with(|| {
            ids.push(id.to_owned());
            labels.push(
                vocabulary
                    .get(id)
                    .map_or_else(|| label.to_owned(), |t| t.label.clone()),
            );
            u32::try_from(ids.len() - 1).unwrap_or(u32::MAX)
        })
    }

    /// The topics as trending reads them: parents as indexes.
    fn infos(&self, vocabulary: &Vocabulary) -> Vec<TopicInfo> {
        self.ids
            .iter()
            .map(|id| TopicInfo {
                id: id.clone(),
                parent: vocabulary
                    .get(id)
                    .and_then(|t| t.parent.as_ref())
                    .and_then(|p| self.position.get(p).copied()),
                concept: vocabulary.get(id).is_some(),
            })
            .collect()
    }

    /// The ids and labels (normalized) of the tags that name no concept.
    fn tag_names(&self, vocabulary: &Vocabulary) -> HashSet<String> {
        self.ids
            .iter()
            .zip(&self.labels)
            .filter(|(id, _)| vocabulary.get(id).is_none())
            .flat_map(|(id, label)| [id.clone(), normalize(label)])
            .collect()
    }

    fn id(&self, topic: u32) -> String {
        self.ids[topic as usize].clone()
    }

    fn label(&self, topic: u32) -> String {
        self.labels[topic as usize].clone()
    }

    /// An entry as the report shows it.
    fn view(
        &self,
        e: Entry,
        data: &TopicData,
        vocabulary: &Vocabulary,
        p: &Params,
    ) -> TrendingTopic {
        let id = self.id(e.topic);
        let mut t = TrendingTopic {
            label: self.label(e.topic),
            feed: format!("/feeds/topics/{id}/atom.xml"),
            first_seen: e.first_seen.to_rfc3339_opts(SecondsFormat::Secs, true),
            weekly: e.weekly,
            includes: e
                .includes
                .iter()
                .map(|(t, n)| Included {
                    id: self.id(*t),
                    label: self.label(*t),
                    count: *n,
                })
                .collect(),
            related: e
                .related
                .iter()
                .map(|(t, n)| Related {
                    id: self.id(*t),
                    label: self.label(*t),
                    shared: *n,
                })
                .collect(),
            articles: e.articles.iter().map(|a| article_view(data, *a)).collect(),
            ancestors: vocabulary
                .ancestors(&id)
                .iter()
                .map(|a| a.id.clone())
                .collect(),
            id,
            status: e.status,
            count: e.count,
            baseline_count: e.baseline_count,
            headlines: e.headlines,
            baseline_headlines: e.baseline_headlines,
            score: round3(e.score),
            lift: round3(e.lift),
            why: String::new(),
        };
        t.why = explain(&t, p.window_days, p.baseline_days);
        t
    }
}

/// Article `i` of `data` as an entry lists it.
fn article_view(data: &TopicData, i: u32) -> EntryArticle {
    let a: &TopicArticle = &data.articles[i as usize];
    EntryArticle {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        published: a.published.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// A candidate as the report shows it.
fn candidate_view(c: candidates::Candidate, data: &TopicData) -> CandidateView {
    CandidateView {
        phrase: c.phrase,
        count: c.count,
        baseline_count: c.baseline_count,
        score: round3(c.score),
        articles: c
            .articles
            .iter()
            .map(|a| {
                let v = article_view(data, *a);
                CandidateArticle {
                    slug: v.slug,
                    title: v.title,
                    url: v.url,
                }
            })
            .collect(),
        variants: c.variants,
    }
}
