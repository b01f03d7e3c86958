//! The subscriber half of the store: subscribers, the tokens in their links,
//! and the queue of transactional mail.

use super::StoreError;
use crate::domain::{
    Consent, Frequency, Subscriber, SubscriberEmail, SubscriberStatus, TokenPurpose,
};
use chrono::{DateTime, Utc};

/// A subscriber to create (status and consent decided by the caller).
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: SubscriberEmail,
    pub status: SubscriberStatus,
    pub topics: Vec<String>,
    pub frequency: Frequency,
    pub consent: Consent,
}

/// One good row of an import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub email: SubscriberEmail,
    pub topics: Vec<String>,
    pub frequency: Frequency,
}

/// What one batch of an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportBatch {
    pub added: u64,
    /// Pending addresses confirmed by an import with `--confirmed`.
    pub confirmed: u64,
    /// Already on the list; left as they were.
    pub existing: u64,
    /// Unsubscribed or bounced addresses: never re-subscribed by an import.
    pub refused: Vec<String>,
}

/// A queued message as the delivery loop sees it.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub kind: String,
    /// JSON of `mail::OutgoingMail`.
    pub message: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait SubscriberStore: Send + Sync {
    /// Creates the subscriber unless the address is known; returns the
    /// stored row either way and whether it was created.
    async fn insert_subscriber(
        &self,
        new: &NewSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(Subscriber, bool), StoreError>;
    async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>, StoreError>;
    async fn subscriber_by_email(&self, email: &str) -> Result<Option<Subscriber>, StoreError>;
    /// Writes status, preferences, consent and timestamps back.
    async fn update_subscriber(&self, s: &Subscriber) -> Result<(), StoreError>;
    /// Records a notice mail to the subscriber unless one went out after
    /// `not_since`; true when the caller may send.
    async fn claim_notice(
        &self,
        id: i64,
        now: DateTime<Utc>,
        not_since: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Subscribers by id, after `after_id`, optionally of one status.
    async fn list_subscribers(
        &self,
        status: Option<SubscriberStatus>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Subscriber>, StoreError>;
    async fn count_subscribers(&self, status: Option<SubscriberStatus>) -> Result<u64, StoreError>;
    /// Deletes the subscriber and everything that refers to them.
    async fn erase_subscriber(&self, email: &str) -> Result<bool, StoreError>;
    /// One import batch in one transaction.
    async fn import_batch(
        &self,
        rows: &[ImportRow],
        confirmed: bool,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportBatch, StoreError>;

    async fn add_token(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
        hash: &str,
        now: DateTime<Utc>,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// The subscriber a token belongs to, if it exists, has this purpose and
    /// has not expired at `now`.
    async fn token_subscriber(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;
    async fn delete_tokens(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
    ) -> Result<(), StoreError>;

    async fn enqueue_mail(
        &self,
        subscriber_id: Option<i64>,
        kind: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Claims up to `limit` messages due at `now`, oldest first: they are
    /// not due again before `hold_until`, so that another instance does not
    /// send them too; a process that dies with them leaves them due then.
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// Sent or given up: the row (and the token inside it) goes.
    async fn remove_mail(&self, id: i64) -> Result<(), StoreError>;
    async fn retry_mail(&self, id: i64, next: DateTime<Utc>, error: &str)
    -> Result<(), StoreError>;
    async fn mail_queue_depth(&self) -> Result<u64, StoreError>;
    /// Counts a hard bounce (a 5xx reply); at `digests::BOUNCE_LIMIT` of
    /// them the subscriber becomes `bounced`, as with digests.
    async fn record_bounce(&self, subscriber_id: i64, now: DateTime<Utc>)
    -> Result<(), StoreError>;
}

/// The unique key of an address: one subscription per mailbox, whatever
/// the case it was typed in.
pub(super) fn key(email: &str) -> String {
    email.to_lowercase()
}

pub(super) fn topics_json(topics: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(topics)
        .map_err(|e| StoreError::Other(anyhow::Error::new(e).context("encoding topics")))
}

/// Implements `SubscriberStore` for a backend (`$store`, with a `pool`)
/// from the statements both dialects share; `lock` ends the sub-select
/// that claims queued mail (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and
/// the backend's own methods (the batched import) follow in braces.
macro_rules! subscriber_store {
    ($store:ty, lock = $lock:literal, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::store::subscribers::SubscriberStore for $store {
            async fn insert_subscriber(
                &self,
                new: &$crate::store::subscribers::NewSubscriber,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<($crate::domain::Subscriber, bool), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
                       consent_ts, consent_source, consent_client, confirmed_ts, updated_ts) \
                     VALUES ($1, $10, $2, $3, $4, $5, $6, $7, $8, $9, $5) ON CONFLICT (email_key) DO NOTHING",
                )
                .bind(new.email.as_str())
                .bind(new.status.as_str())
                .bind($crate::store::subscribers::topics_json(&new.topics)?)
                .bind(new.frequency.as_str())
                .bind(now.timestamp())
                .bind(new.consent.at.timestamp())
                .bind(&new.consent.source)
                .bind(&new.consent.client)
                .bind((new.status == $crate::domain::SubscriberStatus::Confirmed).then(|| now.timestamp()))
                .bind($crate::store::subscribers::key(new.email.as_str()))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let row: $crate::store::rows::SubscriberRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols} FROM subscribers WHERE email_key = $1", cols = $crate::store::rows::SUBSCRIBER_COLUMNS
                )))
                .bind($crate::store::subscribers::key(new.email.as_str()))
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok((row.try_into()?, inserted))
            }

            async fn subscriber(&self, id: i64) -> Result<Option<$crate::domain::Subscriber>, $crate::store::StoreError> {
                let row: Option<$crate::store::rows::SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols} FROM subscribers WHERE id = $1", cols = $crate::store::rows::SUBSCRIBER_COLUMNS
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map($crate::domain::Subscriber::try_from).transpose()
            }

            async fn subscriber_by_email(&self, email: &str) -> Result<Option<$crate::domain::Subscriber>, $crate::store::StoreError> {
                let row: Option<$crate::store::rows::SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols} FROM subscribers WHERE email_key = $1", cols = $crate::store::rows::SUBSCRIBER_COLUMNS
                )))
                .bind($crate::store::subscribers::key(email))
                .fetch_optional(&self.pool)
                .await?;
                row.map($crate::domain::Subscriber::try_from).transpose()
            }

            async fn update_subscriber(&self, s: &$crate::domain::Subscriber) -> Result<(), $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE subscribers SET status = $1, topics = $2, frequency = $3, consent_ts = $4, \
                       consent_source = $5, consent_client = $6, confirmed_ts = $7, confirmed_client = $8, \
                       unsubscribed_ts = $9, bounce_count = $10, updated_ts = $11 WHERE id = $12",
                )
                .bind(s.status.as_str())
                .bind($crate::store::subscribers::topics_json(&s.topics)?)
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
                    return Err($crate::store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn claim_notice(
                &self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
                not_since: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
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
                status: Option<$crate::domain::SubscriberStatus>,
                after_id: i64,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Subscriber>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::rows::SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols} FROM subscribers WHERE id > $1 AND ($2 IS NULL OR status = $2) \
                     ORDER BY id LIMIT $3", cols = $crate::store::rows::SUBSCRIBER_COLUMNS
                )))
                .bind(after_id)
                .bind(status.map(|s| s.as_str()))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                $crate::store::rows::subscribers(rows)
            }

            async fn count_subscribers(&self, status: Option<$crate::domain::SubscriberStatus>) -> Result<u64, $crate::store::StoreError> {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM subscribers WHERE $1 IS NULL OR status = $1")
                        .bind(status.map(|s| s.as_str()))
                        .fetch_one(&self.pool)
                        .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn erase_subscriber(&self, email: &str) -> Result<bool, $crate::store::StoreError> {
                // Tokens and queued mail go with the row (ON DELETE CASCADE).
                let done = sqlx::query("DELETE FROM subscribers WHERE email_key = $1")
                    .bind($crate::store::subscribers::key(email))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn add_token(
                &self,
                subscriber_id: i64,
                purpose: $crate::domain::TokenPurpose,
                hash: &str,
                now: chrono::DateTime<chrono::Utc>,
                expires: Option<chrono::DateTime<chrono::Utc>>,
            ) -> Result<(), $crate::store::StoreError> {
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
                purpose: $crate::domain::TokenPurpose,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<i64>, $crate::store::StoreError> {
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
                purpose: $crate::domain::TokenPurpose,
            ) -> Result<(), $crate::store::StoreError> {
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
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<i64, $crate::store::StoreError> {
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
                now: chrono::DateTime<chrono::Utc>,
                hold_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<$crate::store::subscribers::QueuedMail>, $crate::store::StoreError> {
                let mut rows: Vec<$crate::store::rows::QueuedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "UPDATE mail_queue SET next_ts = $2 WHERE id IN (SELECT id FROM mail_queue \
                       WHERE next_ts <= $1 ORDER BY next_ts, id LIMIT $3{lock}) \
                     RETURNING {cols}", cols = $crate::store::rows::QUEUED_COLUMNS,
                    lock = $lock
                )))
                .bind(now.timestamp())
                .bind(hold_until.timestamp())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.sort_by_key(|r| r.id);
                rows.into_iter().map($crate::store::subscribers::QueuedMail::try_from).collect()
            }

            async fn remove_mail(&self, id: i64) -> Result<(), $crate::store::StoreError> {
                sqlx::query("DELETE FROM mail_queue WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn retry_mail(
                &self,
                id: i64,
                next: chrono::DateTime<chrono::Utc>,
                error: &str,
            ) -> Result<(), $crate::store::StoreError> {
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

            async fn mail_queue_depth(&self) -> Result<u64, $crate::store::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_queue")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn record_bounce(
                &self,
                subscriber_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::shared::COUNT_BOUNCE)
                    .bind(now.timestamp())
                    .bind(subscriber_id)
                    .bind($crate::store::digests::BOUNCE_LIMIT)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            $($own)*
        }
    };
}
pub(super) use subscriber_store;
