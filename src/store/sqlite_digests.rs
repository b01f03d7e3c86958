//! SQLite implementation of `DigestStore`: the shared statements, with
//! lists bound as JSON documents. SQLite's single writer makes a claim
//! exclusive.

use super::StoreError;
use super::digests::Claimed;
use super::rows::ClaimedRow;
use super::sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

super::digests::digest_store!(SqliteStore, {
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
});
