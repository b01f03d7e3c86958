//! Request counts for routes that skip the `track` layer.

/// The request counter of `/metrics` for a route that skips the `track`
/// layer (feed polls, the landing page): the same series, through handles
/// registered once instead of looked up with new strings per request.
pub struct RouteCounter {
    route: &'static str,
    handles: std::sync::OnceLock<Vec<metrics::Counter>>,
}

impl RouteCounter {
    const STATUSES: [u16; 6] = [200, 304, 404, 429, 500, 503];

    pub const fn new(route: &'static str) -> Self {
        Self {
            route,
            handles: std::sync::OnceLock::new(),
        }
    }

    /// Counts `response` (by method and status) and returns it.
    pub fn count(
        &self,
        method: &axum::http::Method,
        response: axum::response::Response,
    ) -> axum::response::Response {
        let handles = self.handles.get_or_init(|| {
            // The recorder is installed on first use: before the handles.
            let _ = crate::telemetry::metrics();
            ["GET", "HEAD"]
                .iter()
                .flat_map(|m| {
                    Self::STATUSES.iter().map(move |s| {
                        metrics::counter!("feedletter_http_requests_total",
                            "route" => self.route, "method" => *m, "status" => s.to_string())
                    })
                })
                .collect()
        });
        let status = response.status().as_u16();
        match Self::STATUSES.iter().position(|s| *s == status) {
            Some(i) => {
                let m = usize::from(method == axum::http::Method::HEAD);
                handles[m * Self::STATUSES.len() + i].increment(1);
            }
            None => metrics::counter!("feedletter_http_requests_total",
                "route" => self.route, "method" => method.as_str().to_owned(),
                "status" => status.to_string())
            .increment(1),
        }
        response
    }
}
