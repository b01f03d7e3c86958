//! SQL that reads the same on SQLite and PostgreSQL, and the one bulk
//! statement whose binds both backends build the same way.

use super::{ArticleChange, SourceStamp, StoreError};
use crate::domain::Article;
use crate::domain::topic::{ArticlePhrases, TopicRef};
use chrono::{DateTime, FixedOffset, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};
use std::collections::BTreeSet;

/// One hard bounce for a subscriber ($1 now, $2 id, $3 the limit): at the
/// limit the subscriber becomes `bounced`. Shared by transactional mail and
/// digests.
pub(super) const COUNT_BOUNCE: &str = "UPDATE subscribers SET bounce_count = bounce_count + 1, \
    updated_ts = $1, status = CASE WHEN bounce_count + 1 >= $3 THEN 'bounced' ELSE status END \
    WHERE id = $2";

/// Takes or renews a lease ($1 name, $2 holder, $3 expiry, $4 now): one row
/// changes when the lease was free, expired, or already this holder's.
pub(super) const TAKE_LEASE: &str = "INSERT INTO leases (name, holder, expires_ts) \
    VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ts = excluded.expires_ts \
    WHERE leases.holder = excluded.holder OR leases.expires_ts <= $4";

/// Gives a lease up ($1 name, $2 holder) so that another instance need not
/// wait for it to expire.
pub(super) const DROP_LEASE: &str = "DELETE FROM leases WHERE name = $1 AND holder = $2";

pub(super) const BUMP_REVISION: &str = "UPDATE store_revision SET revision = revision + 1";
pub(super) const READ_REVISION: &str = "SELECT revision FROM store_revision";

/// An article to insert or update: (article, source, effective updated,
/// file stamp, ingest time, phrases).
pub(super) type Upsert<'a> = (
    &'a Article,
    &'a String,
    &'a DateTime<FixedOffset>,
    &'a Option<SourceStamp>,
    &'a DateTime<Utc>,
    &'a ArticlePhrases,
);

/// A multi-row upsert of articles: a cold ingest of thousands of articles
/// is dominated by per-statement cost otherwise. The guid is fixed at first
/// insert (the URL the article had then); a withdrawn article that comes
/// back is published again with it.
pub(super) fn article_upsert<DB>(chunk: &[Upsert<'_>]) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    DB::Arguments: Default,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Option<String>: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::<DB>::new(
        "INSERT INTO articles (slug, guid, source, status, title, summary, content_html, \
           author_name, author_email, reviewed_by, tags, category, image, url, \
           published_at, published_ts, source_updated, updated_at, updated_ts, \
           content_hash, first_seen_ts, withdrawn_ts, source_mtime_ns, source_size, render_key, \
           phrases) ",
    );
    let mut bad = None;
    q.push_values(
        chunk,
        |mut row, (a, source, updated, stamp, at, phrases)| {
            let mut json = |v: Result<String, serde_json::Error>| {
                v.unwrap_or_else(|e| {
                    bad = Some(e);
                    String::new()
                })
            };
            let tags = json(serde_json::to_string(&a.tags));
            let phrases = json(serde_json::to_string(phrases));
            row.push_bind(a.slug.to_string())
                .push_bind(a.url.clone())
                .push_bind((*source).clone())
                .push_bind("published".to_string())
                .push_bind(a.title.clone())
                .push_bind(a.summary.clone())
                .push_bind(a.content_html.clone())
                .push_bind(a.author.name.clone())
                .push_bind(a.author.email.clone())
                .push_bind(a.reviewed_by.clone())
                .push_bind(tags)
                .push_bind(a.category.clone())
                .push_bind(a.image.clone())
                .push_bind(a.url.clone())
                .push_bind(a.published.to_rfc3339())
                .push_bind(a.published.timestamp())
                .push_bind(a.updated.map(|u| u.to_rfc3339()))
                .push_bind(updated.to_rfc3339())
                .push_bind(updated.timestamp())
                .push_bind(a.content_hash())
                .push_bind(at.timestamp())
                .push_bind(None::<i64>)
                .push_bind(stamp.as_ref().map(|s| s.mtime_ns))
                .push_bind(stamp.as_ref().map(|s| s.size))
                .push_bind(stamp.as_ref().map(|s| s.render_key.clone()))
                .push_bind(phrases);
        },
    );
    if let Some(e) = bad {
        return Err(StoreError::Other(
            anyhow::Error::new(e).context("encoding tags and phrases"),
        ));
    }
    q.push(
        " ON CONFLICT (slug) DO UPDATE SET \
           source = excluded.source, status = 'published', title = excluded.title, \
           summary = excluded.summary, content_html = excluded.content_html, \
           author_name = excluded.author_name, author_email = excluded.author_email, \
           reviewed_by = excluded.reviewed_by, tags = excluded.tags, \
           category = excluded.category, image = excluded.image, url = excluded.url, \
           published_at = excluded.published_at, published_ts = excluded.published_ts, \
           source_updated = excluded.source_updated, updated_at = excluded.updated_at, \
           updated_ts = excluded.updated_ts, content_hash = excluded.content_hash, \
           withdrawn_ts = NULL, source_mtime_ns = excluded.source_mtime_ns, \
           source_size = excluded.source_size, render_key = excluded.render_key, \
           phrases = excluded.phrases",
    );
    Ok(q)
}

