//! Skincare topics: the vocabulary (a tree of concepts), what each article
//! is about, which topics are trending, and which unknown phrases are
//! emerging. `extract`, `phrases`, `trending` and `candidates` are pure: no
//! clock, no I/O; `report` reads the store and puts them together. `load`
//! compiles the vocabulary `[topics]` names; `local` is `topics add`.

pub mod candidates;
pub mod extract;
mod load;
mod local;
pub mod phrases;
pub mod report;
pub mod trending;
pub mod vocabulary;

pub use extract::Matcher;
pub use load::load_matcher;
pub use local::{Added, NewConcept, add_local};
pub use vocabulary::{Topic, TopicKind, Vocabulary, VocabularyError};

use crate::config::Config;
use chrono::{DateTime, Utc};

/// Changes whenever what ingest extracts from an article changes (the
/// ancestors of concepts, salient phrases): stored articles are read again.
pub const EXTRACTION_VERSION: u32 = 3;

/// Days back from the ingest clock within which an article's phrases are
/// kept: the longest window and its baseline, then one more baseline so
/// that `trending --at` a few weeks back still sees them. An older article
/// can never be in a window or a baseline again (time only moves forward),
/// so reading its phrases would be wasted work: on a first import of a
/// back catalogue, most of the work.
pub fn phrase_horizon_days(config: &Config) -> u32 {
    let t = &config.topics;
    t.window_days.max(t.long_window_days) + 2 * t.baseline_days
}

/// The earliest publication time whose phrases ingest keeps at `now`.
pub fn phrase_horizon(config: &Config, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(phrase_horizon_days(config)))
}
