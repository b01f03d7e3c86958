//! What a pass over a source changes: each item placed under its slug
//! (kept from before, the remote one when free, else prefixed with the
//! source's name), compared with what the store holds, and the source's
//! articles that are gone (missing from a full listing, or named by a
//! tombstone) withdrawn.

use super::item::RemoteItem;
use super::{Polled, SourceError, SourceReport};
use crate::config::{Config, SourceConfig};
use crate::domain::{ArticleSource, Slug};
use crate::ingest::{IngestError, Version, version_times};
use crate::store::{ArticleChange, IndexEntry, SourceState};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Decides what a pass changes and logs its problems; returns the report,
/// the changes and the state to save once they are applied.
pub(super) fn decide(
    config: &Config,
    now: DateTime<Utc>,
    source: &SourceConfig,
    polled: Polled,
    index: &[IndexEntry],
) -> Result<(SourceReport, Vec<ArticleChange>, SourceState), IngestError> {
    let Polled { pass, state } = polled;
    let matcher = crate::topics::load_matcher(config)?;
    let phrases_since = crate::topics::phrase_horizon(config, now);
    let mut report = SourceReport {
        name: source.name.clone(),
        errors: pass.errors.clone(),
        ..SourceReport::default()
    };
    let fallback_url = source.url.to_string();
    report
        .errors
        .extend(pass.item_errors.iter().map(|e| SourceError {
            url: e.url.clone().unwrap_or_else(|| fallback_url.clone()),
            error: e.error.clone(),
        }));
    let mut decision = Decision::new(&source.name, index);
    let mut seen: HashSet<String> = HashSet::new();
    // Slugs first, in the source's order: each claim bears on the next.
    let mut placed: Vec<(RemoteItem, ArticleSource, Slug, Option<&IndexEntry>)> = Vec::new();
    for item in pass.items {
        if item.published > now {
            // Not due yet: read again when the source still lists it.
            continue;
        }
        if !seen.insert(item.id.clone()) {
            continue;
        }
        let remote = ArticleSource::Remote {
            source: source.name.clone(),
            id: item.id.clone(),
        };
        let stored = decision.by_id.get(item.id.as_str()).copied();
        // The slug it was given, unless it was withdrawn and something
        // else has published that slug since.
        let slug = stored
            .filter(|e| e.published || decision.holder(&e.slug, &remote).is_none())
            .and_then(|e| Slug::parse(&e.slug).ok());
        let slug = match slug {
            Some(s) => s,
            None => match decision.free_slug(&item.wanted_slug(), &remote) {
                Ok(s) => s,
                Err(error) => {
                    report.errors.push(SourceError {
                        url: item.url.to_string(),
                        error,
                    });
                    continue;
                }
            },
        };
        decision.claim(slug.as_str(), &remote);
        placed.push((item, remote, slug, stored));
    }
    // Then the reading, on every core: sanitizing, hashing, topics.
    matcher.prepare_for(placed.len());
    let author = &config.site.author;
    let read: Vec<(Version, Option<ArticleChange>)> = placed
        .into_par_iter()
        .map(|(item, remote, slug, stored)| {
            let article = item.into_article(slug, author);
            let content_hash = article.content_hash();
            let version = match stored {
                Some(e) if e.published && e.content_hash == content_hash => {
                    return (Version::Same, None);
                }
                Some(e) if e.published => Version::Changed,
                _ => Version::New,
            };
            let (updated, topics_at) = version_times(&article, version, now);
            let (topics, phrases) = matcher.analyze(&article, phrases_since);
            let change = ArticleChange::Upsert {
                new_slug: !decision.known_slugs.contains(article.slug.as_str()),
                article: Box::new(article),
                content_hash,
                source: remote,
                updated,
                stamp: None,
                at: now,
                topics,
                topics_at: topics_at.to_utc(),
                phrases,
            };
            (version, Some(change))
        })
        .collect();
    let mut changes = Vec::new();
    for (version, change) in read {
        let slug = match &change {
            Some(ArticleChange::Upsert { article, .. }) => article.slug.as_str().to_owned(),
            _ => String::new(),
        };
        match version {
            Version::Same => report.unchanged += 1,
            Version::Changed => report.updated.push(slug),
            Version::New => report.new.push(slug),
        }
        changes.extend(change);
    }
    for slug in withdrawn(&decision, &pass.live_ids, &pass.tombstones, &seen) {
        report.withdrawn.push(slug.clone());
        changes.push(ArticleChange::Withdraw { slug, at: now });
    }
    report.new.sort();
    report.updated.sort();
    report.withdrawn.sort();
    for e in &report.errors {
        tracing::warn!(source = %source.name, url = %e.url, error = %e.error, "source");
    }
    Ok((report, changes, state))
}

