//! Typed configuration: `feedletter.toml`, then `FEEDLETTER_<SECTION>__<KEY>`
//! environment overrides, then validation into domain types. Every problem
//! names its key; `Config::load` fails on the first pass with all of them.

use crate::domain::Person;
use crate::domain::schedule::CronLine;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

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

// ---------------------------------------------------------------- raw form

#[derive(Debug, Deserialize)]
struct Raw {
    site: RawSite,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    content: RawContent,
    #[serde(default)]
    feeds: RawFeeds,
    #[serde(default)]
    topics: RawTopics,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    websub: Option<RawWebSub>,
    #[serde(default)]
    digest: Vec<RawDigest>,
}

#[derive(Debug, Deserialize)]
struct RawSite {
    title: String,
    base_url: String,
    #[serde(default = "d_article_url")]
    article_url: String,
    #[serde(default)]
    description: String,
    #[serde(default = "d_language")]
    language: String,
    #[serde(default = "d_timezone")]
    timezone: String,
    #[serde(default)]
    author: Option<RawPerson>,
    #[serde(default = "d_templates")]
    templates: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPerson {
    Name(String),
    Full { name: String, email: Option<String> },
}

#[derive(Debug, Deserialize)]
struct RawStore {
    #[serde(default = "d_store_url")]
    url: String,
}
impl Default for RawStore {
    fn default() -> Self {
        Self { url: d_store_url() }
    }
}

#[derive(Debug, Deserialize)]
struct RawContent {
    #[serde(default = "d_content_dir")]
    dir: String,
    #[serde(default = "d_max_file_size")]
    max_file_size: u64,
}
impl Default for RawContent {
    fn default() -> Self {
        Self {
            dir: d_content_dir(),
            max_file_size: d_max_file_size(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawFeeds {
    #[serde(default = "d_feeds_dir")]
    dir: String,
    #[serde(default = "d_feed_limit")]
    limit: usize,
    #[serde(default = "d_formats")]
    formats: Vec<String>,
}
impl Default for RawFeeds {
    fn default() -> Self {
        Self {
            dir: d_feeds_dir(),
            limit: d_feed_limit(),
            formats: d_formats(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawTopics {
    vocabulary: String,
    local: String,
    window_days: u32,
    baseline_days: u32,
    long_window_days: u32,
    min_count: u32,
    min_score: f64,
    min_lift: f64,
    trend_tags: bool,
    ignore_tags: Vec<String>,
    candidates: bool,
    show_candidates_in_preview: bool,
}
impl Default for RawTopics {
    fn default() -> Self {
        let t = crate::topics::trending::Params::default();
        Self {
            vocabulary: d_vocabulary(),
            local: "topics.local.toml".into(),
            window_days: d_window(),
            baseline_days: d_baseline(),
            long_window_days: t.long_window_days,
            min_count: t.min_count,
            min_score: t.min_score,
            min_lift: t.min_lift,
            trend_tags: false,
            ignore_tags: Vec::new(),
            candidates: true,
            show_candidates_in_preview: true,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawHttp {
    #[serde(default = "d_bind")]
    bind: String,
    #[serde(default = "d_subscribe_per_minute")]
    subscribe_per_minute: u32,
    #[serde(default)]
    trust_forwarded_for: bool,
}
fn d_subscribe_per_minute() -> u32 {
    5
}
impl Default for RawHttp {
    fn default() -> Self {
        Self {
            bind: d_bind(),
            subscribe_per_minute: d_subscribe_per_minute(),
            trust_forwarded_for: false,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct RawMail {
    from: Option<String>,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    outbox_dir: Option<String>,
    #[serde(default)]
    rate_per_second: Option<u32>,
    #[serde(default)]
    postal_address: Option<String>,
    #[serde(default)]
    smtp: Option<RawSmtp>,
    #[serde(default)]
    dkim: Option<RawDkim>,
}

#[derive(Debug, Deserialize)]
struct RawSmtp {
    #[serde(default = "d_smtp_host")]
    host: String,
    #[serde(default = "d_smtp_port")]
    port: u16,
    #[serde(default = "d_smtp_tls")]
    tls: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default = "d_pool")]
    pool_size: u32,
    #[serde(default = "d_smtp_timeout")]
    timeout: String,
}

#[derive(Debug, Deserialize)]
struct RawDkim {
    selector: String,
    domain: String,
    key_file: String,
}

#[derive(Debug, Deserialize)]
struct RawDelivery {
    #[serde(default = "d_retry_initial")]
    retry_initial: String,
    #[serde(default = "d_retry_max")]
    retry_max: String,
    #[serde(default = "d_give_up")]
    give_up_after: String,
    #[serde(default = "d_claim_timeout")]
    claim_timeout: String,
    #[serde(default = "d_sweep")]
    sweep: String,
}
impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            retry_initial: d_retry_initial(),
            retry_max: d_retry_max(),
            give_up_after: d_give_up(),
            claim_timeout: d_claim_timeout(),
            sweep: d_sweep(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawSchedule {
    #[serde(default = "d_ingest_cron")]
    ingest: String,
    #[serde(default = "d_catch_up")]
    catch_up: String,
    #[serde(default = "d_lease")]
    lease: String,
}
impl Default for RawSchedule {
    fn default() -> Self {
        Self {
            ingest: d_ingest_cron(),
            catch_up: d_catch_up(),
            lease: d_lease(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawWebSub {
    hub: String,
}

#[derive(Debug, Deserialize)]
struct RawDigest {
    name: String,
    #[serde(default = "d_frequency")]
    frequency: String,
    cron: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default = "d_subject")]
    subject: String,
    #[serde(default = "d_max_topics")]
    max_topics: usize,
    #[serde(default = "d_max_articles")]
    max_articles_per_topic: usize,
}

fn d_article_url() -> String {
    "{base_url}/articles/{slug}".into()
}
fn d_language() -> String {
    "en".into()
}
fn d_timezone() -> String {
    "UTC".into()
}
fn d_templates() -> String {
    "templates".into()
}
fn d_store_url() -> String {
    "sqlite://data/feedletter.db".into()
}
fn d_content_dir() -> String {
    "content".into()
}
fn d_max_file_size() -> u64 {
    5 * 1024 * 1024
}
fn d_feeds_dir() -> String {
    "feeds".into()
}
fn d_feed_limit() -> usize {
    50
}
fn d_formats() -> Vec<String> {
    vec!["rss".into(), "atom".into(), "json".into()]
}
fn d_vocabulary() -> String {
    "builtin:skincare".into()
}
fn d_window() -> u32 {
    7
}
fn d_baseline() -> u32 {
    56
}
fn d_bind() -> String {
    "127.0.0.1:8080".into()
}
fn d_smtp_host() -> String {
    "localhost".into()
}
fn d_smtp_port() -> u16 {
    587
}
fn d_smtp_tls() -> String {
    "starttls".into()
}
fn d_pool() -> u32 {
    4
}
fn d_smtp_timeout() -> String {
    "30s".into()
}
fn d_retry_initial() -> String {
    "30s".into()
}
fn d_retry_max() -> String {
    "1h".into()
}
fn d_give_up() -> String {
    "24h".into()
}
fn d_ingest_cron() -> String {
    "* * * * *".into()
}
fn d_claim_timeout() -> String {
    "10m".into()
}
fn d_catch_up() -> String {
    "12h".into()
}
fn d_lease() -> String {
    "30s".into()
}
fn d_sweep() -> String {
    "30s".into()
}
fn d_frequency() -> String {
    "weekly".into()
}
fn d_subject() -> String {
    "This week in skincare: {{ top_topic }}".into()
}
fn d_max_topics() -> usize {
    5
}
fn d_max_articles() -> usize {
    3
}

// ----------------------------------------------------------- validated form

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
}

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

#[derive(Debug, Clone)]
pub enum StoreConfig {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

#[derive(Debug, Clone)]
pub struct ContentConfig {
    pub dir: PathBuf,
    pub max_file_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    pub formats: Vec<FeedFormat>,
}

#[derive(Debug, Clone)]
pub struct TopicsConfig {
    pub vocabulary: String,
    /// Concepts merged over the vocabulary, when the file exists; `topics
    /// add` writes here.
    pub local: Option<PathBuf>,
    pub window_days: u32,
    pub baseline_days: u32,
    /// The longer window a rise is also tested over (0: none).
    pub long_window_days: u32,
    pub min_count: u32,
    pub min_score: f64,
    pub min_lift: f64,
    /// Tags that name no concept may trend and fill digests.
    pub trend_tags: bool,
    /// Tags that are no topic at all.
    pub ignore_tags: Vec<String>,
    /// Ingest keeps each article's salient phrases and reports find
    /// emerging candidates among them.
    pub candidates: bool,
    /// `digest preview` shows emerging candidates ("On our radar").
    pub show_candidates_in_preview: bool,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// `POST /subscribe` requests allowed per client address and minute
    /// (0 turns the limit off).
    pub subscribe_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// `$FEEDLETTER_ADMIN_TOKEN`, never read from the file: without it the
    /// admin API answers 404.
    pub admin_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransportKind,
    pub outbox_dir: PathBuf,
    pub rate_per_second: u32,
    pub postal_address: String,
    pub smtp: SmtpConfig,
    pub dkim: Option<DkimConfig>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub pool_size: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DkimConfig {
    pub selector: String,
    pub domain: String,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub give_up_after: Duration,
    /// A digest row left `sending` this long belongs to a process that
    /// died: it goes back to pending. Longer than `mail.smtp.timeout`.
    pub claim_timeout: Duration,
    /// How often unfinished runs are looked at: retries that came due, runs
    /// another instance fired, runs a stopped process left.
    pub sweep: Duration,
}

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub ingest: CronLine,
    pub catch_up: Duration,
    /// How long the scheduler lease lasts unrenewed: when the instance
    /// that holds it dies, another takes over within this long.
    pub lease: Duration,
}

#[derive(Debug, Clone)]
pub struct WebSubConfig {
    pub hub: Url,
}

pub use crate::domain::subscriber::Frequency;

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub name: String,
    pub frequency: Frequency,
    pub cron: CronLine,
    pub timezone: Tz,
    pub subject: String,
    pub max_topics: usize,
    pub max_articles_per_topic: usize,
}

// ------------------------------------------------------------------ loading

/// Environment variables that are not config keys.
const NOT_CONFIG_VARS: &[&str] = &["FEEDLETTER_CONFIG"];

/// The admin API's bearer token.
pub const ADMIN_TOKEN_VAR: &str = "FEEDLETTER_ADMIN_TOKEN";

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
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| ConfigError::one(format!("{file}: {}", one_line(&e.to_string()))))?;
        apply_env(&mut table, env).map_err(ConfigError::one)?;

        let mut unknown = Vec::new();
        let raw: Raw =
            serde_ignored::deserialize(toml::Value::Table(table), |p| unknown.push(p.to_string()))
                .map_err(|e| ConfigError::one(format!("{file}: {}", one_line(&e.to_string()))))?;
        let mut problems: Vec<String> = unknown
            .into_iter()
            .map(|k| format!("{file}: unknown key `{k}`"))
            .collect();
        // Relative paths in the file are relative to the file's folder.
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let config = validate(raw, &root, path, &mut problems);
        let problems: Vec<String> = problems
            .into_iter()
            .map(|p| {
                if p.starts_with(&file) {
                    p
                } else {
                    format!("{file}: {p}")
                }
            })
            .collect();
        match config {
            Some(mut c) if problems.is_empty() => {
                c.http.admin_token = env
                    .iter()
                    .find(|(k, _)| k == ADMIN_TOKEN_VAR)
                    .map(|(_, v)| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                Ok(c)
            }
            _ => Err(ConfigError { problems }),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `FEEDLETTER_MAIL__SMTP__HOST=x` sets `mail.smtp.host`. Values that read as
/// TOML (numbers, booleans, arrays) keep their type; anything else is a string.
fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), String> {
    let mut vars: Vec<&(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            k.starts_with("FEEDLETTER_")
                && k.contains("__")
                && !NOT_CONFIG_VARS.contains(&k.as_str())
        })
        .collect();
    vars.sort();
    for (key, value) in vars {
        let path: Vec<String> = key["FEEDLETTER_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("environment variable {key}: empty key segment"));
        }
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_str() && !v.is_datetime())
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let mut node = &mut *table;
        for seg in &path[..path.len() - 1] {
            let entry = node
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry
                .as_table_mut()
                .ok_or_else(|| format!("environment variable {key}: `{seg}` is not a table"))?;
        }
        node.insert(path[path.len() - 1].clone(), parsed);
    }
    Ok(())
}

/// Parses "30s", "5m", "1h30m", "7d", "250ms".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("'{s}' is not a duration like 30s, 15m, 1h or 7d"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("'{s}': number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "d" => Duration::from_secs(n * 86400),
            _ => return Err(format!("'{s}' is not a duration like 30s, 15m, 1h or 7d")),
        };
        total += d;
    }
    Ok(total)
}

fn resolve(root: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    }
}

fn parse_tz(key: &str, s: &str, problems: &mut Vec<String>) -> Tz {
    s.parse::<Tz>().unwrap_or_else(|_| {
        problems.push(format!(
            "{key}: unknown time zone '{s}' (use an IANA name such as Asia/Kolkata)"
        ));
        Tz::UTC
    })
}

fn dur(key: &str, s: &str, problems: &mut Vec<String>) -> Duration {
    parse_duration(s).unwrap_or_else(|e| {
        problems.push(format!("{key}: {e}"));
        Duration::ZERO
    })
}

fn validate(raw: Raw, root: &Path, path: &Path, p: &mut Vec<String>) -> Option<Config> {
    let site = raw.site;
    if site.title.trim().is_empty() {
        p.push("site.title: must not be empty".into());
    }
    let base_url = match Url::parse(&site.base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if u.query().is_some() || u.fragment().is_some() {
                p.push(format!(
                    "site.base_url: '{}' must not have a query or fragment",
                    site.base_url
                ));
            }
            Some(u)
        }
        Ok(_) => {
            p.push(format!(
                "site.base_url: '{}' must be an absolute http(s) URL",
                site.base_url
            ));
            None
        }
        Err(e) => {
            p.push(format!(
                "site.base_url: '{}' is not a URL ({e})",
                site.base_url
            ));
            None
        }
    };
    if !site.article_url.contains("{slug}") {
        p.push(format!(
            "site.article_url: '{}' must contain {{slug}}",
            site.article_url
        ));
    }
    let timezone = parse_tz("site.timezone", &site.timezone, p);
    if site.language.is_empty()
        || !site
            .language
            .split('-')
            .all(|s| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        p.push(format!(
            "site.language: '{}' is not a language tag like en or en-IN",
            site.language
        ));
    }
    let author = match site.author {
        Some(RawPerson::Name(name)) => Person { name, email: None },
        Some(RawPerson::Full { name, email }) => Person { name, email },
        None => Person {
            name: site.title.clone(),
            email: None,
        },
    };

    let store = if let Some(rest) = raw.store.url.strip_prefix("sqlite://") {
        let rest = rest.split('?').next().unwrap_or(rest);
        if rest.is_empty() {
            p.push(
                "store.url: sqlite:// needs a file path, e.g. sqlite://data/feedletter.db".into(),
            );
        }
        StoreConfig::Sqlite {
            path: resolve(root, rest),
        }
    } else if raw.store.url.starts_with("postgres://") || raw.store.url.starts_with("postgresql://")
    {
        StoreConfig::Postgres {
            url: raw.store.url.clone(),
        }
    } else {
        p.push(format!(
            "store.url: '{}' must start with sqlite:// or postgres://",
            raw.store.url
        ));
        StoreConfig::Sqlite {
            path: PathBuf::new(),
        }
    };

    if raw.content.max_file_size == 0 {
        p.push("content.max_file_size: must be greater than 0".into());
    }
    if raw.feeds.limit == 0 {
        p.push("feeds.limit: must be at least 1".into());
    }
    let mut formats = Vec::new();
    for f in &raw.feeds.formats {
        match f.as_str() {
            "rss" => formats.push(FeedFormat::Rss),
            "atom" => formats.push(FeedFormat::Atom),
            "json" => formats.push(FeedFormat::Json),
            other => p.push(format!(
                "feeds.formats: unknown format '{other}' (rss, atom, json)"
            )),
        }
    }
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        p.push("feeds.formats: name at least one of rss, atom, json".into());
    }

    if raw.topics.window_days == 0 || raw.topics.baseline_days == 0 {
        p.push("topics: window_days and baseline_days must be at least 1".into());
    }
    if raw.topics.min_count == 0 {
        p.push("topics.min_count: must be at least 1".into());
    }
    if !(raw.topics.min_score.is_finite() && raw.topics.min_score >= 0.0) {
        p.push(format!(
            "topics.min_score: {} must be a number of at least 0",
            raw.topics.min_score
        ));
    }
    if !(raw.topics.min_lift.is_finite() && raw.topics.min_lift >= 0.0) {
        p.push(format!(
            "topics.min_lift: {} must be a number of at least 0",
            raw.topics.min_lift
        ));
    }
    for (i, t) in raw.topics.ignore_tags.iter().enumerate() {
        if crate::domain::Slug::slugify(t).is_err() {
            p.push(format!(
                "topics.ignore_tags[{i}]: '{t}' has no letters or digits"
            ));
        }
    }
    if !raw.topics.vocabulary.starts_with("builtin:")
        && !resolve(root, &raw.topics.vocabulary).is_file()
    {
        p.push(format!(
            "topics.vocabulary: '{}' is neither builtin:skincare nor a readable file",
            raw.topics.vocabulary
        ));
    }

    let bind = raw.http.bind.parse::<SocketAddr>().unwrap_or_else(|_| {
        p.push(format!(
            "http.bind: '{}' is not an address like 127.0.0.1:8080",
            raw.http.bind
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });

    let mail = raw.mail;
    let transport = match mail.transport.as_deref().unwrap_or("file") {
        "file" => MailTransportKind::File,
        "smtp" => MailTransportKind::Smtp,
        other => {
            p.push(format!(
                "mail.transport: unknown transport '{other}' (file, smtp)"
            ));
            MailTransportKind::File
        }
    };
    let from = mail.from.unwrap_or_else(|| {
        let host = base_url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        format!("{} <digest@{host}>", site.title)
    });
    let smtp = match mail.smtp {
        Some(s) => {
            let tls = match s.tls.as_str() {
                "starttls" => SmtpTls::StartTls,
                "tls" => SmtpTls::Tls,
                "none" => SmtpTls::None,
                other => {
                    p.push(format!(
                        "mail.smtp.tls: '{other}' is not one of starttls, tls, none"
                    ));
                    SmtpTls::StartTls
                }
            };
            if s.pool_size == 0 {
                p.push("mail.smtp.pool_size: must be at least 1".into());
            }
            SmtpConfig {
                host: s.host,
                port: s.port,
                tls,
                username: s.username,
                pool_size: s.pool_size,
                timeout: dur("mail.smtp.timeout", &s.timeout, p),
            }
        }
        None => SmtpConfig {
            host: d_smtp_host(),
            port: d_smtp_port(),
            tls: SmtpTls::StartTls,
            username: None,
            pool_size: d_pool(),
            timeout: Duration::from_secs(30),
        },
    };
    let mail = MailConfig {
        from,
        transport,
        outbox_dir: resolve(root, mail.outbox_dir.as_deref().unwrap_or("outbox")),
        rate_per_second: mail.rate_per_second.unwrap_or(50),
        postal_address: mail.postal_address.unwrap_or_default(),
        smtp,
        dkim: mail.dkim.map(|d| DkimConfig {
            selector: d.selector,
            domain: d.domain,
            key_file: resolve(root, &d.key_file),
        }),
    };

    let delivery = DeliveryConfig {
        retry_initial: dur("delivery.retry_initial", &raw.delivery.retry_initial, p),
        retry_max: dur("delivery.retry_max", &raw.delivery.retry_max, p),
        give_up_after: dur("delivery.give_up_after", &raw.delivery.give_up_after, p),
        claim_timeout: dur("delivery.claim_timeout", &raw.delivery.claim_timeout, p),
        sweep: dur("delivery.sweep", &raw.delivery.sweep, p),
    };
    if parse_duration(&raw.delivery.sweep).is_ok() && delivery.sweep.is_zero() {
        p.push("delivery.sweep: must be longer than 0s".into());
    }
    if delivery.claim_timeout <= mail.smtp.timeout {
        p.push(format!(
            "delivery.claim_timeout: '{}' must be longer than mail.smtp.timeout ({} s), or a slow send would be taken for a dead one and sent twice",
            raw.delivery.claim_timeout,
            mail.smtp.timeout.as_secs()
        ));
    }

    let ingest = CronLine::parse(&raw.schedule.ingest)
        .map_err(|e| p.push(format!("schedule.ingest: {e}")))
        .ok();
    let catch_up = dur("schedule.catch_up", &raw.schedule.catch_up, p);
    let lease = dur("schedule.lease", &raw.schedule.lease, p);
    if parse_duration(&raw.schedule.lease).is_ok() && lease < Duration::from_secs(3) {
        p.push(format!(
            "schedule.lease: '{}' is too short; it is renewed every third of it, in whole seconds (3s at least)",
            raw.schedule.lease
        ));
    }

    let websub = raw.websub.and_then(|w| match Url::parse(&w.hub) {
        Ok(hub) if matches!(hub.scheme(), "http" | "https") => Some(WebSubConfig { hub }),
        _ => {
            p.push(format!("websub.hub: '{}' is not an http(s) URL", w.hub));
            None
        }
    });

    let mut digests = Vec::new();
    let mut names = BTreeMap::new();
    for (i, d) in raw.digest.into_iter().enumerate() {
        let key = format!("digest[{i}]");
        if Some(i) != *names.entry(d.name.clone()).or_insert(Some(i)) {
            p.push(format!(
                "{key}.name: '{}' is used by another digest",
                d.name
            ));
        }
        if d.name.is_empty()
            || !d
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            p.push(format!(
                "{key}.name: '{}' must be letters, digits, '-' or '_'",
                d.name
            ));
        }
        let frequency = match d.frequency.as_str() {
            "daily" => Frequency::Daily,
            "weekly" => Frequency::Weekly,
            other => {
                p.push(format!("{key}.frequency: '{other}' is not daily or weekly"));
                Frequency::Weekly
            }
        };
        let cron = CronLine::parse(&d.cron)
            .map_err(|e| p.push(format!("{key}.cron: {e}")))
            .ok();
        let tz = match &d.timezone {
            Some(t) => parse_tz(&format!("{key}.timezone"), t, p),
            None => timezone,
        };
        if let Some(cron) = cron {
            digests.push(DigestConfig {
                name: d.name,
                frequency,
                cron,
                timezone: tz,
                subject: d.subject,
                max_topics: d.max_topics,
                max_articles_per_topic: d.max_articles_per_topic,
            });
        }
    }

    Some(Config {
        path: Some(path.to_path_buf()),
        site: SiteConfig {
            title: site.title,
            base_url: base_url?,
            article_url: site.article_url,
            description: site.description,
            language: site.language,
            timezone,
            author,
            templates_dir: resolve(root, &site.templates),
        },
        store,
        content: ContentConfig {
            dir: resolve(root, &raw.content.dir),
            max_file_size: raw.content.max_file_size,
        },
        feeds: FeedsConfig {
            dir: resolve(root, &raw.feeds.dir),
            limit: raw.feeds.limit,
            formats,
        },
        topics: TopicsConfig {
            vocabulary: if raw.topics.vocabulary.starts_with("builtin:") {
                raw.topics.vocabulary
            } else {
                resolve(root, &raw.topics.vocabulary).display().to_string()
            },
            local: (!raw.topics.local.trim().is_empty())
                .then(|| resolve(root, raw.topics.local.trim())),
            window_days: raw.topics.window_days,
            baseline_days: raw.topics.baseline_days,
            long_window_days: raw.topics.long_window_days,
            min_count: raw.topics.min_count,
            min_score: raw.topics.min_score,
            min_lift: raw.topics.min_lift,
            trend_tags: raw.topics.trend_tags,
            ignore_tags: raw.topics.ignore_tags,
            candidates: raw.topics.candidates,
            show_candidates_in_preview: raw.topics.show_candidates_in_preview,
        },
        http: HttpConfig {
            bind,
            subscribe_per_minute: raw.http.subscribe_per_minute,
            trust_forwarded_for: raw.http.trust_forwarded_for,
            admin_token: None,
        },
        mail,
        delivery,
        schedule: ScheduleConfig {
            ingest: ingest?,
            catch_up,
            lease,
        },
        websub,
        digests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
title = "The Dewline"
base_url = "https://dewline.example"
"#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_toml_str(text, Path::new("/srv/dew/feedletter.toml"), &env)
    }

    #[test]
    fn defaults_fill_everything_but_title_and_base_url() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(c.feeds.limit, 50);
        assert_eq!(c.feeds.dir, PathBuf::from("/srv/dew/feeds"));
        assert_eq!(
            c.site.article_url("x"),
            "https://dewline.example/articles/x"
        );
        assert!(
            matches!(c.store, StoreConfig::Sqlite { ref path } if path == Path::new("/srv/dew/data/feedletter.db"))
        );
        assert_eq!(c.http.bind.port(), 8080);
    }

    #[test]
    fn missing_title_is_named() {
        let e = load("[site]\nbase_url = \"https://x.example\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("title"), "{e}");
    }

    #[test]
    fn environment_overrides_keys() {
        let c = load(
            MINIMAL,
            &[
                ("FEEDLETTER_STORE__URL", "sqlite:///tmp/x.db"),
                ("FEEDLETTER_FEEDS__LIMIT", "7"),
                ("FEEDLETTER_HTTP__BIND", "0.0.0.0:9000"),
                ("FEEDLETTER_CONFIG", "ignored.toml"),
            ],
        )
        .unwrap();
        assert!(
            matches!(c.store, StoreConfig::Sqlite { ref path } if path == Path::new("/tmp/x.db"))
        );
        assert_eq!(c.feeds.limit, 7);
        assert_eq!(c.http.bind.port(), 9000);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let text = r#"
[site]
title = "T"
base_url = "not a url"
timezone = "Mars/Olympus"
colour = "pink"

[schedule]
ingest = "* * *"

[feeds]
formats = ["rss", "gopher"]
"#;
        let e = load(text, &[]).unwrap_err();
        let all = e.problems.join("\n");
        for key in [
            "site.colour",
            "site.base_url",
            "site.timezone",
            "schedule.ingest",
            "feeds.formats",
        ] {
            assert!(all.contains(key), "{key} missing from:\n{all}");
        }
        assert!(
            e.problems
                .iter()
                .all(|p| p.starts_with("/srv/dew/feedletter.toml: "))
        );
    }

    #[test]
    fn a_postgres_url_picks_postgres_and_lease_and_sweep_are_checked() {
        let c = load(
            MINIMAL,
            &[("FEEDLETTER_STORE__URL", "postgres://fl@db.internal:5432/fl")],
        )
        .unwrap();
        assert!(matches!(c.store, StoreConfig::Postgres { ref url } if url.ends_with("/fl")));
        assert_eq!(c.schedule.lease, Duration::from_secs(30));
        assert_eq!(c.delivery.sweep, Duration::from_secs(30));
        let e = load(
            MINIMAL,
            &[
                ("FEEDLETTER_SCHEDULE__LEASE", "1s"),
                ("FEEDLETTER_DELIVERY__SWEEP", "0s"),
            ],
        )
        .unwrap_err();
        let all = e.problems.join("\n");
        assert!(all.contains("schedule.lease: '1s' is too short"), "{all}");
        assert!(
            all.contains("delivery.sweep: must be longer than 0s"),
            "{all}"
        );
        let e = load(MINIMAL, &[("FEEDLETTER_STORE__URL", "mysql://x/y")]).unwrap_err();
        assert!(e.problems.join("\n").contains("store.url: 'mysql://x/y'"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
