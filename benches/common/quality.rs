//! Trending quality against the labelled corpus of `corpus/stories.rs`: the
//! real pipeline (the built-in vocabulary's matcher reads every article,
//! then `topics::report::report_from` ranks entries and candidates, as the
//! daemon does) at each weekly report, scored against the labels.
//!
//! Include with `#[path = ".../benches/common/quality.rs"] mod quality;`
//! next to `#[path = ".../benches/corpus/stories.rs"] mod stories;` (this
//! file refers to `super::stories`).
#![allow(dead_code)]

use super::stories::{Bench, Label, Shape};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use feedletter::domain::{Article, Person, Slug};
use feedletter::store::{PublishedPhrases, TopicArticle, TopicData};
use feedletter::topics::report::{TrendingReport, report_from};
use feedletter::topics::trending::{Params, Status};
use feedletter::topics::{Matcher, Vocabulary};
use std::collections::HashSet;
use std::path::Path;

/// The corpus read as ingest reads it.
pub struct Read {
    pub data: TopicData,
    pub phrases: Vec<PublishedPhrases>,
    pub matcher: Matcher,
}

/// Reads every article with the built-in vocabulary.
pub fn read(bench: &Bench) -> Read {
    let matcher = Matcher::new(
        Vocabulary::load("builtin:skincare", Path::new(".")).expect("the built-in vocabulary"),
    )
    .expect("the matcher");
    let ist = FixedOffset::east_opt(5 * 3600 + 1800).expect("IST");
    let mut articles = Vec::new();
    let mut rows: Vec<(String, String, String, DateTime<Utc>, u8)> = Vec::new();
    let mut phrases = Vec::new();
    for a in &bench.articles {
        let article = Article {
            slug: Slug::parse(&a.slug).expect("a slug"),
            title: a.title.clone(),
            summary: a.summary.clone(),
            content_html: a.body_html.clone(),
            author: Person {
                name: "The Desk".into(),
                email: None,
            },
            reviewed_by: None,
            tags: a.tags.clone(),
            category: None,
            image: None,
            image_alt: None,
            url: format!("https://bench.example/articles/{}", a.slug),
            published: a.published.with_timezone(&ist),
            updated: None,
        };
        // Every article: the harness reports at every week of the corpus.
        let (topics, found) = matcher.analyze(&article, chrono::DateTime::<chrono::Utc>::MIN_UTC);
        for t in topics {
            rows.push((a.slug.clone(), t.id, t.label, a.published, t.prominence));
        }
        articles.push(TopicArticle {
            slug: a.slug.clone(),
            title: a.title.clone(),
            url: article.url.clone(),
            published: a.published,
        });
        phrases.push(PublishedPhrases {
            slug: a.slug.clone(),
            published: a.published,
            phrases: found,
        });
    }
    let data = TopicData::from_rows(
        articles,
        rows.iter()
            .map(|(slug, id, label, at, p)| (slug.as_str(), id.as_str(), label.as_str(), *at, *p)),
    );
    Read {
        data,
        phrases,
        matcher,
    }
}

impl Read {
    pub fn report(&self, params: &Params, at: DateTime<Utc>) -> TrendingReport {
        report_from(&self.data, &self.phrases, &self.matcher, params, at, 50)
    }
}

/// The entries of a report: trending ones only ("covered" is a fallback,
/// not a claim that something trends).
pub fn entries(r: &TrendingReport) -> Vec<&str> {
    r.topics
        .iter()
        .filter(|t| t.status != Status::Covered)
        .map(|t| t.id.as_str())
        .collect()
}

/// A candidate matches a labelled phrase when one holds the other's words.
fn same_phrase(found: &str, expected: &str) -> bool {
    let (f, e) = (format!(" {found} "), format!(" {expected} "));
    f.contains(&e) || e.contains(&f)
}

fn is_candidate_label(l: &Label) -> bool {
    l.shape == Shape::NewIngredient
}

/// Shapes that must never be reported.
fn never(l: &Label) -> bool {
    l.onset.is_none()
}

