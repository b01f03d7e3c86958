//! Which feeds a build writes: the views `Scope` asks for, read from the
//! store, their archive pages that need rendering (see `archive`), and the
//! topic folders and pages that are to go.

use super::archive::{self, ArchivePlan};
use super::places::Wanted;
use super::{FeedView, ItemView, Scope, feed_view, opml, page_view, sort_items};
use crate::config::Config;
use crate::domain::{Slug, StoredArticle};
use crate::store::{ArchiveEntry, Store, StoreError, TopicSummary, Withdrawn};
use crate::topics::trending::Status;
use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Trending entries the trending feed is made from.
const TRENDING_LIMIT: usize = 50;

/// Above this many bodies to read, a build reads every published article
/// in one statement instead of by slug.
const READ_ALL_ABOVE: usize = 2000;

/// How long after a tombstone expired an hourly build still looks for the
/// feeds that carry it, to rebuild them without it.
const EXPIRY_SWEEP_DAYS: i64 = 7;

/// What a build writes and removes.
#[derive(Default)]
pub(super) struct Plan {
    /// Subscription documents and the archive pages to render.
    pub views: Vec<FeedView>,
    /// Topic ids whose folders are removed.
    pub remove: Vec<String>,
    /// Archive page files to delete, relative to the feeds folder.
    pub remove_files: Vec<String>,
    /// Archive fingerprint files to write (Some) or delete (None), relative
    /// to the feeds folder; written after the pages.
    pub manifests: Vec<(String, Option<Vec<u8>>)>,
    /// `index.opml`, when the trending feeds are built or an archive head
    /// moved.
    pub opml: Option<Vec<u8>>,
}

/// A feed with its subscription document's articles read, before its
/// archive is planned.
struct Pending {
    path: String,
    topic: Option<String>,
    title: String,
    description: String,
    /// The subscription document's articles, newest first.
    current: Vec<String>,
    entries: Vec<ArchiveEntry>,
}

/// The feeds `scope` asks for, and topic folders to remove.
pub(super) async fn plan(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
    scope: &Scope,
    places: &mut super::Places,
    known: Vec<StoredArticle>,
) -> Result<Plan, StoreError> {
    let (mut main, topic_ids, trending) = match scope {
        Scope::All => (true, None, true),
        Scope::Changed {
            main,
            topics,
            trending,
        } => (*main, Some(topics.clone()), *trending),
    };
    let days = i64::from(config.feeds.tombstone_days);
    let archives = config.feeds.archive_page_size > 0;
    let mut plan = Plan::default();
    let mut topic_ids = topic_ids;
    // The withdrawals of the sweep's span, when read: the tombstones'
    // shorter span is taken from them rather than read again.
    let mut swept: Option<Vec<Withdrawn>> = None;
    if let (Some(ids), true, true) = (&mut topic_ids, trending, days > 0) {
        // Tombstones expire with time, not with a change: the hourly build
        // also rebuilds the feeds that carried one lately.
        let since = now - Duration::days(days + EXPIRY_SWEEP_DAYS);
        let recent = store.withdrawn_since(since).await?;
        if !recent.is_empty() {
            main = true;
        }
        let mut set: BTreeSet<String> = ids.drain(..).collect();
        set.extend(recent.iter().flat_map(|w| w.topics.iter().cloned()));
        ids.extend(set);
        swept = Some(recent);
    }
    // (id, label, articles) of every topic: for labels, for the folders a
    // full build clears, and for the OPML index.
    let all_topics = if topic_ids.is_none() || trending {
        Some(store.topics().await?)
    } else {
        None
    };
    let wanted: Vec<String> = match (&topic_ids, &all_topics) {
        (Some(ids), _) => ids.clone(),
        (None, Some(all)) => all.iter().map(|t| t.id.clone()).collect(),
        (None, None) => Vec::new(),
    };
    let withdrawn: Vec<Withdrawn> = if days > 0 && (main || !wanted.is_empty()) {
        let since = now - Duration::days(days);
        match swept {
            // As the store compares them: whole seconds, the bound included.
            Some(recent) => recent
                .into_iter()
                .filter(|w| w.at.timestamp() >= since.timestamp())
                .collect(),
            None => store.withdrawn_since(since).await?,
        }
    } else {
        Vec::new()
    };
    // Every article's place, read once for the site feed and the topics,
    // and the topics' entries among them.
    let (mut topic_entries, site_entries) = if !archives {
        (BTreeMap::new(), Vec::new())
    } else if !wanted.is_empty() {
        let which = topic_ids.as_deref().map_or(Wanted::All, Wanted::Topics);
        places.read(store, which).await?
    } else if main {
        places.read(store, Wanted::Nothing).await?
    } else {
        (BTreeMap::new(), Vec::new())
    };
    let mut pending: Vec<Pending> = Vec::new();
    // Articles read whole already (or known to the caller), whose items
    // need no second read.
    let mut seed: Vec<StoredArticle> = known;
    if main {
        let current = store.published_articles(Some(config.feeds.limit)).await?;
        pending.push(Pending {
            path: String::new(),
            topic: None,
            title: config.site.title.clone(),
            description: site_description(config),
            current: slugs_of(&current),
            entries: site_entries,
        });
        seed.extend(current);
    }
    for id in &wanted {
        let entries = topic_entries.remove(id);
        match topic_pending(store, config, id, all_topics.as_deref(), entries, &mut seed).await? {
            Some(p) => pending.push(p),
            None => plan.remove.push(id.clone()),
        }
    }
    if let (None, Some(all)) = (&topic_ids, &all_topics) {
        // A full build also clears folders of topics that have gone.
        plan.remove.extend(gone_topic_folders(config, all));
    }
    // With archives off the entries are empty: the plan then removes pages
    // an earlier build wrote.
    let prints = places.page_prints();
    let archive_plans: Vec<ArchivePlan> = pending
        .par_iter()
        .map(|p| archive::plan(config, &p.path, &p.title, &p.entries, prints))
        .collect();
    let items = read_items(store, seed, &pending, &archive_plans, places.items()).await?;
    places.keep_items(&items);
    let heads_moved = add_views(
        &mut plan,
        config,
        pending,
        archive_plans,
        &items,
        &withdrawn,
    );
    if trending {
        plan.views.push(trending_view(store, config, now).await?);
    }
    // A gone topic also leaves the index.
    if trending || heads_moved || !plan.remove.is_empty() {
        let all = match all_topics {
            Some(all) => all,
            None => store.topics().await?,
        };
        plan.opml = Some(index_opml(store, config, &all).await?);
    }
    Ok(plan)
}

