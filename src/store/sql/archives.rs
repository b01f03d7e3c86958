//! What the feeds' archive pages and tombstones read: every article's place
//! in the order articles were first stored (`seq`), without bodies; the
//! bodies of the few pages a build renders; recent withdrawals.

use super::SqlStore;
use super::db::{sql, sql_built};
use crate::domain::StoredArticle;
use crate::store::backend::Backend;
use crate::store::rows::{
    ARTICLE_COLUMNS, ArchiveRow, ArticleRow, TopicSlugRow, TopicTotalRow, WithdrawnRow, articles,
    ts,
};
use crate::store::{ArchiveEntry, StoreError, Withdrawn};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Slugs per statement that reads bodies.
const BODY_ROWS: usize = 1000;

/// From this many bodies (or two topics' slugs), a read is split in two
/// halves read at once, on two of the pool's connections: SQLite reads on
/// each connection's own thread, so the halves take a core each. After one
/// change at 10,000 articles a build reads some 600 bodies and a dozen
/// topics' slugs, tens of milliseconds of one core while the other waited.
const HALVES_FROM: usize = 64;

/// An article's place, as `ArchiveRow` reads it.
const ARCHIVE_COLUMNS: &str =
    "a.seq, a.slug, a.status, a.content_hash, a.updated_ts, a.published_ts";

/// Places from their JSON text, in the order articles were first stored.
fn places(text: &[u8]) -> Result<Vec<ArchiveEntry>, StoreError> {
    let mut rows: Vec<ArchiveRow> = serde_json::from_slice(text)
        .map_err(|e| StoreError::Corrupt(format!("the articles' archive places: {e}")))?;
    rows.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(rows.into_iter().map(ArchiveEntry::from).collect())
}

