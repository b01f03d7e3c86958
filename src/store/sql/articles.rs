//! Articles: what ingest writes in one transaction, and what the feeds and
//! pages read.

use super::db::{PushBind as _, Sql, sql, sql_built};
use super::plan::{Plan, Upsert};
use super::{SqlStore, topics};
use crate::domain::StoredArticle;
use crate::store::backend::{Backend, DeferredCheckpoint};
use crate::store::rows::{
    ARTICLE_COLUMNS, ArticleRow, CountsRow, INDEX_COLUMNS, IndexRow, articles,
};
use crate::store::{ArticleChange, IndexEntry, StoreError};
use anyhow::Context as _;
use sqlx::{Connection as _, QueryBuilder};

/// From this many changes an ingest's write is "large": see
/// `Backend::defer_checkpoint`.
const BULK_CHANGES: usize = 200;

/// Rows per multi-row article upsert (27 binds each).
const UPSERT_ROWS: usize = 200;

const RESTAMP: &str = "UPDATE articles SET source_mtime_ns = $1, source_size = $2, \
    render_key = $3, phrases = $4 WHERE slug = $5";
const WITHDRAW: &str = "UPDATE articles SET status = 'withdrawn', withdrawn_ts = $1, \
    source_mtime_ns = NULL, source_size = NULL, render_key = NULL WHERE slug = $2";
const BUMP_REVISION: &str = "UPDATE store_revision SET revision = revision + 1";

impl<B: Backend> SqlStore<B> {
    /// One ingest's changes in one transaction; see `Store::apply_changes`.
    pub(super) async fn apply(&self, changes: &[ArticleChange]) -> Result<Vec<String>, StoreError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        // A large write's log is copied back in the background; a small
        // one's is left to SQLite, which copies it at a commit once the log
        // is long enough (the watching daemon's one-file runs).
        if changes.len() >= BULK_CHANGES {
            let mut deferred = DeferredCheckpoint::<B>::acquire(&self.pool).await?;
            apply_on::<B>(deferred.conn(), changes).await
        } else {
            apply_on::<B>(&mut *self.pool.acquire().await?, changes).await
        }
    }

    /// (published, withdrawn)
    pub(super) async fn count_articles(&self) -> Result<(u64, u64), StoreError> {
        let row: CountsRow = sql::<B>(
            "SELECT COALESCE(SUM(CASE WHEN status = 'published' THEN 1 ELSE 0 END), 0) \
               AS published, \
             COALESCE(SUM(CASE WHEN status = 'withdrawn' THEN 1 ELSE 0 END), 0) AS withdrawn \
             FROM articles",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.counts())
    }

    /// Every article's index entry, by slug. In one JSON text rather than a
    /// row each: every command-line ingest reads all of them (10,000 rows
    /// took 42 ms as rows, most of it handing each row between the
    /// database's thread and this one).
    pub(super) async fn index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        let text: Vec<u8> = sql_built::<B>(format!(
            "SELECT {} FROM articles",
            B::json_rows(INDEX_COLUMNS)
        ))
        .scalar(&self.pool)
        .await?;
        let rows: Vec<IndexRow> = serde_json::from_slice(&text)
            .map_err(|e| StoreError::Corrupt(format!("the article index: {e}")))?;
        let mut entries = rows
            .into_iter()
            .map(IndexEntry::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_unstable_by(|a, b| a.slug.cmp(&b.slug));
        Ok(entries)
    }

    pub(super) async fn published(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let rows: Vec<ArticleRow> = sql_built::<B>(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE status = 'published' \
             ORDER BY published_ts DESC, slug ASC LIMIT $1"
        ))
        .bind(B::limit(limit))
        .fetch_all(&self.pool)
        .await?;
        articles(rows)
    }

    pub(super) async fn published_article(
        &self,
        slug: &str,
    ) -> Result<Option<StoredArticle>, StoreError> {
        let row: Option<ArticleRow> = sql_built::<B>(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE slug = $1 AND status = 'published'"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        row.map(StoredArticle::try_from).transpose()
    }
}