/// An article's topics to set: (slug, topics, first-seen time of new ones,
/// whether the slug may already have rows).
pub(super) type TopicSet<'a> = (&'a str, &'a [TopicRef], i64, bool);

/// One ingest's changes sorted by the statements that write them.
#[derive(Default)]
pub(super) struct Plan<'a> {
    /// Slugs that may have topic rows already: their old topics are among
    /// the feeds to rebuild.
    pub known: Vec<&'a str>,
    pub upserts: Vec<Upsert<'a>>,
    pub restamps: Vec<(&'a str, &'a SourceStamp, &'a ArticlePhrases)>,
    /// (slug, when)
    pub withdrawals: Vec<(&'a str, i64)>,
    pub topic_sets: Vec<TopicSet<'a>>,
}

impl<'a> Plan<'a> {
    pub fn new(changes: &'a [ArticleChange]) -> Self {
        let mut plan = Plan::default();
        for change in changes {
            match change {
                ArticleChange::Upsert {
                    article,
                    source,
                    updated,
                    stamp,
                    at,
                    topics,
                    topics_at,
                    new_slug,
                    phrases,
                } => {
                    if !new_slug {
                        plan.known.push(article.slug.as_str());
                    }
                    plan.upserts
                        .push((article.as_ref(), source, updated, stamp, at, phrases));
                    plan.topic_sets.push((
                        article.slug.as_str(),
                        topics,
                        topics_at.timestamp(),
                        !new_slug,
                    ));
                }
                ArticleChange::Restamp {
                    slug,
                    stamp,
                    topics,
                    topics_at,
                    phrases,
                } => {
                    plan.known.push(slug);
                    plan.restamps.push((slug, stamp, phrases));
                    plan.topic_sets
                        .push((slug, topics, topics_at.timestamp(), true));
                }
                ArticleChange::Withdraw { slug, at } => {
                    plan.known.push(slug);
                    plan.withdrawals.push((slug, at.timestamp()));
                }
            }
        }
        plan
    }

    /// The topics whose feeds may have changed: those the articles had
    /// before (`before`) and those they have now, sorted.
    pub fn touched(&self, mut before: BTreeSet<String>) -> Vec<String> {
        for (_, topics, _, _) in &self.topic_sets {
            before.extend(topics.iter().map(|t| t.id.clone()));
        }
        before.into_iter().collect()
    }
}

pub(super) const RESTAMP: &str = "UPDATE articles SET source_mtime_ns = $1, source_size = $2, \
    render_key = $3, phrases = $4 WHERE slug = $5";
pub(super) const WITHDRAW: &str = "UPDATE articles SET status = 'withdrawn', withdrawn_ts = $1, \
    source_mtime_ns = NULL, source_size = NULL, render_key = NULL WHERE slug = $2";

/// Rows per multi-row article upsert (26 binds each).
pub(super) const UPSERT_ROWS: usize = 200;
/// Slugs per batched topic statement.
pub(super) const TOPIC_ROWS: usize = 1000;

/// Implements `Store` for a backend (`$store`, with a `pool`) from the
/// statements both dialects share, with its migrations folder and name;
/// the backend's own method (an unlimited list) follows in braces, and its
/// module provides `topics_of` and `set_topics`. The module that invokes it imports `sqlx::Row`.
macro_rules! store {
    ($store:ty, db = $db:ty, migrations = $migrations:literal, name = $name:literal, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            /// One transaction. `topics_of` and `set_topics`, the parts
            /// that bind lists, are the invoking module's own.
            async fn apply_changes(
                &self,
                changes: &[$crate::store::ArticleChange],
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                use $crate::store::shared::{
                    article_upsert, Plan, BUMP_REVISION, RESTAMP, TOPIC_ROWS, UPSERT_ROWS, WITHDRAW,
                };
                if changes.is_empty() {
                    return Ok(Vec::new());
                }
                let plan = Plan::new(changes);
                let mut tx = self.pool.begin().await?;
                // Topics the changed articles had before this change.
                let mut before = std::collections::BTreeSet::new();
                for chunk in plan.known.chunks(TOPIC_ROWS) {
                    before.extend(topics_of(&mut tx, chunk).await?);
                }
                for (slug, stamp, phrases) in &plan.restamps {
                    let phrases = serde_json::to_string(phrases)
                        .map_err(|e| $crate::store::StoreError::Other(anyhow::Error::new(e).context("encoding phrases")))?;
                    sqlx::query(RESTAMP)
                        .bind(stamp.mtime_ns)
                        .bind(stamp.size)
                        .bind(&stamp.render_key)
                        .bind(phrases)
                        .bind(slug)
                        .execute(&mut *tx)
                        .await?;
                }
                for (slug, at) in &plan.withdrawals {
                    sqlx::query(WITHDRAW).bind(at).bind(slug).execute(&mut *tx).await?;
                }
                for chunk in plan.upserts.chunks(UPSERT_ROWS) {
                    article_upsert::<$db>(chunk)?.build().execute(&mut *tx).await?;
                }
                set_topics(&mut tx, &plan.topic_sets).await?;
                sqlx::query(BUMP_REVISION).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(plan.touched(before))
            }

            async fn migrate(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::migrate!($migrations)
                    .run(&self.pool)
                    .await
                    .map_err(|e| $crate::store::StoreError::Other(anyhow::Error::new(e).context(concat!("applying ", $name, " migrations"))))?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn ready(&self) -> Result<(), $crate::store::StoreError> {
                let latest = sqlx::migrate!($migrations)
                    .iter()
                    .map(|m| m.version)
                    .max()
                    .unwrap_or(0);
                self.ping().await?;
                // No migrations table at all reads as nothing applied.
                let applied: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                        .fetch_one(&self.pool)
                        .await
                        .unwrap_or(None);
                match applied {
                    Some(v) if v >= latest => Ok(()),
                    v => Err($crate::store::StoreError::Corrupt(format!(
                        "migrations applied up to {}, this build needs {latest}: run `feedletter migrate`",
                        v.unwrap_or(0)
                    ))),
                }
            }

            async fn article_counts(&self) -> Result<(u64, u64), $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT COALESCE(SUM(CASE WHEN status = 'published' THEN 1 ELSE 0 END), 0) AS p, \
                            COALESCE(SUM(CASE WHEN status = 'withdrawn' THEN 1 ELSE 0 END), 0) AS w \
                     FROM articles",
                )
                .fetch_one(&self.pool)
                .await?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok((count(row.try_get("p")?), count(row.try_get("w")?)))
            }

            async fn article_index(&self) -> Result<Vec<$crate::store::IndexEntry>, $crate::store::StoreError> {
                let sql = format!("SELECT {cols} FROM articles ORDER BY slug", cols = $crate::store::rows::INDEX_COLUMNS);
                let rows: Vec<$crate::store::rows::IndexRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map($crate::store::IndexEntry::from).collect())
            }

            async fn topics(&self) -> Result<Vec<(String, String, u32)>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT t.topic_id, MIN(t.label) AS label, COUNT(*) AS n FROM article_topics t \
                     JOIN articles a ON a.slug = t.slug WHERE a.status = 'published' \
                     GROUP BY t.topic_id ORDER BY t.topic_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("topic_id")?,
                            r.try_get("label")?,
                            u32::try_from(r.try_get::<i64, _>("n")?).unwrap_or(u32::MAX),
                        ))
                    })
                    .collect()
            }

            async fn topic_label(&self, topic: &str) -> Result<Option<String>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT label FROM article_topics WHERE topic_id = $1 ORDER BY label LIMIT 1",
                )
                .bind(topic)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn topic_articles(
                &self,
                topic: &str,
                limit: usize,
            ) -> Result<Vec<$crate::domain::StoredArticle>, $crate::store::StoreError> {
                let sql = format!(
                    "SELECT {cols} FROM articles WHERE status = 'published' \
                     AND slug IN (SELECT slug FROM article_topics WHERE topic_id = $1) \
                     ORDER BY published_ts DESC, slug ASC LIMIT $2", cols = $crate::store::rows::ARTICLE_COLUMNS
                );
                let rows: Vec<$crate::store::rows::ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(topic)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await?;
                $crate::store::rows::articles(rows)
            }

            async fn topic_data(&self) -> Result<$crate::store::TopicData, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT slug, title, url, published_ts FROM articles WHERE status = 'published' ORDER BY slug",
                )
                .fetch_all(&self.pool)
                .await?;
                let articles = rows
                    .iter()
                    .map(|r| {
                        Ok($crate::store::TopicArticle {
                            slug: r.try_get("slug")?,
                            title: r.try_get("title")?,
                            url: r.try_get("url")?,
                            published: $crate::store::rows::ts(r.try_get("published_ts")?)?,
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                let rows = sqlx::query(
                    "SELECT t.slug, t.topic_id, t.label, t.first_seen_ts, t.prominence FROM article_topics t \
                     JOIN articles a ON a.slug = t.slug WHERE a.status = 'published' \
                     ORDER BY t.slug, t.topic_id",
                )
                .fetch_all(&self.pool)
                .await?;
                let occurrences = rows
                    .iter()
                    .map(|r| {
                        Ok($crate::store::TopicOccurrence {
                            slug: r.try_get("slug")?,
                            topic: r.try_get("topic_id")?,
                            label: r.try_get("label")?,
                            first_seen: $crate::store::rows::ts(r.try_get("first_seen_ts")?)?,
                            prominence: u8::try_from(r.try_get::<i64, _>("prominence")?).unwrap_or(0),
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                Ok($crate::store::TopicData {
                    articles,
                    occurrences,
                })
            }

            async fn phrase_data(
                &self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>, $crate::domain::topic::ArticlePhrases)>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT slug, published_ts, phrases FROM articles \
                     WHERE status = 'published' AND published_ts >= $1 ORDER BY slug",
                )
                .bind(since.timestamp())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let text: String = r.try_get("phrases")?;
                        let phrases = serde_json::from_str(&text).map_err(|e| {
                            $crate::store::StoreError::Corrupt(format!("phrases of '{}': {e}", r.try_get::<String, _>("slug").unwrap_or_default()))
                        })?;
                        Ok((r.try_get("slug")?, $crate::store::rows::ts(r.try_get("published_ts")?)?, phrases))
                    })
                    .collect()
            }

            async fn article(&self, slug: &str) -> Result<Option<$crate::domain::StoredArticle>, $crate::store::StoreError> {
                let sql = format!(
                    "SELECT {cols} FROM articles WHERE slug = $1 AND status = 'published'", cols = $crate::store::rows::ARTICLE_COLUMNS
                );
                let row: Option<$crate::store::rows::ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(slug)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::domain::StoredArticle::try_from).transpose()
            }

            async fn revision(&self) -> Result<i64, $crate::store::StoreError> {
                Ok(sqlx::query_scalar($crate::store::shared::READ_REVISION)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn take_lease(
                &self,
                name: &str,
                holder: &str,
                now: chrono::DateTime<chrono::Utc>,
                expires: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::shared::TAKE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .bind(expires.timestamp())
                    .bind(now.timestamp())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn drop_lease(&self, name: &str, holder: &str) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::shared::DROP_LEASE)
                    .bind(name)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            $($own)*
        }
    };
}
pub(super) use store;