/// Topic `id`'s feed before its archive is planned; None when it has no
/// published article left. `entries` are its archive entries when the
/// build read them: its newest articles are then among them, with no
/// query. Articles read whole are added to `seed`.
async fn topic_pending(
    store: &dyn Store,
    config: &Config,
    id: &str,
    all_topics: Option<&[TopicSummary]>,
    entries: Option<Vec<ArchiveEntry>>,
    seed: &mut Vec<StoredArticle>,
) -> Result<Option<Pending>, StoreError> {
    let label = match all_topics {
        Some(all) => all.iter().find(|t| t.id == id).map(|t| t.label.clone()),
        None => store.topic_label(id).await?,
    }
    .unwrap_or_else(|| id.to_owned());
    let (current, entries) = match entries {
        Some(entries) => (
            archive::newest_published(&entries, config.feeds.limit),
            entries,
        ),
        None => {
            let current = store.topic_articles(id, config.feeds.limit).await?;
            let slugs = slugs_of(&current);
            seed.extend(current);
            (slugs, Vec::new())
        }
    };
    if current.is_empty() {
        return Ok(None);
    }
    Ok(Some(Pending {
        path: format!("topics/{id}"),
        topic: Some(id.to_owned()),
        title: topic_title(config, &label),
        description: format!("{} articles about {label}", config.site.title),
        current,
        entries,
    }))
}

/// Adds each feed's subscription document and the archive pages to render
/// to `plan`; whether an archive's newest page moved (the OPML index
/// lists the heads).
fn add_views(
    plan: &mut Plan,
    config: &Config,
    pending: Vec<Pending>,
    archive_plans: Vec<ArchivePlan>,
    items: &HashMap<String, Arc<ItemView>>,
    withdrawn: &[Withdrawn],
) -> bool {
    let mut heads_moved = false;
    let mut slims: HashMap<String, Arc<ItemView>> = HashMap::new();
    for (p, a) in pending.into_iter().zip(archive_plans) {
        heads_moved |= a.newest_moved;
        // An article withdrawn since its place was read has no item: the
        // next build leaves it out for good.
        let current: Vec<Arc<ItemView>> = p
            .current
            .iter()
            .filter_map(|s| items.get(s.as_str()).cloned())
            .collect();
        let mut view = feed_view(
            config,
            &p.path,
            p.title.clone(),
            p.description.clone(),
            current,
        );
        // The articles after the last full page are in no archive page
        // yet: the current document keeps them, however old they are.
        let before = view.items.len();
        for slug in &a.tail {
            if !view.items.iter().any(|i| i.slug == *slug)
                && let Some(i) = items.get(slug.as_str())
            {
                view.items.push(i.clone());
            }
        }
        if view.items.len() > before {
            sort_items(&mut view.items);
            view.updated = view
                .items
                .iter()
                .map(|i| i.updated)
                .max()
                .unwrap_or(view.updated);
        }
        archive::decorate(
            &mut view,
            a.newest,
            archive::tombstones(withdrawn, p.topic.as_deref()),
        );
        plan.views.push(view);
        for (n, slugs) in a.render {
            // Topic pages carry summaries and links, not bodies: see
            // `archive` on why.
            let page_items = slugs
                .iter()
                .filter_map(|s| match p.topic {
                    None => items.get(s.as_str()).cloned(),
                    Some(_) => slim(&mut slims, items, s),
                })
                .collect();
            let mut page = page_view(
                config,
                &p.path,
                archive::page_title(&p.title, n),
                p.description.clone(),
                page_items,
            );
            page.page = Some(n);
            page.hub = None;
            plan.views.push(page);
        }
        plan.remove_files.extend(a.stale);
        plan.manifests.push(a.manifest);
    }
    heads_moved
}

