//! `[feeds]`: where the feed files go, how many items, which formats.

use super::problems::{Choice, Problems};
use super::resolve;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

impl FeedFormat {
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Rss => "rss.xml",
            Self::Atom => "atom.xml",
            Self::Json => "feed.json",
        }
    }
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Rss => "application/rss+xml",
            Self::Atom => "application/atom+xml",
            Self::Json => "application/feed+json",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Rss => "RSS",
            Self::Atom => "Atom",
            Self::Json => "JSON Feed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FeedsConfig {
    pub dir: PathBuf,
    pub limit: usize,
    /// Sorted, without repeats.
    pub formats: Vec<FeedFormat>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawFeeds {
    dir: String,
    limit: usize,
    formats: Vec<Choice<FeedFormat>>,
}

impl Default for RawFeeds {
    fn default() -> Self {
        Self {
            dir: "feeds".into(),
            limit: 50,
            formats: [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json]
                .map(Choice::Known)
                .into(),
        }
    }
}

impl RawFeeds {
    pub(super) fn build(self, root: &Path, p: &mut Problems) -> FeedsConfig {
        const KEY: &str = "feeds.formats";
        if self.limit == 0 {
            p.push("feeds.limit", "must be at least 1");
        }
        let mut formats: Vec<FeedFormat> = self
            .formats
            .into_iter()
            .filter_map(|f| {
                p.choice(KEY, f, |other| {
                    format!("unknown format '{other}' (rss, atom, json)")
                })
            })
            .collect();
        formats.sort();
        formats.dedup();
        if formats.is_empty() {
            p.push(KEY, "name at least one of rss, atom, json");
        }
        FeedsConfig {
            dir: resolve(root, &self.dir),
            limit: self.limit,
            formats,
        }
    }
}
