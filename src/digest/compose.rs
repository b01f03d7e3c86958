//! What goes into one subscriber's digest: pure, no store and no clock.
//!
//! A run loads the topics trending at its fire time and the articles changed
//! since the earliest window of any of its subscribers once; each
//! subscriber's digest is then a selection from those, cheap enough to do
//! per message.

use crate::store::DigestArticle;
use crate::topics::report::{CandidateView, TrendingTopic};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Everything a run's digests are chosen from.
#[derive(Debug, Clone)]
pub struct Material {
    /// Trending at the fire time, ranked ("covered" ones when nothing trends).
    pub trending: Vec<TrendingTopic>,
    /// Published articles changed in the widest window of the run.
    pub articles: Vec<DigestArticle>,
    /// Per topic id: indexes into `articles`, most recently changed first.
    by_topic: HashMap<String, Vec<usize>>,
    /// Topic labels, from the trending list or the articles.
    pub labels: HashMap<String, String>,
    /// Which topics may fill "also new"; None: every topic.
    scope: Option<Scope>,
    /// Emerging phrases, for editors' previews only.
    pub candidates: Vec<CandidateView>,
}

/// Which topics a digest's "also new" section is made of.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Vocabulary concepts with no parent: what a reader who follows
    /// everything gets, one section per concept tree.
    pub top_level: HashSet<String>,
    /// Every vocabulary concept.
    pub concepts: HashSet<String>,
    /// Tags that name no concept may fill it too.
    pub trend_tags: bool,
}

/// Limits from the `[[digest]]` schedule.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_topics: usize,
    pub max_articles_per_topic: usize,
}

/// One subscriber's digest, as indexes into the run's `Material`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Composition {
    /// Trending topics the subscriber follows, with what changed in them.
    pub topics: Vec<Section>,
    /// Followed topics that did not trend but have something new.
    pub also_new: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Section {
    pub topic: String,
    /// Index into `Material::trending`, for trending sections.
    pub rank: Option<usize>,
    /// (index into `Material::articles`, updated rather than new)
    pub articles: Vec<(usize, bool)>,
}

impl Composition {
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && self.also_new.is_empty()
    }
}

/// When an article last changed: its update, or its publication.
fn changed(a: &DigestArticle) -> DateTime<Utc> {
    a.updated.max(a.published)
}

impl Material {
    pub fn new(trending: Vec<TrendingTopic>, articles: Vec<DigestArticle>) -> Self {
        let mut by_topic: HashMap<String, Vec<usize>> = HashMap::new();
        let mut labels: HashMap<String, String> = HashMap::new();
        for (i, a) in articles.iter().enumerate() {
            for (id, label) in &a.topics {
                by_topic.entry(id.clone()).or_default().push(i);
                labels.entry(id.clone()).or_insert_with(|| label.clone());
            }
        }
        for list in by_topic.values_mut() {
            list.sort_by(|x, y| {
                changed(&articles[*y])
                    .cmp(&changed(&articles[*x]))
                    .then_with(|| articles[*x].slug.cmp(&articles[*y].slug))
            });
        }
        for t in &trending {
            labels.insert(t.id.clone(), t.label.clone());
        }
        Self {
            trending,
            articles,
            by_topic,
            labels,
            scope: None,
            candidates: Vec::new(),
        }
    }

    /// Limits "also new" to what the vocabulary knows (see `Scope`).
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    pub fn with_candidates(mut self, candidates: Vec<CandidateView>) -> Self {
        self.candidates = candidates;
        self
    }

    /// Whether `id` may make an "also new" section for a reader who follows
    /// `follows` (empty: everything). A topic followed by name always may.
    fn may_fill(&self, id: &str, follows: &HashSet<&str>) -> bool {
        if !follows.is_empty() {
            return follows.contains(id);
        }
        match &self.scope {
            None => true,
            Some(s) => s.top_level.contains(id) || (s.trend_tags && !s.concepts.contains(id)),
        }
    }

