//! Digest runs (one per schedule and fire time) and their outbox (one row
//! per run and subscriber), which several instances may deliver together.

use super::SqlStore;
use super::db::{sql, sql_built};
use super::subscribers::COUNT_BOUNCE;
use crate::store::backend::Backend;
use crate::store::digests::BOUNCE_LIMIT;
use crate::store::rows::{
    ClaimedRow, DigestArticleRow, OutboxErrorRow, RUN_COLUMNS, RunRow, StateCountRow, WebCopyRow,
    digest_articles, ts,
};
use crate::store::{
    Claimed, DigestArticle, DigestRun, DigestStore, NewRun, OutboxError, OutboxOutcome, RunCounts,
    StoreError,
};
use chrono::{DateTime, Utc};

/// How one outcome is written to its outbox row.
struct OutboxWrite<'a> {
    id: i64,
    /// The row's new `state`.
    state: &'static str,
    /// When a retry is due.
    next: Option<i64>,
    /// When the row was settled for good.
    done: Option<i64>,
    error: Option<&'a str>,
    /// The subscriber to count a hard bounce against.
    bounce: Option<i64>,
}

impl<'a> OutboxWrite<'a> {
    fn new(outcome: &'a OutboxOutcome, now: i64) -> Self {
        let settled = |id: i64, state, error: Option<&'a str>, bounce| OutboxWrite {
            id,
            state,
            next: None,
            done: Some(now),
            error,
            bounce,
        };
        match outcome {
            OutboxOutcome::Sent { id } => settled(*id, "sent", None, None),
            OutboxOutcome::Skipped { id, reason } => settled(*id, "skipped", Some(reason), None),
            OutboxOutcome::Failed { id, error, bounce } => {
                settled(*id, "failed", Some(error), *bounce)
            }
            OutboxOutcome::Retry { id, next, error } => OutboxWrite {
                id: *id,
                state: "pending",
                next: Some(next.timestamp()),
                done: None,
                error: Some(error),
                bounce: None,
            },
        }
    }
}

