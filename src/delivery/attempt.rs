//! What one attempt at an outbox row came to. Reasons are kept as values
//! until they reach the edges: the store's row (a message for
//! `digest status`), the pass's report and the mail metrics.

use super::Report;
use crate::domain::SubscriberStatus;
use crate::store::OutboxOutcome;
use chrono::{DateTime, Utc};

/// The result of one claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The transport accepted the message.
    Sent,
    /// No message for this subscriber in this run.
    Skipped(Skip),
    /// A temporary failure: the row is tried again from `next`.
    Retry { next: DateTime<Utc>, reason: String },
    /// Never handed to the transport: pending again, due from `at`.
    Unsent { at: DateTime<Utc>, why: Unsent },
    /// For good.
    Failed(Failure),
}

/// Why a row gets no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The subscriber left (or bounced) after the run was created.
    NotConfirmed(SubscriberStatus),
    /// Nothing was published for them since their last digest.
    NothingNew,
}

/// Why a claimed row was put back without being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// The sender was asked to stop before the row's turn came.
    Stopped,
    /// The pass failed (its results could not be stored): nothing more is
    /// sent that could not be recorded.
    PassFailed,
}

/// Why a row failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server refused the address (a 5xx): a hard bounce.
    Rejected(String),
    /// Transient failures went on past `delivery.give_up_after`.
    GaveUp { attempts: u32, reason: String },
    /// The message could not be built or rendered.
    Invalid(String),
}

impl Skip {
    /// The row's error text, as `digest status` shows it.
    pub fn message(&self) -> String {
        match self {
            Self::NotConfirmed(status) => format!("subscriber is {} now", status.as_str()),
            Self::NothingNew => "nothing new since the last digest".to_owned(),
        }
    }

    /// The `reason` label of `feedletter_mail_total`.
    fn label(&self) -> &'static str {
        match self {
            Self::NotConfirmed(_) => "not_confirmed",
            Self::NothingNew => "nothing_new",
        }
    }
}

impl Unsent {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Stopped => "not sent: the sender stopped",
            Self::PassFailed => "not sent: the delivery pass failed",
        }
    }
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Self::Rejected(reason) | Self::Invalid(reason) => reason.clone(),
            Self::GaveUp { attempts, reason } => {
                format!("gave up after {attempts} tries: {reason}")
            }
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Rejected(_) => "rejected",
            Self::GaveUp { .. } | Self::Invalid(_) => "gave_up_or_invalid",
        }
    }
}

impl Attempt {
    /// What the store records for row `id` of `subscriber`.
    pub fn to_store(&self, id: i64, subscriber: i64) -> OutboxOutcome {
        match self {
            Self::Sent => OutboxOutcome::Sent { id },
            Self::Skipped(skip) => OutboxOutcome::Skipped {
                id,
                reason: skip.message(),
            },
            Self::Retry { next, reason } => OutboxOutcome::Retry {
                id,
                next: *next,
                error: reason.clone(),
            },
            Self::Unsent { at, why } => OutboxOutcome::Retry {
                id,
                next: *at,
                error: why.message().to_owned(),
            },
            Self::Failed(failure) => OutboxOutcome::Failed {
                id,
                error: failure.message(),
                bounce: matches!(failure, Failure::Rejected(_)).then_some(subscriber),
            },
        }
    }

    /// Whether the row was tried: a row put back unsent is not progress.
    pub fn was_tried(&self) -> bool {
        !matches!(self, Self::Unsent { .. })
    }
}

impl Report {
    /// Counts `attempt` in this pass's report and in the mail metrics.
    pub(super) fn tally(&mut self, attempt: &Attempt) {
        use crate::telemetry::count_mail;
        match attempt {
            Attempt::Sent => {
                self.sent += 1;
                count_mail("digest", "sent", "accepted");
            }
            Attempt::Skipped(skip) => {
                self.skipped += 1;
                count_mail("digest", "skipped", skip.label());
            }
            Attempt::Failed(failure) => {
                self.failed += 1;
                count_mail("digest", "failed", failure.label());
            }
            Attempt::Retry { .. } => {
                self.retried += 1;
                count_mail("digest", "retried", "temporary");
            }
            // Not an attempt at sending: no metric.
            Attempt::Unsent { .. } => self.released += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_gets_the_messages_it_always_had_and_bounces_only_on_a_refusal() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let cases = [
            (
                Attempt::Skipped(Skip::NotConfirmed(SubscriberStatus::Unsubscribed)),
                OutboxOutcome::Skipped {
                    id: 1,
                    reason: "subscriber is unsubscribed now".into(),
                },
            ),
            (
                Attempt::Skipped(Skip::NothingNew),
                OutboxOutcome::Skipped {
                    id: 1,
                    reason: "nothing new since the last digest".into(),
                },
            ),
            (
                Attempt::Unsent {
                    at,
                    why: Unsent::Stopped,
                },
                OutboxOutcome::Retry {
                    id: 1,
                    next: at,
                    error: "not sent: the sender stopped".into(),
                },
            ),
            (
                Attempt::Failed(Failure::GaveUp {
                    attempts: 4,
                    reason: "451 busy".into(),
                }),
                OutboxOutcome::Failed {
                    id: 1,
                    error: "gave up after 4 tries: 451 busy".into(),
                    bounce: None,
                },
            ),
            (
                Attempt::Failed(Failure::Rejected("550 no such user".into())),
                OutboxOutcome::Failed {
                    id: 1,
                    error: "550 no such user".into(),
                    bounce: Some(7),
                },
            ),
        ];
        for (attempt, expected) in cases {
            assert_eq!(attempt.to_store(1, 7), expected, "{attempt:?}");
        }
    }

    #[test]
    fn a_row_put_back_unsent_counts_as_released_not_retried() {
        let mut report = Report::default();
        report.tally(&Attempt::Unsent {
            at: DateTime::<Utc>::UNIX_EPOCH,
            why: Unsent::Stopped,
        });
        report.tally(&Attempt::Retry {
            next: DateTime::<Utc>::UNIX_EPOCH,
            reason: "451".into(),
        });
        assert_eq!((report.released, report.retried), (1, 1));
    }
}
