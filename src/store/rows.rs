//! Rows as both backends return them, and their conversion to the domain.
//!
//! The SQL differs between SQLite and PostgreSQL; what comes back does not:
//! the same column names, text and 64-bit integers only (times are Unix
//! seconds or RFC 3339 text, lists are JSON text). `FromRow` is derived
//! generically, so one struct and one conversion serve both.

use super::digests::{Claimed, DigestArticle, DigestRun, OutboxError};
use super::instances::{Held, InstanceRecord};
use super::mail_kind::MailKind;
use super::subscribers::QueuedMail;
use super::{ArchiveEntry, IndexEntry, PublishedPhrases, StoreError, TopicArticle, TopicSummary};
use crate::domain::{
    Article, ArticleStatus, Consent, Frequency, Person, Slug, StoredArticle, Subscriber,
    SubscriberEmail, SubscriberStatus,
};
use chrono::{DateTime, FixedOffset, Utc};

pub(super) fn ts(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs}")))
}

fn opt_ts(secs: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    secs.map(ts).transpose()
}

fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, StoreError> {
    DateTime::parse_from_rfc3339(s).map_err(|e| StoreError::Corrupt(format!("time '{s}': {e}")))
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX })
}

fn email(text: &str) -> Result<SubscriberEmail, StoreError> {
    SubscriberEmail::parse(text)
        .map_err(|e| StoreError::Corrupt(format!("subscriber email '{text}': {e}")))
}

fn topic_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("subscriber topics '{text}': {e}")))
}

/// The columns `ArticleRow` reads.
pub(super) const ARTICLE_COLUMNS: &str = "slug, guid, source, status, title, summary, \
    content_html, author_name, author_email, reviewed_by, tags, category, image, image_alt, \
    url, published_at, source_updated, updated_at";

#[derive(sqlx::FromRow)]
pub struct ArticleRow {
    slug: String,
    guid: String,
    source: String,
    status: String,
    title: String,
    summary: String,
    content_html: String,
    author_name: String,
    author_email: Option<String>,
    reviewed_by: Option<String>,
    tags: String,
    category: Option<String>,
    image: Option<String>,
    image_alt: Option<String>,
    url: String,
    published_at: String,
    source_updated: Option<String>,
    updated_at: String,
}

impl TryFrom<ArticleRow> for StoredArticle {
    type Error = StoreError;
    fn try_from(r: ArticleRow) -> Result<Self, StoreError> {
        Ok(StoredArticle {
            article: Article {
                slug: Slug::parse(&r.slug).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                tags: serde_json::from_str(&r.tags)
                    .map_err(|e| StoreError::Corrupt(format!("tags of {}: {e}", r.slug)))?,
                title: r.title,
                summary: r.summary,
                content_html: r.content_html,
                author: Person {
                    name: r.author_name,
                    email: r.author_email,
                },
                reviewed_by: r.reviewed_by,
                category: r.category,
                image: r.image,
                image_alt: r.image_alt,
                url: r.url,
                published: parse_time(&r.published_at)?,
                updated: r.source_updated.as_deref().map(parse_time).transpose()?,
            },
            guid: r.guid,
            updated: parse_time(&r.updated_at)?,
            status: if r.status == "published" {
                ArticleStatus::Published
            } else {
                ArticleStatus::Withdrawn
            },
            source: r.source,
        })
    }
}

pub(super) fn articles(rows: Vec<ArticleRow>) -> Result<Vec<StoredArticle>, StoreError> {
    rows.into_iter().map(StoredArticle::try_from).collect()
}

/// The columns `IndexRow` reads.
pub(super) const INDEX_COLUMNS: &str =
    "slug, source, status, content_hash, source_mtime_ns, source_size, render_key";

/// Read as one JSON array per row (`Backend::json_rows`), in this order.
#[derive(serde::Deserialize)]
pub struct IndexRow {
    slug: String,
    source: String,
    status: String,
    content_hash: String,
    source_mtime_ns: Option<i64>,
    source_size: Option<i64>,
    render_key: Option<String>,
}

impl TryFrom<IndexRow> for IndexEntry {
    type Error = StoreError;