/// The published articles of this source removed at the source: not in a
/// full listing (`live`, when the pass made one) nor read by this pass, or
/// named by a tombstone.
fn withdrawn(
    decision: &Decision<'_>,
    live: &Option<HashSet<String>>,
    tombstones: &[String],
    seen: &HashSet<String>,
) -> Vec<String> {
    let gone: HashSet<&str> = tombstones.iter().map(String::as_str).collect();
    decision
        .by_id
        .iter()
        .filter(|(id, entry)| {
            let unlisted = live
                .as_ref()
                .is_some_and(|live| !live.contains(**id) && !seen.contains(**id));
            entry.published && (unlisted || gone.contains(**id))
        })
        .map(|(_, entry)| entry.slug.clone())
        .collect()
}

/// Which slugs are taken, and by what, as a pass places its items.
struct Decision<'a> {
    name: &'a str,
    /// This source's articles, published or not, by remote id.
    by_id: HashMap<&'a str, &'a IndexEntry>,
    /// Published slugs before this pass and who holds them.
    stored: HashMap<&'a str, &'a ArticleSource>,
    /// Slugs this pass has placed.
    placed: HashMap<String, ArticleSource>,
    /// Every slug ever stored.
    known_slugs: HashSet<&'a str>,
}

impl<'a> Decision<'a> {
    fn new(name: &'a str, index: &'a [IndexEntry]) -> Self {
        Self {
            name,
            by_id: index
                .iter()
                .filter_map(|e| match e.source.remote() {
                    Some((s, id)) if s == name => Some((id, e)),
                    _ => None,
                })
                // A published row over a withdrawn one of the same item.
                .fold(HashMap::new(), |mut by_id, (id, e)| {
                    let keep = by_id.get(id).is_some_and(|k: &&IndexEntry| k.published);
                    if !keep {
                        by_id.insert(id, e);
                    }
                    by_id
                }),
            stored: index
                .iter()
                .filter(|e| e.published)
                .map(|e| (e.slug.as_str(), &e.source))
                .collect(),
            placed: HashMap::new(),
            known_slugs: index.iter().map(|e| e.slug.as_str()).collect(),
        }
    }

    /// Who else publishes `slug`, if anyone.
    fn holder(&self, slug: &str, by: &ArticleSource) -> Option<&ArticleSource> {
        self.placed
            .get(slug)
            .or_else(|| self.stored.get(slug).copied())
            .filter(|h| *h != by)
    }

    fn claim(&mut self, slug: &str, by: &ArticleSource) {
        self.placed.insert(slug.to_owned(), by.clone());
    }

    /// `wanted` when nothing else publishes it, else `<source>-<wanted>`;
    /// an error naming both holders when that is taken too.
    fn free_slug(&self, wanted: &Slug, by: &ArticleSource) -> Result<Slug, String> {
        let holder = |s: &str| self.holder(s, by);
        let Some(first) = holder(wanted.as_str()) else {
            return Ok(wanted.clone());
        };
        let prefixed = Slug::slugify(&format!("{}-{}", self.name, wanted.as_str()))
            .map_err(|e| format!("slug: {e}"))?;
        match holder(prefixed.as_str()) {
            None => {
                tracing::warn!(
                    source = self.name,
                    slug = wanted.as_str(),
                    holder = %first,
                    instead = prefixed.as_str(),
                    "slug already published from elsewhere; the source's article takes the prefixed slug"
                );
                Ok(prefixed)
            }
            Some(second) => Err(format!(
                "slug: '{}' is already used by {first} and '{}' by {second}",
                wanted.as_str(),
                prefixed.as_str()
            )),
        }
    }
}
