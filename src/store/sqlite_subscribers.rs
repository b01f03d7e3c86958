//! SQLite implementation of `SubscriberStore`.

use super::StoreError;
use super::rows::{QUEUED_COLUMNS, QueuedRow, SUBSCRIBER_COLUMNS as COLUMNS, SubscriberRow};
use super::sqlite::SqliteStore;
use super::subscribers::{ImportBatch, ImportRow, NewSubscriber, QueuedMail, SubscriberStore};
use crate::domain::{Subscriber, SubscriberStatus, TokenPurpose};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

/// The unique key of an address: one subscription per mailbox, whatever
/// the case it was typed in.
fn key(email: &str) -> String {
    email.to_lowercase()
}

fn topics_json(topics: &[String]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(topics).context("encoding topics")?)
}

#[async_trait::async_trait]
impl SubscriberStore for SqliteStore {
    async fn insert_subscriber(
        &self,
        new: &NewSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(Subscriber, bool), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
               consent_ts, consent_source, consent_client, confirmed_ts, updated_ts) \
             VALUES ($1, $10, $2, $3, $4, $5, $6, $7, $8, $9, $5) ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(new.email.as_str())
        .bind(new.status.as_str())
        .bind(topics_json(&new.topics)?)
        .bind(new.frequency.as_str())
        .bind(now.timestamp())
        .bind(new.consent.at.timestamp())
        .bind(&new.consent.source)
        .bind(&new.consent.client)
        .bind((new.status == SubscriberStatus::Confirmed).then(|| now.timestamp()))
        .bind(key(new.email.as_str()))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row: SubscriberRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscribers WHERE email_key = $1"
        )))
        .bind(key(new.email.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((row.try_into()?, inserted))
    }

    async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>, StoreError> {
        let row: Option<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscribers WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn subscriber_by_email(&self, email: &str) -> Result<Option<Subscriber>, StoreError> {
        let row: Option<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscribers WHERE email_key = $1"
        )))
        .bind(key(email))
        .fetch_optional(&self.pool)
        .await?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn update_subscriber(&self, s: &Subscriber) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE subscribers SET status = $1, topics = $2, frequency = $3, consent_ts = $4, \
               consent_source = $5, consent_client = $6, confirmed_ts = $7, confirmed_client = $8, \
               unsubscribed_ts = $9, bounce_count = $10, updated_ts = $11 WHERE id = $12",
        )
        .bind(s.status.as_str())
        .bind(topics_json(&s.topics)?)
        .bind(s.frequency.as_str())
        .bind(s.consent.at.timestamp())
        .bind(&s.consent.source)
        .bind(&s.consent.client)
        .bind(s.confirmed_at.map(|t| t.timestamp()))
        .bind(&s.confirmed_client)
        .bind(s.unsubscribed_at.map(|t| t.timestamp()))
        .bind(i64::from(s.bounce_count))
        .bind(s.updated_at.timestamp())
        .bind(s.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn claim_notice(
        &self,
        id: i64,
        now: DateTime<Utc>,
        not_since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscribers SET last_notice_ts = $1 \
             WHERE id = $2 AND (last_notice_ts IS NULL OR last_notice_ts <= $3)",
        )
        .bind(now.timestamp())
        .bind(id)
        .bind(not_since.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_subscribers(
        &self,
        status: Option<SubscriberStatus>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Subscriber>, StoreError> {
        let rows: Vec<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscribers WHERE id > $1 AND ($2 IS NULL OR status = $2) \
             ORDER BY id LIMIT $3"
        )))
        .bind(after_id)
        .bind(status.map(|s| s.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        super::rows::subscribers(rows)
    }

    async fn count_subscribers(&self, status: Option<SubscriberStatus>) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM subscribers WHERE $1 IS NULL OR status = $1")
                .bind(status.map(|s| s.as_str()))
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn erase_subscriber(&self, email: &str) -> Result<bool, StoreError> {
        // Tokens and queued mail go with the row (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM subscribers WHERE email_key = $1")
            .bind(key(email))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn import_batch(
        &self,
        rows: &[ImportRow],
        confirmed: bool,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportBatch, StoreError> {
        let mut out = ImportBatch::default();
        if rows.is_empty() {
            return Ok(out);
        }
        let status = if confirmed { "confirmed" } else { "pending" };
        let t = now.timestamp();
        let encoded: Vec<(&str, String, &str, String)> = rows
            .iter()
            .map(|r| {
                Ok((
                    r.email.as_str(),
                    topics_json(&r.topics)?,
                    r.frequency.as_str(),
                    key(r.email.as_str()),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let doc = serde_json::to_string(&encoded).context("encoding import rows")?;
        let emails: Vec<String> = rows.iter().map(|r| key(r.email.as_str())).collect();
        let emails = serde_json::to_string(&emails).context("encoding addresses")?;
        let mut tx = self.pool.begin().await?;
        let refused: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM subscribers WHERE status IN ('unsubscribed', 'bounced') \
             AND email_key IN (SELECT value FROM json_each($1))",
        )
        .bind(&emails)
        .fetch_all(&mut *tx)
        .await?;
        let pending_before: i64 = if confirmed {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM subscribers WHERE status = 'pending' \
                 AND email_key IN (SELECT value FROM json_each($1))",
            )
            .bind(&emails)
            .fetch_one(&mut *tx)
            .await?
        } else {
            0
        };
        let added = sqlx::query(
            "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
               consent_ts, consent_source, confirmed_ts, updated_ts) \
             SELECT value ->> 0, value ->> 3, $1, value ->> 1, value ->> 2, $2, $2, $3, $4, $2 \
             FROM json_each($5) WHERE true ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(status)
        .bind(t)
        .bind(source)
        .bind(confirmed.then_some(t))
        .bind(&doc)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if confirmed && pending_before > 0 {
            out.confirmed = sqlx::query(
                "UPDATE subscribers SET status = 'confirmed', confirmed_ts = $1, updated_ts = $1 \
                 WHERE status = 'pending' \
                 AND email_key IN (SELECT value FROM json_each($2))",
            )
            .bind(t)
            .bind(&emails)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        out.added = added;
        // Duplicates inside the batch count as existing.
        out.existing = (rows.len() as u64)
            .saturating_sub(added)
            .saturating_sub(refused.len() as u64);
        out.refused = refused;
        Ok(out)
    }

    async fn add_token(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
        hash: &str,
        now: DateTime<Utc>,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO subscriber_tokens (token_hash, subscriber_id, purpose, created_ts, expires_ts) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(subscriber_id)
        .bind(purpose.as_str())
        .bind(now.timestamp())
        .bind(expires.map(|e| e.timestamp()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_subscriber(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT subscriber_id FROM subscriber_tokens WHERE token_hash = $1 AND purpose = $2 \
             AND (expires_ts IS NULL OR expires_ts > $3)",
        )
        .bind(hash)
        .bind(purpose.as_str())
        .bind(now.timestamp())
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_tokens(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM subscriber_tokens WHERE subscriber_id = $1 AND purpose = $2")
            .bind(subscriber_id)
            .bind(purpose.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn enqueue_mail(
        &self,
        subscriber_id: Option<i64>,
        kind: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_queue (subscriber_id, kind, message, next_ts, created_ts) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(subscriber_id)
        .bind(kind)
        .bind(message)
        .bind(now.timestamp())
        .fetch_one(&self.pool)
        .await?)
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut rows: Vec<QueuedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE mail_queue SET next_ts = $2 WHERE id IN (SELECT id FROM mail_queue \
               WHERE next_ts <= $1 ORDER BY next_ts, id LIMIT $3) \
             RETURNING {QUEUED_COLUMNS}"
        )))
        .bind(now.timestamp())
        .bind(hold_until.timestamp())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.sort_by_key(|r| r.id);
        rows.into_iter().map(QueuedMail::try_from).collect()
    }

    async fn remove_mail(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mail_queue WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retry_mail(
        &self,
        id: i64,
        next: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_queue SET attempts = attempts + 1, next_ts = $1, last_error = $2 WHERE id = $3",
        )
        .bind(next.timestamp())
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mail_queue_depth(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_queue")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn record_bounce(
        &self,
        subscriber_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(super::shared::COUNT_BOUNCE)
            .bind(now.timestamp())
            .bind(subscriber_id)
            .bind(super::digests::BOUNCE_LIMIT)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
