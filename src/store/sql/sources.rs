//! `source_state`: one row a `[[source]]`, read before a poll and written
//! after it.

use super::SqlStore;
use super::db::sql;
use crate::store::StoreError;
use crate::store::backend::Backend;
use crate::store::rows::SourceStateRow;
use crate::store::sources::SourceState;

impl<B: Backend> SqlStore<B> {
    pub(super) async fn load_source_state(
        &self,
        name: &str,
    ) -> Result<Option<SourceState>, StoreError> {
        let row: Option<SourceStateRow> = sql::<B>(
            "SELECT name, cursor, etag, last_modified, last_attempt_ts, last_success_ts, \
             last_listing_ts, next_try_ts, failures, last_error FROM source_state WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(SourceState::try_from).transpose()
    }

    pub(super) async fn store_source_state(&self, s: &SourceState) -> Result<(), StoreError> {
        sql::<B>(
            "INSERT INTO source_state (name, cursor, etag, last_modified, last_attempt_ts, \
               last_success_ts, last_listing_ts, next_try_ts, failures, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, etag = excluded.etag, \
               last_modified = excluded.last_modified, \
               last_attempt_ts = excluded.last_attempt_ts, \
               last_success_ts = excluded.last_success_ts, \
               last_listing_ts = excluded.last_listing_ts, \
               next_try_ts = excluded.next_try_ts, failures = excluded.failures, \
               last_error = excluded.last_error",
        )
        .bind(s.name.as_str())
        .bind(s.cursor.as_deref())
        .bind(s.etag.as_deref())
        .bind(s.last_modified.as_deref())
        .bind(s.last_attempt.map(|t| t.timestamp()))
        .bind(s.last_success.map(|t| t.timestamp()))
        .bind(s.last_listing.map(|t| t.timestamp()))
        .bind(s.next_try.map(|t| t.timestamp()))
        .bind(i64::from(s.failures))
        .bind(s.last_error.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
