//! The daemon: store, templates, HTTP listener and scheduler, built from a
//! config and a clock. Tests build it the same way, on port 0.

use crate::config::{Config, DigestConfig};
use crate::delivery::{Deliverer, Options};
use crate::domain::Clock;
use crate::feeds::Scope;
use crate::http::{AppState, router};
use crate::ingest::{IngestReport, ingest_once};
use crate::scheduler::lease::Lease;
use crate::scheduler::{Job, JobFuture};
use crate::store::{self, Store};
use anyhow::Context as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub struct App {
    listener: TcpListener,
    state: AppState,
    mailer: crate::mail::Mailer,
}

impl App {
    /// Opens the store (applying migrations), loads templates, binds the
    /// listener. Nothing runs until `run_until_stopped`.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = store::connect(&config.store)
            .await
            .context("opening the store")?;
        let tera = crate::templates::load(&config.site.templates_dir)?;
        crate::telemetry::install_crypto();
        // Before anything records a metric.
        if crate::telemetry::metrics().is_none() {
            tracing::warn!("another metrics recorder is installed: /metrics answers 404");
        }
        let listener = TcpListener::bind(config.http.bind)
            .await
            .with_context(|| format!("http.bind: cannot listen on {}", config.http.bind))?;
        let mailer = crate::mail::Mailer::from_config(&config.mail).context("mail")?;
        let mut state = AppState::new(Arc::new(config), store, Arc::new(tera), clock);
        state.websub = crate::feeds::websub::Publisher::start(&state.config);
        Ok(Self {
            listener,
            state,
            mailer,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Ingests and builds once, then serves HTTP and runs the scheduler until
    /// `shutdown` completes; a job run in progress is finished first.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        let (stop_tx, stop_rx) = watch::channel(false);
        // Several instances may share the store: the one holding the lease
        // runs the jobs. A single instance takes it here, before its first run.
        let lease = Lease::new(
            state.store.clone(),
            state.clock.clone(),
            state.config.schedule.lease,
        );
        lease.renew().await;
        let leader = lease.watch();

        let ingest = ingest_job(&state, leader.clone());
        (ingest.run)(state.clock.now()).await;

        let deliverer = Deliverer {
            store: state.store.clone(),
            mailer: self.mailer.clone(),
            config: state.config.clone(),
            tera: state.tera.clone(),
            clock: state.clock.clone(),
        };
        // One digest delivery at a time in this process: a schedule's run
        // and the retry sweep never work on the same rows together.
        let delivering = Arc::new(tokio::sync::Mutex::new(()));
        let mut jobs = vec![ingest];
        for schedule in &state.config.digests {
            jobs.push(digest_job(
                &deliverer,
                schedule.clone(),
                delivering.clone(),
                leader.clone(),
                stop_rx.clone(),
            ));
        }
        let catch_ups: Vec<CatchUp> = jobs
            .iter()
            .filter_map(|j| {
                j.catch_up
                    .clone()
                    .map(|hook| (j.cron.clone(), j.timezone, hook))
            })
            .collect();
        // The lease outlives the jobs: it is given up once they have stopped.
        let (lease_stop_tx, lease_stop_rx) = watch::channel(false);
        let leasing = tokio::spawn(lease.run(lease_stop_rx));
        let taking_over = tokio::spawn(catch_up_on_takeover(
            leader,
            catch_ups,
            state.clock.clone(),
            stop_rx.clone(),
        ));
        let scheduler = tokio::spawn(crate::scheduler::run(
            jobs,
            state.clock.clone(),
            stop_rx.clone(),
        ));
        let sweeper = tokio::spawn(sweep_loop(
            deliverer,
            delivering,
            state.digest_wake.clone(),
            stop_rx.clone(),
        ));
        let mail_queue = tokio::spawn(crate::subscribers::queue::run(
            state.store.clone(),
            self.mailer,
            state.config.delivery.clone(),
            state.clock.clone(),
            state.subs.queued.clone(),
            stop_rx,
        ));
        tracing::info!(
            address = %self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            base_url = %state.config.site.base(),
            "serving"
        );
        let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down");
                let _ = stop_tx.send(true);
            })
            .await
            .context("serving HTTP")?;
        let _ = scheduler.await;
        let _ = mail_queue.await;
        let _ = sweeper.await;
        let _ = taking_over.await;
        // Last: the lease is given up once no job of this instance runs.
        let _ = lease_stop_tx.send(true);
        let _ = leasing.await;
        Ok(())
    }
}

