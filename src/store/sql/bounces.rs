//! Bounce and complaint reports, and the VERP signing key.

use super::SqlStore;
use super::db::{sql, sql_built};
use crate::domain::Subscriber;
use crate::store::StoreError;
use crate::store::backend::Backend;
use crate::store::bounces::{BounceEffect, BounceKind, BounceReport, BounceStore};
use crate::store::digests::BOUNCE_LIMIT;
use crate::store::rows::{SUBSCRIBER_COLUMNS, SubscriberRow};
use chrono::{DateTime, Utc};

/// One hard bounce reported later ($1 now, $2 id, $3 the limit, $4 the
/// reason): at the limit a pending or confirmed subscriber becomes
/// `bounced`, with the reason and time kept. An unsubscribed one stays so.
const HARD_BOUNCE: &str = "UPDATE subscribers SET bounce_count = bounce_count + 1, \
    updated_ts = $1, \
    status_reason = CASE WHEN bounce_count + 1 >= $3 AND status IN ('pending', 'confirmed') \
      THEN $4 ELSE status_reason END, \
    status_ts = CASE WHEN bounce_count + 1 >= $3 AND status IN ('pending', 'confirmed') \
      THEN $1 ELSE status_ts END, \
    status = CASE WHEN bounce_count + 1 >= $3 AND status IN ('pending', 'confirmed') \
      THEN 'bounced' ELSE status END \
    WHERE id = $2";

#[async_trait::async_trait]
impl<B: Backend> BounceStore for SqlStore<B> {
    async fn bounce_key(&self, candidate: &str) -> Result<String, StoreError> {
        // Read first: a write transaction only the first time.
        let stored: Option<String> = sql::<B>("SELECT secret FROM bounce_keys")
            .scalar_optional(&self.pool)
            .await?;
        if let Some(key) = stored {
            return Ok(key);
        }
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        sql::<B>(
            "INSERT INTO bounce_keys (secret) SELECT $1 \
             WHERE NOT EXISTS (SELECT 1 FROM bounce_keys) ON CONFLICT DO NOTHING",
        )
        .bind(candidate)
        .execute(&mut *tx)
        .await?;
        let key: String = sql::<B>("SELECT secret FROM bounce_keys")
            .scalar(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn record_bounce_report(
        &self,
        r: &BounceReport,
        soft_limit: u32,
        now: DateTime<Utc>,
    ) -> Result<BounceEffect, StoreError> {
        let now = now.timestamp();
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let known: Option<String> = sql::<B>("SELECT status FROM subscribers WHERE id = $1")
            .bind(r.subscriber_id)
            .scalar_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Ok(BounceEffect::UnknownSubscriber);
        }
        let inserted: Option<i64> = sql::<B>(
            "INSERT INTO bounce_events (subscriber_id, run_id, kind, status, reason, source, \
               received_ts, dedupe) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (dedupe) DO NOTHING RETURNING id",
        )
        .bind(r.subscriber_id)
        .bind(r.run_id)
        .bind(r.kind.as_str())
        .bind(r.status.as_deref())
        .bind(r.reason.as_str())
        .bind(r.source.as_str())
        .bind(now)
        .bind(r.dedupe.as_deref())
        .scalar_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            return Ok(BounceEffect::Duplicate);
        }
        let hard = |reason: String| {
            sql::<B>(HARD_BOUNCE)
                .bind(now)
                .bind(r.subscriber_id)
                .bind(BOUNCE_LIMIT)
                .bind(reason)
        };
        match r.kind {
            BounceKind::Hard => {
                hard(describe(r)).execute(&mut *tx).await?;
            }
            BounceKind::Soft => {
                let soft: i64 = sql::<B>(
                    "UPDATE subscribers SET soft_bounce_count = soft_bounce_count + 1, \
                     updated_ts = $1 WHERE id = $2 RETURNING soft_bounce_count",
                )
                .bind(now)
                .bind(r.subscriber_id)
                .scalar(&mut *tx)
                .await?;
                if soft > i64::from(soft_limit) {
                    let reason = format!(
                        "{} temporary failures (more than bounces.soft_limit = {soft_limit}); \
                         the last: {}",
                        soft,
                        describe(r)
                    );
                    hard(reason).execute(&mut *tx).await?;
                }
            }
            BounceKind::Complaint => {
                sql::<B>(
                    "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_ts = $1, \
                     updated_ts = $1, status_reason = $3, status_ts = $1 \
                     WHERE id = $2 AND status IN ('pending', 'confirmed')",
                )
                .bind(now)
                .bind(r.subscriber_id)
                .bind(describe(r))
                .execute(&mut *tx)
                .await?;
            }
        }
        let row: SubscriberRow = sql_built::<B>(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = $1"
        ))
        .bind(r.subscriber_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let s = Subscriber::try_from(row)?;
        Ok(BounceEffect::Recorded {
            status: s.status,
            bounce_count: s.bounce_count,
            soft_bounce_count: s.soft_bounce_count,
        })
    }
}

/// The reason kept with a status: what kind of report, its status code,
/// what it said and how it came in.
fn describe(r: &BounceReport) -> String {
    let what = match r.kind {
        BounceKind::Hard => "hard bounce",
        BounceKind::Soft => "soft bounce",
        BounceKind::Complaint => "complaint",
    };
    match &r.status {
        Some(status) if !r.reason.contains(status.as_str()) => {
            format!("{what} {status}: {} (via {})", r.reason, r.source)
        }
        _ => format!("{what}: {} (via {})", r.reason, r.source),
    }
}