    /// A source the store should never hold is corrupt, named with its
    /// article.
    fn try_from(r: IndexRow) -> Result<Self, StoreError> {
        let source = r
            .source
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("article '{}': {e}", r.slug)))?;
        Ok(IndexEntry {
            slug: r.slug,
            source,
            published: r.status == "published",
            content_hash: r.content_hash,
            source_mtime_ns: r.source_mtime_ns,
            source_size: r.source_size,
            render_key: r.render_key,
        })
    }
}

/// The columns `SubscriberRow` reads.
pub(super) const SUBSCRIBER_COLUMNS: &str = "id, email, status, topics, frequency, created_ts, \
    consent_ts, consent_source, consent_client, confirmed_ts, confirmed_client, \
    unsubscribed_ts, bounce_count, soft_bounce_count, status_reason, status_ts, updated_ts";

#[derive(sqlx::FromRow)]
pub struct SubscriberRow {
    id: i64,
    email: String,
    status: String,
    topics: String,
    frequency: String,
    created_ts: i64,
    consent_ts: i64,
    consent_source: String,
    consent_client: Option<String>,
    confirmed_ts: Option<i64>,
    confirmed_client: Option<String>,
    unsubscribed_ts: Option<i64>,
    bounce_count: i64,
    soft_bounce_count: i64,
    status_reason: Option<String>,
    status_ts: Option<i64>,
    updated_ts: i64,
}

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = StoreError;
    fn try_from(r: SubscriberRow) -> Result<Self, StoreError> {
        Ok(Subscriber {
            id: r.id,
            email: email(&r.email)?,
            status: SubscriberStatus::parse(&r.status).map_err(StoreError::Corrupt)?,
            topics: topic_list(&r.topics)?,
            frequency: Frequency::parse(&r.frequency).map_err(StoreError::Corrupt)?,
            created_at: ts(r.created_ts)?,
            consent: Consent {
                at: ts(r.consent_ts)?,
                source: r.consent_source.parse().map_err(
                    |e: crate::domain::InvalidConsentSource| StoreError::Corrupt(e.to_string()),
                )?,
                client: r.consent_client,
            },
            confirmed_at: opt_ts(r.confirmed_ts)?,
            confirmed_client: r.confirmed_client,
            unsubscribed_at: opt_ts(r.unsubscribed_ts)?,
            bounce_count: count(r.bounce_count),
            soft_bounce_count: count(r.soft_bounce_count),
            status_reason: r.status_reason,
            status_at: opt_ts(r.status_ts)?,
            updated_at: ts(r.updated_ts)?,
        })
    }
}

pub(super) fn subscribers(rows: Vec<SubscriberRow>) -> Result<Vec<Subscriber>, StoreError> {
    rows.into_iter().map(Subscriber::try_from).collect()
}

/// The columns `QueuedRow` reads.
pub(super) const QUEUED_COLUMNS: &str = "id, subscriber_id, kind, message, attempts, created_ts";

#[derive(sqlx::FromRow)]
pub struct QueuedRow {
    id: i64,
    subscriber_id: Option<i64>,
    kind: String,
    message: String,
    attempts: i64,
    created_ts: i64,
}

impl TryFrom<QueuedRow> for QueuedMail {
    type Error = StoreError;
    fn try_from(r: QueuedRow) -> Result<Self, StoreError> {
        Ok(QueuedMail {
            id: r.id,
            subscriber_id: r.subscriber_id,
            kind: MailKind::parse(&r.kind)
                .map_err(|e| StoreError::Corrupt(format!("queued mail {}: {e}", r.id)))?,
            message: r.message,
            attempts: count(r.attempts),
            created_at: ts(r.created_ts)?,
        })
    }
}

/// The columns `RunRow` reads.
pub(super) const RUN_COLUMNS: &str =
    "id, schedule, fire_ts, since_ts, frequency, state, created_ts, finished_ts, subject";

#[derive(sqlx::FromRow)]
pub struct RunRow {
    id: i64,
    schedule: String,
    fire_ts: i64,
    since_ts: i64,
    frequency: String,
    state: String,
    created_ts: i64,
    finished_ts: Option<i64>,
    subject: String,
}

impl TryFrom<RunRow> for DigestRun {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        Ok(DigestRun {
            id: r.id,
            schedule: r.schedule,
            fire: ts(r.fire_ts)?,
            since: ts(r.since_ts)?,
            frequency: Frequency::parse(&r.frequency).map_err(StoreError::Corrupt)?,
            done: r.state == "done",
            created_at: ts(r.created_ts)?,
            finished_at: opt_ts(r.finished_ts)?,
            subject: r.subject,
        })
    }
}