/// Ingest then build, on `[schedule].ingest`. Rejections are logged when they
/// change, not at every scan.
///
/// Only the lease holder ingests files. Every instance keeps its own feeds
/// folder current: when the store's revision moved by more than this
/// instance's own ingest (a push to any instance, or another instance's
/// ingest), it rebuilds every feed.
fn ingest_job(state: &AppState, leader: watch::Receiver<bool>) -> Job {
    let config = state.config.clone();
    let store = state.store.clone();
    let clock = state.clock.clone();
    let last_rejected: Arc<Mutex<Vec<crate::ingest::Rejection>>> = Arc::default();
    // The hour of the last trending build; None before the first (full) build.
    let last_trending: Arc<Mutex<Option<i64>>> = Arc::default();
    // The store revision the feeds were last built from (pushes too).
    let built = state.built.clone();
    let websub = state.websub.clone();
    Job {
        catch_up: None,
        name: "ingest".into(),
        cron: config.schedule.ingest.clone(),
        timezone: config.site.timezone,
        run: Arc::new(move |_fire| -> JobFuture {
            let (config, store, clock, last) = (
                config.clone(),
                store.clone(),
                clock.clone(),
                last_rejected.clone(),
            );
            let (last_trending, built) = (last_trending.clone(), built.clone());
            let websub = websub.clone();
            let leading = *leader.borrow();
            Box::pin(async move {
                let started = std::time::Instant::now();
                let before = store.revision().await.ok();
                let report = if !leading {
                    None
                } else {
                    match ingest_once(store.as_ref(), &config, clock.as_ref()).await {
                        Ok(report) => {
                            log_rejections(&report, &last);
                            Some(report)
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "ingest failed");
                            None
                        }
                    }
                };
                let after = store.revision().await.ok();
                let now = clock.now();
                let ours = i64::from(report.as_ref().is_some_and(|r| r.wrote));
                // Every build here is full when it is not only ours.
                let foreign = built.advance(before, after, ours, true);
                let scope = if leading && !foreign {
                    scope_after(report.as_ref(), now, &last_trending)
                } else if foreign {
                    // Some other writer: this instance cannot tell what changed.
                    scope_after(None, now, &last_trending)
                } else {
                    scope_after(Some(&IngestReport::default()), now, &last_trending)
                };
                let written =
                    match crate::feeds::build_feeds(store.as_ref(), &config, now, &scope).await {
                        Ok(b) => {
                            if !b.written.is_empty() {
                                tracing::info!(written = ?b.written, "feeds written");
                                if let Some(w) = &websub {
                                    w.announce(&b.written);
                                }
                            }
                            b.written.len()
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "feed build failed");
                            0
                        }
                    };
                let seconds = started.elapsed().as_secs_f64();
                metrics::histogram!("feedletter_job_duration_seconds", "job" => "ingest")
                    .record(seconds);
                metrics::counter!("feedletter_feed_writes_total").increment(written as u64);
                if let Some(r) = &report {
                    metrics::counter!("feedletter_ingest_rejections_total")
                        .increment(r.rejected.len() as u64);
                    metrics::gauge!("feedletter_ingest_rejected_files")
                        .set(r.rejected.len() as f64);
                    for (change, n) in [
                        ("new", r.new.len()),
                        ("updated", r.updated.len()),
                        ("withdrawn", r.withdrawn.len()),
                    ] {
                        metrics::counter!("feedletter_ingest_changes_total", "change" => change)
                            .increment(n as u64);
                    }
                }
                // One summary line per run.
                tracing::info!(
                    job = "ingest",
                    leader = leading,
                    ok = !leading || report.is_some(),
                    new = report.as_ref().map_or(0, |r| r.new.len()),
                    updated = report.as_ref().map_or(0, |r| r.updated.len()),
                    withdrawn = report.as_ref().map_or(0, |r| r.withdrawn.len()),
                    rejected = report.as_ref().map_or(0, |r| r.rejected.len()),
                    feeds_written = written,
                    ms = (seconds * 1000.0) as u64,
                    "job finished"
                );
            })
        }),
    }
}

