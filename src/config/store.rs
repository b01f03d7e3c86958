//! `[store]`: which database, picked by the scheme of its URL.

use super::problems::Problems;
use super::resolve;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum StoreConfig {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawStore {
    url: String,
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            url: "sqlite://data/feedletter.db".into(),
        }
    }
}

impl RawStore {
    pub(super) fn build(self, root: &Path, p: &mut Problems) -> Option<StoreConfig> {
        const KEY: &str = "store.url";
        if let Some(rest) = self.url.strip_prefix("sqlite://") {
            // Query parameters are sqlx's business, not part of the file path.
            let file = rest.split('?').next().unwrap_or(rest);
            if file.is_empty() {
                p.push(
                    KEY,
                    "sqlite:// needs a file path, e.g. sqlite://data/feedletter.db",
                );
                return None;
            }
            Some(StoreConfig::Sqlite {
                path: resolve(root, file),
            })
        } else if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Some(StoreConfig::Postgres { url: self.url })
        } else {
            p.push(
                KEY,
                format!("'{}' must start with sqlite:// or postgres://", self.url),
            );
            None
        }
    }
}