    /// What changed in `topic` after `since`, newest first, at most `limit`.
    fn changes(&self, topic: &str, since: DateTime<Utc>, limit: usize) -> Vec<(usize, bool)> {
        self.by_topic
            .get(topic)
            .map(|list| {
                list.iter()
                    .filter(|i| changed(&self.articles[**i]) > since)
                    .take(limit)
                    .map(|i| (*i, self.articles[*i].published <= since))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The digest of a subscriber who follows `follows` (empty: everything)
    /// and last got this schedule's digest at `since`.
    pub fn compose(&self, follows: &[String], since: DateTime<Utc>, limits: Limits) -> Composition {
        let follows: HashSet<&str> = follows.iter().map(String::as_str).collect();
        // A reader who follows retinoids wants the retinol entry, and one
        // who follows exosome facials the exosomes entry that includes them.
        let wanted = |t: &TrendingTopic| {
            follows.is_empty() || t.followed_by().any(|id| follows.contains(id))
        };
        let mut topics = Vec::new();
        let mut trending_ids = HashSet::new();
        for (rank, t) in self.trending.iter().enumerate() {
            trending_ids.extend(t.followed_by());
            trending_ids.extend(t.related.iter().map(|r| r.id.as_str()));
            if topics.len() >= limits.max_topics || !wanted(t) {
                continue;
            }
            let articles = self.changes(&t.id, since, limits.max_articles_per_topic);
            if !articles.is_empty() {
                topics.push(Section {
                    topic: t.id.clone(),
                    rank: Some(rank),
                    articles,
                });
            }
        }
        // Followed topics that did not trend: most news first, then the
        // most recent news, then by name; each article once in the whole
        // digest.
        let mut shown: HashSet<usize> = topics
            .iter()
            .flat_map(|s: &Section| s.articles.iter().map(|(i, _)| *i))
            .collect();
        let mut others: Vec<(&String, usize, DateTime<Utc>)> = self
            .by_topic
            .iter()
            .filter(|(id, _)| self.may_fill(id, &follows) && !trending_ids.contains(id.as_str()))
            .map(|(id, list)| {
                let fresh = list
                    .iter()
                    .filter(|i| changed(&self.articles[**i]) > since)
                    .count();
                // Lists are most recently changed first.
                let latest = list.first().map_or(since, |i| changed(&self.articles[*i]));
                (id, fresh, latest)
            })
            .filter(|(_, fresh, _)| *fresh > 0)
            .collect();
        others.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.2.cmp(&a.2))
                .then_with(|| self.label(a.0).cmp(self.label(b.0)))
        });
        let mut also_new = Vec::new();
        for (id, _, _) in others {
            if also_new.len() >= limits.max_topics {
                break;
            }
            let articles: Vec<(usize, bool)> = self
                .changes(id, since, usize::MAX)
                .into_iter()
                .filter(|(i, _)| !shown.contains(i))
                .take(limits.max_articles_per_topic)
                .collect();
            if articles.is_empty() {
                continue;
            }
            shown.extend(articles.iter().map(|(i, _)| *i));
            also_new.push(Section {
                topic: id.clone(),
                rank: None,
                articles,
            });
        }
        Composition { topics, also_new }
    }

