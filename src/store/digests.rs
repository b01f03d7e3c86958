//! The digest half of the store: runs (one per schedule and fire time) and
//! their outbox (one row per run and subscriber).

use super::StoreError;
use crate::domain::{Frequency, SubscriberEmail, SubscriberStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One fire of one `[[digest]]` schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestRun {
    pub id: i64,
    pub schedule: String,
    pub fire: DateTime<Utc>,
    /// One period back from `fire`: where a subscriber's first digest starts.
    pub since: DateTime<Utc>,
    pub frequency: Frequency,
    pub done: bool,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub subject: String,
}

/// What creating a run needs; the rows are written in the same transaction.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub schedule: &'a str,
    pub fire: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub frequency: Frequency,
    pub subject: &'a str,
    pub web_html: &'a str,
}

/// An outbox row claimed for sending, with what composing it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub subscriber_id: i64,
    pub email: SubscriberEmail,
    pub status: SubscriberStatus,
    /// Empty: every topic.
    pub topics: Vec<String>,
    pub since: DateTime<Utc>,
    pub attempts: u32,
}

/// What happened to one claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        id: i64,
    },
    /// Nothing new for this subscriber, or they left after the run began.
    Skipped {
        id: i64,
        reason: String,
    },
    /// A temporary failure: back to pending, due at `next`.
    Retry {
        id: i64,
        next: DateTime<Utc>,
        error: String,
    },
    /// For good. `bounce` counts a hard bounce against the subscriber.
    Failed {
        id: i64,
        error: String,
        bounce: Option<i64>,
    },
}

/// Rows of a run by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl RunCounts {
    pub fn total(&self) -> u64 {
        self.pending + self.sending + self.sent + self.failed + self.skipped
    }

    /// Nothing left to try.
    pub fn finished(&self) -> bool {
        self.pending == 0 && self.sending == 0
    }
}

/// A published article changed inside a digest's window, with its topics.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestArticle {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub url: String,
    pub image: Option<String>,
    pub author: String,
    pub reviewed_by: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// (topic id, label)
    pub topics: Vec<(String, String)>,
}

/// Hard bounces (5xx replies) after which a subscriber is `bounced`.
pub const BOUNCE_LIMIT: i64 = 3;

