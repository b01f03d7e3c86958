//! Turning what a scan read into changes for the store, and the report that
//! says what happened to each file. Pure: no I/O, no clock.

use super::files::{ContentFile, FileRead, ReadArticle};
use super::{IngestReport, Rejection, Scheduled};
use crate::domain::{Article, ArticleSource};
use crate::store::{ArticleChange, IndexEntry};
use chrono::{DateTime, FixedOffset, Utc};
use foldhash::HashMap;
use std::borrow::Cow;
use std::path::Path;

/// How a version of an article relates to what the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// A slug the store does not publish.
    New,
    /// A published slug with other content.
    Changed,
    /// A published slug with the same content (from another source).
    Same,
}

/// A version's effective `updated`, and the time topics new to it count
/// from: a change is first seen now unless the source dates it; an old
/// article that arrives late keeps its own dates.
pub(crate) fn version_times(
    article: &Article,
    version: Version,
    now: DateTime<Utc>,
) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
    let dated = article.updated.unwrap_or(article.published);
    match version {
        Version::New => (dated, article.published),
        Version::Same => (dated, dated),
        Version::Changed => {
            let updated = article
                .updated
                .unwrap_or_else(|| now.with_timezone(&article.published.timezone()))
                .max(article.published);
            (updated, updated)
        }
    }
}

/// Turns what was read into changes for the store.
pub(super) fn decide(
    stored: &[IndexEntry],
    files: &[ContentFile],
    reads: Vec<FileRead>,
    content_dir: &Path,
    now: DateTime<Utc>,
) -> (IngestReport, Vec<ArticleChange>) {
    let mut decision = Decision {
        by_slug: stored.iter().map(|s| (s.slug.as_str(), s)).collect(),
        claims: kept_claims(stored, files, &reads, now),
        content_dir,
        now,
        report: IngestReport::default(),
        changes: Vec::new(),
    };
    for (file, read) in files.iter().zip(reads) {
        decision.record(file, read);
    }
    decision.withdraw_unclaimed(stored);
    decision.finish()
}

/// Which source holds each published slug before this scan's new versions
/// are placed: a stored article keeps its slug while its file is unchanged,
/// rejected, or still claims it; an article from elsewhere (the API) keeps
/// it always.
/// The claims borrow the stored index rather than copy 10,000 slugs and
/// paths per scan.
fn kept_claims<'a>(
    stored: &'a [IndexEntry],
    files: &[ContentFile],
    reads: &[FileRead],
    now: DateTime<Utc>,
) -> Claims<'a> {
    let position: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.rel.as_str(), i))
        .collect();
    let mut claims = Claims::with_capacity_and_hasher(stored.len(), Default::default());
    for s in stored.iter().filter(|s| s.published) {
        let keeps = match s.source.file() {
            None => true,
            Some(rel) => position.get(rel).is_some_and(|&pos| match &reads[pos] {
                FileRead::Unchanged | FileRead::Rejected(_) => true,
                FileRead::Article(read) => {
                    read.article.slug.as_str() == s.slug && read.article.published <= now
                }
                FileRead::Draft => false,
            }),
        };
        if keeps {
            claims.insert(Cow::Borrowed(s.slug.as_str()), Cow::Borrowed(&s.source));
        }
    }
    claims
}

/// Slug to the source that holds it after this scan. The maps a scan
/// builds over every article use foldhash: SipHash was a visible part of a
/// run after one save at 10,000 articles.
type Claims<'a> = HashMap<Cow<'a, str>, Cow<'a, ArticleSource>>;

/// A scan's decision as it is made, file by file.
struct Decision<'a> {
    by_slug: HashMap<&'a str, &'a IndexEntry>,
    claims: Claims<'a>,
    content_dir: &'a Path,
    now: DateTime<Utc>,
    report: IngestReport,
    changes: Vec<ArticleChange>,
}