/// `index.opml`: every topic's feeds and each archive's newest page.
async fn index_opml(
    store: &dyn Store,
    config: &Config,
    all: &[TopicSummary],
) -> Result<Vec<u8>, StoreError> {
    let (site, per_topic) = if config.feeds.archive_page_size > 0 {
        store.archive_counts().await?
    } else {
        (0, BTreeMap::new())
    };
    let size = config.feeds.archive_page_size;
    let heads = opml::Heads {
        site: archive::full_pages(site, size),
        topics: per_topic
            .into_iter()
            .map(|(id, n)| (id, archive::full_pages(n, size)))
            .collect(),
    };
    Ok(opml::render(config, all, &heads))
}

/// The items of the articles a plan shows, by slug: those of `seed`
/// (articles read whole already) and those kept from earlier builds
/// (`kept`, see `Places::items`), and the bodies of the other articles of
/// the subscription documents, the archive pages to render and the tails,
/// read in one go.
async fn read_items(
    store: &dyn Store,
    seed: Vec<StoredArticle>,
    pending: &[Pending],
    plans: &[ArchivePlan],
    kept: Option<&HashMap<String, Arc<ItemView>>>,
) -> Result<HashMap<String, Arc<ItemView>>, StoreError> {
    let mut items: HashMap<String, Arc<ItemView>> = HashMap::new();
    add_items(&mut items, seed);
    let shown = pending.iter().flat_map(|p| &p.current).chain(
        plans
            .iter()
            .flat_map(|a| a.render.iter().flat_map(|(_, s)| s).chain(&a.tail)),
    );
    let mut missing: BTreeSet<&str> = BTreeSet::new();
    for slug in shown {
        if items.contains_key(slug) {
            continue;
        }
        match kept.and_then(|k| k.get(slug)) {
            Some(item) => {
                items.insert(slug.clone(), item.clone());
            }
            None => {
                missing.insert(slug);
            }
        }
    }
    let read = if missing.is_empty() {
        Vec::new()
    } else if missing.len() > READ_ALL_ABOVE {
        store.published_articles(None).await?
    } else {
        let slugs: Vec<&str> = missing.into_iter().collect();
        store.articles_by_slug(&slugs).await?
    };
    add_items(&mut items, read);
    Ok(items)
}

/// An item of each article whose slug `items` does not hold yet.
fn add_items(items: &mut HashMap<String, Arc<ItemView>>, articles: Vec<StoredArticle>) {
    for a in articles {
        if !items.contains_key(a.article.slug.as_str()) {
            items.insert(a.article.slug.to_string(), Arc::new(ItemView::from(a)));
        }
    }
}

fn slugs_of(articles: &[StoredArticle]) -> Vec<String> {
    articles
        .iter()
        .map(|a| a.article.slug.to_string())
        .collect()
}

/// The summary-only item of `slug`, made once per build.
fn slim(
    slims: &mut HashMap<String, Arc<ItemView>>,
    items: &HashMap<String, Arc<ItemView>>,
    slug: &str,
) -> Option<Arc<ItemView>> {
    if let Some(i) = slims.get(slug) {
        return Some(i.clone());
    }
    let i = Arc::new(items.get(slug)?.slim());
    slims.insert(slug.to_owned(), i.clone());
    Some(i)
}

fn topic_title(config: &Config, label: &str) -> String {
    format!("{}: {label}", config.site.title)
}

fn site_description(config: &Config) -> String {
    if config.site.description.is_empty() {
        config.site.title.clone()
    } else {
        config.site.description.clone()
    }
}

/// Folders under `feeds/topics/` named like a topic that no article has:
/// what an earlier build wrote for a topic that has gone. Anything else
/// there is not ours and is left alone.
fn gone_topic_folders(config: &Config, all: &[TopicSummary]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(config.feeds.dir.join("topics")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !all.iter().any(|t| t.id == *name) && Slug::parse(name).is_ok())
        .collect()
}

/// The trending feed: each trending entry's articles of this window, each
/// article once — what made the topic trend, not its whole archive.
async fn trending_view(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<FeedView, StoreError> {
    let report = crate::topics::report::trending_at(store, config, now, TRENDING_LIMIT).await?;
    let mut items: Vec<Arc<ItemView>> = Vec::new();
    let mut explained = Vec::new();
    for t in report.topics.iter().filter(|t| t.status != Status::Covered) {
        explained.push(format!("{} ({})", t.label, t.why));
        for a in &t.articles {
            if items.iter().any(|i| i.slug == a.slug) {
                continue;
            }
            if let Some(stored) = store.article(&a.slug).await? {
                items.push(Arc::new(ItemView::from(stored)));
            }
        }
    }
    let description = if explained.is_empty() {
        "Nothing is trending right now.".to_owned()
    } else {
        format!("Trending now: {}", explained.join("; "))
    };
    Ok(feed_view(
        config,
        "trending",
        format!("{}: trending now", config.site.title),
        description,
        items,
    ))
}