/// `SqlStore::apply` on one connection, in one transaction.
async fn apply_on<B: Backend>(
    conn: &mut B::Connection,
    changes: &[ArticleChange],
) -> Result<Vec<String>, StoreError> {
    let mut plan = Plan::new(changes);
    let mut tx = conn.begin_with(B::BEGIN_WRITE).await?;
    if !plan.upserts.is_empty() {
        let last: Option<i64> = sql::<B>("SELECT MAX(seq) FROM articles")
            .scalar(&mut *tx)
            .await?;
        plan.number(last.unwrap_or(0));
    }
    let before = topics::topics_of::<B>(&mut tx, &plan.known).await?;
    for r in &plan.restamps {
        let phrases = serde_json::to_string(r.phrases).context("encoding phrases")?;
        sql::<B>(RESTAMP)
            .bind(r.stamp.mtime_ns)
            .bind(r.stamp.size)
            .bind(&r.stamp.render_key)
            .bind(phrases)
            .bind(r.slug)
            .execute(&mut *tx)
            .await?;
    }
    for w in &plan.withdrawals {
        sql::<B>(WITHDRAW)
            .bind(w.at)
            .bind(w.slug)
            .execute(&mut *tx)
            .await?;
    }
    for chunk in plan.upserts.chunks(UPSERT_ROWS) {
        let mut q = article_upsert::<B>(chunk)?;
        Sql::from_query(q.build()).execute(&mut *tx).await?;
    }
    topics::set_topics::<B>(&mut tx, &plan.topic_sets).await?;
    sql::<B>(BUMP_REVISION).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(plan.touched(before))
}

/// A multi-row upsert of articles: a cold ingest of thousands of articles
/// is dominated by per-statement cost otherwise. The guid is fixed at first
/// insert (the URL the article had then); a withdrawn article that comes
/// back is published again with it, and so is its place in the archive
/// order (`seq` is never updated).
fn article_upsert<B: Backend>(chunk: &[Upsert<'_>]) -> Result<QueryBuilder<B>, StoreError> {
    let mut q = QueryBuilder::<B>::new(
        "INSERT INTO articles (slug, guid, source, status, title, summary, content_html, \
           author_name, author_email, reviewed_by, tags, category, image, image_alt, url, \
           published_at, published_ts, source_updated, updated_at, updated_ts, \
           content_hash, first_seen_ts, withdrawn_ts, source_mtime_ns, source_size, render_key, \
           phrases, seq) ",
    );
    // Encoded first: `push_values` takes a closure that cannot fail.
    let json = chunk
        .iter()
        .map(|u| {
            let tags = serde_json::to_string(&u.article.tags)?;
            let phrases = serde_json::to_string(u.phrases)?;
            Ok((tags, phrases))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .context("encoding tags and phrases")?;
    q.push_values(chunk.iter().zip(json), |mut row, (u, (tags, phrases))| {
        let a = u.article;
        row.bind(a.slug.to_string())
            .bind(a.url.clone())
            .bind(u.source.to_string())
            .bind("published".to_string())
            .bind(a.title.clone())
            .bind(a.summary.clone())
            .bind(a.content_html.clone())
            .bind(a.author.name.clone())
            .bind(a.author.email.clone())
            .bind(a.reviewed_by.clone())
            .bind(tags)
            .bind(a.category.clone())
            .bind(a.image.clone())
            .bind(a.image_alt.clone())
            .bind(a.url.clone())
            .bind(a.published.to_rfc3339())
            .bind(a.published.timestamp())
            .bind(a.updated.map(|t| t.to_rfc3339()))
            .bind(u.updated.to_rfc3339())
            .bind(u.updated.timestamp())
            .bind(u.content_hash.to_owned())
            .bind(u.at.timestamp())
            .bind(None::<i64>)
            .bind(u.stamp.map(|s| s.mtime_ns))
            .bind(u.stamp.map(|s| s.size))
            .bind(u.stamp.map(|s| s.render_key.clone()))
            .bind(phrases)
            .bind(u.seq);
    });
    q.push(
        " ON CONFLICT (slug) DO UPDATE SET \
           source = excluded.source, status = 'published', title = excluded.title, \
           summary = excluded.summary, content_html = excluded.content_html, \
           author_name = excluded.author_name, author_email = excluded.author_email, \
           reviewed_by = excluded.reviewed_by, tags = excluded.tags, \
           category = excluded.category, image = excluded.image, \
           image_alt = excluded.image_alt, url = excluded.url, \
           published_at = excluded.published_at, published_ts = excluded.published_ts, \
           source_updated = excluded.source_updated, updated_at = excluded.updated_at, \
           updated_ts = excluded.updated_ts, content_hash = excluded.content_hash, \
           withdrawn_ts = NULL, source_mtime_ns = excluded.source_mtime_ns, \
           source_size = excluded.source_size, render_key = excluded.render_key, \
           phrases = excluded.phrases",
    );
    Ok(q)
}