/// An outbox row joined with its subscriber; the columns are
/// `o.id, o.subscriber_id, o.since_ts, o.attempts, s.email, s.status, s.topics`.
#[derive(sqlx::FromRow)]
pub struct ClaimedRow {
    id: i64,
    subscriber_id: i64,
    since_ts: i64,
    attempts: i64,
    email: String,
    status: String,
    topics: String,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = StoreError;
    fn try_from(r: ClaimedRow) -> Result<Self, StoreError> {
        Ok(Claimed {
            id: r.id,
            subscriber_id: r.subscriber_id,
            email: email(&r.email)?,
            status: SubscriberStatus::parse(&r.status).map_err(StoreError::Corrupt)?,
            topics: topic_list(&r.topics)?,
            since: ts(r.since_ts)?,
            attempts: count(r.attempts),
        })
    }
}

/// An article of a digest's window, one row per topic.
#[derive(sqlx::FromRow)]
pub struct DigestArticleRow {
    slug: String,
    title: String,
    summary: String,
    url: String,
    image: Option<String>,
    image_alt: Option<String>,
    author_name: String,
    reviewed_by: Option<String>,
    published_ts: i64,
    updated_ts: i64,
    topic_id: String,
    label: String,
}

/// Groups a digest window's rows (ordered by slug) into articles.
pub(super) fn digest_articles(
    rows: Vec<DigestArticleRow>,
    until: DateTime<Utc>,
) -> Result<Vec<DigestArticle>, StoreError> {
    let mut out: Vec<DigestArticle> = Vec::new();
    for r in rows {
        let topic = (r.topic_id, r.label);
        if let Some(a) = out.last_mut().filter(|a| a.slug == r.slug) {
            a.topics.push(topic);
            continue;
        }
        let published = ts(r.published_ts)?;
        let updated = ts(r.updated_ts)?;
        out.push(DigestArticle {
            slug: r.slug,
            title: r.title,
            summary: r.summary,
            url: r.url,
            image: r.image,
            image_alt: r.image_alt,
            author: r.author_name,
            reviewed_by: r.reviewed_by,
            published,
            // An update after the window's end is not seen yet.
            updated: if updated > until { published } else { updated },
            topics: vec![topic],
        });
    }
    Ok(out)
}

/// Published and withdrawn articles.
#[derive(sqlx::FromRow)]
pub struct CountsRow {
    pub(super) published: i64,
    pub(super) withdrawn: i64,
}

impl CountsRow {
    pub(super) fn counts(&self) -> (u64, u64) {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        (n(self.published), n(self.withdrawn))
    }
}

/// A published article as trending lists it: slug, title, URL and
/// publication time, read by position.
pub type TopicArticleRow = (String, String, String, i64);

impl TryFrom<TopicArticleRow> for TopicArticle {
    type Error = StoreError;
    fn try_from((slug, title, url, published): TopicArticleRow) -> Result<Self, StoreError> {
        let published = ts(published)?;
        Ok(TopicArticle {
            slug,
            title,
            url,
            published,
        })
    }
}

/// A topic and how many published articles have it.
#[derive(sqlx::FromRow)]
pub struct TopicCountRow {
    topic_id: String,
    label: String,
    n: i64,
}

impl From<TopicCountRow> for TopicSummary {
    fn from(r: TopicCountRow) -> Self {
        TopicSummary {
            id: r.topic_id,
            label: r.label,
            articles: u32::try_from(r.n).unwrap_or(u32::MAX),
        }
    }
}

/// An article's salient phrases, as JSON text: read as one JSON array per
/// row (`Backend::json_rows`): slug, publication, phrases.
#[derive(serde::Deserialize)]
pub struct PhraseRow {
    slug: String,
    pub(super) published_ts: i64,
    phrases: String,
}

impl TryFrom<PhraseRow> for PublishedPhrases {
    type Error = StoreError;
    fn try_from(r: PhraseRow) -> Result<Self, StoreError> {
        let phrases = serde_json::from_str(&r.phrases)
            .map_err(|e| StoreError::Corrupt(format!("phrases of '{}': {e}", r.slug)))?;
        Ok(PublishedPhrases {
            published: ts(r.published_ts)?,
            slug: r.slug,
            phrases,
        })
    }
}