/// One weekly report, scored.
#[derive(Debug, Clone, Default)]
pub struct Week {
    pub at: String,
    pub entries: Vec<String>,
    pub candidates: Vec<String>,
    pub expected: Vec<String>,
    pub found: Vec<String>,
    pub missed: Vec<String>,
    pub false_entries: Vec<String>,
    /// Entries that repeat a story another entry already stands for.
    pub duplicates: Vec<String>,
    pub expected_candidates: Vec<String>,
    pub found_candidates: Vec<String>,
    pub false_candidates: Vec<String>,
    /// Echo labels of this week: (echo, host, kept out of the entries?).
    pub echoes: Vec<(String, String, bool)>,
    pub control: bool,
}

/// A planted story's detection delay, from reports every `step` hours.
#[derive(Debug, Clone)]
pub struct Delay {
    pub story: &'static str,
    pub shape: Shape,
    /// Days from the labelled onset to the first report that has it; None
    /// when no report within 14 days did.
    pub days: Option<f64>,
    /// Days from the story's very first article.
    pub from_first_article: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub weeks: Vec<Week>,
    pub delays: Vec<Delay>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl Evaluation {
    fn sum(&self, f: impl Fn(&Week) -> usize) -> usize {
        self.weeks.iter().map(f).sum()
    }
    pub fn precision(&self) -> f64 {
        let found = self.sum(|w| w.found.len());
        ratio(found, found + self.sum(|w| w.false_entries.len()))
    }
    pub fn recall(&self) -> f64 {
        let found = self.sum(|w| w.found.len());
        ratio(found, found + self.sum(|w| w.missed.len()))
    }
    pub fn duplicates(&self) -> usize {
        self.sum(|w| w.duplicates.len())
    }
    pub fn control_false_entries(&self) -> usize {
        self.weeks
            .iter()
            .filter(|w| w.control)
            .map(|w| w.entries.len())
            .sum()
    }
    pub fn candidate_precision(&self) -> f64 {
        let found = self.sum(|w| w.found_candidates.len());
        ratio(found, found + self.sum(|w| w.false_candidates.len()))
    }
    pub fn candidate_recall(&self) -> f64 {
        let expected = self.sum(|w| w.expected_candidates.len());
        ratio(self.sum(|w| w.found_candidates.len()), expected)
    }
    /// Echoes that stayed out of the entries (folded as related, or not
    /// trending at all), of all echo labels.
    pub fn echoes_folded(&self) -> (usize, usize) {
        let all: Vec<&(String, String, bool)> = self.weeks.iter().flat_map(|w| &w.echoes).collect();
        (all.iter().filter(|e| e.2).count(), all.len())
    }
    /// The longest detection delay of the planted shape, in days.
    pub fn worst_delay(&self, shape: Shape) -> Option<f64> {
        self.delays
            .iter()
            .filter(|d| d.shape == shape)
            .map(|d| d.days.unwrap_or(f64::INFINITY))
            .max_by(f64::total_cmp)
    }
}

/// Scores every weekly report, and the detection delay of each planted
/// story from reports every `step_hours` (0: no delays).
pub fn evaluate(bench: &Bench, read: &Read, params: &Params, step_hours: i64) -> Evaluation {
    let vocabulary = read.matcher.vocabulary();
    let same_tree = |a: &str, b: &str| {
        let root = |id: &str| {
            vocabulary
                .ancestors(id)
                .last()
                .map_or_else(|| id.to_owned(), |t| t.id.clone())
        };
        root(a) == root(b)
    };
    let mut weeks = Vec::new();
    for (i, at) in bench.reports.iter().enumerate() {
        let r = read.report(params, *at);
        let found_entries: Vec<&str> = entries(&r);
        let active = |l: &&Label| l.positive.contains(&i);
        let tolerated: HashSet<&str> = bench
            .labels
            .iter()
            .filter(|l| l.tolerated.contains(&i))
            .map(|l| l.expect)
            .collect();
        let expected: Vec<&str> = bench
            .labels
            .iter()
            .filter(active)
            .filter(|l| !is_candidate_label(l) && !never(l))
            .map(|l| l.expect)
            .collect();
        let mut w = Week {
            at: r.at.clone(),
            entries: found_entries.iter().map(|s| (*s).to_owned()).collect(),
            candidates: r.candidates.iter().map(|c| c.phrase.clone()).collect(),
            control: bench.control.contains(&i),
            expected: expected.iter().map(|s| (*s).to_owned()).collect(),
            ..Week::default()
        };
        for e in &expected {
            if found_entries.contains(e) {
                w.found.push((*e).to_owned());
            } else {
                w.missed.push((*e).to_owned());
            }
        }
        for e in &found_entries {
            if !expected.contains(e) && !tolerated.contains(e) {
                w.false_entries.push((*e).to_owned());
            }
        }
        // Duplicates: two entries of one concept tree, or an entry for a
        // story's narrower concept or echo beside the story's own.
        for (k, e) in found_entries.iter().enumerate() {
            if found_entries[..k].iter().any(|o| same_tree(o, e)) {
                w.duplicates.push((*e).to_owned());
            }
        }
        for l in bench.labels.iter().filter(active) {
            for n in &l.not_entries {
                if found_entries.contains(n) && found_entries.contains(&l.expect) {
                    w.duplicates.push((*n).to_owned());
                }
            }
        }
        w.duplicates.sort();
        w.duplicates.dedup();
        for l in bench
            .labels
            .iter()
            .filter(|l| l.shape == Shape::Echo && l.positive.contains(&i))
        {
            let host = l.related_to.unwrap_or_default();
            let folded = !found_entries.contains(&l.expect);
            w.echoes
                .push((l.expect.to_owned(), host.to_owned(), folded));
        }
        // Candidates.
        let want: Vec<&str> = bench
            .labels
            .iter()
            .filter(|l| is_candidate_label(l) && l.positive.contains(&i))
            .map(|l| l.expect)
            .collect();
        let allowed: Vec<&str> = bench
            .labels
            .iter()
            .filter(|l| {
                is_candidate_label(l) && (l.positive.contains(&i) || l.tolerated.contains(&i))
            })
            .map(|l| l.expect)
            .collect();
        w.expected_candidates = want.iter().map(|s| (*s).to_owned()).collect();
        for c in &w.candidates {
            if let Some(hit) = want.iter().find(|e| same_phrase(c, e)) {
                if !w.found_candidates.iter().any(|f| f == hit) {
                    w.found_candidates.push((*hit).to_owned());
                }
            } else if !allowed.iter().any(|e| same_phrase(c, e)) {
                w.false_candidates.push(c.clone());
            }
        }
        weeks.push(w);
    }
    let mut delays = Vec::new();
    for l in bench
        .labels
        .iter()
        .filter(|l| l.onset.is_some() && step_hours > 0)
    {
        let Some(onset) = l.onset else { continue };
        let mut at = onset;
        let mut days = None;
        while at <= onset + Duration::days(14) {
            let r = read.report(params, at);
            let hit = if is_candidate_label(l) {
                r.candidates
                    .iter()
                    .any(|c| same_phrase(&c.phrase, l.expect))
            } else {
                entries(&r).contains(&l.expect)
            };
            if hit {
                days = Some((at - onset).num_minutes() as f64 / 1440.0);
                break;
            }
            at += Duration::hours(step_hours);
        }
        delays.push(Delay {
            story: l.story,
            shape: l.shape,
            from_first_article: days
                .zip(l.first_article)
                .map(|(d, first)| d + (onset - first).num_minutes() as f64 / 1440.0),
            days,
        });
    }
    Evaluation { weeks, delays }
}

/// The prominence of `id` in each window article that has it.
pub fn prominences(read: &Read, at: DateTime<Utc>, params: &Params, id: &str) -> Vec<u8> {
    let from = at - Duration::days(i64::from(params.window_days));
    read.data
        .occurrences
        .iter()
        .filter(|o| read.data.topic(o).id == id && o.first_seen >= from && o.first_seen < at)
        .map(|o| o.prominence)
        .collect()
}
