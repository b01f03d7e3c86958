//! Which store revision this instance's feeds were built from. Several
//! writers move the store (this instance's ingest and pushes, other
//! instances); a build that this instance cannot account for change by
//! change must be a full one.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct BuiltRevision(Arc<Mutex<Option<i64>>>);

/// What the caller does when the store changed under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnForeign {
    /// It rebuilds every feed now, so the new revision counts as built.
    BuildAll,
    /// It built only what its own change touched; the next scheduled
    /// build has to be a full one.
    LeaveForNextBuild,
}

impl BuiltRevision {
    /// After this instance read the store's revision `before`, maybe wrote
    /// one change of its own (`wrote`), and read `after`: true when
    /// something else changed the store since the feeds were built (or a
    /// revision is unknown), so only a full build brings them up to date.
    /// The revision is recorded as built when the change was all ours, or
    /// when the caller rebuilds everything now (`OnForeign::BuildAll`).
    pub fn advance(
        &self,
        before: Option<i64>,
        after: Option<i64>,
        wrote: bool,
        on_foreign: OnForeign,
    ) -> bool {
        let ours = i64::from(wrote);
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let foreign = match (*seen, before, after) {
            (Some(seen), Some(before), Some(after)) => seen != before || after != before + ours,
            _ => true,
        };
        if !foreign || on_foreign == OnForeign::BuildAll {
            *seen = after;
        }
        foreign
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OnForeign::{BuildAll, LeaveForNextBuild};

    #[test]
    fn only_changes_it_made_itself_spare_a_full_build() {
        let built = BuiltRevision::default();
        // Nothing known yet: full.
        assert!(built.advance(Some(3), Some(3), false, BuildAll));
        // Its own ingest wrote once: scoped.
        assert!(!built.advance(Some(3), Some(4), true, BuildAll));
        // Nothing changed: scoped.
        assert!(!built.advance(Some(4), Some(4), false, BuildAll));
        // A push here (scoped rebuild, not full) wrote once: still in step.
        assert!(!built.advance(Some(4), Some(5), true, LeaveForNextBuild));
        // Another instance wrote meanwhile: full, and recorded when the
        // caller does the full build...
        assert!(built.advance(Some(6), Some(6), false, BuildAll));
        assert!(!built.advance(Some(6), Some(6), false, BuildAll));
        // ...but not by a push's partial rebuild, so the next tick is full.
        assert!(built.advance(Some(8), Some(9), true, LeaveForNextBuild));
        assert!(built.advance(Some(9), Some(9), false, BuildAll));
        // An unreadable revision: full.
        assert!(built.advance(None, Some(9), false, BuildAll));
    }
}
