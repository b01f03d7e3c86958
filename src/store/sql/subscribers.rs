//! Subscribers, the tokens in their links, and the queue of transactional
//! mail.

use super::SqlStore;
use super::db::{sql, sql_built};
use crate::domain::ConsentSource;
use crate::domain::{Subscriber, SubscriberStatus, TokenPurpose};
use crate::store::backend::Backend;
use crate::store::digests::BOUNCE_LIMIT;
use crate::store::rows::{
    QUEUED_COLUMNS, QueuedRow, SUBSCRIBER_COLUMNS, SubscriberRow, subscribers,
};
use crate::store::{
    ImportBatch, ImportRow, MailKind, NewSubscriber, QueuedMail, StoreError, SubscriberStore,
};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

/// The unique key of an address: one subscription per mailbox, whatever
/// the case it was typed in.
pub fn key(email: &str) -> String {
    email.to_lowercase()
}

/// A subscriber's topics as the JSON text the `topics` column holds.
pub fn topics_json(topics: &[String]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(topics).context("encoding topics")?)
}

/// One hard bounce for a subscriber ($1 now, $2 id, $3 the limit): at the
/// limit the subscriber becomes `bounced`. Shared by transactional mail and
/// digests.
pub(super) const COUNT_BOUNCE: &str = "UPDATE subscribers SET bounce_count = bounce_count + 1, \
    updated_ts = $1, \
    status_reason = CASE WHEN bounce_count + 1 >= $3 AND status <> 'bounced' \
      THEN 'refused at send time (5xx reply)' ELSE status_reason END, \
    status_ts = CASE WHEN bounce_count + 1 >= $3 AND status <> 'bounced' THEN $1 ELSE status_ts END, \
    status = CASE WHEN bounce_count + 1 >= $3 THEN 'bounced' ELSE status END \
    WHERE id = $2";

/// What every row of one import batch is stored with.
pub struct ImportCommon<'a> {
    pub status: SubscriberStatus,
    /// Unix time of the import: created, consented, updated.
    pub at: i64,
    /// The consent source.
    pub source: &'a str,
    /// `at` when the import confirms its addresses.
    pub confirmed_at: Option<i64>,
}

