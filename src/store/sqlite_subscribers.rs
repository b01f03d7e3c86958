//! SQLite implementation of `SubscriberStore`: the shared statements, and
//! an import batched as one JSON document.

use super::StoreError;
use super::sqlite::SqliteStore;
use super::subscribers::{ImportBatch, ImportRow, key, topics_json};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

super::subscribers::subscriber_store!(SqliteStore, lock = "", {
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
});
