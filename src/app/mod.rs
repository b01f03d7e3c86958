//! The daemon: store, templates, HTTP listener and background work (the
//! scheduler and its jobs, the content folder's watcher, the digest sweep,
//! the mail queue), built from a
//! config and a clock. Tests build it the same way, on port 0.
//!
//! Shutdown has one home: the token `App` holds. Cancelling it stops the
//! scheduler's waits, the sweep, the mail queue and any delivery pass's
//! claiming; work in progress finishes first.

mod background;
mod bounces;
mod digest_job;
mod ingest_job;
mod watch;

pub use background::Background;

use crate::config::Config;
use crate::delivery::instance::Instance;
use crate::domain::Clock;
use crate::http::{AppState, router};
use crate::scheduler::Timing;
use crate::scheduler::lease::Lease;
use crate::store::{self, Store};
use anyhow::Context as _;
use axum::serve::ListenerExt;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct App {
    listener: TcpListener,
    state: AppState,
    lease: Lease,
    background: Background,
    /// The bounce listener and folder (`[bounces]`).
    inbound: bounces::Inbound,
    instance: Instance,
    /// Cancelled when the daemon is asked to stop.
    shutdown: CancellationToken,
}

/// How often the feeds served from memory are checked against the folder
/// for changes no build of this process reported.
const REVALIDATE_FEEDS: std::time::Duration = std::time::Duration::from_secs(2);

/// The daemon's jobs and when they run, for `feedletter schedule`.
pub fn timings(config: &Config) -> Vec<Timing> {
    let mut timings = vec![ingest_job::timing(config)];
    timings.extend(config.digests.iter().map(digest_job::timing));
    timings
}

impl App {
    /// Opens the store (applying migrations), loads templates, binds the
    /// listener. Nothing runs on its own until `run_until_stopped`.
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
        crate::bounces::verp::prepare(store.as_ref(), &mailer, &config.bounces)
            .await
            .context("the VERP key")?;
        let inbound = bounces::Inbound::build(&config, &store, &clock).await?;
        let websub = crate::feeds::websub::Publisher::start(&config);
        let state = AppState::new(Arc::new(config), store, Arc::new(tera), clock, websub);
        // Several instances may share the store: the one holding the lease
        // runs the jobs.
        let lease = Lease::new(
            state.store.clone(),
            state.clock.clone(),
            state.config.schedule.lease,
        );
        let shutdown = CancellationToken::new();
        // This process in `instances`: the digest rows it claims name it,
        // and its heartbeat tells the others it is alive.
        let instance = Instance::register(state.store.clone(), state.clock.clone(), "daemon")
            .await
            .context("registering this process in the store")?;
        let background = Background::new(
            &state,
            &mailer,
            lease.watch(),
            instance.clone(),
            shutdown.clone(),
        );
        Ok(Self {
            listener,
            state,
            lease,
            background,
            inbound,
            instance,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Where the bounce listener (`bounces.listen`) accepts mail, if set.
    pub fn bounce_addr(&self) -> Option<std::net::SocketAddr> {
        self.inbound.addr()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// A handle on the daemon's background work, to drive it directly (see
    /// `Background`); it stays usable while the daemon runs.
    pub fn background(&self) -> Background {
        self.background.clone()
    }

    /// Takes the lease, starts watching the content folder, ingests and
    /// builds once, then serves HTTP and runs the background work until
    /// `shutdown` completes. Work in progress then
    /// is finished first, and each job's start-up catch-up has been decided
    /// by the time this returns; the lease is given up last.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            lease,
            background,
            inbound,
            instance,
            shutdown: stop,
        } = self;
        // A single instance takes the lease here, before its first run, and
        // keeps it renewed from now on: a first ingest can outlast it. The
        // lease outlives the jobs: it is given up once they have stopped.
        lease.renew().await;
        let leader = lease.watch();
        let lease_stop = CancellationToken::new();
        let leasing = tokio::spawn(lease.run(lease_stop.clone()));
        // The heartbeat outlives the delivery passes: it stops after them.
        let beating = tokio::spawn(
            instance
                .clone()
                .beat_until(state.config.delivery.heartbeat, lease_stop.clone()),
        );
        let watcher = background.watch_content();
        background.ingest().await;
        release_freed_memory();
        let clock = state.clock.clone();
        let jobs = background.jobs();
        let mut loops = vec![
            tokio::spawn(crate::scheduler::catch_up_on_takeover(
                leader,
                jobs.clone(),
                clock.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::scheduler::run(jobs, clock, stop.clone())),
            tokio::spawn(
                background
                    .delivery()
                    .sweep_until_stopped(state.digest_wake.clone()),
            ),
            tokio::spawn(background.clone().send_mail_until_stopped()),
            tokio::spawn(
                state
                    .served
                    .clone()
                    .revalidate_until(REVALIDATE_FEEDS, stop.clone()),
            ),
        ];
        loops.extend(inbound.start(&state.config, &stop));
        if !state.config.sources.is_empty() {
            loops.push(tokio::spawn(
                background.clone().poll_sources_until_stopped(),
            ));
        }
        if let Some(watcher) = watcher {
            loops.push(tokio::spawn(
                background.clone().wake_ingest_until_stopped(watcher),
            ));
        }
        tracing::info!(
            address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            base_url = %state.config.site.base(),
            "serving"
        );
        let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let stopping = stop.clone();
        // Without Nagle's algorithm, as nginx serves keep-alive
        // connections: a response's last partial segment goes out at once
        // instead of waiting for the reader's ACK of the ones before it.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down");
                stopping.cancel();
            })
            .await;
        // Also when serving failed: nothing of this instance runs on.
        stop.cancel();
        for task in loops {
            let _ = task.await;
        }
        lease_stop.cancel();
        let _ = leasing.await;
        let _ = beating.await;
        instance.deregister().await;
        served.context("serving HTTP")
    }
}

/// Hands the memory the first ingest freed back to the system. A cold
/// ingest of 10,000 articles parses on every core, and glibc keeps what
/// each thread's arena freed: about 50 MB of the daemon's resident memory
/// for the rest of its life (see BENCHMARKS.md, "Feed serving").
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own
    // heaps to the kernel; it touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
