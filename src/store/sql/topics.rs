//! Topics: the rows ingest sets per article, and what the feeds, the
//! subscribe form and trending read.

use super::SqlStore;
use super::db::{sql, sql_built};
use super::plan::{TopicRow, TopicSet};
use crate::domain::StoredArticle;
use crate::store::backend::Backend;
use crate::store::rows::{
    ARTICLE_COLUMNS, ArticleRow, PhraseRow, TopicArticleRow, TopicCountRow, TopicOccurrenceRow,
    articles,
};
use crate::store::{
    PublishedPhrases, StoreError, TopicArticle, TopicData, TopicOccurrence, TopicSummary,
};
use chrono::{DateTime, Utc};
use sqlx::Transaction;
use std::collections::BTreeSet;

/// Slugs per batched topic statement.
const TOPIC_ROWS: usize = 1000;

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
    Ok(())
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn topic_summaries(&self) -> Result<Vec<TopicSummary>, StoreError> {
        let rows: Vec<TopicCountRow> = sql::<B>(
            "SELECT t.topic_id, MIN(t.label) AS label, COUNT(*) AS n FROM article_topics t \
             JOIN articles a ON a.slug = t.slug WHERE a.status = 'published' \
             GROUP BY t.topic_id ORDER BY t.topic_id",
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

    pub(super) async fn trending_data(&self) -> Result<TopicData, StoreError> {
        let rows: Vec<TopicArticleRow> = sql::<B>(
            "SELECT slug, title, url, published_ts FROM articles WHERE status = 'published' \
             ORDER BY slug",
        )
        .fetch_all(&self.pool)
        .await?;
        let articles = rows
            .into_iter()
            .map(TopicArticle::try_from)
            .collect::<Result<_, _>>()?;
        let rows: Vec<TopicOccurrenceRow> = sql::<B>(
            "SELECT t.slug, t.topic_id, t.label, t.first_seen_ts, t.prominence \
             FROM article_topics t JOIN articles a ON a.slug = t.slug \
             WHERE a.status = 'published' ORDER BY t.slug, t.topic_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let occurrences = rows
            .into_iter()
            .map(TopicOccurrence::try_from)
            .collect::<Result<_, _>>()?;
        Ok(TopicData {
            articles,
            occurrences,
        })
    }

    pub(super) async fn phrases_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<PublishedPhrases>, StoreError> {
        let rows: Vec<PhraseRow> = sql::<B>(
            "SELECT slug, published_ts, phrases FROM articles \
             WHERE status = 'published' AND published_ts >= $1 ORDER BY slug",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(PublishedPhrases::try_from).collect()
    }
}
