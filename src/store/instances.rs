//! The processes that send mail, as the store knows them: each registers
//! a row in `instances` and renews its heartbeat; outbox rows name the
//! process that claimed them (`claimed_by`) and, once handed to the mail
//! transport, since when (`started_ts`). Recovery declares silent
//! processes dead and puts their rows back to pending.

use super::StoreError;
use chrono::{DateTime, Utc};

/// One registered process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    pub id: String,
    /// `daemon` or `digest send`.
    pub role: String,
    /// On Linux, what proves on the same machine that the process still
    /// runs (see `delivery::instance`).
    pub process: Option<String>,
    pub started: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
    /// When another process declared it dead.
    pub dead: Option<DateTime<Utc>>,
}

/// The rules of one recovery, as times.
#[derive(Debug, Clone)]
pub struct Recovery<'a> {
    pub now: DateTime<Utc>,
    /// A process whose heartbeat is older is declared dead
    /// (`delivery.dead_after`): its claimed rows not yet started go back
    /// to pending.
    pub dead_before: DateTime<Utc>,
    /// The rows a dead process had handed to the transport go back once
    /// its heartbeat is older than this (`dead_after` plus
    /// `in_flight_grace`).
    pub started_before: DateTime<Utc>,
    /// Any row claimed before this goes back, whoever holds it
    /// (`claim_timeout`): rows of a version before `instances`, which
    /// name no holder, and a backstop for rows a live process lost track
    /// of (a pass that failed with messages in flight).
    pub stale_before: DateTime<Utc>,
    /// Processes known for certain to have ended (same machine, no such
    /// process any more): dead now, all their rows back at once.
    pub gone: &'a [String],
}

/// What a recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Processes declared dead by this recovery.
    pub declared_dead: Vec<String>,
    /// Claimed rows that had not been handed to the transport.
    pub unstarted: u64,
    /// Rows that had been: their message may have gone out.
    pub started: u64,
    /// Rows claimed longer than `claim_timeout` ago.
    pub stale: u64,
}

impl Recovered {
    pub fn rows(&self) -> u64 {
        self.unstarted + self.started + self.stale
    }
}

/// Rows of a run that another process holds `sending`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    /// The holder; None for rows claimed by a version before `instances`.
    pub holder: Option<String>,
    /// Its last heartbeat, when it is registered.
    pub heartbeat: Option<DateTime<Utc>>,
    /// Declared dead: its started rows wait for `started_before`.
    pub dead: bool,
    /// Oldest claim among them (for rows with no holder).
    pub claimed: Option<DateTime<Utc>>,
    /// Handed to the transport.
    pub started: u64,
    pub unstarted: u64,
}

#[async_trait::async_trait]
pub trait InstanceStore: Send + Sync {
    /// Registers a process, with its first heartbeat at `now`.
    async fn register_instance(
        &self,
        id: &str,
        role: &str,
        process: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Renews the heartbeat. False when the process was declared dead (or
    /// is unknown): it must claim and start nothing more under this id.
    async fn heartbeat(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// A clean exit: the rows it still holds unstarted go back to pending
    /// and the row goes. Returns how many rows went back.
    async fn deregister_instance(&self, id: &str) -> Result<u64, StoreError>;
    /// Every registered process.
    async fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError>;
    /// Declares silent processes dead and releases their rows by the rules
    /// of `r`, over every run, in one transaction.
    async fn recover(&self, r: &Recovery<'_>) -> Result<Recovered, StoreError>;
    /// The run's rows held `sending` by processes other than `me`, by
    /// holder.
    async fn held(&self, run_id: i64, me: &str) -> Result<Vec<Held>, StoreError>;
}
