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

use super::ItemView;
use super::archive::PagePrints;
use crate::store::{ArchiveEntry, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// At most this many feed items are kept between builds (`with_members`):
/// about 4 KB each with its body, so some 16 MB. A scoped build after one
/// change needs a few hundred (its topics' newest articles); a full build
/// needs every article and keeps none.
const ITEMS_KEPT: usize = 4096;

/// The places kept between builds; empty until the first build.
#[derive(Debug, Default)]
pub struct Places {
    held: Option<Held>,
    /// Each topic's articles are kept too (`with_members`).
    members: bool,
    /// The feed items (whole articles) the last builds used, kept with the
    /// places (`with_members`): good for the same revisions as they are,
    /// and dropped with them; an article written by the caller's own
    /// write is dropped alone. A build after one change then reads again
    /// only the changed article's body, not those of its topics' newest
    /// articles.
    items: HashMap<String, Arc<ItemView>>,
    /// Archive page fingerprints of the last builds (`with_members`).
    prints: PagePrints,
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

/// Every topic's articles, and every article's topics, as positions in
/// the kept places (which never move: new articles go at the end). Numbers
/// rather than slugs: 10,000 articles have 86,000 topic rows, and a slug
/// kept twice for each would cost more than every place together.
#[derive(Debug, Default)]
struct Members {
    topics: Vec<String>,
    topic_at: HashMap<String, u32>,
    /// By topic: the positions of its articles.
    by_topic: Vec<Vec<u32>>,
    /// By position: the article's topics.
    of_article: Vec<Vec<u32>>,
}

fn position(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Members {
    /// From `Store::topic_slugs(None)` read before `entries`.
    fn from_lists(
        lists: BTreeMap<String, Vec<String>>,
        entries: &[ArchiveEntry],
    ) -> Result<Self, StoreError> {
        let place: HashMap<&str, u32> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (&*e.slug, position(i)))
            .collect();
        let mut out = Self {
            of_article: vec![Vec::new(); entries.len()],
            ..Self::default()
        };
        for (topic, slugs) in lists {
            let t = out.topic(&topic);
            for slug in &slugs {
                let Some(&p) = place.get(slug.as_str()) else {
                    return Err(StoreError::Corrupt(format!(
                        "topic row {topic} of {slug} has no article"
                    )));
                };
                out.by_topic[t as usize].push(p);
                out.of_article[p as usize].push(t);
            }
        }
        Ok(out)
    }

    /// The number of topic `id`, added when new.
    fn topic(&mut self, id: &str) -> u32 {
        if let Some(&t) = self.topic_at.get(id) {
            return t;
        }
        let t = position(self.topics.len());
        self.topics.push(id.to_owned());
        self.topic_at.insert(id.to_owned(), t);
        self.by_topic.push(Vec::new());
        t
    }

    /// The articles at these positions of `len` places now have these
    /// topics.
    fn patch(&mut self, len: usize, fresh: Vec<(u32, Vec<String>)>) {
        if self.of_article.len() < len {
            self.of_article.resize(len, Vec::new());
        }
        for (p, topics) in fresh {
            for t in std::mem::take(&mut self.of_article[p as usize]) {
                self.by_topic[t as usize].retain(|&q| q != p);
            }
            for topic in &topics {
                let t = self.topic(topic);
                self.by_topic[t as usize].push(p);
                self.of_article[p as usize].push(t);
            }
        }
    }

    /// The archive entries of the topics `wanted` names, in the order of
    /// `entries` (the places the positions point into): what
    /// `archive::topic_entries` makes of `Store::topic_slugs`, without the
    /// slugs.
    fn entries(
        &self,
        wanted: Wanted<'_>,
        entries: &[ArchiveEntry],
    ) -> BTreeMap<String, Vec<ArchiveEntry>> {
        let of = |t: u32| -> Option<Vec<ArchiveEntry>> {
            let mut at = self.by_topic.get(t as usize)?.clone();
            if at.is_empty() {
                return None;
            }
            at.sort_unstable();
            Some(
                at.iter()
                    .filter_map(|&p| entries.get(p as usize).cloned())
                    .collect(),
            )
        };
        match wanted {
            Wanted::Nothing => BTreeMap::new(),
            Wanted::Topics(ids) => ids
                .iter()
                .filter_map(|id| Some((id.clone(), of(*self.topic_at.get(id)?)?)))
                .collect(),
            Wanted::All => self
                .topics
                .iter()
                .enumerate()
                .filter_map(|(t, id)| Some((id.clone(), of(position(t))?)))
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
            items: HashMap::new(),
            prints: PagePrints::default(),
        }
    }

    /// Reads every article's place now, ahead of the build that will use
    /// them: a process that ingests and then builds (`feedletter ingest`)
    /// reads them while it lists the content folder, and tells `advance`
    /// what its ingest wrote meanwhile. Kept places are read again only if
    /// they are not good for the store's revision (see `read`).
    pub async fn prefetch(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        self.read(store, Wanted::Nothing).await.map(drop)
    }

    /// Drops what is kept: the store moved in a way nobody here can
    /// account for.
    fn forget(&mut self) {
        self.held = None;
        self.items.clear();
    }

    /// The archive page fingerprints kept between builds, when this
    /// process builds again and again (`with_members`).
    pub(super) fn page_prints(&self) -> Option<&PagePrints> {
        self.members.then_some(&self.prints)
    }

    /// The items kept between builds, for a build to take from and add to
    /// (see `keep_items`); None when items are not kept.
    pub(super) fn items(&self) -> Option<&HashMap<String, Arc<ItemView>>> {
        (self.members && self.held.is_some()).then_some(&self.items)
    }

    /// Keeps the items a build used, read at the revision the places are
    /// kept for, beside those kept already; when that makes too many, only
    /// the build's (or none, when they alone are too many).
    pub(super) fn keep_items(&mut self, used: &HashMap<String, Arc<ItemView>>) {
        if !self.members || self.held.is_none() {
            return;
        }
        if self.items.len() + used.len() > ITEMS_KEPT {
            self.items.clear();
            if used.len() > ITEMS_KEPT {
                return;
            }
        }
        self.items
            .extend(used.iter().map(|(slug, item)| (slug.clone(), item.clone())));
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
                    for slug in slugs {
                        self.items.remove(slug);
                    }
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if !kept {
            self.forget();
        }
    }

    /// The archive entries of the topics `wanted` names (in archive order;
    /// none for `Wanted::Nothing`), and every article's place (what
    /// `Store::archive_entries` reads): from memory, with the changed
    /// articles read again, when what is kept is good for the store's
    /// revision; else read from the store and kept. The topics are read
    /// before the places, so that every article a topic names has a place
    /// (articles are never deleted).
    pub async fn read(
        &mut self,
        store: &dyn Store,
        wanted: Wanted<'_>,
    ) -> Result<(TopicEntries, Vec<ArchiveEntry>), StoreError> {
        let wants = !matches!(wanted, Wanted::Nothing);
        // Without kept members, the topics come from the store, first.
        let read_first = match (self.members, wants) {
            (false, true) => Some(topic_slugs(store, wanted).await?),
            _ => None,
        };
        let revision = store.revision().await.ok();
        // Most articles written since (a cold ingest's): all read again,
        // in one statement rather than by slug.
        if self
            .held
            .as_ref()
            .is_some_and(|h| h.stale.len() * 2 > h.entries.len())
        {
            self.held = None;
        }
        if let (Some(held), Some(revision)) = (&mut self.held, revision)
            && held.revision == revision
        {
            if !held.stale.is_empty() {
                let slugs: Vec<&str> = held.stale.iter().map(String::as_str).collect();
                let topics = match held.members {
                    Some(_) => Some(store.topics_of_articles(&slugs).await?),
                    None => None,
                };
                let fresh = store.archive_entries_of(&slugs).await?;
                patch(&mut held.entries, fresh);
                if let (Some(members), Some(mut topics)) = (&mut held.members, topics) {
                    let at: Vec<(u32, Vec<String>)> = held
                        .entries
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| held.stale.contains(&*e.slug))
                        .map(|(i, e)| (position(i), topics.remove(&*e.slug).unwrap_or_default()))
                        .collect();
                    members.patch(held.entries.len(), at);
                }
                held.stale.clear();
            }
            let topics = by_topic(held.members.as_ref(), read_first, wanted, &held.entries)?;
            return Ok((topics, held.entries.clone()));
        }
        self.forget();
        let all = match (self.members, revision) {
            (true, Some(_)) => Some(store.topic_slugs(None).await?),
            _ => None,
        };
        let read_first = match (self.members, &all, wants) {
            (true, None, true) => Some(topic_slugs(store, wanted).await?),
            _ => read_first,
        };
        let entries = store.archive_entries().await?;
        let members = all
            .map(|all| Members::from_lists(all, &entries))
            .transpose()?;
        let topics = by_topic(members.as_ref(), read_first, wanted, &entries)?;
        if let Some(revision) = revision {
            self.held = Some(Held {
                revision,
                entries: entries.clone(),
                members,
                stale: BTreeSet::new(),
            });
        }
        Ok((topics, entries))
    }
}

/// Each wanted topic's archive entries.
pub type TopicEntries = BTreeMap<String, Vec<ArchiveEntry>>;

/// The wanted topics' entries among `entries`: from the kept members, or
/// from the slugs read from the store.
fn by_topic(
    members: Option<&Members>,
    slugs: Option<BTreeMap<String, Vec<String>>>,
    wanted: Wanted<'_>,
    entries: &[ArchiveEntry],
) -> Result<TopicEntries, StoreError> {
    match (members, slugs) {
        (Some(members), _) => Ok(members.entries(wanted, entries)),
        (None, Some(slugs)) => super::archive::topic_entries(entries, slugs),
        (None, None) => Ok(BTreeMap::new()),
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
            .map(|(i, e)| (&*e.slug, i))
            .collect();
        for entry in entries.iter_mut() {
            if let Some(&i) = at.get(&*entry.slug) {
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
            slug: slug.into(),
            published: true,
            content_hash: hash.into(),
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
        let sorted = |m: TopicEntries| -> BTreeMap<String, Vec<String>> {
            m.into_iter()
                .map(|(k, v)| {
                    let mut v: Vec<String> = v.into_iter().map(|e| e.slug.to_string()).collect();
                    v.sort();
                    (k, v)
                })
                .collect()
        };
        let mut entries = vec![entry("a", "1"), entry("b", "1"), entry("c", "1")];
        let mut members = Members::from_lists(
            lists(&[
                ("acne", &["a", "b"]),
                ("retinoids", &["a"]),
                ("spf", &["c"]),
            ]),
            &entries,
        )
        .unwrap();
        // "a" leaves retinoids (which empties) for spf; "c" loses every
        // topic; "d" is new, at the end of the places.
        entries.push(entry("d", "1"));
        members.patch(
            entries.len(),
            vec![
                (0, vec!["acne".into(), "spf".into()]),
                (2, Vec::new()),
                (3, vec!["spf".into(), "new".into()]),
            ],
        );
        assert_eq!(
            sorted(members.entries(Wanted::All, &entries)),
            lists(&[("acne", &["a", "b"]), ("new", &["d"]), ("spf", &["a", "d"])])
        );
        let wanted = ["spf".to_owned(), "retinoids".to_owned()];
        assert_eq!(
            sorted(members.entries(Wanted::Topics(&wanted), &entries)),
            lists(&[("spf", &["a", "d"])])
        );
        assert!(members.entries(Wanted::Nothing, &entries).is_empty());
        // A topic row naming an article with no place is a corrupt store.
        let e = Members::from_lists(lists(&[("acne", &["zz"])]), &entries).unwrap_err();
        assert!(e.to_string().contains("acne of zz"), "{e}");
    }

    fn item(slug: &str) -> Arc<ItemView> {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:30:00+05:30").unwrap();
        Arc::new(ItemView {
            slug: slug.to_owned(),
            id: format!("tag:example.org,2026:{slug}"),
            url: format!("https://example.org/{slug}/"),
            title: slug.to_owned(),
            summary: String::new(),
            content_html: format!("<p>{slug}</p>"),
            author: crate::domain::Person {
                name: "Meera Iyer".to_owned(),
                email: None,
            },
            reviewed_by: None,
            tags: Vec::new(),
            category: None,
            image: None,
            published: at,
            updated: at,
        })
    }

    fn used(slugs: &[&str]) -> HashMap<String, Arc<ItemView>> {
        slugs.iter().map(|s| (s.to_string(), item(s))).collect()
    }

    fn kept(p: &Places) -> Option<Vec<String>> {
        let mut slugs: Vec<String> = p.items()?.keys().cloned().collect();
        slugs.sort();
        Some(slugs)
    }

    #[test]
    fn kept_items_go_with_their_article_or_with_the_places() {
        let held = |revision| {
            let mut p = Places::with_members();
            p.held = Some(Held {
                revision,
                entries: vec![entry("a", "1"), entry("b", "1"), entry("c", "1")],
                members: Some(Members::default()),
                stale: BTreeSet::new(),
            });
            p
        };
        let mut p = held(4);
        p.keep_items(&used(&["a", "b"]));
        p.keep_items(&used(&["c"]));
        assert_eq!(kept(&p), Some(vec!["a".into(), "b".into(), "c".into()]));
        // The caller's own write of "a": that item alone goes.
        p.advance((Some(4), Some(5)), Some(&["a".to_owned()]));
        assert_eq!(kept(&p), Some(vec!["b".into(), "c".into()]));
        // A write nobody named: every item goes, with the places.
        p.advance((Some(5), Some(6)), None);
        assert_eq!(kept(&p), None);
        p.held = held(6).held;
        assert_eq!(kept(&p), Some(Vec::new()), "forgotten items came back");
        // Too many for the bound: the build's own, or none.
        p.keep_items(&used(&["a"]));
        let many: Vec<String> = (0..ITEMS_KEPT).map(|n| format!("s{n}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        p.keep_items(&used(&many));
        assert_eq!(p.items.len(), ITEMS_KEPT);
        assert!(!p.items.contains_key("a"));
        let more: Vec<String> = (0..=ITEMS_KEPT).map(|n| format!("t{n}")).collect();
        let more: Vec<&str> = more.iter().map(String::as_str).collect();
        p.keep_items(&used(&more));
        assert!(p.items.is_empty());
        // A process that builds once keeps none.
        let mut once = held(6);
        once.members = false;
        once.keep_items(&used(&["a"]));
        assert_eq!(kept(&once), None);
        assert!(once.items.is_empty());
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
            items: HashMap::new(),
            prints: PagePrints::default(),
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
