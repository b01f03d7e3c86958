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

    /// Every published article and its topic rows, each read as one JSON
    /// text (`Backend::json_rows`) and put in order here: on a site of
    /// 10,000 articles that is 86,000 topic rows, and read as rows they
    /// took a second, most of it handing each row between the database's
    /// thread and this one.
    pub(super) async fn trending_data(&self) -> Result<TopicData, StoreError> {
        let text: String = sql_built::<B>(format!(
            "SELECT {} FROM articles WHERE status = 'published'",
            B::json_rows("slug, title, url, published_ts")
        ))
        .scalar(&self.pool)
        .await?;
        let mut rows: Vec<TopicArticleRow> = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("the published articles: {e}")))?;
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let articles = rows
            .into_iter()
            .map(TopicArticle::try_from)
            .collect::<Result<_, _>>()?;
        let text: String = sql_built::<B>(format!(
            "SELECT {} FROM article_topics t JOIN articles a ON a.slug = t.slug \
             WHERE a.status = 'published'",
            B::json_rows("t.slug, t.topic_id, t.label, t.first_seen_ts, t.prominence")
        ))
        .scalar(&self.pool)
        .await?;
        let mut rows: Vec<TopicOccurrenceRow> = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("the topic rows: {e}")))?;
        rows.sort_unstable_by(|a, b| (&a.slug, &a.topic_id).cmp(&(&b.slug, &b.topic_id)));
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