impl Decision<'_> {
    /// A file as reports name it: its path, the content folder included.
    fn display(&self, rel: &str) -> String {
        self.content_dir.join(rel).display().to_string()
    }

    fn problem(&self, file: &ContentFile, error: String) -> Rejection {
        Rejection {
            file: self.display(&file.rel),
            error,
        }
    }

    fn record(&mut self, file: &ContentFile, read: FileRead) {
        match read {
            FileRead::Unchanged => self.report.unchanged += 1,
            FileRead::Draft => {}
            FileRead::Rejected(error) => {
                let rejection = self.problem(file, error);
                self.report.rejected.push(rejection);
            }
            FileRead::Article(read) => self.place(file, read),
        }
    }

    /// An article read from `file`: scheduled, refused (its slug is taken)
    /// or stored.
    fn place(&mut self, file: &ContentFile, read: ReadArticle) {
        let article = &read.article;
        if article.published > self.now {
            self.report.scheduled.push(Scheduled {
                file: self.display(&file.rel),
                slug: article.slug.to_string(),
                published: article.published.to_rfc3339(),
            });
            return;
        }
        let source = ArticleSource::File(file.rel.clone());
        if !self.claim(file, article.slug.as_str(), &source) {
            return;
        }
        if read.stripped > 0 {
            let warning = self.problem(
                file,
                format!(
                    "removed {} control character(s) that XML forbids",
                    read.stripped
                ),
            );
            self.report.warnings.push(warning);
        }
        self.store(file, source, read);
    }

    /// Takes `slug` for `source`, unless another source holds it (then the
    /// file is rejected, naming the other).
    fn claim(&mut self, file: &ContentFile, slug: &str, source: &ArticleSource) -> bool {
        match self.claims.get(slug) {
            Some(owner) if owner.as_ref() != source => {
                let other = match owner.as_ref() {
                    ArticleSource::File(rel) => self.display(rel),
                    other => other.to_string(),
                };
                let rejection =
                    self.problem(file, format!("slug: '{slug}' is already used by {other}"));
                self.report.rejected.push(rejection);
                false
            }
            _ => {
                self.claims
                    .insert(Cow::Owned(slug.to_owned()), Cow::Owned(source.clone()));
                true
            }
        }
    }

    /// The change a claimed article makes: none but a new stamp when the
    /// same content is in the same file, an upsert otherwise.
    fn store(&mut self, file: &ContentFile, source: ArticleSource, read: ReadArticle) {
        let ReadArticle {
            article,
            content_hash,
            topics,
            phrases,
            ..
        } = read;
        let slug = article.slug.as_str().to_owned();
        let stored = self.by_slug.get(slug.as_str()).copied();
        let version = match stored {
            Some(s) if s.published && s.content_hash == content_hash => Version::Same,
            Some(s) if s.published => Version::Changed,
            _ => Version::New,
        };
        let (updated, topics_at) = version_times(&article, version, self.now);
        match version {
            Version::Same => self.report.unchanged += 1,
            Version::Changed => self.report.updated.push(slug.clone()),
            Version::New => self.report.new.push(slug.clone()),
        }
        if version == Version::Same && stored.is_some_and(|s| s.source == source) {
            self.changes.push(ArticleChange::Restamp {
                slug,
                stamp: file.stamp.clone(),
                topics,
                // The version's own time, not now: a vocabulary change must
                // not make old articles look new.
                topics_at: topics_at.to_utc(),
                phrases,
            });
            return;
        }
        // Same content moved to another file keeps its dates.
        self.changes.push(ArticleChange::Upsert {
            article,
            content_hash,
            source,
            updated,
            stamp: Some(file.stamp.clone()),
            at: self.now,
            topics,
            topics_at: topics_at.to_utc(),
            new_slug: stored.is_none(),
            phrases,
        });
    }

    /// Published articles that nothing claims any more: the file is gone,
    /// became a draft or scheduled, or now names another slug.
    fn withdraw_unclaimed(&mut self, stored: &[IndexEntry]) {
        for s in stored.iter().filter(|s| s.published) {
            if !self.claims.contains_key(s.slug.as_str()) {
                self.report.withdrawn.push(s.slug.clone());
                self.changes.push(ArticleChange::Withdraw {
                    slug: s.slug.clone(),
                    at: self.now,
                });
            }
        }
    }

    fn finish(mut self) -> (IngestReport, Vec<ArticleChange>) {
        self.report.new.sort();
        self.report.updated.sort();
        self.report.withdrawn.sort();
        (self.report, self.changes)
    }
}
