//! Sending processes and their heartbeats; recovery of the outbox rows a
//! dead one held (see `store::instances` and README, "Crash recovery").

use super::SqlStore;
use super::db::{sql, sql_built};
use crate::store::StoreError;
use crate::store::backend::Backend;
use crate::store::instances::{Held, InstanceRecord, InstanceStore, Recovered, Recovery};
use crate::store::rows::{HeldRow, InstanceRow};
use chrono::{DateTime, Utc};

/// Back to pending: the row's holder is gone. `attempts` counted the
/// claim; a row never handed to the transport was not tried.
const RELEASE_UNSTARTED: &str = "UPDATE digest_outbox SET state = 'pending', claimed_ts = NULL, \
     claimed_by = NULL, started_ts = NULL, attempts = attempts - 1";
/// Back to pending, tried: its message may have gone out.
const RELEASE_STARTED: &str = "UPDATE digest_outbox SET state = 'pending', claimed_ts = NULL, \
     claimed_by = NULL, started_ts = NULL, \
     last_error = 'its sender stopped while sending; sent again, so it may arrive twice'";

/// `set` on the rows `cond` picks (over `digest_outbox o`), skipping rows
/// another transaction holds locked on PostgreSQL: a sender frozen in the
/// middle of a transaction must not stall the recovery of everyone else's
/// rows (its own come back once the server ends its transaction, see
/// `idle_in_transaction_session_timeout` in `backend/postgres.rs`).
fn on_rows<B: Backend>(set: &str, cond: &str) -> String {
    format!(
        "{set} WHERE id IN (SELECT o.id FROM digest_outbox o WHERE {cond}{lock})",
        lock = B::CLAIM_LOCK
    )
}