#[async_trait::async_trait]
pub trait DigestStore: Send + Sync {
    /// Creates the run and one pending row per confirmed subscriber of its
    /// frequency, in one transaction. When the run exists already, returns
    /// it and `false`, and writes nothing.
    async fn create_run(
        &self,
        new: &NewRun<'_>,
        now: DateTime<Utc>,
    ) -> Result<(DigestRun, bool), StoreError>;
    async fn digest_run(&self, id: i64) -> Result<Option<DigestRun>, StoreError>;
    /// The newest run, of one schedule or of any.
    async fn latest_run(&self, schedule: Option<&str>) -> Result<Option<DigestRun>, StoreError>;
    /// Runs not yet finished, oldest first.
    async fn unfinished_runs(&self) -> Result<Vec<DigestRun>, StoreError>;
    async fn web_copy(&self, run_id: i64) -> Result<Option<(String, String)>, StoreError>;
    /// Rows left `sending` since before `claimed_before` (their process
    /// died) go back to pending. Returns how many.
    async fn release_stale(
        &self,
        run_id: i64,
        claimed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Marks up to `limit` due pending rows `sending` and returns them.
    async fn claim(
        &self,
        run_id: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Manage-link token hashes for many subscribers, in one transaction.
    async fn add_manage_tokens(
        &self,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Writes outcomes in one transaction.
    async fn record(&self, outcomes: &[Outcome], now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn run_counts(&self, run_id: i64) -> Result<RunCounts, StoreError>;
    /// When the earliest pending row of the run is due.
    async fn next_due(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// (subscriber address, error) of the latest failures and retries.
    async fn last_errors(
        &self,
        run_id: i64,
        limit: u32,
    ) -> Result<Vec<(String, String, String)>, StoreError>;
    async fn finish_run(&self, run_id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Published articles first published or updated in `(since, until]`,
    /// with their topics; articles without a topic are left out.
    async fn digest_articles(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DigestArticle>, StoreError>;
    /// Digest rows not yet sent or given up, over every run.
    async fn digest_outbox_depth(&self) -> Result<u64, StoreError>;
    /// The earliest `since` among the run's rows.
    async fn earliest_since(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Implements `DigestStore` for a backend (`$store`, with a `pool`) from the
/// statements both dialects share; the backend's own methods (claiming
/// rows, storing many tokens at once) follow in braces. The module that
/// invokes it imports `sqlx::Row`.
macro_rules! digest_store {
    ($store:ty, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::store::digests::DigestStore for $store {
            async fn create_run(
                &self,
                new: &$crate::store::digests::NewRun<'_>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<($crate::store::digests::DigestRun, bool), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO digest_runs (schedule, fire_ts, since_ts, frequency, state, created_ts, subject, web_html) \
                     VALUES ($1, $2, $3, $4, 'delivering', $5, $6, $7) \
                     ON CONFLICT (schedule, fire_ts) DO NOTHING RETURNING id",
                )
                .bind(new.schedule)
                .bind(new.fire.timestamp())
                .bind(new.since.timestamp())
                .bind(new.frequency.as_str())
                .bind(now.timestamp())
                .bind(new.subject)
                .bind(new.web_html)
                .fetch_optional(&mut *tx)
                .await?;
                let created = if let Some(row) = inserted {
                    let id: i64 = row.try_get("id")?;
                    // Each subscriber's window starts at the fire time of their last
                    // digest of this schedule that went out, or one period back.
                    sqlx::query(
                        "INSERT INTO digest_outbox (run_id, subscriber_id, since_ts, state, next_ts) \
                         SELECT $1, s.id, COALESCE(( \
                             SELECT MAX(r.fire_ts) FROM digest_outbox o JOIN digest_runs r ON r.id = o.run_id \
                             WHERE o.subscriber_id = s.id AND o.state = 'sent' AND r.schedule = $2 \
                               AND r.fire_ts < $3), $4), 'pending', $5 \
                         FROM subscribers s WHERE s.status = 'confirmed' AND s.frequency = $6 ORDER BY s.id",
                    )
                    .bind(id)
                    .bind(new.schedule)
                    .bind(new.fire.timestamp())
                    .bind(new.since.timestamp())
                    .bind(now.timestamp())
                    .bind(new.frequency.as_str())
                    .execute(&mut *tx)
                    .await?;
                    true
                } else {
                    false
                };
                let sql =
                    format!("SELECT {cols} FROM digest_runs WHERE schedule = $1 AND fire_ts = $2", cols = $crate::store::rows::RUN_COLUMNS);
                let row: $crate::store::rows::RunRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(new.schedule)
                    .bind(new.fire.timestamp())
                    .fetch_one(&mut *tx)
                    .await?;
                let run = row.try_into()?;
                tx.commit().await?;
                Ok((run, created))
            }

            async fn digest_run(&self, id: i64) -> Result<Option<$crate::store::digests::DigestRun>, $crate::store::StoreError> {
                let sql = format!("SELECT {cols} FROM digest_runs WHERE id = $1", cols = $crate::store::rows::RUN_COLUMNS);
                let row: Option<$crate::store::rows::RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::digests::DigestRun::try_from).transpose()
            }

            async fn latest_run(&self, schedule: Option<&str>) -> Result<Option<$crate::store::digests::DigestRun>, $crate::store::StoreError> {
                let sql = format!(
                    "SELECT {cols} FROM digest_runs WHERE ($1 IS NULL OR schedule = $1) \
                     ORDER BY fire_ts DESC, id DESC LIMIT 1", cols = $crate::store::rows::RUN_COLUMNS
                );
                let row: Option<$crate::store::rows::RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(schedule)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::digests::DigestRun::try_from).transpose()
            }

            async fn unfinished_runs(&self) -> Result<Vec<$crate::store::digests::DigestRun>, $crate::store::StoreError> {
                let sql = format!(
                    "SELECT {cols} FROM digest_runs WHERE state = 'delivering' ORDER BY fire_ts, id", cols = $crate::store::rows::RUN_COLUMNS
                );
                let rows: Vec<$crate::store::rows::RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map($crate::store::digests::DigestRun::try_from).collect()
            }

            async fn web_copy(&self, run_id: i64) -> Result<Option<(String, String)>, $crate::store::StoreError> {
                let row = sqlx::query("SELECT subject, web_html FROM digest_runs WHERE id = $1")
                    .bind(run_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Ok((r.try_get("subject")?, r.try_get("web_html")?)))
                    .transpose()
            }

            async fn release_stale(
                &self,
                run_id: i64,
                claimed_before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE digest_outbox SET state = 'pending', claimed_ts = NULL \
                     WHERE run_id = $1 AND state = 'sending' AND claimed_ts < $2",
                )
                .bind(run_id)
                .bind(claimed_before.timestamp())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn record(&self, outcomes: &[$crate::store::digests::Outcome], now: chrono::DateTime<chrono::Utc>) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let now = now.timestamp();
                for outcome in outcomes {
                    // (id, state, next try, finished at, error, subscriber bounced)
                    let (id, state, next, done, error, bounce) = match outcome {
                        $crate::store::digests::Outcome::Sent { id } => (id, "sent", None, Some(now), None, None),
                        $crate::store::digests::Outcome::Skipped { id, reason } => {
                            (id, "skipped", None, Some(now), Some(reason), None)
                        }
                        $crate::store::digests::Outcome::Retry { id, next, error } => (
                            id,
                            "pending",
                            Some(next.timestamp()),
                            None,
                            Some(error),
                            None,
                        ),
                        $crate::store::digests::Outcome::Failed { id, error, bounce } => {
                            (id, "failed", None, Some(now), Some(error), bounce.as_ref())
                        }
                    };
                    sqlx::query(
                        "UPDATE digest_outbox SET state = $2, next_ts = COALESCE($3, next_ts), done_ts = $4, \
                         claimed_ts = NULL, last_error = COALESCE($5, last_error) WHERE id = $1",
                    )
                    .bind(id)
                    .bind(state)
                    .bind(next)
                    .bind(done)
                    .bind(error)
                    .execute(&mut *tx)
                    .await?;
                    if let Some(subscriber) = bounce {
                        sqlx::query($crate::store::shared::COUNT_BOUNCE)
                            .bind(now)
                            .bind(subscriber)
                            .bind($crate::store::digests::BOUNCE_LIMIT)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn run_counts(&self, run_id: i64) -> Result<$crate::store::digests::RunCounts, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT state, COUNT(*) AS n FROM digest_outbox WHERE run_id = $1 GROUP BY state",
                )
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
                let mut counts = $crate::store::digests::RunCounts::default();
                for r in &rows {
                    let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
                    match r.try_get::<String, _>("state")?.as_str() {
                        "pending" => counts.pending = n,
                        "sending" => counts.sending = n,
                        "sent" => counts.sent = n,
                        "failed" => counts.failed = n,
                        "skipped" => counts.skipped = n,
                        other => return Err($crate::store::StoreError::Corrupt(format!("outbox state '{other}'"))),
                    }
                }
                Ok(counts)
            }

            async fn next_due(&self, run_id: i64) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::store::StoreError> {
                let next: Option<i64> = sqlx::query_scalar(
                    "SELECT MIN(next_ts) FROM digest_outbox WHERE run_id = $1 AND state = 'pending'",
                )
                .bind(run_id)
                .fetch_one(&self.pool)
                .await?;
                next.map($crate::store::rows::ts).transpose()
            }

            async fn last_errors(
                &self,
                run_id: i64,
                limit: u32,
            ) -> Result<Vec<(String, String, String)>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT s.email, o.state, o.last_error FROM digest_outbox o \
                     JOIN subscribers s ON s.id = o.subscriber_id \
                     WHERE o.run_id = $1 AND o.last_error IS NOT NULL AND o.state IN ('failed', 'pending') \
                     ORDER BY COALESCE(o.done_ts, o.next_ts) DESC, o.id DESC LIMIT $2",
                )
                .bind(run_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("email")?,
                            r.try_get("state")?,
                            r.try_get("last_error")?,
                        ))
                    })
                    .collect()
            }

            async fn finish_run(&self, run_id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE digest_runs SET state = 'done', finished_ts = $2 WHERE id = $1 AND state = 'delivering'",
                )
                .bind(run_id)
                .bind(now.timestamp())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn digest_articles(
                &self,
                since: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::store::digests::DigestArticle>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::rows::DigestArticleRow> = sqlx::query_as(
                    "SELECT a.slug, a.title, a.summary, a.url, a.image, a.author_name, a.reviewed_by, \
                            a.published_ts, a.updated_ts, t.topic_id, t.label \
                     FROM articles a JOIN article_topics t ON t.slug = a.slug \
                     WHERE a.status = 'published' AND a.published_ts <= $2 \
                       AND (a.published_ts > $1 OR (a.updated_ts > $1 AND a.updated_ts <= $2)) \
                     ORDER BY a.slug, t.topic_id",
                )
                .bind(since.timestamp())
                .bind(until.timestamp())
                .fetch_all(&self.pool)
                .await?;
                $crate::store::rows::digest_articles(rows, until)
            }

            async fn digest_outbox_depth(&self) -> Result<u64, $crate::store::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM digest_outbox WHERE state IN ('pending', 'sending')",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn earliest_since(&self, run_id: i64) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::store::StoreError> {
                let since: Option<i64> =
                    sqlx::query_scalar("SELECT MIN(since_ts) FROM digest_outbox WHERE run_id = $1")
                        .bind(run_id)
                        .fetch_one(&self.pool)
                        .await?;
                since.map($crate::store::rows::ts).transpose()
            }

            $($own)*
        }
    };
}
pub(super) use digest_store;
