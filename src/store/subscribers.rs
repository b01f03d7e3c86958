//! The subscriber half of the store: subscribers, the tokens in their links,
//! and the queue of transactional mail.

use super::{MailKind, StoreError};
use crate::domain::ConsentSource;
use crate::domain::{
    Consent, Frequency, Subscriber, SubscriberEmail, SubscriberStatus, TokenPurpose,
};
use chrono::{DateTime, Utc};

/// A subscriber to create (status and consent decided by the caller).
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: SubscriberEmail,
    pub status: SubscriberStatus,
    pub topics: Vec<String>,
    pub frequency: Frequency,
    pub consent: Consent,
}

/// One good row of an import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub email: SubscriberEmail,
    pub topics: Vec<String>,
    pub frequency: Frequency,
}

/// What one batch of an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportBatch {
    pub added: u64,
    /// Pending addresses confirmed by an import with `--confirmed`.
    pub confirmed: u64,
    /// Already on the list; left as they were.
    pub existing: u64,
    /// Unsubscribed or bounced addresses: never re-subscribed by an import.
    pub refused: Vec<String>,
}

/// A queued message as the delivery loop sees it.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub kind: MailKind,
    /// JSON of `mail::OutgoingMail`.
    pub message: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait SubscriberStore: Send + Sync {
    /// Creates the subscriber unless the address is known; returns the
    /// stored row either way and whether it was created.
    async fn insert_subscriber(
        &self,
        new: &NewSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(Subscriber, bool), StoreError>;
    async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>, StoreError>;
    async fn subscriber_by_email(&self, email: &str) -> Result<Option<Subscriber>, StoreError>;
    /// Writes status, preferences, consent and timestamps back.
    async fn update_subscriber(&self, s: &Subscriber) -> Result<(), StoreError>;
    /// Records a notice mail to the subscriber unless one went out after
    /// `not_since`; true when the caller may send.
    async fn claim_notice(
        &self,
        id: i64,
        now: DateTime<Utc>,
        not_since: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Subscribers by id, after `after_id`, optionally of one status.
    async fn list_subscribers(
        &self,
        status: Option<SubscriberStatus>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Subscriber>, StoreError>;
    async fn count_subscribers(&self, status: Option<SubscriberStatus>) -> Result<u64, StoreError>;
    /// Deletes the subscriber and everything that refers to them.
    async fn erase_subscriber(&self, email: &str) -> Result<bool, StoreError>;
    /// One import batch in one transaction.
    async fn import_batch(
        &self,
        rows: &[ImportRow],
        confirmed: bool,
        source: &ConsentSource,
        now: DateTime<Utc>,
    ) -> Result<ImportBatch, StoreError>;

    async fn add_token(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
        hash: &str,
        now: DateTime<Utc>,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// The subscriber a token belongs to, if it exists, has this purpose and
    /// has not expired at `now`.
    async fn token_subscriber(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;
    async fn delete_tokens(
        &self,
        subscriber_id: i64,
        purpose: TokenPurpose,
    ) -> Result<(), StoreError>;

    async fn enqueue_mail(
        &self,
        subscriber_id: Option<i64>,
        kind: MailKind,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Claims up to `limit` messages due at `now`, oldest first: they are
    /// not due again before `hold_until`, so that another instance does not
    /// send them too; a process that dies with them leaves them due then.
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// Sent or given up: the row (and the token inside it) goes.
    async fn remove_mail(&self, id: i64) -> Result<(), StoreError>;
    async fn retry_mail(&self, id: i64, next: DateTime<Utc>, error: &str)
    -> Result<(), StoreError>;
    async fn mail_queue_depth(&self) -> Result<u64, StoreError>;
    /// Counts a hard bounce (a 5xx reply); at `digests::BOUNCE_LIMIT` of
    /// them the subscriber becomes `bounced`, as with digests.
    async fn record_bounce(&self, subscriber_id: i64, now: DateTime<Utc>)
    -> Result<(), StoreError>;
}
