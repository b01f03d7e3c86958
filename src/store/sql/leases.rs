//! Leases, which let one instance of several do a job (ingest, a digest
//! fire), and the store revision, which tells the others that articles
//! changed.

use super::SqlStore;
use super::db::sql;
use crate::store::StoreError;
use crate::store::backend::Backend;
use chrono::{DateTime, Utc};

impl<B: Backend> SqlStore<B> {
    /// Takes or renews the lease: one row changes when it was free,
    /// expired, or already this holder's.
    pub(super) async fn lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = sql::<B>(
            "INSERT INTO leases (name, holder, expires_ts) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_ts = excluded.expires_ts \
             WHERE leases.holder = excluded.holder OR leases.expires_ts <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(expires.timestamp())
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(changed == 1)
    }

    /// Gives the lease up, so that another instance need not wait for it
    /// to expire.
    pub(super) async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sql::<B>("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn current_revision(&self) -> Result<i64, StoreError> {
        Ok(sql::<B>("SELECT revision FROM store_revision")
            .scalar(&self.pool)
            .await?)
    }
}
