//! Which store revision this instance's feeds were built from. Several
//! writers move the store (this instance's ingest and pushes, other
//! instances); a build that this instance cannot account for change by
//! change must be a full one.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct BuiltRevision(Arc<Mutex<Option<i64>>>);

impl BuiltRevision {
    /// After this instance wrote `ours` times (0 or 1) between reading the
    /// revision `before` and `after`: true when something else changed the
    /// store since the feeds were built (or a revision is unknown), so only
    /// a full build brings them up to date. The revision is recorded as
    /// built when the change was all ours, or when `full_build` says the
    /// caller rebuilds everything now.
    pub fn advance(
        &self,
        before: Option<i64>,
        after: Option<i64>,
        ours: i64,
        full_build: bool,
    ) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let foreign = match (*seen, before, after) {
            (Some(seen), Some(before), Some(after)) => seen != before || after != before + ours,
            _ => true,
        };
        if !foreign || full_build {
            *seen = after;
        }
        foreign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_it_made_itself_spare_a_full_build() {
        let built = BuiltRevision::default();
        // Nothing known yet: full.
        assert!(built.advance(Some(3), Some(3), 0, true));
        // Its own ingest wrote once: scoped.
        assert!(!built.advance(Some(3), Some(4), 1, true));
        // Nothing changed: scoped.
        assert!(!built.advance(Some(4), Some(4), 0, true));
        // A push here (scoped rebuild, not full) wrote once: still in step.
        assert!(!built.advance(Some(4), Some(5), 1, false));
        // Another instance wrote meanwhile: full, and recorded when the
        // caller does the full build...
        assert!(built.advance(Some(6), Some(6), 0, true));
        assert!(!built.advance(Some(6), Some(6), 0, true));
        // ...but not by a push's partial rebuild, so the next tick is full.
        assert!(built.advance(Some(8), Some(9), 1, false));
        assert!(built.advance(Some(9), Some(9), 0, true));
        // An unreadable revision: full.
        assert!(built.advance(None, Some(9), 0, true));
    }
}
