//! Topics: the rows ingest sets per article, and what the feeds, the
//! subscribe form and trending read.

use super::SqlStore;
use super::db::{sql, sql_built};
use super::plan::{TopicRow, TopicSet};
use crate::domain::StoredArticle;
use crate::store::backend::Backend;
use crate::store::rows::{
    ARTICLE_COLUMNS, ArticleRow, PhraseRow, TopicArticleRow, TopicCountRow, articles, ts,
};
use crate::store::{PublishedPhrases, StoreError, TopicArticle, TopicData, TopicSummary};
use chrono::{DateTime, Utc};
use sqlx::Transaction;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Slugs per batched topic statement.
const TOPIC_ROWS: usize = 1000;

/// Articles whose topic rows trending reads per statement.
const TOPIC_READ: usize = 2000;

/// The topics these articles have now.
pub(super) async fn topics_of<B: Backend>(
    tx: &mut Transaction<'_, B>,
    slugs: &[&str],
) -> Result<BTreeSet<String>, StoreError> {
    let mut out = BTreeSet::new();
    for chunk in slugs.chunks(TOPIC_ROWS) {
        let q = sql_built::<B>(format!(
            "SELECT DISTINCT topic_id FROM article_topics WHERE {}",
            B::in_list("slug", 1)
        ));
        let topics: Vec<String> = B::bind_texts(q, chunk)?.scalars(&mut **tx).await?;
        out.extend(topics);
    }
    Ok(out)
}