/// How many outbox rows of a run are in one state.
#[derive(sqlx::FromRow)]
pub struct StateCountRow {
    pub(super) state: String,
    pub(super) n: i64,
}

/// A failed or retried outbox row's latest error.
#[derive(sqlx::FromRow)]
pub struct OutboxErrorRow {
    email: String,
    state: String,
    last_error: String,
}

impl From<OutboxErrorRow> for OutboxError {
    fn from(r: OutboxErrorRow) -> Self {
        OutboxError {
            email: r.email,
            state: r.state,
            error: r.last_error,
        }
    }
}

/// A run's subject and the copy of its digest shown on the web.
#[derive(sqlx::FromRow)]
pub struct WebCopyRow {
    pub(super) subject: String,
    pub(super) web_html: String,
}

/// An article's place in the archives, read as one JSON array per row
/// (`Backend::json_rows`): seq, slug, status, content hash, updated and
/// published times.
pub type ArchiveRow = (i64, String, String, String, i64, i64);

impl From<ArchiveRow> for ArchiveEntry {
    fn from((_, slug, status, content_hash, updated_ts, published_ts): ArchiveRow) -> Self {
        ArchiveEntry {
            slug: slug.into(),
            published: status == "published",
            content_hash: content_hash.into(),
            updated_ts,
            published_ts,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct TopicSlugRow {
    pub topic_id: String,
    /// Its slugs joined with newlines.
    pub slugs: String,
}

#[derive(sqlx::FromRow)]
pub struct TopicTotalRow {
    pub topic_id: String,
    pub n: i64,
}

#[derive(sqlx::FromRow)]
pub struct WithdrawnRow {
    pub slug: String,
    pub guid: String,
    pub withdrawn_ts: i64,
    pub topic_id: Option<String>,
}

/// A row of `instances`.
#[derive(sqlx::FromRow)]
pub struct InstanceRow {
    id: String,
    role: String,
    process: Option<String>,
    started_ts: i64,
    heartbeat_ts: i64,
    dead_ts: Option<i64>,
}

impl TryFrom<InstanceRow> for InstanceRecord {
    type Error = StoreError;
    fn try_from(r: InstanceRow) -> Result<Self, StoreError> {
        Ok(InstanceRecord {
            id: r.id,
            role: r.role,
            process: r.process,
            started: ts(r.started_ts)?,
            heartbeat: ts(r.heartbeat_ts)?,
            dead: opt_ts(r.dead_ts)?,
        })
    }
}

/// A run's `sending` rows of one holder.
#[derive(sqlx::FromRow)]
pub struct HeldRow {
    holder: Option<String>,
    heartbeat_ts: Option<i64>,
    dead_ts: Option<i64>,
    claimed_ts: Option<i64>,
    started: i64,
    unstarted: i64,
}

impl TryFrom<HeldRow> for Held {
    type Error = StoreError;
    fn try_from(r: HeldRow) -> Result<Self, StoreError> {
        Ok(Held {
            holder: r.holder,
            heartbeat: opt_ts(r.heartbeat_ts)?,
            dead: r.dead_ts.is_some(),
            claimed: opt_ts(r.claimed_ts)?,
            started: u64::try_from(r.started).unwrap_or(0),
            unstarted: u64::try_from(r.unstarted).unwrap_or(0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct SourceStateRow {
    name: String,
    cursor: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    last_attempt_ts: Option<i64>,
    last_success_ts: Option<i64>,
    last_listing_ts: Option<i64>,
    next_try_ts: Option<i64>,
    failures: i64,
    last_error: Option<String>,
}

impl TryFrom<SourceStateRow> for super::sources::SourceState {
    type Error = StoreError;
    fn try_from(r: SourceStateRow) -> Result<Self, StoreError> {
        Ok(Self {
            name: r.name,
            cursor: r.cursor,
            etag: r.etag,
            last_modified: r.last_modified,
            last_attempt: opt_ts(r.last_attempt_ts)?,
            last_success: opt_ts(r.last_success_ts)?,
            last_listing: opt_ts(r.last_listing_ts)?,
            next_try: opt_ts(r.next_try_ts)?,
            failures: count(r.failures),
            last_error: r.last_error,
        })
    }
}
