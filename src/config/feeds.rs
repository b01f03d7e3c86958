//! `[feeds]`: where the feed files go, how many items, which formats, the
//! archive pages' size and how long tombstones stay.

use super::problems::{Choice, Problems};
use super::resolve;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
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
    /// Articles per RFC 5005 archive page; 0 publishes no archive.
    pub archive_page_size: usize,
    /// How long a withdrawn article's RFC 6721 tombstone stays in the Atom
    /// feeds, in days; 0 publishes none.
    pub tombstone_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawFeeds {
    dir: String,
    limit: usize,
    formats: Vec<Choice<FeedFormat>>,
    /// None: `limit`.
    archive_page_size: Option<usize>,
    tombstone_days: u32,
}

impl Default for RawFeeds {
    fn default() -> Self {
        Self {
            dir: "feeds".into(),
            limit: 50,
            formats: [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json]
                .map(Choice::Known)
                .into(),
            archive_page_size: None,
            tombstone_days: 30,
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
        if self.tombstone_days > 3650 {
            p.push("feeds.tombstone_days", "at most 3650 (ten years)");
        }
        FeedsConfig {
            dir: resolve(root, &self.dir),
            limit: self.limit,
            formats,
            archive_page_size: self.archive_page_size.unwrap_or(self.limit),
            tombstone_days: self.tombstone_days,
        }
    }
}
