//! What an article is once it has been read and cleaned, and what the store
//! keeps about it.

use super::Slug;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An article as a source describes it: parsed, sanitized, with absolute
/// links, free of characters XML forbids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    pub slug: Slug,
    pub title: String,
    /// Plain text: the front matter's `summary`, or the first paragraph.
    pub summary: String,
    /// Sanitized HTML with absolute URLs.
    pub content_html: String,
    pub author: Person,
    pub reviewed_by: Option<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    /// Absolute URL.
    pub image: Option<String>,
    /// The image's text alternative, plain text; None when it has none (it
    /// is then shown as decorative, `alt=""`). Left out of the hash when
    /// absent, so articles stored before it existed keep their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_alt: Option<String>,
    /// Canonical, absolute URL.
    pub url: String,
    /// With the offset it was written in (or the site's time zone's).
    pub published: DateTime<FixedOffset>,
    /// As the source states it; when absent the store uses the time a change
    /// was first seen.
    pub updated: Option<DateTime<FixedOffset>>,
}

impl Article {
    /// A digest of everything a reader could see. Two versions with the same
    /// hash are the same article; a different hash is an update.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        // serde_json writes struct fields in declaration order: stable.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&Sha256::digest(&bytes)[..16])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArticleStatus {
    Published,
    Withdrawn,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// An article as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredArticle {
    pub article: Article,
    /// Fixed when the article is first stored, never changed: Atom id, RSS
    /// guid and JSON Feed id.
    pub guid: String,
    /// The effective `updated`: the source's, or when a change was first seen.
    pub updated: DateTime<FixedOffset>,
    pub status: ArticleStatus,
    /// An `ArticleSource` as text (`file:<path>` or `api`), the way the
    /// store keeps it.
    pub source: String,
}

/// Where an article comes from. One article has one source at a time, and a
/// slug published from one source is never taken by another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArticleSource {
    /// A file in the content folder: its path relative to the folder, with
    /// `/` separators.
    File(String),
    /// Pushed over the admin API.
    Api,
    /// Read from a `[[source]]` entry: its name, and the item's id there
    /// (a WordPress post id, a feed item's guid or link).
    Remote { source: String, id: String },
}

impl ArticleSource {
    /// The file's path relative to the content folder, for a file source.
    pub fn file(&self) -> Option<&str> {
        match self {
            Self::File(rel) => Some(rel),
            Self::Api | Self::Remote { .. } => None,
        }
    }

    /// The `[[source]]` entry's name and the item's id there, for a remote
    /// source.
    pub fn remote(&self) -> Option<(&str, &str)> {
        match self {
            Self::Remote { source, id } => Some((source, id)),
            _ => None,
        }
    }
}

/// The text the store keeps: `file:<path>`, `api` or `source:<name>:<id>`
/// (source names hold no `:`).
impl fmt::Display for ArticleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(rel) => write!(f, "file:{rel}"),
            Self::Api => f.write_str("api"),
            Self::Remote { source, id } => write!(f, "source:{source}:{id}"),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("article source `{0}` is not `api`, `file:<path>` or `source:<name>:<id>`")]
pub struct InvalidArticleSource(pub String);

impl FromStr for ArticleSource {
    type Err = InvalidArticleSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rel) = s.strip_prefix("file:") {
            return Ok(Self::File(rel.to_owned()));
        }
        if s == "api" {
            return Ok(Self::Api);
        }
        match s.strip_prefix("source:").and_then(|r| r.split_once(':')) {
            Some((source, id)) if !source.is_empty() && !id.is_empty() => Ok(Self::Remote {
                source: source.to_owned(),
                id: id.to_owned(),
            }),
            _ => Err(InvalidArticleSource(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_read_back_what_they_write() {
        for (source, text) in [
            (
                ArticleSource::File("skin/retinol.md".into()),
                "file:skin/retinol.md",
            ),
            (ArticleSource::Api, "api"),
            (
                ArticleSource::Remote {
                    source: "partner".into(),
                    id: "https://p.example/a?b=c:d".into(),
                },
                "source:partner:https://p.example/a?b=c:d",
            ),
        ] {
            assert_eq!(source.to_string(), text);
            assert_eq!(text.parse::<ArticleSource>(), Ok(source));
        }
        assert_eq!(
            "ftp:x".parse::<ArticleSource>(),
            Err(InvalidArticleSource("ftp:x".into()))
        );
    }
}
