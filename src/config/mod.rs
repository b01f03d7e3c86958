//! Typed configuration: `feedletter.toml`, then `FEEDLETTER_<SECTION>__<KEY>`
//! environment overrides, then validation into domain types. Every problem
//! names its key; `Config::load` fails on the first pass with all of them.
//!
//! One module a section: each holds the section's public type, the form
//! serde reads from the file where that differs (its `Default` is the
//! section's defaults, the one place they are written), and the checks.

mod bounces;
mod content;
mod delivery;
mod digest;
mod duration;
mod env;
mod feeds;
mod http;
mod mail;
mod problems;
mod schedule;
mod site;
mod source;
mod store;
mod topics;
mod websub;

pub use crate::domain::subscriber::Frequency;
pub use bounces::{BouncesConfig, MAILGUN_KEY_VAR, WEBHOOK_SECRET_VAR};
pub use content::ContentConfig;
pub use delivery::DeliveryConfig;
pub use digest::DigestConfig;
pub use duration::parse_duration;
pub use env::ADMIN_TOKEN_VAR;
pub use feeds::{FeedFormat, FeedsConfig};
pub use http::HttpConfig;
pub use mail::{DkimConfig, MailConfig, MailTransportKind, SmtpConfig, SmtpTls};
pub use schedule::ScheduleConfig;
pub use site::SiteConfig;
pub use source::{DEFAULT_SOURCE_TIMEOUT, SourceConfig, SourceKind};
pub use store::StoreConfig;
pub use topics::{CountedIn, TopicsConfig};
pub use websub::WebSubConfig;

use problems::Problems;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Problems found while loading, one a line, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(msg: String) -> Self {
        Self {
            problems: vec![msg],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    pub site: SiteConfig,
    pub store: StoreConfig,
    pub content: ContentConfig,
    pub feeds: FeedsConfig,
    pub topics: TopicsConfig,
    pub http: HttpConfig,
    pub mail: MailConfig,
    pub delivery: DeliveryConfig,
    pub schedule: ScheduleConfig,
    pub websub: Option<WebSubConfig>,
    pub digests: Vec<DigestConfig>,
    pub bounces: BouncesConfig,
    /// `[[source]]` entries, in file order.
    pub sources: Vec<SourceConfig>,
}

/// The whole file as written, one field a section.
///
/// Not `deny_unknown_fields`: serde would stop at the first unknown key,
/// and its message would not name the section. `serde_ignored` reports
/// every unknown key instead, with its full path, among the other problems.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    site: site::RawSite,
    store: store::RawStore,
    content: content::RawContent,
    feeds: feeds::RawFeeds,
    topics: TopicsConfig,
    http: http::RawHttp,
    mail: mail::RawMail,
    delivery: delivery::RawDelivery,
    schedule: schedule::RawSchedule,
    websub: Option<websub::RawWebSub>,
    digest: Vec<digest::RawDigest>,
    bounces: bounces::RawBounces,
    source: Vec<source::RawSource>,
}

impl Config {
    /// Reads `path`, applies the process's `FEEDLETTER_*` variables, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::one(format!("{}: cannot read: {e}", path.display())))?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_toml_str(&text, path, &env)
    }

    /// Parses config text as if read from `path` (relative paths resolve
    /// against its folder), with `env` as the environment.
    pub fn from_toml_str(
        text: &str,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            ConfigError::one(format!(
                "{file}: {}",
                crate::domain::text::squash_whitespace(&e.to_string())
            ))
        })?;
        env::apply(&mut table, env).map_err(ConfigError::one)?;

        let mut problems = Problems::default();
        let raw: RawConfig = serde_ignored::deserialize(toml::Value::Table(table), |key| {
            problems.note(format!("unknown key `{key}`"));
        })
        .map_err(|e| {
            ConfigError::one(format!(
                "{file}: {}",
                crate::domain::text::squash_whitespace(&e.to_string())
            ))
        })?;
        // Relative paths in the file are relative to the file's folder.
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match raw.build(&root, path, &mut problems) {
            Some(mut config) if problems.is_empty() => {
                config.http.admin_token = env::admin_token(env);
                config.bounces = config.bounces.with_secrets(env);
                Ok(config)
            }
            _ => Err(ConfigError {
                problems: problems.into_lines(&file),
            }),
        }
    }
}

impl RawConfig {
    /// Every section checked, whatever the others hold, so that all problems
    /// are found in one pass; `None` when any value could not be read.
    fn build(self, root: &Path, path: &Path, p: &mut Problems) -> Option<Config> {
        let site = self.site.build(root, p);
        let store = self.store.build(root, p);
        let content = self.content.build(root, p);
        let feeds = self.feeds.build(root, p);
        let topics = self.topics.resolved(root, p);
        let http = self.http.build(p);
        // Read before the mail section is used up, so that the claim timeout
        // is checked against it even when another mail key is wrong.
        let smtp_timeout = self.mail.smtp_timeout();
        let mail = self.mail.build(site.as_ref(), root, p);
        let delivery = self.delivery.build(smtp_timeout, p);
        let schedule = self.schedule.build(p);
        let websub = self.websub.map(|w| w.build(p));
        let digests = digest::build_all(self.digest, site.as_ref().map(|s| s.timezone), p);
        let bounces = self.bounces.build(root, p);
        let sources = source::build_all(self.source, p);
        Some(Config {
            path: Some(path.to_path_buf()),
            site: site?,
            store: store?,
            content,
            feeds,
            topics,
            http: http?,
            mail: mail?,
            delivery: delivery?,
            schedule: schedule?,
            websub: match websub {
                Some(hub) => Some(hub?),
                None => None,
            },
            digests: digests?,
            bounces: bounces?,
            sources: sources?,
        })
    }
}

/// `p` against the config file's folder, unless absolute.
fn resolve(root: &Path, p: impl AsRef<Path>) -> PathBuf {
    let p = p.as_ref();
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    }
}

#[cfg(test)]
mod tests;