    pub fn label<'a>(&'a self, topic: &'a str) -> &'a str {
        self.labels.get(topic).map_or(topic, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::trending::Status;

    fn at(day: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T06:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn article(slug: &str, published: u32, updated: u32, topics: &[&str]) -> DigestArticle {
        DigestArticle {
            slug: slug.into(),
            title: slug.into(),
            summary: String::new(),
            url: format!("https://example.test/{slug}"),
            image: None,
            image_alt: None,
            author: "A. Writer".into(),
            reviewed_by: None,
            published: at(published),
            updated: at(updated),
            topics: topics
                .iter()
                .map(|t| ((*t).to_owned(), t.to_uppercase()))
                .collect(),
        }
    }

    fn trending(id: &str) -> TrendingTopic {
        TrendingTopic {
            id: id.into(),
            label: id.to_uppercase(),
            status: Status::Rising,
            count: 3,
            baseline_count: 1,
            headlines: 3,
            baseline_headlines: 1,
            score: 1.0,
            lift: 2.0,
            feed: String::new(),
            first_seen: String::new(),
            weekly: Vec::new(),
            includes: Vec::new(),
            related: Vec::new(),
            articles: Vec::new(),
            why: String::new(),
            ancestors: Vec::new(),
        }
    }

    fn material() -> Material {
        Material::new(
            vec![trending("exosomes"), trending("retinol")],
            vec![
                article("exo-new", 20, 20, &["exosomes"]),
                article("exo-old-updated", 2, 21, &["exosomes"]),
                article("exo-old", 2, 2, &["exosomes"]),
                article("retinol-new", 19, 19, &["retinol", "niacinamide"]),
                article("spf-new", 18, 18, &["sunscreen"]),
            ],
        )
    }

    const LIMITS: Limits = Limits {
        max_topics: 5,
        max_articles_per_topic: 3,
    };

    fn slugs(m: &Material, s: &Section) -> Vec<(String, bool)> {
        s.articles
            .iter()
            .map(|(i, u)| (m.articles[*i].slug.clone(), *u))
            .collect()
    }

    #[test]
    fn follows_nothing_means_every_trending_topic_then_the_rest() {
        let m = material();
        let c = m.compose(&[], at(16), LIMITS);
        assert_eq!(
            c.topics
                .iter()
                .map(|s| s.topic.as_str())
                .collect::<Vec<_>>(),
            ["exosomes", "retinol"]
        );
        assert_eq!(
            slugs(&m, &c.topics[0]),
            [
                ("exo-old-updated".to_owned(), true),
                ("exo-new".to_owned(), false)
            ]
        );
        assert_eq!(
            c.also_new
                .iter()
                .map(|s| s.topic.as_str())
                .collect::<Vec<_>>(),
            ["sunscreen"]
        );
    }

    #[test]
    fn a_followed_topic_that_did_not_trend_is_also_new() {
        let m = material();
        let c = m.compose(&["sunscreen".into(), "exosomes".into()], at(16), LIMITS);
        assert_eq!(c.topics.len(), 1);
        assert_eq!(c.topics[0].topic, "exosomes");
        assert_eq!(c.also_new.len(), 1);
        assert_eq!(slugs(&m, &c.also_new[0]), [("spf-new".to_owned(), false)]);
    }

    #[test]
    fn an_article_appears_once_in_a_digest() {
        let m = material();
        // retinol-new is in the trending retinol section, so the niacinamide
        // section it would also fill is left out.
        let c = m.compose(&[], at(16), LIMITS);
        let all: Vec<usize> = c
            .topics
            .iter()
            .chain(&c.also_new)
            .flat_map(|s| s.articles.iter().map(|(i, _)| *i))
            .collect();
        let unique: HashSet<usize> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len());
    }

    #[test]
    fn nothing_changed_since_the_last_digest_is_empty() {
        let m = material();
        assert!(m.compose(&["retinol".into()], at(19), LIMITS).is_empty());
        assert!(m.compose(&[], at(22), LIMITS).is_empty());
        assert!(
            m.compose(&["hyaluronic-acid".into()], at(1), LIMITS)
                .is_empty()
        );
    }

    #[test]
    fn limits_cap_topics_and_articles() {
        let m = material();
        let c = m.compose(
            &[],
            at(1),
            Limits {
                max_topics: 1,
                max_articles_per_topic: 1,
            },
        );
        assert_eq!(c.topics.len(), 1);
        assert_eq!(c.topics[0].articles.len(), 1);
        assert_eq!(c.also_new.len(), 1);
    }
}