/// Retries due within this long are waited for by a schedule's run; later
/// ones are left to the sweep.
const RUN_WAITS_FOR_RETRIES: std::time::Duration = std::time::Duration::from_secs(60);

/// A `[[digest]]` schedule: at each fire time, create its run (or find it)
/// and deliver it. A fire time missed while the daemon was down is run at
/// start when younger than `[schedule].catch_up`, or when its run exists
/// already (it is then resumed); otherwise it is skipped and logged.
fn digest_job(
    deliverer: &Deliverer,
    schedule: DigestConfig,
    delivering: Arc<tokio::sync::Mutex<()>>,
    leader: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
) -> Job {
    let schedule = Arc::new(schedule);
    let fire = {
        let (deliverer, schedule, delivering, stop) = (
            deliverer.clone(),
            schedule.clone(),
            delivering.clone(),
            stop.clone(),
        );
        let leader = leader.clone();
        Arc::new(move |at: chrono::DateTime<chrono::Utc>| -> JobFuture {
            let (deliverer, schedule, delivering, stop) = (
                deliverer.clone(),
                schedule.clone(),
                delivering.clone(),
                stop.clone(),
            );
            let leading = *leader.borrow();
            Box::pin(async move {
                if !leading {
                    // The lease holder fires it; this instance helps deliver
                    // it through the sweep.
                    tracing::debug!(schedule = %schedule.name, fire = %at, "not the lease holder; not fired here");
                    return;
                }
                let _one_at_a_time = delivering.lock().await;
                let options = Options {
                    wait_for_retries: RUN_WAITS_FOR_RETRIES,
                    progress: None,
                };
                let started = std::time::Instant::now();
                let job = format!("digest:{}", schedule.name);
                let result = deliverer.fire(&schedule, at, &options, stop).await;
                let seconds = started.elapsed().as_secs_f64();
                metrics::histogram!("feedletter_job_duration_seconds", "job" => job.clone())
                    .record(seconds);
                match result {
                    Ok(r) => tracing::info!(
                        job = %job,
                        run = r.run_id,
                        fire = %at,
                        sent = r.sent,
                        skipped = r.skipped,
                        failed = r.failed,
                        retried = r.retried,
                        pending = r.counts.pending,
                        ms = (seconds * 1000.0) as u64,
                        "job finished"
                    ),
                    Err(e) => {
                        tracing::error!(job = %job, fire = %at, error = %e, "digest run failed");
                    }
                }
            })
        })
    };
    let catch_up = {
        let (deliverer, schedule, fire) = (deliverer.clone(), schedule.clone(), fire.clone());
        Arc::new(move |at: chrono::DateTime<chrono::Utc>| -> JobFuture {
            let (deliverer, schedule, fire) = (deliverer.clone(), schedule.clone(), fire.clone());
            let leading = *leader.borrow();
            Box::pin(async move {
                if !leading {
                    return;
                }
                let window = chrono::Duration::from_std(deliverer.config.schedule.catch_up)
                    .unwrap_or_default();
                let exists = match deliverer.store.latest_run(Some(&schedule.name)).await {
                    Ok(run) => run.is_some_and(|r| r.fire >= at),
                    Err(e) => {
                        tracing::error!(schedule = %schedule.name, error = %e, "cannot read digest runs");
                        return;
                    }
                };
                let age = deliverer.clock.now() - at;
                if exists {
                    return; // done, or resumed by the sweep
                }
                if age <= window {
                    tracing::info!(schedule = %schedule.name, fire = %at, "catching up a missed digest");
                    fire(at).await;
                } else {
                    tracing::warn!(
                        schedule = %schedule.name,
                        fire = %at,
                        age_minutes = age.num_minutes(),
                        "missed digest fire is older than schedule.catch_up; skipped"
                    );
                }
            })
        })
    };
    Job {
        name: format!("digest:{}", schedule.name),
        cron: schedule.cron.clone(),
        timezone: schedule.timezone,
        run: fire,
        catch_up: Some(catch_up),
    }
}

