//! The digest half of the store: runs (one per schedule and fire time) and
//! their outbox (one row per run and subscriber).

use super::StoreError;
use crate::domain::{Frequency, SubscriberEmail, SubscriberStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One fire of one `[[digest]]` schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestRun {
    pub id: i64,
    pub schedule: String,
    pub fire: DateTime<Utc>,
    /// One period back from `fire`: where a subscriber's first digest starts.
    pub since: DateTime<Utc>,
    pub frequency: Frequency,
    pub done: bool,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub subject: String,
}

/// What creating a run needs; the rows are written in the same transaction.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub schedule: &'a str,
    pub fire: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub frequency: Frequency,
    pub subject: &'a str,
    pub web_html: &'a str,
}

/// An outbox row claimed for sending, with what composing it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub subscriber_id: i64,
    pub email: SubscriberEmail,
    pub status: SubscriberStatus,
    /// Empty: every topic.
    pub topics: Vec<String>,
    pub since: DateTime<Utc>,
    pub attempts: u32,
}

/// What happened to one claimed outbox row, as `DigestStore::record`
/// writes it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    Sent {
        id: i64,
    },
    /// Nothing new for this subscriber, or they left after the run began.
    Skipped {
        id: i64,
        reason: String,
    },
    /// A temporary failure: back to pending, due at `next`.
    Retry {
        id: i64,
        next: DateTime<Utc>,
        error: String,
    },
    /// For good. `bounce` counts a hard bounce against the subscriber.
    Failed {
        id: i64,
        error: String,
        bounce: Option<i64>,
    },
}

/// Rows of a run by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl RunCounts {
    pub fn total(&self) -> u64 {
        self.pending + self.sending + self.sent + self.failed + self.skipped
    }

    /// Nothing left to try.
    pub fn finished(&self) -> bool {
        self.pending == 0 && self.sending == 0
    }
}

/// A published article changed inside a digest's window, with its topics.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestArticle {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub url: String,
    pub image: Option<String>,
    /// The image's text alternative; None when decorative.
    pub image_alt: Option<String>,
    pub author: String,
    pub reviewed_by: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// (topic id, label)
    pub topics: Vec<(String, String)>,
}

/// The latest error of a failed or retried outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxError {
    /// The subscriber's address.
    pub email: String,
    /// `failed`, or `pending` for a row that will be retried.
    pub state: String,
    pub error: String,
}

/// Hard bounces (5xx replies) after which a subscriber is `bounced`.
pub const BOUNCE_LIMIT: i64 = 3;

#[async_trait::async_trait]
pub trait DigestStore: Send + Sync {
    /// Creates the run and one pending row per confirmed subscriber of its
    /// frequency, in one transaction. When the run exists already, returns
    /// it and `false`, and writes nothing.
    async fn create_run(
        &self,
        new: &NewRun<'_>,
        now: DateTime<Utc>,
    ) -> Result<(DigestRun, bool), StoreError>;
    async fn digest_run(&self, id: i64) -> Result<Option<DigestRun>, StoreError>;
    /// The newest run, of one schedule or of any.
    async fn latest_run(&self, schedule: Option<&str>) -> Result<Option<DigestRun>, StoreError>;
    /// Runs not yet finished, oldest first.
    async fn unfinished_runs(&self) -> Result<Vec<DigestRun>, StoreError>;
    async fn web_copy(&self, run_id: i64) -> Result<Option<(String, String)>, StoreError>;
    /// Marks up to `limit` due pending rows `sending`, held by `holder`,
    /// and returns them. Nothing when `holder` is not a live registered
    /// process (it was declared dead).
    async fn claim(
        &self,
        run_id: i64,
        holder: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Puts rows `holder` claimed but never handed to the transport back
    /// to pending (a stop). Returns how many.
    async fn release(&self, holder: &str, ids: &[i64]) -> Result<u64, StoreError>;
    /// Manage-link token hashes for many subscribers, in one transaction.
    async fn add_manage_tokens(
        &self,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Drops manage-link tokens expired by `now` (their links no longer
    /// work anyway). Returns how many. Once a delivery pass: it reads every
    /// token.
    async fn drop_expired_manage_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Writes the outcomes of rows `holder` holds and marks the rows of
    /// `start` as handed to the transport (`started_ts`), in one
    /// transaction. Returns the ids of `start` it marked: the others are
    /// no longer `holder`'s (it was declared dead and they were released),
    /// and must not be sent. An outcome of a row no longer held is
    /// dropped.
    async fn record(
        &self,
        holder: &str,
        outcomes: &[OutboxOutcome],
        start: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError>;
    async fn run_counts(&self, run_id: i64) -> Result<RunCounts, StoreError>;
    /// When the earliest pending row of the run is due.
    async fn next_due(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// The latest failures and retries, newest first.
    async fn last_errors(&self, run_id: i64, limit: u32) -> Result<Vec<OutboxError>, StoreError>;
    async fn finish_run(&self, run_id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Published articles first published or updated in `(since, until]`,
    /// with their topics; articles without a topic are left out.
    async fn digest_articles(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DigestArticle>, StoreError>;
    /// Digest rows not yet sent or given up, over every run.
    async fn digest_outbox_depth(&self) -> Result<u64, StoreError>;
    /// The earliest `since` among the run's rows.
    async fn earliest_since(&self, run_id: i64) -> Result<Option<DateTime<Utc>>, StoreError>;
}
