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
use std::collections::{BTreeSet, HashMap};

/// The places kept between builds; empty until the first build.
#[derive(Debug, Default)]
pub struct Places {
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    revision: i64,
    entries: Vec<ArchiveEntry>,
    /// Articles written since the places were read: read again at the next
    /// build.
    stale: BTreeSet<String>,
}

impl Places {
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

    /// Every article's place, as `Store::archive_entries` reads them: from
    /// memory (with the changed articles read again) when what is kept is
    /// good for the store's revision, else read whole and kept.
    pub async fn entries(&mut self, store: &dyn Store) -> Result<Vec<ArchiveEntry>, StoreError> {
        let revision = store.revision().await.ok();
        if let (Some(held), Some(revision)) = (&mut self.held, revision)
            && held.revision == revision
        {
            if !held.stale.is_empty() {
                let slugs: Vec<&str> = held.stale.iter().map(String::as_str).collect();
                let fresh = store.archive_entries_of(&slugs).await?;
                patch(&mut held.entries, fresh);
                held.stale.clear();
            }
            return Ok(held.entries.clone());
        }
        self.held = None;
        let entries = store.archive_entries().await?;
        if let Some(revision) = revision {
            self.held = Some(Held {
                revision,
                entries: entries.clone(),
                stale: BTreeSet::new(),
            });
        }
        Ok(entries)
    }
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
    fn places_are_kept_only_through_the_callers_own_write() {
        let held = |revision| Places {
            held: Some(Held {
                revision,
                entries: Vec::new(),
                stale: BTreeSet::new(),
            }),
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
