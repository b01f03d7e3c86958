//! SQLite implementation of `DigestStore`.

use super::StoreError;
use super::digests::{
    BOUNCE_LIMIT, Claimed, DigestArticle, DigestRun, DigestStore, NewRun, Outcome, RunCounts,
};
use super::rows::{ClaimedRow, DigestArticleRow, RUN_COLUMNS, RunRow, ts};
use super::sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use sqlx::Row;

#[async_trait::async_trait]
impl DigestStore for SqliteStore {
    async fn create_run(
        &self,
        new: &NewRun<'_>,
        now: DateTime<Utc>,
    ) -> Result<(DigestRun, bool), StoreError> {
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
            format!("SELECT {RUN_COLUMNS} FROM digest_runs WHERE schedule = $1 AND fire_ts = $2");
        let row: RunRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(new.schedule)
            .bind(new.fire.timestamp())
            .fetch_one(&mut *tx)
            .await?;
        let run = row.try_into()?;
        tx.commit().await?;
        Ok((run, created))
    }

    async fn digest_run(&self, id: i64) -> Result<Option<DigestRun>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM digest_runs WHERE id = $1");
        let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(DigestRun::try_from).transpose()
    }

    async fn latest_run(&self, schedule: Option<&str>) -> Result<Option<DigestRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs WHERE ($1 IS NULL OR schedule = $1) \
             ORDER BY fire_ts DESC, id DESC LIMIT 1"
        );
        let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(schedule)
            .fetch_optional(&self.pool)
            .await?;
        row.map(DigestRun::try_from).transpose()
    }

    async fn unfinished_runs(&self) -> Result<Vec<DigestRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs WHERE state = 'delivering' ORDER BY fire_ts, id"
        );
        let rows: Vec<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(DigestRun::try_from).collect()
    }

    async fn web_copy(&self, run_id: i64) -> Result<Option<(String, String)>, StoreError> {
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
        claimed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
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

    async fn claim(
        &self,
        run_id: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE digest_outbox SET state = 'sending', claimed_ts = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM digest_outbox \
                          WHERE run_id = $1 AND state = 'pending' AND next_ts <= $2 \
                          ORDER BY id LIMIT $3) \
             RETURNING id",
        )
        .bind(run_id)
        .bind(now.timestamp())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(&ids).map_err(|e| StoreError::Other(e.into()))?;
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "SELECT o.id, o.subscriber_id, o.since_ts, o.attempts, s.email, s.status, s.topics \
             FROM digest_outbox o JOIN subscribers s ON s.id = o.subscriber_id \
             WHERE o.id IN (SELECT value FROM json_each($1)) ORDER BY o.id",
        )
        .bind(list)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.into_iter().map(Claimed::try_from).collect()
    }

    async fn add_manage_tokens(
        &self,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (subscriber, hash) in tokens {
            sqlx::query(
                "INSERT INTO subscriber_tokens (token_hash, subscriber_id, purpose, created_ts, expires_ts) \
                 VALUES ($1, $2, 'manage', $3, $4)",
            )
            .bind(hash)
            .bind(subscriber)
            .bind(now.timestamp())
            .bind(expires.timestamp())
            .execute(&mut *tx)
            .await?;
        }
        // Links in digests older than their expiry no longer work: drop them.
        sqlx::query("DELETE FROM subscriber_tokens WHERE expires_ts IS NOT NULL AND expires_ts < $1 AND purpose = 'manage'")
            .bind(now.timestamp())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record(&self, outcomes: &[Outcome], now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now.timestamp();
        for outcome in outcomes {
            // (id, state, next try, finished at, error, subscriber bounced)
            let (id, state, next, done, error, bounce) = match outcome {
                Outcome::Sent { id } => (id, "sent", None, Some(now), None, None),
                Outcome::Skipped { id, reason } => {
                    (id, "skipped", None, Some(now), Some(reason), None)
                }
                Outcome::Retry { id, next, error } => (
                    id,
                    "pending",
                    Some(next.timestamp()),
                    None,
                    Some(error),
                    None,
                ),
                Outcome::Failed { id, error, bounce } => {
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
                sqlx::query(super::shared::COUNT_BOUNCE)
                    .bind(now)
                    .bind(subscriber)
                    .bind(BOUNCE_LIMIT)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn run_counts(&self, run_id: i64) -> Result<RunCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM digest_outbox WHERE run_id = $1 GROUP BY state",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = RunCounts::default();
        for r in &rows {
            let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
            match r.try_get::<String, _>("state")?.as_str() {
                "pending" => counts.pending = n,
                "sending" => counts.sending = n,
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                "skipped" => counts.skipped = n,
                other => return Err(StoreError::Corrupt(format!("outbox state '{other}'"))),
            }
        }
        Ok(counts)
    }

    async fn next_due(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_ts) FROM digest_outbox WHERE run_id = $1 AND state = 'pending'",
        )
        .bind(run_id)
        .fetch_one(&self.pool)
        .await?;
        next.map(ts).transpose()
    }

    async fn last_errors(
        &self,
        run_id: i64,
        limit: u32,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
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

    async fn finish_run(&self, run_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
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
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DigestArticle>, StoreError> {
        let rows: Vec<DigestArticleRow> = sqlx::query_as(
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
        super::rows::digest_articles(rows, until)
    }

    async fn digest_outbox_depth(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM digest_outbox WHERE state IN ('pending', 'sending')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn earliest_since(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let since: Option<i64> =
            sqlx::query_scalar("SELECT MIN(since_ts) FROM digest_outbox WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&self.pool)
                .await?;
        since.map(ts).transpose()
    }
}