/// Replaces articles' topics. A topic an article already had keeps its
/// first-seen time.
pub(super) async fn set_topics<B: Backend>(
    tx: &mut Transaction<'_, B>,
    sets: &[TopicSet<'_>],
) -> Result<(), StoreError> {
    // Only slugs that may already have rows need the clearing pass.
    let existing: Vec<&TopicSet<'_>> = sets.iter().filter(|s| s.existing).collect();
    for chunk in existing.chunks(TOPIC_ROWS) {
        B::clear_topics(&mut **tx, chunk).await?;
    }
    let rows: Vec<TopicRow<'_>> = sets.iter().flat_map(TopicSet::rows).collect();
    for chunk in rows.chunks(TOPIC_ROWS * 5) {
        B::insert_topics(&mut **tx, chunk).await?;
    }
    note_firsts::<B>(tx, sets, &rows).await
}

/// Brings `topic_firsts` up to date with rows just written: a new
/// article's rows are as written; an article that had rows before kept the
/// first-seen time of the topics it still has, so those are read back.
async fn note_firsts<B: Backend>(
    tx: &mut Transaction<'_, B>,
    sets: &[TopicSet<'_>],
    rows: &[TopicRow<'_>],
) -> Result<(), StoreError> {
    let mut firsts: BTreeMap<String, i64> = BTreeMap::new();
    let mut note = |topic: &str, at: i64| match firsts.get_mut(topic) {
        Some(f) => *f = (*f).min(at),
        None => {
            firsts.insert(topic.to_owned(), at);
        }
    };
    let existing: BTreeSet<&str> = sets.iter().filter(|s| s.existing).map(|s| s.slug).collect();
    for r in rows.iter().filter(|r| !existing.contains(r.slug)) {
        note(r.topic, r.first_seen);
    }
    let existing: Vec<&str> = existing.into_iter().collect();
    for chunk in existing.chunks(TOPIC_ROWS) {
        let q = sql_built::<B>(format!(
            "SELECT topic_id, MIN(first_seen_ts) FROM article_topics WHERE {} GROUP BY topic_id",
            B::in_list("slug", 1)
        ));
        let kept: Vec<(String, i64)> = B::bind_texts(q, chunk)?.fetch_all(&mut **tx).await?;
        for (topic, at) in &kept {
            note(topic, *at);
        }
    }
    if firsts.is_empty() {
        return Ok(());
    }
    let (topics, times): (Vec<&str>, Vec<i64>) =
        firsts.iter().map(|(t, at)| (t.as_str(), *at)).unzip();
    B::note_first_seen(&mut **tx, &topics, &times).await
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn topic_summaries(&self) -> Result<Vec<TopicSummary>, StoreError> {
        // Counted as every row less the withdrawn articles' rows: joining
        // each of 86,000 rows to its article to see it is published took
        // 5 to 8 times as long (0.1 s at 10,000 articles), where the rows of
        // the few withdrawn articles are found from those articles. The
        // label stays the first among published articles' rows.
        let rows: Vec<TopicCountRow> = sql::<B>(
            "SELECT t.topic_id, \
               (SELECT x.label FROM article_topics x JOIN articles a ON a.slug = x.slug \
                WHERE x.topic_id = t.topic_id AND a.status = 'published' \
                ORDER BY x.label LIMIT 1) AS label, \
               t.n - COALESCE(w.n, 0) AS n \
             FROM (SELECT topic_id, COUNT(*) AS n FROM article_topics GROUP BY topic_id) t \
             LEFT JOIN (SELECT x.topic_id, COUNT(*) AS n FROM articles a \
                        JOIN article_topics x ON x.slug = a.slug \
                        WHERE a.status = 'withdrawn' GROUP BY x.topic_id) w \
               ON w.topic_id = t.topic_id \
             WHERE t.n - COALESCE(w.n, 0) > 0 ORDER BY t.topic_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(TopicSummary::from).collect())
    }

    pub(super) async fn label_of(&self, topic: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sql::<B>("SELECT label FROM article_topics WHERE topic_id = $1 ORDER BY label LIMIT 1")
                .bind(topic)
                .scalar_optional(&self.pool)
                .await?,
        )
    }

    pub(super) async fn articles_of_topic(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let rows: Vec<ArticleRow> = sql_built::<B>(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE status = 'published' \
             AND slug IN (SELECT slug FROM article_topics WHERE topic_id = $1) \
             ORDER BY published_ts DESC, slug ASC LIMIT $2"
        ))
        .bind(topic)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        articles(rows)
    }

    /// The published articles a trending report starting at `since` can
    /// count (`DateTime::MIN_UTC`: every one) and all their topic rows, each
    /// read as one JSON text (`Backend::json_rows`) and put in order here:
    /// on a site of 10,000 articles that is 86,000 topic rows, and read as
    /// rows they took a second, most of it handing each row between the
    /// database's thread and this one.
    ///
    /// An article counts in the span when it was published or updated in
    /// it: a topic row's time is its article's publication or the update
    /// that gave it the topic, so it is never later than the later of the
    /// two (`ingest::version_times`). At 100,000 articles over two years,
    /// a report's ten weeks are a tenth of the history, and reading it all
    /// took 2 s.
    pub(super) async fn trending_data(
        &self,
        since: DateTime<Utc>,
    ) -> Result<TopicData, StoreError> {
        let latest = B::latest("a.published_ts", "a.updated_ts");
        let text: Vec<u8> = sql_built::<B>(format!(
            "SELECT {} FROM articles a WHERE a.status = 'published' AND {latest} >= $1",
            B::json_rows("a.slug, a.title, a.url, a.published_ts")
        ))
        .bind(since.timestamp())
        .scalar(&self.pool)
        .await?;
        let rows: Vec<TopicArticleRow> = serde_json::from_slice(&text)
            .map_err(|e| StoreError::Corrupt(format!("the published articles: {e}")))?;
        let articles: Vec<TopicArticle> = rows
            .into_iter()
            .map(TopicArticle::try_from)
            .collect::<Result<_, _>>()?;
        // Their topic rows, a few thousand articles at a time and grouped
        // by article (each slug once): at 100,000 articles, one JSON text
        // of all 88,000 rows was 9 MB, half of it slugs, and each copy of
        // it (SQLite's, sqlx's) as much new memory to fault in.
        let mut texts: Vec<Vec<u8>> = Vec::new();
        for chunk in articles.chunks(TOPIC_READ) {
            let slugs: Vec<&str> = chunk.iter().map(|a| a.slug.as_str()).collect();
            let q = sql_built::<B>(format!(
                "SELECT {} FROM (SELECT t.slug AS slug, {} AS topics FROM article_topics t \
                 WHERE {} GROUP BY t.slug) g",
                B::json_rows(&format!("g.slug, {}", B::json("g.topics"))),
                B::json_group("t.topic_id, t.label, t.first_seen_ts, t.prominence"),
                B::in_list("t.slug", 1)
            ));
            texts.push(B::bind_texts(q, &slugs)?.scalar(&self.pool).await?);
        }
        let mut groups: Vec<ArticleTopics<'_>> = Vec::new();
        for text in &texts {
            let read: Vec<ArticleTopics<'_>> = serde_json::from_slice(text)
                .map_err(|e| StoreError::Corrupt(format!("the topic rows: {e}")))?;
            groups.extend(read);
        }
        let mut rows = Vec::with_capacity(groups.len() * 10);
        for g in &groups {
            for r in &g.topics {
                let prominence = u8::try_from(r.prominence).unwrap_or(0);
                rows.push((&*g.slug, &*r.topic, &*r.label, ts(r.at)?, prominence));
            }
        }
        Ok(TopicData::from_rows(articles, rows))
    }

    /// When each of `topics` was first given to an article, for those
    /// that ever were (`topic_firsts`, kept as topic rows are written).
    pub(super) async fn first_appearances_of(
        &self,
        topics: &[&str],
    ) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError> {
        let mut out = BTreeMap::new();
        if topics.is_empty() {
            return Ok(out);
        }
        let q = sql_built::<B>(format!(
            "SELECT topic_id, first_seen_ts FROM topic_firsts WHERE {}",
            B::in_list("topic_id", 1)
        ));
        let rows: Vec<(String, i64)> = B::bind_texts(q, topics)?.fetch_all(&self.pool).await?;
        for (topic, ts) in rows {
            let at = DateTime::from_timestamp(ts, 0).ok_or_else(|| {
                StoreError::Corrupt(format!("topic '{topic}': first seen at {ts}, not a time"))
            })?;
            out.insert(topic, at);
        }
        Ok(out)
    }

    pub(super) async fn phrases_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<PublishedPhrases>, StoreError> {
        // The condition of `trending_data`, so that SQLite reads them from
        // the index that holds the phrases (`articles_by_latest`) rather
        // than from the rows, where they sit past the article's HTML; the
        // few articles only updated since are dropped here. One JSON text,
        // as for the topic rows: 9,000 rows one by one took 30 ms.
        let text: Vec<u8> = sql_built::<B>(format!(
            "SELECT {} FROM articles WHERE status = 'published' AND {} >= $1",
            B::json_rows("slug, published_ts, phrases"),
            B::latest("published_ts", "updated_ts")
        ))
        .bind(since.timestamp())
        .scalar(&self.pool)
        .await?;
        let rows: Vec<PhraseRow> = serde_json::from_slice(&text)
            .map_err(|e| StoreError::Corrupt(format!("the articles' phrases: {e}")))?;
        let mut out = rows
            .into_iter()
            .filter(|r| r.published_ts >= since.timestamp())
            .map(PublishedPhrases::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_unstable_by(|a, b| a.slug.cmp(&b.slug));
        Ok(out)
    }
}

/// An article's topic rows as JSON reads them: `[slug, [[topic, label,
/// first seen, prominence], ...]]`, borrowing the texts that hold no
/// escape.
#[derive(serde::Deserialize)]
struct ArticleTopics<'a> {
    #[serde(borrow)]
    slug: Cow<'a, str>,
    #[serde(borrow)]
    topics: Vec<BorrowedRow<'a>>,
}

#[derive(serde::Deserialize)]
struct BorrowedRow<'a> {
    #[serde(borrow)]
    topic: Cow<'a, str>,
    #[serde(borrow)]
    label: Cow<'a, str>,
    at: i64,
    prominence: i64,
}
