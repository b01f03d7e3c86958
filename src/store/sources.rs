//! What the store keeps about each `[[source]]` between polls, so that
//! whichever instance holds the scheduler lease resumes where the last
//! poll stopped.

use chrono::{DateTime, Utc};

/// One source's state. A source never polled has the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    pub name: String,
    /// WordPress: the latest `modified_gmt` seen (RFC 3339, UTC). None
    /// until a first full pass has been made.
    pub cursor: Option<String>,
    /// A feed's validators, for a conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// WordPress: the last full listing of ids (to find removed posts).
    pub last_listing: Option<DateTime<Utc>>,
    /// Not polled before this: a back-off after failures, or the wait a
    /// 429/503 `Retry-After` asked for.
    pub next_try: Option<DateTime<Utc>>,
    /// Failed polls in a row.
    pub failures: u32,
    pub last_error: Option<String>,
}