#[async_trait::async_trait]
impl<B: Backend> SubscriberStore for SqlStore<B> {
    async fn insert_subscriber(
        &self,
        new: &NewSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(Subscriber, bool), StoreError> {
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let inserted = sql::<B>(
            "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
               consent_ts, consent_source, consent_client, confirmed_ts, updated_ts) \
             VALUES ($1, $10, $2, $3, $4, $5, $6, $7, $8, $9, $5) \
             ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(new.email.as_str())
        .bind(new.status.as_str())
        .bind(topics_json(&new.topics)?)
        .bind(new.frequency.as_str())
        .bind(now.timestamp())
        .bind(new.consent.at.timestamp())
        .bind(new.consent.source.to_string())
        .bind(&new.consent.client)
        .bind((new.status == SubscriberStatus::Confirmed).then(|| now.timestamp()))
        .bind(key(new.email.as_str()))
        .execute(&mut *tx)
        .await?
            == 1;
        let row: SubscriberRow = sql_built::<B>(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE email_key = $1"
        ))
        .bind(key(new.email.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((row.try_into()?, inserted))
    }

    async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>, StoreError> {
        let row: Option<SubscriberRow> = sql_built::<B>(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn subscriber_by_email(&self, email: &str) -> Result<Option<Subscriber>, StoreError> {
        let row: Option<SubscriberRow> = sql_built::<B>(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE email_key = $1"
        ))
        .bind(key(email))
        .fetch_optional(&self.pool)
        .await?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn update_subscriber(&self, s: &Subscriber) -> Result<(), StoreError> {
        let changed = sql::<B>(
            "UPDATE subscribers SET status = $1, topics = $2, frequency = $3, consent_ts = $4, \
               consent_source = $5, consent_client = $6, confirmed_ts = $7, \
               confirmed_client = $8, unsubscribed_ts = $9, bounce_count = $10, \
               updated_ts = $11, \
               status_reason = CASE WHEN $1 IN ('pending', 'confirmed') THEN NULL \
                 ELSE status_reason END, \
               status_ts = CASE WHEN $1 IN ('pending', 'confirmed') THEN NULL ELSE status_ts END \
             WHERE id = $12",
        )
        .bind(s.status.as_str())
        .bind(topics_json(&s.topics)?)
        .bind(s.frequency.as_str())
        .bind(s.consent.at.timestamp())
        .bind(s.consent.source.to_string())
        .bind(&s.consent.client)
        .bind(s.confirmed_at.map(|t| t.timestamp()))
        .bind(&s.confirmed_client)
        .bind(s.unsubscribed_at.map(|t| t.timestamp()))
        .bind(i64::from(s.bounce_count))
        .bind(s.updated_at.timestamp())
        .bind(s.id)
        .execute(&self.pool)
        .await?;
        if changed == 0 {
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
        let changed = sql::<B>(
            "UPDATE subscribers SET last_notice_ts = $1 \
             WHERE id = $2 AND (last_notice_ts IS NULL OR last_notice_ts <= $3)",
        )
        .bind(now.timestamp())
        .bind(id)
        .bind(not_since.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(changed == 1)
    }

    async fn list_subscribers(
        &self,
        status: Option<SubscriberStatus>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Subscriber>, StoreError> {
        let rows: Vec<SubscriberRow> = sql_built::<B>(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers \
             WHERE id > $1 AND ($2 IS NULL OR status = $2) ORDER BY id LIMIT $3"
        ))
        .bind(after_id)
        .bind(status.map(|s| s.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        subscribers(rows)
    }

    async fn count_subscribers(&self, status: Option<SubscriberStatus>) -> Result<u64, StoreError> {
        let n: i64 = sql::<B>("SELECT COUNT(*) FROM subscribers WHERE $1 IS NULL OR status = $1")
            .bind(status.map(|s| s.as_str()))
            .scalar(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn erase_subscriber(&self, email: &str) -> Result<bool, StoreError> {
        // Tokens and queued mail go with the row (ON DELETE CASCADE).
        let changed = sql::<B>("DELETE FROM subscribers WHERE email_key = $1")
            .bind(key(email))
            .execute(&self.pool)
            .await?;
        Ok(changed > 0)
    }

    async fn import_batch(
        &self,
        rows: &[ImportRow],
        confirmed: bool,
        source: &ConsentSource,
        now: DateTime<Utc>,
    ) -> Result<ImportBatch, StoreError> {
        // One batch, one transaction.
        let source = source.to_string();
        let mut out = ImportBatch::default();
        if rows.is_empty() {
            return Ok(out);
        }
        let at = now.timestamp();
        let common = ImportCommon {
            status: if confirmed {
                SubscriberStatus::Confirmed
            } else {
                SubscriberStatus::Pending
            },
            at,
            source: &source,
            confirmed_at: confirmed.then_some(at),
        };
        let keys: Vec<String> = rows.iter().map(|r| key(r.email.as_str())).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let refused: Vec<String> = B::bind_texts(
            sql_built::<B>(format!(
                "SELECT email FROM subscribers WHERE status IN ('unsubscribed', 'bounced') \
                 AND {}",
                B::in_list("email_key", 1)
            )),
            &keys,
        )?
        .scalars(&mut *tx)
        .await?;
        let pending_before: i64 = if confirmed {
            B::bind_texts(
                sql_built::<B>(format!(
                    "SELECT COUNT(*) FROM subscribers WHERE status = 'pending' AND {}",
                    B::in_list("email_key", 1)
                )),
                &keys,
            )?
            .scalar(&mut *tx)
            .await?
        } else {
            0
        };
        let added = B::insert_imports(&mut *tx, rows, &common).await?;
        if confirmed && pending_before > 0 {
            let q = sql_built::<B>(format!(
                "UPDATE subscribers SET status = 'confirmed', confirmed_ts = $1, updated_ts = $1 \
                 WHERE status = 'pending' AND {}",
                B::in_list("email_key", 2)
            ))
            .bind(at);
            out.confirmed = B::bind_texts(q, &keys)?.execute(&mut *tx).await?;
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
        sql::<B>(
            "INSERT INTO subscriber_tokens (token_hash, subscriber_id, purpose, created_ts, \
             expires_ts) VALUES ($1, $2, $3, $4, $5)",
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
        Ok(sql::<B>(
            "SELECT subscriber_id FROM subscriber_tokens WHERE token_hash = $1 \
             AND purpose = $2 AND (expires_ts IS NULL OR expires_ts > $3)",
        )
        .bind(hash)
        .bind(purpose.as_str())
        .bind(now.timestamp())
        .scalar_optional(&self.pool)
        .await?)
    }

    async fn delete_tokens(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
    ) -> Result<(), StoreError> {
        sql::<B>("DELETE FROM subscriber_tokens WHERE subscriber_id = $1 AND purpose = $2")
            .bind(subscriber_id)
            .bind(purpose.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn enqueue_mail(
        &self,
        subscriber_id: Option<i64>,
        kind: MailKind,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sql::<B>(
            "INSERT INTO mail_queue (subscriber_id, kind, message, next_ts, created_ts) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(subscriber_id)
        .bind(kind.as_str())
        .bind(message)
        .bind(now.timestamp())
        .scalar(&self.pool)
        .await?)
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let rows: Vec<QueuedRow> = sql_built::<B>(format!(
            "UPDATE mail_queue SET next_ts = $2 WHERE id IN (SELECT id FROM mail_queue \
               WHERE next_ts <= $1 ORDER BY next_ts, id LIMIT $3{lock}) \
             RETURNING {QUEUED_COLUMNS}",
            lock = B::CLAIM_LOCK
        ))
        .bind(now.timestamp())
        .bind(hold_until.timestamp())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // RETURNING gives no order.
        let mut mail = rows
            .into_iter()
            .map(QueuedMail::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        mail.sort_by_key(|m| m.id);
        Ok(mail)
    }

    async fn remove_mail(&self, id: i64) -> Result<(), StoreError> {
        sql::<B>("DELETE FROM mail_queue WHERE id = $1")
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
        sql::<B>(
            "UPDATE mail_queue SET attempts = attempts + 1, next_ts = $1, last_error = $2 \
             WHERE id = $3",
        )
        .bind(next.timestamp())
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mail_queue_depth(&self) -> Result<u64, StoreError> {
        let n: i64 = sql::<B>("SELECT COUNT(*) FROM mail_queue")
            .scalar(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn record_bounce(
        &self,
        subscriber_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sql::<B>(COUNT_BOUNCE)
            .bind(now.timestamp())
            .bind(subscriber_id)
            .bind(BOUNCE_LIMIT)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
