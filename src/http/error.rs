//! Page errors: each variant maps to one status code and a plain page.

use super::state::AppState;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A response rendered with the site's error template where possible.
    pub fn into_page(self, state: &AppState) -> Response {
        let status = self.status();
        if let Self::Unexpected(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let (heading, message) = match status {
            StatusCode::NOT_FOUND => ("Not found", "There is nothing at this address."),
            _ => (
                "Something went wrong",
                "The error has been logged. Please try again later.",
            ),
        };
        let mut ctx = super::routes::pages::site_context(state);
        ctx.insert("status", &status.as_u16());
        ctx.insert("heading", heading);
        ctx.insert("message", message);
        match crate::templates::render(&state.tera, "pages/error.html", &ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                (status, heading).into_response()
            }
        }
    }
}
