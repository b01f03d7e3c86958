//! `[site]`: the publication's name, address, language and time zone.

use super::problems::Problems;
use super::resolve;
use crate::domain::Person;
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub title: String,
    /// Without a trailing slash.
    pub base_url: Url,
    pub article_url: String,
    pub description: String,
    pub language: String,
    pub timezone: Tz,
    pub author: Person,
    pub templates_dir: PathBuf,
}

impl SiteConfig {
    /// `base_url` as text, without a trailing slash, for joining paths.
    pub fn base(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    /// The canonical URL of an article with this slug.
    pub fn article_url(&self, slug: &str) -> String {
        self.article_url
            .replace("{base_url}", self.base())
            .replace("{slug}", slug)
    }

    /// An absolute URL on the daemon for a path starting with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }
}

/// `[site]` as written. `title` and `base_url` have no default: they are
/// options here only so that their absence is one problem among the others.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawSite {
    title: Option<String>,
    base_url: Option<String>,
    article_url: String,
    description: String,
    language: String,
    timezone: String,
    author: Option<RawPerson>,
    templates: String,
}

impl Default for RawSite {
    fn default() -> Self {
        Self {
            title: None,
            base_url: None,
            article_url: "{base_url}/articles/{slug}".into(),
            description: String::new(),
            language: "en".into(),
            timezone: "UTC".into(),
            author: None,
            templates: "templates".into(),
        }
    }
}

/// `author = "Name"` or `author = { name = "Name", email = "..." }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPerson {
    Name(String),
    Full { name: String, email: Option<String> },
}

impl RawSite {
    pub(super) fn build(self, root: &Path, p: &mut Problems) -> Option<SiteConfig> {
        let title = p.required("site.title", self.title);
        if title.as_ref().is_some_and(|t| t.trim().is_empty()) {
            p.push("site.title", "must not be empty");
        }
        let base_url = p
            .required("site.base_url", self.base_url)
            .and_then(|text| base_url(&text, p));
        if !self.article_url.contains("{slug}") {
            p.push(
                "site.article_url",
                format!("'{}' must contain {{slug}}", self.article_url),
            );
        }
        let timezone = p.timezone("site.timezone", &self.timezone);
        if !is_language_tag(&self.language) {
            p.push(
                "site.language",
                format!("'{}' is not a language tag like en or en-IN", self.language),
            );
        }
        let title = title?;
        let author = match self.author {
            Some(RawPerson::Name(name)) => Person { name, email: None },
            Some(RawPerson::Full { name, email }) => Person { name, email },
            None => Person {
                name: title.clone(),
                email: None,
            },
        };
        Some(SiteConfig {
            title,
            base_url: base_url?,
            article_url: self.article_url,
            description: self.description,
            language: self.language,
            timezone: timezone?,
            author,
            templates_dir: resolve(root, &self.templates),
        })
    }
}

/// An absolute http(s) URL with a host; a query or fragment is a problem
/// but the URL is still usable for the checks that follow.
fn base_url(text: &str, p: &mut Problems) -> Option<Url> {
    const KEY: &str = "site.base_url";
    match Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if u.query().is_some() || u.fragment().is_some() {
                p.push(KEY, format!("'{text}' must not have a query or fragment"));
            }
            Some(u)
        }
        Ok(_) => {
            p.push(KEY, format!("'{text}' must be an absolute http(s) URL"));
            None
        }
        Err(e) => {
            p.push(KEY, format!("'{text}' is not a URL ({e})"));
            None
        }
    }
}

/// A BCP 47 shape: alphanumeric subtags of 1 to 8 characters, joined by `-`.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag
            .split('-')
            .all(|s| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}
