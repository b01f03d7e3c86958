//! Every article's archive place (`Store::archive_entries`), kept between
//! builds by a process that builds again and again: the daemon's ingest
//! job. A build after one change then reads the places of the articles
//! that changed instead of all of them (10,000 rows on a large site, about
//! a third of such a build's reading).
//!
//! What is kept is labelled with the store revision it was read at, and is
//! used only while the store is at that revision, or at the next one by a
//! write whose changed slugs the caller names (its own ingest). Anything
//! else (a push, another instance, a source poll) moves the revision in a
//! way nobody here can account for: the next build reads every place
//! again. A label is never newer than what it labels (the revision is read
//! first), so a write racing a read costs a read, never a stale page.

use crate::store::{ArchiveEntry, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The places kept between builds; empty until the first build.
#[derive(Debug, Default)]
pub struct Places {
    held: Option<Held>,
    /// Each topic's articles are kept too (`with_members`).
    members: bool,
}

#[derive(Debug)]
struct Held {
    revision: i64,
    entries: Vec<ArchiveEntry>,
    /// Every topic's articles, when kept.
    members: Option<Members>,
    /// Articles written since the places were read: read again at the next
    /// build.
    stale: BTreeSet<String>,
}

/// Which topics' articles a build needs.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    /// None: the site feed alone.
    Nothing,
    /// These topics'.
    Topics(&'a [String]),
    /// Every topic's.
    All,
}

/// Every topic's articles, and every article's topics.
#[derive(Debug, Default)]
struct Members {
    by_topic: HashMap<String, HashSet<String>>,
    of_article: HashMap<String, Vec<String>>,
}

impl Members {
    fn from_lists(lists: BTreeMap<String, Vec<String>>) -> Self {
        let mut out = Self::default();
        for (topic, slugs) in lists {
            for slug in &slugs {
                out.of_article
                    .entry(slug.clone())
                    .or_default()
                    .push(topic.clone());
            }
            out.by_topic.insert(topic, slugs.into_iter().collect());
        }
        out
    }

    /// `slugs` now have the topics `fresh` gives them (none when absent).
    fn patch(&mut self, slugs: &[&str], mut fresh: BTreeMap<String, Vec<String>>) {
        for &slug in slugs {
            for topic in self.of_article.remove(slug).unwrap_or_default() {
                if let Some(set) = self.by_topic.get_mut(&topic) {
                    set.remove(slug);
                    if set.is_empty() {
                        self.by_topic.remove(&topic);
                    }
                }
            }
            let topics = fresh.remove(slug).unwrap_or_default();
            for topic in &topics {
                self.by_topic
                    .entry(topic.clone())
                    .or_default()
                    .insert(slug.to_owned());
            }
            if !topics.is_empty() {
                self.of_article.insert(slug.to_owned(), topics);
            }
        }
    }

    /// What `Store::topic_slugs` answers for `wanted`.
    fn lists(&self, wanted: Wanted<'_>) -> BTreeMap<String, Vec<String>> {
        let list = |set: &HashSet<String>| set.iter().cloned().collect::<Vec<_>>();
        match wanted {
            Wanted::Nothing => BTreeMap::new(),
            Wanted::Topics(ids) => ids
                .iter()
                .filter_map(|id| Some((id.clone(), list(self.by_topic.get(id)?))))
                .collect(),
            Wanted::All => self
                .by_topic
                .iter()
                .map(|(id, set)| (id.clone(), list(set)))
                .collect(),
        }
    }
}

impl Places {
    /// Places that keep each topic's articles as well: a build after one
    /// change then reads neither the site's places nor the touched topics'
    /// articles (tens of thousands of rows on a large site). For a process
    /// that builds again and again; one build alone is better served by
    /// `default`, which reads only the topics it needs.
    pub fn with_members() -> Self {
        Self {
            held: None,
            members: true,
        }
    }

    /// The store went from revision `before` to `after`; `changed` names
    /// the articles written meanwhile when the caller wrote them all (None
    /// when it cannot say). Unless the store stayed put, or moved by exactly
    /// that one write, the places are forgotten.
    pub fn advance(
        &mut self,
        (before, after): (Option<i64>, Option<i64>),
        changed: Option<&[String]>,
    ) {
        let kept = match (&mut self.held, before, after) {
            (Some(held), Some(before), Some(after)) if held.revision == before => match changed {
                _ if after == before => true,
                Some(slugs) if after == before + 1 => {
                    held.revision = after;
                    held.stale.extend(slugs.iter().cloned());
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if !kept {
            self.held = None;
        }
    }

    /// The articles of the topics `wanted` names (what `Store::topic_slugs`
    /// reads; None for `Wanted::Nothing`), and every article's place (what
    /// `Store::archive_entries` reads): from memory, with the changed
    /// articles read again, when what is kept is good for the store's
    /// revision; else read from the store and kept. The topics are read
    /// before the places, so that every article a topic names has a place
    /// (articles are never deleted).
    pub async fn read(
        &mut self,
        store: &dyn Store,
        wanted: Wanted<'_>,
    ) -> Result<(Option<BTreeMap<String, Vec<String>>>, Vec<ArchiveEntry>), StoreError> {
        let wants = !matches!(wanted, Wanted::Nothing);
        // Without kept members, the topics come from the store, first.
        let read_first = match (self.members, wants) {
            (false, true) => Some(topic_slugs(store, wanted).await?),
            _ => None,
        };
        let revision = store.revision().await.ok();
        if let (Some(held), Some(revision)) = (&mut self.held, revision)
            && held.revision == revision
        {
            if !held.stale.is_empty() {
                let slugs: Vec<&str> = held.stale.iter().map(String::as_str).collect();
                if let Some(members) = &mut held.members {
                    members.patch(&slugs, store.topics_of_articles(&slugs).await?);
                }
                let fresh = store.archive_entries_of(&slugs).await?;
                patch(&mut held.entries, fresh);
                held.stale.clear();
            }
            let lists = match &held.members {
                Some(members) if wants => Some(members.lists(wanted)),
                _ => read_first,
            };
            return Ok((lists, held.entries.clone()));
        }
        self.held = None;
        let (members, lists) = match (self.members, revision) {
            (true, Some(_)) => {
                let members = Members::from_lists(store.topic_slugs(None).await?);
                let lists = wants.then(|| members.lists(wanted));
                (Some(members), lists)
            }
            (true, None) if wants => (None, Some(topic_slugs(store, wanted).await?)),
            _ => (None, read_first),
        };
        let entries = store.archive_entries().await?;
        if let Some(revision) = revision {
            self.held = Some(Held {
                revision,
                entries: entries.clone(),
                members,
                stale: BTreeSet::new(),
            });
        }
        Ok((lists, entries))
    }
}

/// `Store::topic_slugs` for `wanted` (not `Nothing`).
async fn topic_slugs(
    store: &dyn Store,
    wanted: Wanted<'_>,
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    store
        .topic_slugs(match wanted {
            Wanted::Topics(ids) => Some(ids),
            _ => None,
        })
        .await
}

/// `entries` with `fresh` (in store order) in place of the entries of the
/// same slugs; the others are new articles, numbered after every kept one,
/// so they go at the end in their order.
fn patch(entries: &mut Vec<ArchiveEntry>, fresh: Vec<ArchiveEntry>) {
    let mut placed = vec![false; fresh.len()];
    {
        let at: HashMap<&str, usize> = fresh
            .iter()
            .enumerate()
            .map(|(i, e)| (e.slug.as_str(), i))
            .collect();
        for entry in entries.iter_mut() {
            if let Some(&i) = at.get(entry.slug.as_str()) {
                entry.clone_from(&fresh[i]);
                placed[i] = true;
            }
        }
    }
    entries.extend(
        fresh
            .into_iter()
            .zip(placed)
            .filter(|(_, placed)| !placed)
            .map(|(e, _)| e),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(slug: &str, hash: &str) -> ArchiveEntry {
        ArchiveEntry {
            slug: slug.to_owned(),
            published: true,
            content_hash: hash.to_owned(),
            updated_ts: 1,
            published_ts: 1,
        }
    }

    #[test]
    fn changed_places_replace_theirs_and_new_ones_go_last_in_store_order() {
        let mut entries = vec![entry("b", "1"), entry("a", "1"), entry("c", "1")];
        let mut withdrawn = entry("c", "1");
        withdrawn.published = false;
        patch(
            &mut entries,
            vec![
                entry("a", "2"),
                withdrawn.clone(),
                entry("z", "1"),
                entry("d", "1"),
            ],
        );
        assert_eq!(
            entries,
            vec![
                entry("b", "1"),
                entry("a", "2"),
                withdrawn,
                entry("z", "1"),
                entry("d", "1")
            ]
        );
    }

    #[test]
    fn kept_members_follow_an_article_from_topic_to_topic() {
        let lists = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect()
        };
        let sorted = |m: BTreeMap<String, Vec<String>>| -> BTreeMap<String, Vec<String>> {
            m.into_iter()
                .map(|(k, mut v)| {
                    v.sort();
                    (k, v)
                })
                .collect()
        };
        let mut members = Members::from_lists(lists(&[
            ("acne", &["a", "b"]),
            ("retinoids", &["a"]),
            ("spf", &["c"]),
        ]));
        // "a" leaves retinoids (which empties) for spf; "c" loses every
        // topic; "d" is new.
        members.patch(
            &["a", "c", "d"],
            lists(&[("a", &["acne", "spf"]), ("d", &["spf", "new"])]),
        );
        assert_eq!(
            sorted(members.lists(Wanted::All)),
            lists(&[("acne", &["a", "b"]), ("new", &["d"]), ("spf", &["a", "d"])])
        );
        let wanted = ["spf".to_owned(), "retinoids".to_owned()];
        assert_eq!(
            sorted(members.lists(Wanted::Topics(&wanted))),
            lists(&[("spf", &["a", "d"])])
        );
        assert!(members.lists(Wanted::Nothing).is_empty());
    }

    #[test]
    fn places_are_kept_only_through_the_callers_own_write() {
        let held = |revision| Places {
            held: Some(Held {
                revision,
                entries: Vec::new(),
                members: None,
                stale: BTreeSet::new(),
            }),
            members: false,
        };
        let changed = ["a".to_owned()];
        // Its own write: kept, with the article to read again.
        let mut p = held(4);
        p.advance((Some(4), Some(5)), Some(&changed));
        let h = p.held.as_ref().unwrap();
        assert_eq!((h.revision, h.stale.len()), (5, 1));
        // Nothing written: kept as it was.
        p.advance((Some(5), Some(5)), None);
        assert_eq!(p.held.as_ref().unwrap().revision, 5);
        // Two writes, or one nobody named, or a store that moved before the
        // run: forgotten.
        for (before, after, changed) in [
            (Some(4), Some(6), Some(&changed[..])),
            (Some(4), Some(5), None),
            (Some(3), Some(4), Some(&changed[..])),
            (None, Some(5), Some(&changed[..])),
        ] {
            let mut p = held(4);
            p.advance((before, after), changed);
            assert!(p.held.is_none(), "{before:?} -> {after:?}");
        }
    }
}
