//! `[content]`: the folder of Markdown articles ingest reads, and whether
//! the daemon watches it.

use super::problems::Problems;
use super::resolve;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ContentConfig {
    /// Absolute once loaded.
    pub dir: PathBuf,
    pub max_file_size: u64,
    /// The daemon watches the folder and ingests as soon as it is quiet;
    /// `[schedule].ingest` stays the fallback either way.
    pub watch: bool,
    /// How long the folder must be quiet after a change before the
    /// watcher wakes ingest.
    pub debounce: Duration,
}

impl Default for ContentConfig {
    fn default() -> Self {
        Self {
            dir: "content".into(),
            max_file_size: 5 * 1024 * 1024,
            watch: true,
            debounce: Duration::from_millis(100),
        }
    }
}

/// `[content]` as written.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawContent {
    dir: PathBuf,
    max_file_size: u64,
    watch: bool,
    debounce: String,
}

impl Default for RawContent {
    fn default() -> Self {
        let d = ContentConfig::default();
        Self {
            dir: d.dir,
            max_file_size: d.max_file_size,
            watch: d.watch,
            debounce: "100ms".into(),
        }
    }
}

/// Longer than this, a saved article would wait too long for readers.
const MAX_DEBOUNCE: Duration = Duration::from_secs(10);

impl RawContent {
    /// Paths against the config file's folder, then the checks.
    pub(super) fn build(self, root: &Path, p: &mut Problems) -> ContentConfig {
        let default = ContentConfig::default();
        if self.max_file_size == 0 {
            p.push("content.max_file_size", "must be greater than 0");
        }
        let debounce = p
            .duration("content.debounce", &self.debounce)
            .unwrap_or(default.debounce);
        if debounce > MAX_DEBOUNCE {
            p.push(
                "content.debounce",
                format!("'{}' is too long (10s at most)", self.debounce),
            );
        }
        ContentConfig {
            dir: resolve(root, &self.dir),
            max_file_size: self.max_file_size,
            watch: self.watch,
            debounce,
        }
    }
}
