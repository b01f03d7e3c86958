//! `[content]`: the folder of Markdown articles ingest reads.

use super::problems::Problems;
use super::resolve;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Read straight from the file; `dir` is made absolute by `resolved`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ContentConfig {
    pub dir: PathBuf,
    pub max_file_size: u64,
}

impl Default for ContentConfig {
    fn default() -> Self {
        Self {
            dir: "content".into(),
            max_file_size: 5 * 1024 * 1024,
        }
    }
}

impl ContentConfig {
    /// Paths against the config file's folder, then the checks.
    pub(super) fn resolved(mut self, root: &Path, p: &mut Problems) -> Self {
        self.dir = resolve(root, &self.dir);
        if self.max_file_size == 0 {
            p.push("content.max_file_size", "must be greater than 0");
        }
        self
    }
}
