//! The transactional mail queue: confirmation, welcome and notice mails are
//! written to the store by the request that causes them and sent here, so
//! that a request never waits on SMTP and a crash loses nothing queued.

use crate::config::DeliveryConfig;
use crate::domain::Clock;
use crate::mail::{Mailer, OutgoingMail, SendError};
use crate::store::Store;
use chrono::Duration;
use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct QueueReport {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
}

/// The wait before attempt `attempts + 1`: doubling from `retry_initial`,
/// at most `retry_max`.
pub fn backoff(delivery: &DeliveryConfig, attempts: u32) -> Duration {
    let initial = Duration::from_std(delivery.retry_initial).unwrap_or(Duration::minutes(1));
    let max = Duration::from_std(delivery.retry_max).unwrap_or(Duration::hours(1));
    let factor = 1i32.checked_shl(attempts.min(20)).unwrap_or(i32::MAX);
    (initial * factor).min(max)
}

/// Sends every message due now, once. Transient failures are retried with
/// backoff until `give_up_after`; permanent ones drop the message and mark
/// the address bounced.
pub async fn deliver_due(
    store: &dyn Store,
    mailer: &Mailer,
    delivery: &DeliveryConfig,
    clock: &dyn Clock,
) -> Result<QueueReport, crate::store::StoreError> {
    let mut report = QueueReport::default();
    loop {
        let now = clock.now();
        // Claimed for as long as a digest row would be: another instance
        // leaves it alone meanwhile. One at a time, since each is sent and
        // removed before the next: a crash then holds back only the
        // message that was on the wire, not a batch nobody is sending.
        let hold = Duration::from_std(delivery.claim_timeout).unwrap_or(Duration::minutes(10));
        let due = store.claim_mail(now, now + hold, 1).await?;
        if due.is_empty() {
            return Ok(report);
        }
        for row in due {
            let mail: OutgoingMail = match serde_json::from_str(&row.message) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(id = row.id, error = %e, "queued mail unreadable; dropped");
                    store.remove_mail(row.id).await?;
                    report.failed += 1;
                    continue;
                }
            };
            match mailer.send(&mail).await {
                Ok(()) => {
                    store.remove_mail(row.id).await?;
                    crate::telemetry::count_mail(row.kind.as_str(), "sent", "accepted");
                    tracing::info!(kind = %row.kind, subscriber = ?row.subscriber_id, "mail sent");
                    report.sent += 1;
                }
                Err(SendError::Transient { reason }) => {
                    let give_up =
                        Duration::from_std(delivery.give_up_after).unwrap_or(Duration::days(3));
                    if now - row.created_at >= give_up {
                        tracing::warn!(kind = %row.kind, subscriber = ?row.subscriber_id, %reason, "mail failed for too long; dropped");
                        crate::telemetry::count_mail(row.kind.as_str(), "failed", "gave_up");
                        store.remove_mail(row.id).await?;
                        report.failed += 1;
                    } else {
                        let next = now + backoff(delivery, row.attempts);
                        tracing::warn!(kind = %row.kind, subscriber = ?row.subscriber_id, %reason, retry_at = %next, "mail will be retried");
                        crate::telemetry::count_mail(row.kind.as_str(), "retried", "temporary");
                        store.retry_mail(row.id, next, &reason).await?;
                        report.retried += 1;
                    }
                }
                Err(SendError::Invalid { reason }) => {
                    tracing::error!(kind = %row.kind, subscriber = ?row.subscriber_id, %reason, "queued mail cannot be built; dropped");
                    crate::telemetry::count_mail(row.kind.as_str(), "failed", "invalid");
                    store.remove_mail(row.id).await?;
                    report.failed += 1;
                }
                Err(SendError::Permanent { reason }) => {
                    tracing::warn!(kind = %row.kind, subscriber = ?row.subscriber_id, %reason, "mail refused for good");
                    crate::telemetry::count_mail(row.kind.as_str(), "failed", "rejected");
                    store.remove_mail(row.id).await?;
                    if let Some(id) = row.subscriber_id {
                        store.record_bounce(id, now).await?;
                    }
                    report.failed += 1;
                }
            }
        }
    }
}
