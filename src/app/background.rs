//! The daemon's background work as one handle: the scheduled jobs, the
//! digest delivery they share with the sweep, and the transactional mail
//! queue.

use super::digest_job::{Delivery, DigestJob};
use super::ingest_job::IngestJob;
use crate::delivery::Deliverer;
use crate::http::AppState;
use crate::mail::Mailer;
use crate::scheduler::Job;
use crate::store::StoreError;
use crate::subscribers::queue::{self, QueueReport};
use std::sync::Arc;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

/// The daemon's background work, one piece at a time.
///
/// `App::run_until_stopped` runs all of it on its own: the jobs on their
/// crontab lines, the sweep and the mail queue in their loops. This handle
/// (from `App::background`) is for tests and tools that drive the work
/// directly rather than wait for a schedule: each call does what one
/// scheduled run or loop pass does, and returns once it is done. It works
/// on the same state as the running daemon (lease, delivery lock, the
/// ingest job's memory), so a call never overlaps the same work there.
#[derive(Clone)]
pub struct Background {
    ingest: Arc<IngestJob>,
    digests: Vec<Arc<DigestJob>>,
    delivery: Delivery,
    state: AppState,
    mailer: Mailer,
    /// One pass over the mail queue at a time: a drain waits for a pass in
    /// progress, so what was due has been sent when it returns.
    mail_pass: Arc<Mutex<()>>,
    /// The daemon's shutdown.
    stop: CancellationToken,
}

/// The mail queue's pass for retries when nothing wakes it.
const MAIL_RETRIES_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl Background {
    pub(super) fn new(
        state: &AppState,
        mailer: &Mailer,
        leader: watch::Receiver<bool>,
        stop: CancellationToken,
    ) -> Self {
        let deliverer = Deliverer {
            store: state.store.clone(),
            mailer: mailer.clone(),
            config: state.config.clone(),
            tera: state.tera.clone(),
            clock: state.clock.clone(),
        };
        let delivery = Delivery::new(deliverer, stop.clone());
        let digests = state
            .config
            .digests
            .iter()
            .map(|s| Arc::new(DigestJob::new(s.clone(), delivery.clone(), leader.clone())))
            .collect();
        Self {
            ingest: Arc::new(IngestJob::new(state, leader)),
            digests,
            delivery,
            state: state.clone(),
            mailer: mailer.clone(),
            mail_pass: Arc::default(),
            stop,
        }
    }

    /// Every scheduled job: ingest first, then the digests in config order.
    pub(super) fn jobs(&self) -> Vec<Arc<dyn Job>> {
        let mut jobs: Vec<Arc<dyn Job>> = vec![self.ingest.clone()];
        jobs.extend(self.digests.iter().map(|d| d.clone() as Arc<dyn Job>));
        jobs
    }

    pub(super) fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    /// One run of the ingest job, as at a fire time now: ingest (as the
    /// lease holder) and build the feeds.
    pub async fn ingest(&self) {
        self.ingest.run(self.state.clock.now()).await;
    }

    /// Sends every transactional mail due now (confirmations, welcomes,
    /// notices), after any pass of the mail queue in progress.
    pub async fn drain_mail(&self) -> Result<QueueReport, StoreError> {
        let _one_at_a_time = self.mail_pass.lock().await;
        let state = &self.state;
        queue::deliver_due(
            state.store.as_ref(),
            &self.mailer,
            &state.config.delivery,
            state.clock.as_ref(),
        )
        .await
    }

    /// The daemon's sender: a pass when mail is queued, and every 30
    /// seconds for retries, until the daemon stops. A request never waits
    /// on SMTP; the queue in the store loses nothing to a crash.
    pub(super) async fn send_mail_until_stopped(self) {
        let queued = self.state.subs.queued.clone();
        loop {
            if let Err(e) = self.drain_mail().await {
                tracing::error!(error = %e, "mail queue");
            }
            tokio::select! {
                () = queued.notified() => {}
                () = tokio::time::sleep(MAIL_RETRIES_EVERY) => {}
                () = self.stop.cancelled() => return,
            }
        }
    }
}
