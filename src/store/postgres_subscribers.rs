//! PostgreSQL implementation of `SubscriberStore`: the shared statements,
//! an import batched as arrays, and queued mail claimed with `SKIP LOCKED`.

use super::StoreError;
use super::postgres::PgStore;
use super::subscribers::{ImportBatch, ImportRow, key, topics_json};
use chrono::{DateTime, Utc};

super::subscribers::subscriber_store!(PgStore, lock = " FOR UPDATE SKIP LOCKED", {
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
        let emails: Vec<&str> = rows.iter().map(|r| r.email.as_str()).collect();
        let keys: Vec<String> = rows.iter().map(|r| key(r.email.as_str())).collect();
        let topics: Vec<String> = rows
            .iter()
            .map(|r| topics_json(&r.topics))
            .collect::<Result<_, _>>()?;
        let frequencies: Vec<&str> = rows.iter().map(|r| r.frequency.as_str()).collect();
        let mut tx = self.pool.begin().await?;
        let refused: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM subscribers WHERE status IN ('unsubscribed', 'bounced') \
                 AND email_key = ANY($1)",
        )
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
        let pending_before: i64 = if confirmed {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM subscribers WHERE status = 'pending' AND email_key = ANY($1)",
            )
            .bind(&keys)
            .fetch_one(&mut *tx)
            .await?
        } else {
            0
        };
        let added = sqlx::query(
            "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
                   consent_ts, consent_source, confirmed_ts, updated_ts) \
                 SELECT e, k, $1, tp, f, $2, $2, $3, $4, $2 \
                 FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) AS r(e, k, tp, f) \
                 ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(status)
        .bind(t)
        .bind(source)
        .bind(confirmed.then_some(t))
        .bind(&emails)
        .bind(&keys)
        .bind(&topics)
        .bind(&frequencies)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if confirmed && pending_before > 0 {
            out.confirmed = sqlx::query(
                "UPDATE subscribers SET status = 'confirmed', confirmed_ts = $1, updated_ts = $1 \
                     WHERE status = 'pending' AND email_key = ANY($2)",
            )
            .bind(t)
            .bind(&keys)
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
});
