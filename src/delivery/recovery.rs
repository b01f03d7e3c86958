//! The rows of a sending process that died, put back to pending by any
//! other process (or the same one restarted), in seconds rather than at
//! `delivery.claim_timeout`:
//!
//! - a process is declared dead once its heartbeat is older than
//!   `delivery.dead_after`, or at once when it ran on this machine and has
//!   certainly ended (`instance::certainly_gone`);
//! - its rows claimed but never started go back at once: nothing of them
//!   can have left, and the store refuses the dead process any further
//!   start, so even a process that was only stalled cannot send them now;
//! - its started rows (at most `pool_size`) go back once its heartbeat is
//!   also `delivery.in_flight_grace` older, so that a process that was
//!   only frozen and wakes up within it can still finish and record the
//!   messages it had on the wire; for a process that has certainly ended
//!   there is nothing to wait for.
//!   Their messages may have been accepted before the crash: these, and
//!   only these, can arrive twice;
//! - any row claimed longer than `delivery.claim_timeout` ago goes back
//!   whoever holds it (rows of versions before the heartbeat, which name
//!   no holder, and a backstop).

use super::Deliverer;
use super::instance::certainly_gone;
use crate::config::Config;
use crate::store::{Held, Recovered, Recovery, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// The waits of the rules above, from the config.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub dead_after: Duration,
    /// `dead_after` plus `in_flight_grace`.
    pub started_after: Duration,
    pub claim_timeout: Duration,
}

impl Rules {
    pub fn new(config: &Config) -> Self {
        let d = |std: std::time::Duration, default: Duration| {
            Duration::from_std(std).unwrap_or(default)
        };
        let dead_after = d(config.delivery.dead_after, Duration::seconds(10));
        Self {
            dead_after,
            started_after: dead_after + d(config.delivery.in_flight_grace, Duration::seconds(10)),
            claim_timeout: d(config.delivery.claim_timeout, Duration::minutes(10)),
        }
    }
}

/// Renews this process's heartbeat, then declares dead the processes that
/// are, and puts their rows back by the rules above.
pub async fn recover(d: &Deliverer) -> Result<Recovered, StoreError> {
    d.instance.beat().await?;
    let me = d.instance.id();
    let gone: Vec<String> = d
        .store
        .instances()
        .await?
        .into_iter()
        .filter(|i| i.id != me && certainly_gone(i.process.as_deref()))
        .map(|i| i.id)
        .collect();
    let rules = Rules::new(&d.config);
    let now = d.clock.now();
    let recovered = d
        .store
        .recover(&Recovery {
            now,
            dead_before: now - rules.dead_after,
            started_before: now - rules.started_after,
            stale_before: now - rules.claim_timeout,
            gone: &gone,
        })
        .await?;
    for id in &recovered.declared_dead {
        tracing::warn!(instance = %id, "a sending process has ended or stopped renewing its heartbeat: declared dead");
    }
    if recovered.rows() > 0 {
        tracing::warn!(
            unstarted = recovered.unstarted,
            started = recovered.started,
            stale = recovered.stale,
            "rows held by a stopped process are pending again; the started ones may arrive twice"
        );
    }
    Ok(recovered)
}

/// Rows of a run another process holds, as `digest send` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldRows {
    /// The holder's id; None for rows claimed by a version that names
    /// none.
    pub holder: Option<String>,
    pub rows: u64,
    /// Whether its heartbeat is younger than `delivery.dead_after`: it is
    /// sending them.
    pub alive: bool,
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// When they are pending again at the latest, should the holder have
    /// stopped by now.
    pub free_by: DateTime<Utc>,
}

impl HeldRows {
    fn new(h: Held, rules: &Rules, now: DateTime<Utc>) -> Self {
        let backstop = h.claimed.map(|c| c + rules.claim_timeout);
        let by_heartbeat = match (&h.holder, h.heartbeat) {
            (Some(_), Some(beat)) if h.started > 0 => Some(beat + rules.started_after),
            (Some(_), Some(beat)) => Some(beat + rules.dead_after),
            // A holder that is not registered: released at the next look.
            (Some(_), None) => Some(now),
            (None, _) => None,
        };
        let free_by = match (by_heartbeat, backstop) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(now),
        };
        Self {
            alive: !h.dead && h.heartbeat.is_some_and(|b| b >= now - rules.dead_after),
            holder: h.holder,
            rows: h.started + h.unstarted,
            last_heartbeat: h.heartbeat,
            free_by: free_by.max(now),
        }
    }
}

/// The run's rows other processes hold now.
pub async fn held(d: &Deliverer, run_id: i64) -> Result<Vec<HeldRows>, StoreError> {
    let rules = Rules::new(&d.config);
    let now = d.clock.now();
    Ok(d.store
        .held(run_id, &d.instance.id())
        .await?
        .into_iter()
        .map(|h| HeldRows::new(h, &rules, now))
        .collect())
}
