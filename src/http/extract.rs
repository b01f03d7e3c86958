//! Extractors that stand for a check: the admin's bearer token, the
//! subscriber behind a manage link, a query string the admin API reads.

use super::error::{ApiError, PageError};
use super::state::AppState;
use crate::domain::Subscriber;
use crate::subscribers::tokens;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// Proof that the request carries `Authorization: Bearer
/// $FEEDLETTER_ADMIN_TOKEN`. Without the variable the admin API does not
/// exist: 404; with it, a missing or wrong token gets 401.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.config.http.admin_token.as_deref() else {
            return Err(ApiError::not_found("not found"));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match given {
            Some(g) if tokens::constant_time_eq(g.as_bytes(), expected.as_bytes()) => Ok(Self),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// The subscriber whose unsubscribe or preferences link (`{token}`) this
/// is. Any token we do not know gets the same 404 page.
#[derive(Debug, Clone)]
pub struct ManageToken {
    pub token: String,
    pub subscriber: Subscriber,
}

impl ManageToken {
    /// The lookup itself, for handlers that must check their form before
    /// they look at the token.
    pub async fn resolve(state: &AppState, token: String) -> Result<Self, PageError> {
        match state.subs.manage(&token).await? {
            Some(subscriber) => Ok(Self { token, subscriber }),
            None => Err(PageError::UnknownLink),
        }
    }
}

impl FromRequestParts<AppState> for ManageToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(token) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Self::resolve(state, token)
            .await
            .map_err(IntoResponse::into_response)
    }
}

/// A query string for the admin API: a bad one gets a JSON 400 naming the
/// parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}
