//! Logs through `tracing`: human lines by default, JSON with
//! `--log-format json`; the level from `RUST_LOG` (default info).

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: ignore the error.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Installs ring as the process's rustls provider (reqwest needs one; lettre
/// brings its own). Harmless when one is installed already.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The process's Prometheus recorder, installed on first use. Metrics are
/// process-wide (the `metrics` facade has one global recorder); `None` when
/// another recorder was installed first.
pub fn metrics() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Mails by kind (`digest`, `confirm`, ...), result (`sent`, `retried`,
/// `failed`, `skipped`) and a coarse reason.
pub fn count_mail(kind: &str, result: &'static str, reason: &'static str) {
    metrics::counter!("feedletter_mails_total", "kind" => kind.to_owned(), "result" => result, "reason" => reason)
        .increment(1);
}

/// Bounce and complaint reports by source (`smtp`, `maildir`,
/// `webhook:<provider>`), kind (`hard`, `soft`, `complaint`) and result
/// (`recorded`, `duplicate`, `unknown`).
pub fn count_bounce(source: &str, kind: &'static str, effect: &crate::store::BounceEffect) {
    use crate::store::BounceEffect;
    let result = match effect {
        BounceEffect::Recorded { .. } => "recorded",
        BounceEffect::Duplicate => "duplicate",
        BounceEffect::UnknownSubscriber => "unknown",
    };
    metrics::counter!("feedletter_bounces_total", "source" => source.to_owned(), "kind" => kind, "result" => result)
        .increment(1);
}
