use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;

/// 200 when the store answers and its migrations are applied: ready for
/// traffic. 503 otherwise, with the reason.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n"))
        }
    }
}

/// Prometheus text format. Gauges read from the store (articles, outbox
/// depth) are taken at scrape time.
pub async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(handle) = crate::telemetry::metrics() else {
        return (StatusCode::NOT_FOUND, "metrics recorder not installed\n").into_response();
    };
    if let Ok((published, withdrawn)) = state.store.article_counts().await {
        metrics::gauge!("feedletter_articles", "state" => "published").set(published as f64);
        metrics::gauge!("feedletter_articles", "state" => "withdrawn").set(withdrawn as f64);
    }
    if let Ok(n) = state.store.digest_outbox_depth().await {
        metrics::gauge!("feedletter_outbox_depth", "queue" => "digest").set(n as f64);
    }
    if let Ok(n) = state.store.mail_queue_depth().await {
        metrics::gauge!("feedletter_outbox_depth", "queue" => "transactional").set(n as f64);
    }
    handle.run_upkeep();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Counts every request by route (the matched pattern, not the raw path)
/// and status, and times it.
pub async fn track(
    matched: Option<axum::extract::MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("feedletter_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("feedletter_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// 200 when the store answers, 503 when it does not.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
    }
}
