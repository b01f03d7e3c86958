//! `run` (the daemon until SIGINT or SIGTERM) and `migrate`.

use crate::config::Config;
use crate::domain::Clock;
use std::process::ExitCode;
use std::sync::Arc;

pub(super) async fn run(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    // Before the build: a signal during start-up still stops the daemon.
    let stop = shutdown_signal();
    let app = crate::App::build(config, clock).await?;
    app.run_until_stopped(stop).await?;
    Ok(ExitCode::SUCCESS)
}

/// Connecting applies the migrations the store lacks.
pub(super) async fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    crate::store::connect(&config.store).await?;
    println!("migrations applied");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// during start-up (the first ingest) is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                // No Unix handlers (out of descriptors, say): Ctrl-C at least.
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
