//! What a request can fail with. Page errors answer with a page of the
//! site (rendered by the layer in `page`); API errors answer with JSON
//! `{"error": "..."}`. Each variant has one status code.

use super::page::Page;
use crate::ingest::api::PushError;
use crate::subscribers::SubscribeError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The forms a visitor sends, for the answer to one that has expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Subscribe,
    Confirm,
    Unsubscribe,
    Preferences,
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    /// A link token we do not know, forged or expired: the same answer for
    /// all, so that it gives nothing away.
    #[error("unknown link")]
    UnknownLink,
    /// A form without the CSRF token of the visitor's cookie.
    #[error("expired form")]
    ExpiredForm(Form),
    /// A form field that cannot be accepted; the message names it.
    #[error("{0}")]
    BadForm(String),
    /// Too many sign-ups from one address: the seconds to wait.
    #[error("too many requests")]
    TooManyRequests(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<SubscribeError> for PageError {
    fn from(e: SubscribeError) -> Self {
        if e.is_request_error() {
            Self::BadForm(e.to_string())
        } else {
            Self::Unexpected(anyhow::anyhow!("{e}"))
        }
    }
}

impl From<crate::templates::TemplateError> for PageError {
    fn from(e: crate::templates::TemplateError) -> Self {
        Self::Unexpected(e.into())
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Unexpected(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = match self {
            Self::NotFound => Page::not_found(),
            Self::Unexpected(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                Page::failure()
            }
            Self::UnknownLink => Page::message(
                StatusCode::NOT_FOUND,
                "This link does not work",
                "It may have expired or been copied incompletely. You can subscribe again from the front page.",
            )
            .link_home("The front page"),
            Self::ExpiredForm(form) => expired(form),
            Self::BadForm(message) => {
                Page::message(StatusCode::BAD_REQUEST, "Please check the form", message)
                    .link_home("Back to the form")
            }
            Self::TooManyRequests(wait) => {
                let page = Page::message(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    "Too many sign-ups came from your network in the last minute. Please wait a minute and try again.",
                );
                return retry_after(page.into_response(), wait);
            }
        };
        page.into_response()
    }
}

/// The answer to a form without a valid CSRF token: how to get a fresh
/// form depends on where it came from.
fn expired(form: Form) -> Page {
    let status = StatusCode::FORBIDDEN;
    match form {
        Form::Subscribe => Page::message(
            status,
            "Please try again",
            "This form had expired or did not come from our page. Reload the front page and send it again.",
        )
        .link_home("The front page"),
        Form::Unsubscribe => Page::message(
            status,
            "Please try again",
            "This form had expired. Open the unsubscribe link from the mail again.",
        ),
        Form::Confirm => Page::message(
            status,
            "Please try again",
            "This form had expired. Open the confirmation link from the mail again and press the button.",
        ),
        Form::Preferences => Page::message(
            status,
            "Please try again",
            "This form had expired. Reload the page and save again.",
        ),
    }
}

fn retry_after(mut response: Response, seconds: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// An error of the JSON API (the admin API, and the subscribe route when
/// it is sent JSON).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An answer with this status and a message that says what was wrong.
    #[error("{1}")]
    Status(StatusCode, String),
    /// A pushed article that cannot be taken, with the field at fault.
    #[error("{message}")]
    Field {
        status: StatusCode,
        message: String,
        field: Option<String>,
    },
    /// The admin API without its bearer token.
    #[error("unauthorized")]
    Unauthorized,
    /// Too many sign-ups from one address: the seconds to wait.
    #[error("too many requests")]
    TooManyRequests(u64),
    /// Logged as it is; the client is told to look at the log.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Status(StatusCode::BAD_REQUEST, message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Status(StatusCode::NOT_FOUND, message.into())
    }

    /// A failure of the server's own, logged when answered.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<SubscribeError> for ApiError {
    fn from(e: SubscribeError) -> Self {
        if e.is_request_error() {
            Self::bad_request(e.to_string())
        } else {
            Self::internal(e)
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        let status = match &e {
            PushError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PushError::Conflict(_) => StatusCode::CONFLICT,
            PushError::NotFound(_) => StatusCode::NOT_FOUND,
            PushError::Ingest(_) | PushError::Store(_) => return Self::internal(e),
        };
        Self::Field {
            status,
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Status(status, message) => json_error(status, &message),
            Self::Field {
                status,
                message,
                field,
            } => (status, Json(json!({ "error": message, "field": field }))).into_response(),
            Self::Unauthorized => {
                let mut r =
                    json_error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"feedletter admin\""),
                );
                r
            }
            Self::TooManyRequests(wait) => retry_after(
                json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many requests from this address; try again later",
                ),
                wait,
            ),
            Self::Internal(e) => {
                tracing::error!(error = %e, "admin API");
                json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}
