//! Which feeds a build writes: the views `Scope` asks for, read from the
//! store, and the topic folders that are to go.

use super::{FeedView, ItemView, Scope, feed_view, opml};
use crate::config::Config;
use crate::domain::{Slug, StoredArticle};
use crate::store::{Store, StoreError, TopicSummary};
use crate::topics::trending::Status;
use chrono::{DateTime, Utc};

/// Trending entries the trending feed is made from.
const TRENDING_LIMIT: usize = 50;

/// What a build writes and removes.
pub(super) struct Plan {
    pub views: Vec<FeedView>,
    /// Topic ids whose folders are removed.
    pub remove: Vec<String>,
    /// `index.opml`, when the trending feeds are built.
    pub opml: Option<Vec<u8>>,
}

/// The feeds `scope` asks for, and topic folders to remove.
pub(super) async fn plan(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<Plan, StoreError> {
    let (main, topic_ids, trending) = match scope {
        Scope::All => (true, None, true),
        Scope::Changed {
            main,
            topics,
            trending,
        } => (*main, Some(topics.clone()), *trending),
    };
    let mut plan = Plan {
        views: Vec::new(),
        remove: Vec::new(),
        opml: None,
    };
    if main {
        plan.views.push(main_view(store, config).await?);
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
    for id in &wanted {
        let label = all_topics
            .as_ref()
            .and_then(|all| all.iter().find(|t| t.id == *id))
            .map_or_else(|| id.clone(), |t| t.label.clone());
        match topic_feed(store, config, id, &label).await? {
            Some(view) => plan.views.push(view),
            None => plan.remove.push(id.clone()),
        }
    }
    if let (None, Some(all)) = (&topic_ids, &all_topics) {
        // A full build also clears folders of topics that have gone.
        plan.remove.extend(gone_topic_folders(config, all));
    }
    if trending {
        plan.views.push(trending_view(store, config, now).await?);
        plan.opml = all_topics.as_deref().map(|all| opml::render(config, all));
    }
    Ok(plan)
}

fn site_description(config: &Config) -> String {
    if config.site.description.is_empty() {
        config.site.title.clone()
    } else {
        config.site.description.clone()
    }
}

async fn main_view(store: &dyn Store, config: &Config) -> Result<FeedView, StoreError> {
    let articles = store.published_articles(Some(config.feeds.limit)).await?;
    Ok(feed_view(
        config,
        "",
        config.site.title.clone(),
        site_description(config),
        articles.iter().map(ItemView::from).collect(),
    ))
}

/// A topic's feed; None when no published article has the topic any more.
async fn topic_feed(
    store: &dyn Store,
    config: &Config,
    id: &str,
    label: &str,
) -> Result<Option<FeedView>, StoreError> {
    let articles = store.topic_articles(id, config.feeds.limit).await?;
    if articles.is_empty() {
        return Ok(None);
    }
    Ok(Some(topic_view(config, id, label, &articles)))
}

fn topic_view(config: &Config, id: &str, label: &str, articles: &[StoredArticle]) -> FeedView {
    feed_view(
        config,
        &format!("topics/{id}"),
        format!("{}: {label}", config.site.title),
        format!("{} articles about {label}", config.site.title),
        articles.iter().map(ItemView::from).collect(),
    )
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
    let mut items: Vec<ItemView> = Vec::new();
    let mut explained = Vec::new();
    for t in report.topics.iter().filter(|t| t.status != Status::Covered) {
        explained.push(format!("{} ({})", t.label, t.why));
        for a in &t.articles {
            if items.iter().any(|i| i.slug == a.slug) {
                continue;
            }
            if let Some(stored) = store.article(&a.slug).await? {
                items.push(ItemView::from(&stored));
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