/// Every `[delivery].sweep`: retries that came due, runs another instance
/// fired, and runs left unfinished by a stopped process (including at start).
async fn sweep_loop(
    deliverer: Deliverer,
    delivering: Arc<tokio::sync::Mutex<()>>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let every = deliverer.config.delivery.sweep;
    loop {
        if let Ok(_one_at_a_time) = delivering.try_lock()
            && let Err(e) = deliverer.sweep(stop.clone()).await
        {
            tracing::error!(error = %e, "digest sweep");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = wake.notified() => {}
            () = crate::delivery::stopped(&mut stop) => return,
        }
    }
}

/// A job's catch-up hook with what finds its latest fire time.
type CatchUp = (
    crate::domain::schedule::CronLine,
    chrono_tz::Tz,
    Arc<dyn Fn(chrono::DateTime<chrono::Utc>) -> JobFuture + Send + Sync>,
);

/// When this instance takes the lease over from one that stopped, fire
/// times that passed while nobody held it are caught up as at start: each
/// job's hook decides (its run exists already, or it is young enough).
async fn catch_up_on_takeover(
    mut leader: watch::Receiver<bool>,
    jobs: Vec<CatchUp>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    // Held from the start: the scheduler's own start-up catch-up covers it.
    let mut held = *leader.borrow_and_update();
    loop {
        tokio::select! {
            changed = leader.changed() => if changed.is_err() { return },
            () = crate::delivery::stopped(&mut stop) => return,
        }
        let now_held = *leader.borrow_and_update();
        if now_held && !held {
            let now = clock.now();
            for (cron, tz, hook) in &jobs {
                if let Some(missed) = cron.last_fire(now, *tz) {
                    hook(missed).await;
                }
            }
        }
        held = now_held;
    }
}

/// What to rebuild after an ingest: everything the first time; then the
/// feeds its changes touched, and the trending feed and OPML index once an
/// hour (the trending window slides with time).
fn scope_after(
    report: Option<&IngestReport>,
    now: chrono::DateTime<chrono::Utc>,
    last_trending: &Mutex<Option<i64>>,
) -> Scope {
    let hour = now.timestamp().div_euclid(3600);
    let mut last = last_trending.lock().unwrap_or_else(|p| p.into_inner());
    let scope = match (report, *last) {
        (Some(r), Some(prev)) => Scope::Changed {
            main: r.changed(),
            topics: r.topics_changed.clone(),
            // Trending moves with the hour, not with each article: computing
            // it reads every topic occurrence.
            trending: prev != hour,
        },
        _ => Scope::All,
    };
    *last = Some(hour);
    scope
}

fn log_rejections(report: &IngestReport, last: &Mutex<Vec<crate::ingest::Rejection>>) {
    if report.changed() {
        tracing::info!(
            new = report.new.len(),
            updated = report.updated.len(),
            withdrawn = report.withdrawn.len(),
            rejected = report.rejected.len(),
            "ingest"
        );
    }
    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
    if *last != report.rejected {
        for r in &report.rejected {
            tracing::warn!(file = %r.file, error = %r.error, "article rejected; its last good version stays published");
        }
        for w in &report.warnings {
            tracing::warn!(file = %w.file, warning = %w.error, "article");
        }
        *last = report.rejected.clone();
    }
}
