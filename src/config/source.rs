//! `[[source]]`: places the publication already keeps its articles (a
//! WordPress site's REST API, an RSS, Atom or JSON feed), polled on their
//! own schedule.

use super::problems::{Choice, Problems};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// What a source is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The WordPress REST API v2 (`.../wp-json/wp/v2/`).
    Wordpress,
    /// RSS 2.0, Atom 1.0 or JSON Feed 1.1, told apart from the document.
    Feed,
}

impl SourceKind {
    /// The name the config uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wordpress => "wordpress",
            Self::Feed => "feed",
        }
    }
}

/// One `[[source]]` entry, checked.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Short id: logs, metrics, `ingest --json` and article identity
    /// (`source:<name>:<remote id>`).
    pub name: String,
    pub kind: SourceKind,
    /// http(s); for WordPress, the API root ending in `/`.
    pub url: Url,
    /// How often the daemon polls it.
    pub every: Duration,
    /// The longest one request to it may take, body included.
    pub timeout: Duration,
    /// WordPress post types read (REST bases such as `posts`).
    pub types: Vec<String>,
}

/// One `[[source]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSource {
    name: Option<String>,
    kind: Option<Choice<SourceKind>>,
    url: Option<String>,
    every: Option<String>,
    timeout: Option<String>,
    types: Option<Vec<String>>,
}

/// Polling more often than this is unkind to the site polled.
const MIN_EVERY: Duration = Duration::from_secs(30);

/// A request's timeout when the entry sets none.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(30);

/// Every source, checked; names must be unique.
pub(super) fn build_all(raw: Vec<RawSource>, p: &mut Problems) -> Option<Vec<SourceConfig>> {
    let mut first_use = BTreeMap::new();
    let mut sources = Vec::with_capacity(raw.len());
    for (i, s) in raw.into_iter().enumerate() {
        let key = format!("source[{i}]");
        if let Some(name) = &s.name
            && *first_use.entry(name.clone()).or_insert(i) != i
        {
            p.push(
                &format!("{key}.name"),
                format!("'{name}' is used by another source"),
            );
        }
        sources.push(s.build(&key, p));
    }
    sources.into_iter().collect()
}

/// A plain name that needs no quoting in a metric label, a log field or
/// an article's source (`source:<name>:<id>`).
fn is_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl RawSource {
    fn build(self, key: &str, p: &mut Problems) -> Option<SourceConfig> {
        let name = p.required(&format!("{key}.name"), self.name);
        if let Some(name) = &name
            && !is_source_name(name)
        {
            p.push(
                &format!("{key}.name"),
                format!("'{name}' must be lowercase letters, digits, '-' or '_' (40 at most)"),
            );
        }
        let kind_key = format!("{key}.kind");
        let kind = p.required(&kind_key, self.kind).and_then(|k| {
            p.choice(&kind_key, k, |other| {
                format!("'{other}' is not wordpress or feed")
            })
        });
        let url_key = format!("{key}.url");
        let url = p
            .required(&url_key, self.url)
            .and_then(|u| match Url::parse(u.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                Ok(_) => {
                    p.push(&url_key, format!("'{u}' must be an http(s) URL"));
                    None
                }
                Err(e) => {
                    p.push(&url_key, format!("'{u}' is not a URL ({e})"));
                    None
                }
            });
        // WordPress: the API root, to which the post types are joined.
        let url = match (url, kind) {
            (Some(mut u), Some(SourceKind::Wordpress)) if !u.path().ends_with('/') => {
                let path = format!("{}/", u.path());
                u.set_path(&path);
                Some(u)
            }
            (u, _) => u,
        };
        let every_key = format!("{key}.every");
        let every = p
            .required(&every_key, self.every)
            .and_then(|e| p.duration(&every_key, &e).map(|d| (e, d)))
            .and_then(|(text, d)| {
                if d < MIN_EVERY {
                    p.push(&every_key, format!("'{text}' is too often (30s at least)"));
                    None
                } else {
                    Some(d)
                }
            });
        let timeout_key = format!("{key}.timeout");
        let timeout = match self.timeout {
            None => Some(DEFAULT_SOURCE_TIMEOUT),
            Some(text) => p.duration(&timeout_key, &text).and_then(|d| {
                if d.is_zero() {
                    p.push(
                        &timeout_key,
                        format!("'{text}' would fail every request (more than 0, such as \"30s\")"),
                    );
                    None
                } else {
                    Some(d)
                }
            }),
        };
        let types = match (self.types, kind) {
            (Some(_), Some(SourceKind::Feed)) => {
                p.push(&format!("{key}.types"), "only a wordpress source has types");
                None
            }
            (Some(t), _) if t.is_empty() => {
                p.push(&format!("{key}.types"), "must name at least one post type");
                None
            }
            (Some(t), _) => {
                let bad: Vec<&String> = t.iter().filter(|t| !is_source_name(t)).collect();
                if bad.is_empty() {
                    Some(t)
                } else {
                    p.push(
                        &format!("{key}.types"),
                        format!("{bad:?}: a post type is its REST base, such as \"posts\""),
                    );
                    None
                }
            }
            (None, Some(SourceKind::Wordpress)) => Some(vec!["posts".to_owned()]),
            (None, _) => Some(Vec::new()),
        };
        Some(SourceConfig {
            name: name.filter(|n| is_source_name(n))?,
            kind: kind?,
            url: url?,
            every: every?,
            timeout: timeout?,
            types: types?,
        })
    }
}