#[async_trait::async_trait]
impl<B: Backend> DigestStore for SqlStore<B> {
    async fn create_run(
        &self,
        new: &NewRun<'_>,
        now: DateTime<Utc>,
    ) -> Result<(DigestRun, bool), StoreError> {
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let inserted: Option<i64> = sql::<B>(
            "INSERT INTO digest_runs (schedule, fire_ts, since_ts, frequency, state, created_ts, \
               subject, web_html) \
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
        .scalar_optional(&mut *tx)
        .await?;
        if let Some(id) = inserted {
            // Each subscriber's window starts at the fire time of their last
            // digest of this schedule that went out, or one period back.
            sql::<B>(
                "INSERT INTO digest_outbox (run_id, subscriber_id, since_ts, state, next_ts) \
                 SELECT $1, s.id, COALESCE(( \
                     SELECT MAX(r.fire_ts) FROM digest_outbox o \
                     JOIN digest_runs r ON r.id = o.run_id \
                     WHERE o.subscriber_id = s.id AND o.state = 'sent' AND r.schedule = $2 \
                       AND r.fire_ts < $3), $4), 'pending', $5 \
                 FROM subscribers s WHERE s.status = 'confirmed' AND s.frequency = $6 \
                 ORDER BY s.id",
            )
            .bind(id)
            .bind(new.schedule)
            .bind(new.fire.timestamp())
            .bind(new.since.timestamp())
            .bind(now.timestamp())
            .bind(new.frequency.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let row: RunRow = sql_built::<B>(format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs WHERE schedule = $1 AND fire_ts = $2"
        ))
        .bind(new.schedule)
        .bind(new.fire.timestamp())
        .fetch_one(&mut *tx)
        .await?;
        let run = row.try_into()?;
        tx.commit().await?;
        Ok((run, inserted.is_some()))
    }

    async fn digest_run(&self, id: i64) -> Result<Option<DigestRun>, StoreError> {
        let row: Option<RunRow> = sql_built::<B>(format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(DigestRun::try_from).transpose()
    }

    async fn latest_run(&self, schedule: Option<&str>) -> Result<Option<DigestRun>, StoreError> {
        let row: Option<RunRow> = sql_built::<B>(format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs WHERE ($1 IS NULL OR schedule = $1) \
             ORDER BY fire_ts DESC, id DESC LIMIT 1"
        ))
        .bind(schedule)
        .fetch_optional(&self.pool)
        .await?;
        row.map(DigestRun::try_from).transpose()
    }

    async fn unfinished_runs(&self) -> Result<Vec<DigestRun>, StoreError> {
        let rows: Vec<RunRow> = sql_built::<B>(format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs WHERE state = 'delivering' \
             ORDER BY fire_ts, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(DigestRun::try_from).collect()
    }

    async fn web_copy(&self, run_id: i64) -> Result<Option<(String, String)>, StoreError> {
        let row: Option<WebCopyRow> =
            sql::<B>("SELECT subject, web_html FROM digest_runs WHERE id = $1")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| (r.subject, r.web_html)))
    }

    async fn claim(
        &self,
        run_id: i64,
        holder: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let ids: Vec<i64> = sql_built::<B>(format!(
            "UPDATE digest_outbox SET state = 'sending', claimed_ts = $2, claimed_by = $4, \
               started_ts = NULL, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM digest_outbox \
                          WHERE run_id = $1 AND state = 'pending' AND next_ts <= $2 \
                          ORDER BY id LIMIT $3{lock}) \
               AND EXISTS (SELECT 1 FROM instances WHERE id = $4 AND dead_ts IS NULL) \
             RETURNING id",
            lock = B::CLAIM_LOCK
        ))
        .bind(run_id)
        .bind(now.timestamp())
        .bind(i64::from(limit))
        .bind(holder)
        .scalars(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let q = sql_built::<B>(format!(
            "SELECT o.id, o.subscriber_id, o.since_ts, o.attempts, s.email, s.status, s.topics \
             FROM digest_outbox o JOIN subscribers s ON s.id = o.subscriber_id \
             WHERE {} ORDER BY o.id",
            B::in_list("o.id", 1)
        ));
        let rows: Vec<ClaimedRow> = B::bind_ids(q, &ids)?.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.into_iter().map(Claimed::try_from).collect()
    }

    async fn release(&self, holder: &str, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let q = sql_built::<B>(format!(
            "UPDATE digest_outbox SET state = 'pending', claimed_ts = NULL, claimed_by = NULL, \
               attempts = attempts - 1 \
             WHERE state = 'sending' AND claimed_by = $1 AND started_ts IS NULL AND {}",
            B::in_list("id", 2)
        ));
        Ok(B::bind_ids(q.bind(holder), ids)?
            .execute(&self.pool)
            .await?)
    }

    async fn add_manage_tokens(
        &self,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        B::insert_manage_tokens(&mut *tx, tokens, now, expires).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn drop_expired_manage_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sql::<B>(
            "DELETE FROM subscriber_tokens WHERE expires_ts IS NOT NULL AND expires_ts < $1 \
             AND purpose = 'manage'",
        )
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?)
    }

    async fn record(
        &self,
        holder: &str,
        outcomes: &[OutboxOutcome],
        start: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let now = now.timestamp();
        // Sent rows, nearly all of them, in one statement; the rest one by one.
        let sent: Vec<i64> = outcomes
            .iter()
            .filter_map(|o| match o {
                OutboxOutcome::Sent { id } => Some(*id),
                _ => None,
            })
            .collect();
        if !sent.is_empty() {
            let q = sql_built::<B>(format!(
                "UPDATE digest_outbox SET state = 'sent', done_ts = $1, claimed_ts = NULL, \
                 claimed_by = NULL, started_ts = NULL \
                 WHERE state = 'sending' AND claimed_by = $2 AND {}",
                B::in_list("id", 3)
            ));
            B::bind_ids(q.bind(now).bind(holder), &sent)?
                .execute(&mut *tx)
                .await?;
        }
        for outcome in outcomes {
            if matches!(outcome, OutboxOutcome::Sent { .. }) {
                continue;
            }
            let w = OutboxWrite::new(outcome, now);
            let changed = sql::<B>(
                "UPDATE digest_outbox SET state = $2, next_ts = COALESCE($3, next_ts), \
                 done_ts = $4, claimed_ts = NULL, claimed_by = NULL, started_ts = NULL, \
                 last_error = COALESCE($5, last_error) \
                 WHERE id = $1 AND state = 'sending' AND claimed_by = $6",
            )
            .bind(w.id)
            .bind(w.state)
            .bind(w.next)
            .bind(w.done)
            .bind(w.error)
            .bind(holder)
            .execute(&mut *tx)
            .await?;
            if changed == 1
                && let Some(subscriber) = w.bounce
            {
                sql::<B>(COUNT_BOUNCE)
                    .bind(now)
                    .bind(subscriber)
                    .bind(BOUNCE_LIMIT)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let started = if start.is_empty() {
            Vec::new()
        } else {
            // The fence: only a live holder starts its own rows.
            let q = sql_built::<B>(format!(
                "UPDATE digest_outbox SET started_ts = $1 \
                 WHERE state = 'sending' AND claimed_by = $2 AND started_ts IS NULL AND {} \
                   AND EXISTS (SELECT 1 FROM instances WHERE id = $2 AND dead_ts IS NULL) \
                 RETURNING id",
                B::in_list("id", 3)
            ));
            B::bind_ids(q.bind(now).bind(holder), start)?
                .scalars(&mut *tx)
                .await?
        };
        tx.commit().await?;
        Ok(started)
    }

    async fn run_counts(&self, run_id: i64) -> Result<RunCounts, StoreError> {
        let rows: Vec<StateCountRow> = sql::<B>(
            "SELECT state, COUNT(*) AS n FROM digest_outbox WHERE run_id = $1 GROUP BY state",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = RunCounts::default();
        for r in rows {
            let n = u64::try_from(r.n).unwrap_or(0);
            match r.state.as_str() {
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
        let next: Option<i64> = sql::<B>(
            "SELECT MIN(next_ts) FROM digest_outbox WHERE run_id = $1 AND state = 'pending'",
        )
        .bind(run_id)
        .scalar(&self.pool)
        .await?;
        next.map(ts).transpose()
    }

    async fn last_errors(&self, run_id: i64, limit: u32) -> Result<Vec<OutboxError>, StoreError> {
        let rows: Vec<OutboxErrorRow> = sql::<B>(
            "SELECT s.email, o.state, o.last_error FROM digest_outbox o \
             JOIN subscribers s ON s.id = o.subscriber_id \
             WHERE o.run_id = $1 AND o.last_error IS NOT NULL \
               AND o.state IN ('failed', 'pending') \
             ORDER BY COALESCE(o.done_ts, o.next_ts) DESC, o.id DESC LIMIT $2",
        )
        .bind(run_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(OutboxError::from).collect())
    }

    async fn finish_run(&self, run_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sql::<B>(
            "UPDATE digest_runs SET state = 'done', finished_ts = $2 \
             WHERE id = $1 AND state = 'delivering'",
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
        let rows: Vec<DigestArticleRow> = sql::<B>(
            "SELECT a.slug, a.title, a.summary, a.url, a.image, a.image_alt, a.author_name, \
                    a.reviewed_by, \
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
        digest_articles(rows, until)
    }

    async fn digest_outbox_depth(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sql::<B>("SELECT COUNT(*) FROM digest_outbox WHERE state IN ('pending', 'sending')")
                .scalar(&self.pool)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn earliest_since(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let since: Option<i64> =
            sql::<B>("SELECT MIN(since_ts) FROM digest_outbox WHERE run_id = $1")
                .bind(run_id)
                .scalar(&self.pool)
                .await?;
        since.map(ts).transpose()
    }
}
