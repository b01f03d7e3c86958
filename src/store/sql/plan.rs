//! One ingest's changes sorted by the statements that write them, as
//! named rows borrowed from the changes.

use crate::domain::topic::ArticlePhrases;
use crate::domain::topic::TopicRef;
use crate::domain::{Article, ArticleSource};
use crate::store::{ArticleChange, SourceStamp};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::BTreeSet;

/// An article to insert, or to update in place.
pub struct Upsert<'a> {
    pub article: &'a Article,
    pub content_hash: &'a str,
    pub source: &'a ArticleSource,
    /// Effective `updated`.
    pub updated: &'a DateTime<FixedOffset>,
    pub stamp: Option<&'a SourceStamp>,
    /// When the ingest saw it.
    pub at: DateTime<Utc>,
    pub phrases: &'a ArticlePhrases,
    /// Its place in the order articles were first stored, for a slug new to
    /// the store (an existing row keeps its own); see `Plan::number`.
    pub seq: i64,
}

/// An unchanged article whose file stamp or phrases moved.
pub struct Restamp<'a> {
    pub slug: &'a str,
    pub stamp: &'a SourceStamp,
    pub phrases: &'a ArticlePhrases,
}

/// An article going out of the feeds, at Unix time `at`.
pub struct Withdrawal<'a> {
    pub slug: &'a str,
    pub at: i64,
}

/// An article's topics to set.
pub struct TopicSet<'a> {
    pub slug: &'a str,
    pub topics: &'a [TopicRef],
    /// Unix time recorded as first seen for a topic the article did not
    /// have before.
    pub first_seen: i64,
    /// The slug may have topic rows already, which are cleared of topics
    /// it no longer has; a slug never stored skips that work.
    pub existing: bool,
}

/// One row of `article_topics`.
pub struct TopicRow<'a> {
    pub slug: &'a str,
    pub topic: &'a str,
    pub label: &'a str,
    pub first_seen: i64,
    pub prominence: u8,
}

impl<'a> TopicSet<'a> {
    pub fn rows(&self) -> impl Iterator<Item = TopicRow<'a>> + '_ {
        self.topics.iter().map(|t| TopicRow {
            slug: self.slug,
            topic: &t.id,
            label: &t.label,
            first_seen: self.first_seen,
            prominence: t.prominence,
        })
    }
}

#[derive(Default)]
pub struct Plan<'a> {
    /// Slugs that may have topic rows already: their old topics are among
    /// the feeds to rebuild.
    pub known: Vec<&'a str>,
    pub upserts: Vec<Upsert<'a>>,
    pub restamps: Vec<Restamp<'a>>,
    pub withdrawals: Vec<Withdrawal<'a>>,
    pub topic_sets: Vec<TopicSet<'a>>,
}

impl<'a> Plan<'a> {
    pub fn new(changes: &'a [ArticleChange]) -> Self {
        let mut plan = Plan::default();
        for change in changes {
            match change {
                ArticleChange::Upsert {
                    article,
                    content_hash,
                    source,
                    updated,
                    stamp,
                    at,
                    topics,
                    topics_at,
                    new_slug,
                    phrases,
                } => {
                    let slug = article.slug.as_str();
                    if !new_slug {
                        plan.known.push(slug);
                    }
                    plan.upserts.push(Upsert {
                        article,
                        content_hash,
                        source,
                        updated,
                        stamp: stamp.as_ref(),
                        at: *at,
                        phrases,
                        seq: 0,
                    });
                    plan.topic_sets.push(TopicSet {
                        slug,
                        topics,
                        first_seen: topics_at.timestamp(),
                        existing: !new_slug,
                    });
                }
                ArticleChange::Restamp {
                    slug,
                    stamp,
                    topics,
                    topics_at,
                    phrases,
                } => {
                    plan.known.push(slug);
                    plan.restamps.push(Restamp {
                        slug,
                        stamp,
                        phrases,
                    });
                    plan.topic_sets.push(TopicSet {
                        slug,
                        topics,
                        first_seen: topics_at.timestamp(),
                        existing: true,
                    });
                }
                ArticleChange::Withdraw { slug, at } => {
                    plan.known.push(slug);
                    plan.withdrawals.push(Withdrawal {
                        slug,
                        at: at.timestamp(),
                    });
                }
            }
        }
        plan
    }

    /// Numbers the upserts after `last`, the highest number stored, oldest
    /// first in the feeds' own order (newest first by publication, ties by
    /// slug), reversed: a cold ingest numbers its articles as the feeds
    /// list them, and later ingests only add numbers at the end.
    pub fn number(&mut self, last: i64) {
        let mut order: Vec<usize> = (0..self.upserts.len()).collect();
        let key = |i: usize| {
            let a = self.upserts[i].article;
            (a.published.timestamp(), std::cmp::Reverse(a.slug.as_str()))
        };
        order.sort_by_key(|&i| key(i));
        for (n, i) in (last + 1..).zip(order) {
            self.upserts[i].seq = n;
        }
    }

    /// The topics whose feeds may have changed: those the articles had
    /// before (`before`) and those they have now, sorted.
    pub fn touched(&self, mut before: BTreeSet<String>) -> Vec<String> {
        for set in &self.topic_sets {
            before.extend(set.topics.iter().map(|t| t.id.clone()));
        }
        before.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Plan;
    use crate::domain::topic::TopicRef;
    use crate::store::{ArticleChange, SourceStamp};
    use chrono::{DateTime, Utc};
    use std::collections::BTreeSet;

    fn topic(id: &str) -> TopicRef {
        TopicRef {
            id: id.into(),
            label: id.to_uppercase(),
            prominence: 1,
        }
    }

    #[test]
    fn changes_sort_into_rows_and_touched_topics_merge_old_and_new() {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let changes = [
            ArticleChange::Restamp {
                slug: "a".into(),
                stamp: SourceStamp {
                    mtime_ns: 1,
                    size: 2,
                    render_key: "k".into(),
                },
                topics: vec![topic("retinol"), topic("acne")],
                topics_at: at,
                phrases: Default::default(),
            },
            ArticleChange::Withdraw {
                slug: "b".into(),
                at,
            },
        ];
        let plan = Plan::new(&changes);
        assert_eq!(plan.known, ["a", "b"]);
        assert_eq!(plan.restamps.len(), 1);
        assert_eq!(plan.withdrawals[0].at, at.timestamp());
        assert_eq!(plan.topic_sets.len(), 1);
        assert!(plan.topic_sets[0].existing);
        let rows: Vec<_> = plan.topic_sets[0].rows().collect();
        assert_eq!(rows[1].topic, "acne");
        assert_eq!(rows[1].label, "ACNE");
        assert_eq!(rows[1].first_seen, at.timestamp());
        let before = BTreeSet::from(["sunscreen".to_string(), "acne".to_string()]);
        assert_eq!(plan.touched(before), ["acne", "retinol", "sunscreen"]);
    }
}
