//! Delivering a digest run: claim outbox rows, compose and render each
//! subscriber's digest (rendering once per distinct composition), send
//! through the pooled transport, record the result.
//!
//! Crash safety: a row is marked `sending` before its message is handed to
//! the transport and `sent` right after the transport accepts it. Each of
//! the `pool_size` workers waits until its result is written before it takes
//! another row, so at any instant at most `pool_size` messages have been
//! sent but not recorded. After a kill, rows left `sending` go back to
//! pending once `delivery.claim_timeout` has passed, and only those few can
//! go out twice. All writes go through this module's one loop, so SQLite
//! never sees two writers at once.

use crate::config::{Config, DeliveryConfig, DigestConfig};
use crate::digest::compose::{Composition, Material};
use crate::digest::render::{Audience, Rendered, Renderer};
use crate::digest::{self, DigestError};
use crate::domain::{Clock, SubscriberStatus};
use crate::mail::{Mailer, OutgoingMail, SendError};
use crate::store::{Claimed, DigestRun, OutboxOutcome as Outcome, RunCounts, Store};
use crate::subscribers::tokens;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// Rows claimed in one go.
const CLAIM_BATCH: u32 = 200;
/// Distinct renderings kept per run before the cache starts over.
const CACHE_LIMIT: usize = 20_000;
/// Links in a digest keep working this long.
pub const LINK_DAYS: i64 = 365;

/// Everything delivery needs from the daemon or the command line.
#[derive(Clone)]
pub struct Deliverer {
    pub store: Arc<dyn Store>,
    pub mailer: Mailer,
    pub config: Arc<Config>,
    pub tera: Arc<tera::Tera>,
    pub clock: Arc<dyn Clock>,
}

/// How long to wait for retries before returning, and where to report.
#[derive(Clone, Default)]
pub struct Options {
    /// Retries due within this long are waited for; later ones are left to
    /// the next pass (the daemon's sweep, or `digest send` again).
    pub wait_for_retries: std::time::Duration,
    pub progress: Option<indicatif::ProgressBar>,
}

/// What one pass over a run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub run_id: i64,
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
    pub retried: u64,
    /// Claimed but not sent because of a stop; pending again.
    pub released: u64,
    /// Rows of a dead process put back to pending at the start.
    pub recovered: u64,
    /// The run's rows by state at the end.
    pub counts: RunCounts,
    pub next_retry: Option<DateTime<Utc>>,
}

struct Work {
    row: Claimed,
    token: Option<String>,
}

struct Done {
    outcome: Outcome,
    ack: oneshot::Sender<()>,
}

/// What the workers share.
struct Shared {
    run: DigestRun,
    schedule: DigestConfig,
    config: Arc<Config>,
    tera: Arc<tera::Tera>,
    material: Material,
    cache: Mutex<HashMap<Composition, Arc<Rendered>>>,
    mailer: Mailer,
    clock: Arc<dyn Clock>,
    delivery: DeliveryConfig,
    pacer: Pacer,
    list_id: String,
    /// Set when the pass fails: workers send nothing more, so no message
    /// goes out that could not be recorded.
    abort: std::sync::atomic::AtomicBool,
}

