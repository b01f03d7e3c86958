//! What several benchmarks share (included with `#[path]`; not a bench).

use anyhow::{Context as _, Result};

/// A count from the environment, or `default`.
pub fn env_count(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name}='{v}' is not a count")),
        Err(_) => Ok(default),
    }
}
