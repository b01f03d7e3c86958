//! `POST /webhooks/{provider}`: bounces and complaints from `ses` (through
//! SNS), `postmark`, `sendgrid` and `mailgun`, each authenticated as the
//! provider documents (see `bounces::webhook_auth`). A provider whose
//! secret is not configured has no endpoint (404). Answers 200 once every
//! event is recorded, so that the provider stops retrying; 503 when the
//! store could not record them, so that it retries.

use crate::bounces::{Inbox, Origin, Outcome, providers, webhook_auth};
use crate::http::AppState;
use crate::subscribers::tokens::constant_time_eq;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The custom header that may carry the shared secret (Postmark lets a
/// webhook send headers of one's choosing).
pub const SECRET_HEADER: &str = "x-feedletter-secret";

/// Largest webhook post: SendGrid batches events, SES may include headers.
pub const WEBHOOK_LIMIT: usize = 4 * 1024 * 1024;

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut r = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"feedletter webhooks\""),
        );
    }
    r
}

/// `POST /webhooks/{provider}`: authenticates, reads the provider's JSON
/// and records each event.
pub async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Authenticated before anything else is done for the request.
    if let Err((status, why)) = authenticate(&state, &provider, query.as_deref(), &headers, &body) {
        return refuse(status, why);
    }
    let inbox = match Inbox::new(state.store.clone(), &state.config, state.clock.clone()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "webhook: store unavailable");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "store unavailable; retry");
        }
    };
    let batch = match provider.as_str() {
        "ses" => providers::ses(&body, inbox.verp()),
        "postmark" => providers::postmark(&body),
        "sendgrid" => providers::sendgrid(&body),
        "mailgun" => providers::mailgun(&body),
        _ => return refuse(StatusCode::NOT_FOUND, "unknown provider"),
    };
    let batch = match batch {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(%provider, error = %e, "webhook post not understood");
            return refuse(StatusCode::BAD_REQUEST, &e);
        }
    };
    if let Some((topic, url)) = &batch.confirm {
        // Confirming means fetching the URL from AWS; the daemon makes no
        // such request on a post's word: the operator opens it once.
        tracing::warn!(%topic, subscribe_url = %url, "SNS subscription waiting: open the SubscribeURL once (or confirm it in the SNS console) to receive SES notifications");
        return (
            StatusCode::OK,
            Json(json!({ "subscription": "pending", "topic": topic, "confirm_by_opening": url })),
        )
            .into_response();
    }
    let source = format!("webhook:{provider}");
    let (mut recorded, mut ignored) = (0u64, batch.ignored.len() as u64);
    for event in batch.events {
        let origin = Origin {
            source: source.clone(),
            event_id: event.event_id,
        };
        match inbox
            .apply(
                event.target,
                event.kind,
                event.status,
                event.reason,
                &origin,
            )
            .await
        {
            Ok(Outcome::Recorded { .. }) => recorded += 1,
            Ok(Outcome::Ignored(why)) => {
                tracing::info!(%provider, %why, "webhook event not acted on");
                ignored += 1;
            }
            Err(e) => {
                tracing::error!(%provider, error = %e, "webhook event not recorded; the provider will retry");
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "store unavailable; retry");
            }
        }
    }
    (
        StatusCode::OK,
        Json(json!({ "recorded": recorded, "ignored": ignored })),
    )
        .into_response()
}

/// Whether the post comes from `provider`, as it documents proving it:
/// the status and reason to refuse it with when not (404 for a provider
/// without a configured secret or an unknown one, 401 or 403).
fn authenticate(
    state: &AppState,
    provider: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (StatusCode, &'static str)> {
    let config = &state.config.bounces;
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let now = state.clock.now().timestamp();
    let not_set = || (StatusCode::NOT_FOUND, "this webhook is not configured");
    let check = |ok: bool, status: StatusCode, message: &'static str| {
        if ok { Ok(()) } else { Err((status, message)) }
    };
    let unauthorised = StatusCode::UNAUTHORIZED;
    match provider {
        "ses" => {
            let secret = config.webhook_secret.as_deref().ok_or_else(not_set)?;
            check(
                webhook_auth::shared_secret(auth, query, secret),
                unauthorised,
                "authentication failed",
            )
        }
        "postmark" => {
            // Postmark puts basic auth credentials in the webhook URL, or
            // sends custom headers set with the webhook.
            let secret = config.webhook_secret.as_deref().ok_or_else(not_set)?;
            let header = headers
                .get(SECRET_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| constant_time_eq(v.trim().as_bytes(), secret.as_bytes()));
            check(
                header || webhook_auth::basic(auth, secret),
                unauthorised,
                "authentication failed",
            )
        }
        "sendgrid" => match (&config.sendgrid_public_key, &config.webhook_secret) {
            (Some(key), _) => {
                let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let signed = match (
                    h("x-twilio-email-event-webhook-signature"),
                    h("x-twilio-email-event-webhook-timestamp"),
                ) {
                    (Some(sig), Some(ts)) => webhook_auth::sendgrid(key, ts, body, sig, now),
                    _ => false,
                };
                check(signed, StatusCode::FORBIDDEN, "signature does not verify")
            }
            (None, Some(secret)) => check(
                webhook_auth::basic(auth, secret),
                unauthorised,
                "authentication failed",
            ),
            (None, None) => Err(not_set()),
        },
        "mailgun" => {
            let key = config.mailgun_signing_key.as_deref().ok_or_else(not_set)?;
            let signed = providers::mailgun_signature(body).is_ok_and(|s| {
                webhook_auth::mailgun(key, &s.timestamp, &s.token, &s.signature, now)
            });
            check(signed, StatusCode::FORBIDDEN, "signature does not verify")
        }
        _ => Err((StatusCode::NOT_FOUND, "unknown provider")),
    }
}
