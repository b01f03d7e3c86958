//! The scheduler lease: when several instances share one store, the one
//! that holds it runs the jobs (ingest from files, digest fires); all of
//! them serve HTTP and deliver.
//!
//! The lease is a row in the store (`leases`) with a holder and an expiry.
//! The holder renews it every third of `[schedule].lease`; an instance that
//! dies stops renewing, and another takes it once it has expired. Expiry is
//! in whole seconds of the instances' own clocks (the daemon's clock, the
//! system's in production), which are assumed to agree (NTP) to well within
//! the lease.
//!
//! The lease keeps instances from doing the same work; it is not what keeps
//! mail from going out twice. Two instances that both believe they hold it
//! (one stalled past its expiry) fire the same run, which the store's
//! unique (schedule, fire time) makes one run, and claim its rows, which
//! `SKIP LOCKED` (or SQLite's single writer) gives to one of them.

use crate::domain::Clock;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The lease the scheduler runs under.
pub const SCHEDULER: &str = "scheduler";

pub struct Lease {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    holder: String,
    ttl: Duration,
    held: watch::Sender<bool>,
}

impl Lease {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let mut nonce = [0u8; 4];
        let _ = getrandom::fill(&mut nonce);
        Self {
            store,
            clock,
            holder: format!("{host}:{}:{}", std::process::id(), hex::encode(nonce)),
            ttl,
            held: watch::channel(false).0,
        }
    }

    /// This instance's name in the `leases` table.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether this instance holds the lease, as last checked; changes are
    /// seen by `changed()`.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.held.subscribe()
    }

    /// Takes or renews the lease once. A store error counts as not holding
    /// it: this instance cannot show that it does.
    pub async fn renew(&self) -> bool {
        let now = self.clock.now();
        let expires = now + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let held = match self
            .store
            .take_lease(SCHEDULER, &self.holder, now, expires)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::error!(error = %e, "cannot renew the scheduler lease");
                false
            }
        };
        metrics::gauge!("feedletter_scheduler_lease_held").set(f64::from(u8::from(held)));
        let was = self.held.send_replace(held);
        match (was, held) {
            (false, true) => {
                tracing::info!(holder = %self.holder, "took the scheduler lease: this instance runs the jobs");
            }
            (true, false) => {
                tracing::warn!(holder = %self.holder, "lost the scheduler lease: another instance runs the jobs");
            }
            _ => {}
        }
        held
    }

    /// Renews every third of the lease until `stop` is cancelled, then
    /// gives it up so that another instance need not wait for it to expire.
    pub async fn run(self, stop: CancellationToken) {
        let every = (self.ttl / 3).max(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = stop.cancelled() => break,
            }
            self.renew().await;
        }
        if *self.held.borrow() {
            if let Err(e) = self.store.drop_lease(SCHEDULER, &self.holder).await {
                tracing::warn!(error = %e, "could not give the scheduler lease up; it expires by itself");
            } else {
                tracing::info!("gave the scheduler lease up");
            }
            self.held.send_replace(false);
        }
    }
}