/// Spaces sends `1 / rate` apart across all workers; rate 0 is no limit.
struct Pacer {
    gap: Option<std::time::Duration>,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    fn new(rate_per_second: u32) -> Self {
        Self {
            gap: (rate_per_second > 0).then(|| std::time::Duration::from_secs(1) / rate_per_second),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn wait(&self) {
        let Some(gap) = self.gap else { return };
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

impl Deliverer {
    /// Creates (or finds) the run of `schedule` for `fire` and delivers it.
    pub async fn fire(
        &self,
        schedule: &DigestConfig,
        fire: DateTime<Utc>,
        options: &Options,
        stop: watch::Receiver<bool>,
    ) -> Result<Report, DigestError> {
        let (run, created) = digest::open_run(
            self.store.as_ref(),
            &self.config,
            &self.tera,
            schedule,
            fire,
            self.clock.now(),
        )
        .await?;
        if created {
            tracing::info!(schedule = %schedule.name, run = run.id, fire = %fire, "digest run created");
        } else {
            tracing::info!(schedule = %schedule.name, run = run.id, fire = %fire, "digest run exists; resuming it");
        }
        self.deliver(&run, options, stop).await
    }

    /// One pass over a run: sends every due row, waits for retries due
    /// within `options.wait_for_retries`, and marks the run done when no row
    /// is left to try. Stops claiming when `stop` turns true; messages in
    /// flight finish first.
    pub async fn deliver(
        &self,
        run: &DigestRun,
        options: &Options,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Report, DigestError> {
        let store = self.store.clone();
        let schedule = digest::schedule(&self.config, &run.schedule)?.clone();
        let mut report = Report {
            run_id: run.id,
            ..Report::default()
        };
        let now = self.clock.now();
        let stale_before = now
            - Duration::from_std(self.config.delivery.claim_timeout)
                .unwrap_or(Duration::minutes(10));
        report.recovered = store.release_stale(run.id, stale_before).await?;
        if report.recovered > 0 {
            tracing::warn!(
                run = run.id,
                rows = report.recovered,
                "rows left sending by a stopped process are pending again"
            );
        }
        let counts = store.run_counts(run.id).await?;
        if let Some(bar) = &options.progress {
            bar.set_length(counts.total());
            bar.set_position(counts.sent + counts.failed + counts.skipped);
        }
        let Some(earliest) = store.earliest_since(run.id).await? else {
            store.finish_run(run.id, now).await?;
            report.counts = counts;
            return Ok(report);
        };
        let material = digest::material(store.as_ref(), &self.config, run.fire, earliest).await?;
        let domain = self.mailer.from_domain().to_owned();
        let shared = Arc::new(Shared {
            run: run.clone(),
            list_id: format!(
                "{} {} digest <{}.{}>",
                self.config.site.title, schedule.name, schedule.name, domain
            ),
            schedule,
            config: self.config.clone(),
            tera: self.tera.clone(),
            material,
            cache: Mutex::new(HashMap::new()),
            mailer: self.mailer.clone(),
            clock: self.clock.clone(),
            delivery: self.config.delivery.clone(),
            pacer: Pacer::new(self.config.mail.rate_per_second),
            abort: std::sync::atomic::AtomicBool::new(false),
        });

        let workers = match self.config.mail.transport {
            crate::config::MailTransportKind::Smtp => self.config.mail.smtp.pool_size.max(1),
            crate::config::MailTransportKind::File => 2,
        } as usize;
        let (work_tx, work_rx) = mpsc::unbounded_channel::<Work>();
        let work_rx = Arc::new(tokio::sync::Mutex::new(work_rx));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (shared, work_rx, done_tx) = (shared.clone(), work_rx.clone(), done_tx.clone());
            tasks.spawn(async move {
                // One SMTP connection per worker, kept across messages.
                let mut session = shared.mailer.session();
                loop {
                    let next = work_rx.lock().await.recv().await;
                    let Some(work) = next else { break };
                    let outcome = process(&shared, &mut session, work).await;
                    let (ack, acked) = oneshot::channel();
                    if done_tx.send(Done { outcome, ack }).is_err() {
                        break;
                    }
                    // Take no new row before this one's result is stored.
                    let _ = acked.await;
                }
                session.close().await;
            });
        }
        drop(done_tx);

        // Rows held claimed at once. Paced, about one second of sending:
        // other instances delivering the same run find the rest pending,
        // and a stopped process leaves little to its claim timeout.
        let rate = self.config.mail.rate_per_second as usize;
        let paced = rate > 0;
        let high_water = if paced {
            rate.clamp(workers * 2, CLAIM_BATCH as usize)
        } else {
            workers * 4 + CLAIM_BATCH as usize
        };
        // Claim again below this: unpaced, whole batches while under the
        // high-water mark; paced, a refill to it once half has gone.
        let refill_below = if paced {
            (high_water / 2).max(1)
        } else {
            high_water
        };
        let mut in_flight = 0usize;
        let mut drained = false; // nothing due right now
        let mut stopping = *stop.borrow();
        let passed: Result<(), DigestError> = async { loop {
            while !stopping && !drained && in_flight < refill_below {
                let now = self.clock.now();
                let want = if paced {
                    high_water - in_flight
                } else {
                    CLAIM_BATCH as usize
                };
                let rows = store.claim(run.id, now, want as u32).await?;
                if rows.is_empty() {
                    drained = true;
                    break;
                }
                // Fresh link tokens for the rows that will be mailed, stored
                // (hashed) before any message carrying them leaves.
                let mut hashes = Vec::new();
                let mut work = Vec::with_capacity(rows.len());
                for row in rows {
                    let token = if row.status == SubscriberStatus::Confirmed {
                        let (token, hash) = tokens::new_token()
                            .map_err(|e| StoreError::Other(anyhow::anyhow!("randomness: {e}")))?;
                        hashes.push((row.subscriber_id, hash));
                        Some(token)
                    } else {
                        None
                    };
                    work.push(Work { row, token });
                }
                store
                    .add_manage_tokens(&hashes, now, now + Duration::days(LINK_DAYS))
                    .await?;
                for w in work {
                    in_flight += 1;
                    if work_tx.send(w).is_err() {
                        return Err(DigestError::from(StoreError::Other(anyhow::anyhow!(
                            "delivery workers stopped"
                        ))));
                    }
                }
            }
            if in_flight == 0 {
                if stopping {
                    break;
                }
                let Some(due) = store.next_due(run.id).await? else {
                    break;
                };
                let wait = (due - self.clock.now()).to_std().unwrap_or_default();
                if wait > options.wait_for_retries {
                    report.next_retry = Some(due);
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(wait + std::time::Duration::from_millis(50)) => {}
                    () = stopped(&mut stop) => stopping = true,
                }
                drained = false;
                continue;
            }
            tokio::select! {
                done = done_rx.recv() => {
                    let Some(first) = done else { break };
                    let mut batch = vec![first];
                    while let Ok(more) = done_rx.try_recv() {
                        batch.push(more);
                    }
                    let outcomes: Vec<Outcome> = batch.iter().map(|d| d.outcome.clone()).collect();
                    store.record(&outcomes, self.clock.now()).await?;
                    for d in batch {
                        tally(&mut report, &d.outcome);
                        let _ = d.ack.send(());
                    }
                    in_flight -= outcomes.len();
                    if let Some(bar) = &options.progress {
                        bar.inc(outcomes.len() as u64);
                    }
                }
                () = stopped(&mut stop), if !stopping => {
                    stopping = true;
                    tracing::info!(run = run.id, "stopping: no new rows are claimed; messages in flight finish");
                    // Rows claimed but not yet picked up by a worker go back.
                    let mut released = Vec::new();
                    while let Ok(w) = work_rx.lock().await.try_recv() {
                        released.push(Outcome::Retry {
                            id: w.row.id,
                            next: self.clock.now(),
                            error: "not sent: the sender stopped".into(),
                        });
                    }
                    store.record(&released, self.clock.now()).await?;
                    in_flight -= released.len();
                    report.released += released.len() as u64;
                }
            }
        } Ok(()) }.await;
        if passed.is_err() {
            shared
                .abort
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // Dropping the results drops the workers' acknowledgements, so none
        // of them waits for ever.
        drop(done_rx);
        drop(work_tx);
        while tasks.join_next().await.is_some() {}
        passed?;

        report.counts = store.run_counts(run.id).await?;
        if report.counts.finished() {
            store.finish_run(run.id, self.clock.now()).await?;
        } else if report.next_retry.is_none() {
            report.next_retry = store.next_due(run.id).await?;
        }
        tracing::info!(
            run = run.id,
            schedule = %run.schedule,
            sent = report.sent,
            skipped = report.skipped,
            failed = report.failed,
            retried = report.retried,
            pending = report.counts.pending,
            "digest delivery pass"
        );
        Ok(report)
    }

    /// Every unfinished run, once: due retries, and runs a stopped
    /// process left behind.
    pub async fn sweep(&self, stop: watch::Receiver<bool>) -> Result<(), DigestError> {
        for run in self.store.unfinished_runs().await? {
            if *stop.borrow() {
                break;
            }
            match self.deliver(&run, &Options::default(), stop.clone()).await {
                // One summary line for a pass that did something: a retry,
                // or a run fired by another instance or a stopped process.
                Ok(r) if r.sent + r.skipped + r.failed + r.retried > 0 => tracing::info!(
                    job = "sweep",
                    schedule = %run.schedule,
                    run = run.id,
                    fire = %run.fire,
                    sent = r.sent,
                    skipped = r.skipped,
                    failed = r.failed,
                    retried = r.retried,
                    pending = r.counts.pending,
                    "job finished"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(run = run.id, error = %e, "digest retry pass failed"),
            }
        }
        Ok(())
    }
}

use crate::store::StoreError;

/// Completes when `stop` turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn tally(report: &mut Report, outcome: &Outcome) {
    use crate::telemetry::count_mail;
    match outcome {
        Outcome::Sent { .. } => {
            report.sent += 1;
            count_mail("digest", "sent", "accepted");
        }
        Outcome::Skipped { reason, .. } => {
            report.skipped += 1;
            let why = if reason.starts_with("nothing new") {
                "nothing_new"
            } else {
                "not_confirmed"
            };
            count_mail("digest", "skipped", why);
        }
        Outcome::Failed { bounce, .. } => {
            report.failed += 1;
            let why = if bounce.is_some() {
                "rejected"
            } else {
                "gave_up_or_invalid"
            };
            count_mail("digest", "failed", why);
        }
        Outcome::Retry { .. } => {
            report.retried += 1;
            count_mail("digest", "retried", "temporary");
        }
    }
}

/// The rendering of `c`, from the cache or made now.
fn rendered(shared: &Shared, c: &Composition) -> Result<Arc<Rendered>, DigestError> {
    if let Some(r) = shared
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(c)
    {
        return Ok(r.clone());
    }
    let r = Arc::new(
        Renderer {
            config: &shared.config,
            schedule: &shared.schedule,
            tera: &shared.tera,
            fire: shared.run.fire,
            run_id: shared.run.id,
        }
        .render(&shared.material, c, Audience::Subscriber)?,
    );
    let mut cache = shared.cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(c.clone(), r.clone());
    Ok(r)
}

/// The message of one row: deterministic, so a retry sends the same one.
pub fn message_id(run: &DigestRun, row_id: i64, domain: &str) -> String {
    format!(
        "digest.{}.{}.{}@{domain}",
        run.id,
        row_id,
        run.created_at.timestamp()
    )
}

async fn process(
    shared: &Shared,
    session: &mut crate::mail::transport::Session,
    work: Work,
) -> Outcome {
    let row = work.row;
    let id = row.id;
    let (Some(token), SubscriberStatus::Confirmed) = (work.token, row.status) else {
        return Outcome::Skipped {
            id,
            reason: format!("subscriber is {} now", row.status.as_str()),
        };
    };
    let composition =
        shared
            .material
            .compose(&row.topics, row.since, digest::limits(&shared.schedule));
    if composition.is_empty() {
        return Outcome::Skipped {
            id,
            reason: "nothing new since the last digest".into(),
        };
    }
    let rendered = match rendered(shared, &composition) {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed {
                id,
                error: e.to_string(),
                bounce: None,
            };
        }
    };
    let (html, text) = rendered.personalise(&token);
    let base = shared.config.site.base();
    let mail = OutgoingMail {
        to: row.email.clone(),
        subject: rendered.subject.clone(),
        text,
        html,
        message_id: message_id(&shared.run, id, shared.mailer.from_domain()),
        list_unsubscribe: Some(format!("{base}/unsubscribe/{token}")),
        list_id: Some(shared.list_id.clone()),
        extra_headers: Vec::new(),
    };
    shared.pacer.wait().await;
    if shared.abort.load(std::sync::atomic::Ordering::SeqCst) {
        return Outcome::Retry {
            id,
            next: shared.clock.now(),
            error: "not sent: the delivery pass failed".into(),
        };
    }
    match session.send(&mail).await {
        Ok(()) => Outcome::Sent { id },
        Err(SendError::Transient { reason }) => {
            let now = shared.clock.now();
            let give_up =
                Duration::from_std(shared.delivery.give_up_after).unwrap_or(Duration::hours(24));
            if now - shared.run.created_at >= give_up {
                Outcome::Failed {
                    id,
                    error: format!("gave up after {} tries: {reason}", row.attempts),
                    bounce: None,
                }
            } else {
                let attempts = row.attempts.saturating_sub(1);
                Outcome::Retry {
                    id,
                    next: now + crate::subscribers::queue::backoff(&shared.delivery, attempts),
                    error: reason,
                }
            }
        }
        Err(SendError::Permanent { reason }) => Outcome::Failed {
            id,
            error: reason,
            bounce: Some(row.subscriber_id),
        },
        Err(SendError::Invalid { reason }) => Outcome::Failed {
            id,
            error: reason,
            bounce: None,
        },
    }
}