#[async_trait::async_trait]
impl<B: Backend> InstanceStore for SqlStore<B> {
    async fn register_instance(
        &self,
        id: &str,
        role: &str,
        process: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sql::<B>(
            "INSERT INTO instances (id, role, process, started_ts, heartbeat_ts) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id)
        .bind(role)
        .bind(process)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn heartbeat(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let changed =
            sql::<B>("UPDATE instances SET heartbeat_ts = $2 WHERE id = $1 AND dead_ts IS NULL")
                .bind(id)
                .bind(now.timestamp())
                .execute(&self.pool)
                .await?;
        Ok(changed == 1)
    }

    async fn deregister_instance(&self, id: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let released = sql_built::<B>(format!(
            "{RELEASE_UNSTARTED} WHERE state = 'sending' AND claimed_by = $1 \
             AND started_ts IS NULL"
        ))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Rows handed to the transport and never recorded (a failed pass)
        // stay with a dead holder, for recovery's rule; otherwise the row
        // goes.
        let dead = sql::<B>(
            "UPDATE instances SET dead_ts = heartbeat_ts WHERE id = $1 AND EXISTS \
             (SELECT 1 FROM digest_outbox o WHERE o.state = 'sending' AND o.claimed_by = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if dead == 0 {
            sql::<B>("DELETE FROM instances WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(released)
    }

    async fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        let rows: Vec<InstanceRow> = sql::<B>(
            "SELECT id, role, process, started_ts, heartbeat_ts, dead_ts FROM instances \
             ORDER BY started_ts, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(InstanceRecord::try_from).collect()
    }

    async fn recover(&self, r: &Recovery<'_>) -> Result<Recovered, StoreError> {
        let mut tx = self.pool.begin_with(B::BEGIN_WRITE).await?;
        let now = r.now.timestamp();
        let gone: Vec<&str> = r.gone.iter().map(String::as_str).collect();
        let mut out = Recovered::default();
        if !gone.is_empty() {
            let q = sql_built::<B>(format!(
                "UPDATE instances SET dead_ts = $1 WHERE id IN (SELECT id FROM instances \
                 WHERE dead_ts IS NULL AND {} ORDER BY id{lock}) RETURNING id",
                B::in_list("id", 2),
                lock = B::CLAIM_LOCK
            ));
            out.declared_dead = B::bind_texts(q.bind(now), &gone)?.scalars(&mut *tx).await?;
            // The process has ended: nothing it started can still be under
            // way, so its started rows need no grace.
            let q = sql_built::<B>(on_rows::<B>(
                RELEASE_STARTED,
                &format!(
                    "o.state = 'sending' AND o.started_ts IS NOT NULL AND {}",
                    B::in_list("o.claimed_by", 1)
                ),
            ));
            out.started += B::bind_texts(q, &gone)?.execute(&mut *tx).await?;
        }
        // Rows another transaction holds (a heartbeat being written, a
        // second recovery) are skipped, never waited for: recoveries that
        // run at once cannot deadlock, and the next one takes what this
        // one skipped.
        out.declared_dead.extend(
            sql_built::<B>(format!(
                "UPDATE instances SET dead_ts = $1 WHERE id IN (SELECT id FROM instances \
                 WHERE dead_ts IS NULL AND heartbeat_ts < $2 ORDER BY id{lock}) RETURNING id",
                lock = B::CLAIM_LOCK
            ))
            .bind(now)
            .bind(r.dead_before.timestamp())
            .scalars::<String>(&mut *tx)
            .await?,
        );
        // A holder that is not a live registered process: declared dead
        // now or before, or exited cleanly with the rows still claimed.
        out.unstarted = sql_built::<B>(on_rows::<B>(
            RELEASE_UNSTARTED,
            "o.state = 'sending' AND o.claimed_by IS NOT NULL AND o.started_ts IS NULL \
             AND NOT EXISTS (SELECT 1 FROM instances i \
             WHERE i.id = o.claimed_by AND i.dead_ts IS NULL)",
        ))
        .execute(&mut *tx)
        .await?;
        out.started += sql_built::<B>(on_rows::<B>(
            RELEASE_STARTED,
            "o.state = 'sending' AND o.claimed_by IS NOT NULL AND o.started_ts IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = o.claimed_by \
             AND (i.dead_ts IS NULL OR i.heartbeat_ts >= $1))",
        ))
        .bind(r.started_before.timestamp())
        .execute(&mut *tx)
        .await?;
        out.stale = sql_built::<B>(on_rows::<B>(
            RELEASE_STARTED,
            "o.state = 'sending' AND o.claimed_ts < $1",
        ))
        .bind(r.stale_before.timestamp())
        .execute(&mut *tx)
        .await?;
        // A dead process that holds nothing any more is forgotten; if it
        // was only stalled, its next heartbeat finds no row and it stops.
        sql_built::<B>(format!(
            "DELETE FROM instances WHERE id IN (SELECT i.id FROM instances i \
             WHERE i.dead_ts IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM digest_outbox o WHERE o.state = 'sending' \
              AND o.claimed_by = i.id) ORDER BY i.id{lock})",
            lock = B::CLAIM_LOCK
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn held(&self, run_id: i64, me: &str) -> Result<Vec<Held>, StoreError> {
        let rows: Vec<HeldRow> = sql::<B>(
            "SELECT o.claimed_by AS holder, i.heartbeat_ts, i.dead_ts, \
                    MIN(o.claimed_ts) AS claimed_ts, \
                    SUM(CASE WHEN o.started_ts IS NULL THEN 0 ELSE 1 END) AS started, \
                    SUM(CASE WHEN o.started_ts IS NULL THEN 1 ELSE 0 END) AS unstarted \
             FROM digest_outbox o LEFT JOIN instances i ON i.id = o.claimed_by \
             WHERE o.run_id = $1 AND o.state = 'sending' \
               AND (o.claimed_by IS NULL OR o.claimed_by <> $2) \
             GROUP BY o.claimed_by, i.heartbeat_ts, i.dead_ts \
             ORDER BY o.claimed_by",
        )
        .bind(run_id)
        .bind(me)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Held::try_from).collect()
    }
}