/// `read` of each half of `items`, both at once (see `HALVES_FROM`), the
/// second's result added to the first's.
async fn in_halves<'a, T, R, F, Fut>(items: &'a [T], read: F) -> Result<R, StoreError>
where
    F: Fn(&'a [T]) -> Fut,
    Fut: std::future::Future<Output = Result<R, StoreError>>,
    R: IntoIterator + Extend<<R as IntoIterator>::Item>,
{
    let (a, b) = items.split_at(items.len() / 2);
    let (mut a, b) = tokio::try_join!(read(a), read(b))?;
    a.extend(b);
    Ok(a)
}

impl<B: Backend> SqlStore<B> {
    /// Every article's place, in the order articles were first stored. In
    /// one JSON text rather than a row each (`Backend::json_rows`): a build
    /// after one change reads all 10,000 places of a large site, and each
    /// row was a hand-off between the database's thread and this one.
    pub(super) async fn site_archive(&self) -> Result<Vec<ArchiveEntry>, StoreError> {
        let text: Vec<u8> = sql_built::<B>(format!(
            "SELECT {} FROM articles a",
            B::json_rows(ARCHIVE_COLUMNS)
        ))
        .scalar(&self.pool)
        .await?;
        places(&text)
    }

    /// The places of `slugs` alone, in the same order: what a build that
    /// keeps every place between builds reads after a change.
    pub(super) async fn site_archive_of(
        &self,
        slugs: &[&str],
    ) -> Result<Vec<ArchiveEntry>, StoreError> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let q = sql_built::<B>(format!(
            "SELECT {} FROM articles a WHERE {}",
            B::json_rows(ARCHIVE_COLUMNS),
            B::in_list("a.slug", 1)
        ));
        let text: Vec<u8> = B::bind_texts(q, slugs)?.scalar(&self.pool).await?;
        places(&text)
    }

    /// Each topic's slugs (of `topics`, or all); two or more topics are
    /// read in two halves at once.
    pub(super) async fn topic_slug_lists(
        &self,
        topics: Option<&[String]>,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        match topics.filter(|ids| ids.len() >= 2) {
            Some(ids) => in_halves(ids, |h| self.topic_slug_lists_at_once(Some(h))).await,
            None => self.topic_slug_lists_at_once(topics).await,
        }
    }

    /// `topic_slug_lists` in one statement.
    async fn topic_slug_lists_at_once(
        &self,
        topics: Option<&[String]>,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let which = match topics {
            Some(_) => format!("WHERE {}", B::in_list("topic_id", 1)),
            None => String::new(),
        };
        // One row per topic, its slugs joined: a build after one change
        // reads tens of thousands of them.
        let q = sql_built::<B>(format!(
            "SELECT topic_id, {} AS slugs FROM article_topics {which} GROUP BY topic_id",
            B::joined("slug")
        ));
        let q = match topics {
            Some(ids) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                B::bind_texts(q, &ids)?
            }
            None => q,
        };
        let rows: Vec<TopicSlugRow> = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let slugs = r.slugs.split('\n').map(str::to_owned).collect();
                (r.topic_id, slugs)
            })
            .collect())
    }

    /// Each of `slugs`' topics, as `topic_slug_lists` reads them the other
    /// way round.
    pub(super) async fn article_topic_lists(
        &self,
        slugs: &[&str],
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        if slugs.is_empty() {
            return Ok(BTreeMap::new());
        }
        let q = sql_built::<B>(format!(
            // The row type reads a key and the values joined to it.
            "SELECT slug AS topic_id, {} AS slugs FROM article_topics WHERE {} GROUP BY slug",
            B::joined("topic_id"),
            B::in_list("slug", 1)
        ));
        let rows: Vec<TopicSlugRow> = B::bind_texts(q, slugs)?.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let topics = r.slugs.split('\n').map(str::to_owned).collect();
                (r.topic_id, topics)
            })
            .collect())
    }

    pub(super) async fn archive_totals(&self) -> Result<(u64, BTreeMap<String, u64>), StoreError> {
        let site: i64 = sql::<B>("SELECT COUNT(*) FROM articles")
            .scalar(&self.pool)
            .await?;
        let rows: Vec<TopicTotalRow> = sql::<B>(
            "SELECT topic_id, COUNT(*) AS n FROM article_topics GROUP BY topic_id ORDER BY topic_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let n = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((
            n(site),
            rows.into_iter().map(|r| (r.topic_id, n(r.n))).collect(),
        ))
    }

    /// The published articles among `slugs`, whole; from `HALVES_FROM`
    /// of them, two halves at once.
    pub(super) async fn bodies(&self, slugs: &[&str]) -> Result<Vec<StoredArticle>, StoreError> {
        if slugs.len() < HALVES_FROM {
            return self.bodies_in_turn(slugs).await;
        }
        in_halves(slugs, |h| self.bodies_in_turn(h)).await
    }

    /// `bodies`, a statement at a time.
    async fn bodies_in_turn(&self, slugs: &[&str]) -> Result<Vec<StoredArticle>, StoreError> {
        let mut out = Vec::with_capacity(slugs.len());
        for chunk in slugs.chunks(BODY_ROWS) {
            let q = sql_built::<B>(format!(
                "SELECT {ARTICLE_COLUMNS} FROM articles WHERE status = 'published' AND {}",
                B::in_list("slug", 1)
            ));
            let rows: Vec<ArticleRow> = B::bind_texts(q, chunk)?.fetch_all(&self.pool).await?;
            out.extend(articles(rows)?);
        }
        Ok(out)
    }

    pub(super) async fn withdrawals(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<Withdrawn>, StoreError> {
        let rows: Vec<WithdrawnRow> = sql::<B>(
            "SELECT a.slug, a.guid, a.withdrawn_ts, t.topic_id FROM articles a \
             LEFT JOIN article_topics t ON t.slug = a.slug \
             WHERE a.status = 'withdrawn' AND a.withdrawn_ts >= $1 \
             ORDER BY a.withdrawn_ts DESC, a.slug, t.topic_id",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Withdrawn> = Vec::new();
        for r in rows {
            match out.last_mut() {
                Some(w) if w.slug == r.slug => w.topics.extend(r.topic_id),
                _ => out.push(Withdrawn {
                    slug: r.slug,
                    guid: r.guid,
                    at: ts(r.withdrawn_ts)?,
                    topics: r.topic_id.into_iter().collect(),
                }),
            }
        }
        Ok(out)
    }
}
