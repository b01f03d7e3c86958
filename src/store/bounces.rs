//! The bounce half of the store: reports of bounces and complaints that
//! came back after a message was accepted, what they did to the
//! subscriber, and the key that signs VERP addresses.

use super::StoreError;
use crate::domain::SubscriberStatus;
use chrono::{DateTime, Utc};

/// What a report says happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BounceKind {
    /// A permanent failure (5.x.x): counts toward `BOUNCE_LIMIT`.
    Hard,
    /// A temporary failure the sender gave up on (4.x.x): counts only past
    /// `bounces.soft_limit`.
    Soft,
    /// The recipient reported the message as spam: unsubscribed at once.
    Complaint,
}

impl BounceKind {
    /// As stored in `bounce_events.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hard => "hard",
            Self::Soft => "soft",
            Self::Complaint => "complaint",
        }
    }
}

/// One report about one subscriber, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceReport {
    pub subscriber_id: i64,
    /// The digest run of the message, when the report says (a VERP token).
    pub run_id: Option<i64>,
    pub kind: BounceKind,
    /// The enhanced status code (`5.1.1`), when there is one.
    pub status: Option<String>,
    /// What the reporting system said, on one line.
    pub reason: String,
    /// Where the report came in: `smtp`, `maildir`, `webhook:<provider>`.
    pub source: String,
    /// The report's identity: the same report read twice counts once.
    pub dedupe: Option<String>,
}

/// What recording a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceEffect {
    /// The same report was recorded before: nothing changed.
    Duplicate,
    /// No such subscriber (erased since): nothing recorded.
    UnknownSubscriber,
    /// Recorded; the subscriber's status and counts after it.
    Recorded {
        status: SubscriberStatus,
        bounce_count: u32,
        soft_bounce_count: u32,
    },
}

#[async_trait::async_trait]
pub trait BounceStore: Send + Sync {
    /// The key that signs VERP tokens: `candidate` is stored if no key is
    /// yet; the stored key is returned either way, so every instance on the
    /// store signs with the same one.
    async fn bounce_key(&self, candidate: &str) -> Result<String, StoreError>;
    /// Records one report and applies it in one transaction: a hard bounce
    /// counts toward `digests::BOUNCE_LIMIT`; a soft one past `soft_limit`
    /// soft bounces counts as a hard one; a complaint unsubscribes a
    /// pending or confirmed subscriber at once. The reason is kept with the
    /// status it caused.
    async fn record_bounce_report(
        &self,
        report: &BounceReport,
        soft_limit: u32,
        now: DateTime<Utc>,
    ) -> Result<BounceEffect, StoreError>;
}
