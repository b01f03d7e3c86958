//! The daemon's background work as one handle: the scheduled jobs, the
//! digest delivery they share with the sweep, and the transactional mail
//! queue.

use super::digest_job::{Delivery, DigestJob};
use super::ingest_job::{IngestJob, Trigger};
use super::watch::{Changes, start as start_watching, wake_ingest_until_stopped};
use crate::delivery::Deliverer;
use crate::delivery::instance::Instance;
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
    /// What the content folder's watcher saw, for the loop that wakes
    /// ingest.
    changes: Arc<Changes>,
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

/// The source poller's shortest and longest sleep: it looks again at
/// least this often, for a lease taken over or a state another instance
/// wrote.
const SOURCES_MIN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
const SOURCES_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The mail queue's pass for retries when nothing wakes it.
const MAIL_RETRIES_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl Background {
    pub(super) fn new(
        state: &AppState,
        mailer: &Mailer,
        leader: watch::Receiver<bool>,
        instance: Instance,
        stop: CancellationToken,
    ) -> Self {
        let deliverer = Deliverer {
            store: state.store.clone(),
            mailer: mailer.clone(),
            config: state.config.clone(),
            tera: state.tera.clone(),
            clock: state.clock.clone(),
            instance,
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
            changes: Arc::new(Changes::new(state.config.content.dir.clone())),
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
        self.ingest.run_for(Trigger::Schedule).await;
    }

    /// Polls every `[[source]]` now, as the lease holder (a source backing
    /// off or asked to wait is skipped), and builds what changed; nothing
    /// on an instance without the lease.
    pub async fn poll_sources(&self) {
        self.ingest
            .run_for(Trigger::Sources(crate::sources::Poll::Now))
            .await;
    }

    /// The daemon's source poller: each source when its `every` has
    /// passed (or its back-off ended), by the lease holder, until the
    /// daemon stops. State lives in the store, so a new lease holder goes
    /// on from where the last one stopped.
    pub(super) async fn poll_sources_until_stopped(self) {
        let (store, config, clock) = (
            self.state.store.clone(),
            self.state.config.clone(),
            self.state.clock.clone(),
        );
        crate::sources::report_last_successes(store.as_ref(), &config).await;
        let mut leader = self.ingest.leader();
        loop {
            let leading = *leader.borrow_and_update();
            let now = clock.now();
            let next = crate::sources::next_due(store.as_ref(), &config).await;
            let wait = match next {
                Ok(None) => return,
                // Another instance polls: look again when this one takes
                // the lease over.
                Ok(Some(_)) if !leading => SOURCES_MAX_WAIT,
                Ok(Some(at)) if at <= now => {
                    self.ingest
                        .run_for(Trigger::Sources(crate::sources::Poll::Due))
                        .await;
                    SOURCES_MIN_WAIT
                }
                Ok(Some(at)) => (at - now)
                    .to_std()
                    .unwrap_or_default()
                    .clamp(SOURCES_MIN_WAIT, SOURCES_MAX_WAIT),
                Err(e) => {
                    tracing::error!(error = %e, "reading the sources' state");
                    SOURCES_MAX_WAIT
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = leader.changed() => {
                    // The lease's watcher is gone: the daemon is stopping.
                    if changed.is_err() {
                        return;
                    }
                }
                () = self.stop.cancelled() => return,
            }
        }
    }

    /// How many runs of the ingest job have finished since start-up,
    /// whatever started them (the schedule, the watcher, a call here).
    pub fn ingest_runs(&self) -> u64 {
        self.ingest.runs()
    }

    /// Tells the content folder's watcher that events were lost, as the
    /// kernel does when its event queue overflows: the folder is rescanned
    /// at once.
    pub fn content_events_lost(&self) {
        let overflow =
            notify::Event::new(notify::EventKind::Other).set_flag(notify::event::Flag::Rescan);
        self.changes.handle(Ok(overflow));
    }

    /// Starts watching the content folder (when `content.watch` is on);
    /// None when it is off, when a site fed by `[[source]]` entries has no
    /// folder, or when the watcher cannot start. Before the first ingest,
    /// so that nothing saved meanwhile is missed.
    pub(super) fn watch_content(&self) -> Option<notify::RecommendedWatcher> {
        let config = &self.state.config;
        if !config.sources.is_empty() && !config.content.dir.exists() {
            tracing::info!(
                folder = %config.content.dir.display(),
                sources = config.sources.len(),
                "no content folder: articles come from the [[source]] entries only"
            );
            return None;
        }
        if !config.content.watch {
            return None;
        }
        start_watching(&self.changes)
    }

    /// Wakes the ingest job after changes the watcher saw, until the daemon
    /// stops; `watcher` is kept until then.
    pub(super) async fn wake_ingest_until_stopped(self, watcher: notify::RecommendedWatcher) {
        wake_ingest_until_stopped(
            self.ingest.clone(),
            self.changes.clone(),
            self.state.config.content.debounce,
            self.stop.clone(),
        )
        .await;
        drop(watcher);
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
