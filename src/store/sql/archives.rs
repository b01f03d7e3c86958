//! What the feeds' archive pages and tombstones read: every article's place
//! in the order articles were first stored (`seq`), without bodies; the
//! bodies of the few pages a build renders; recent withdrawals.

use super::SqlStore;
use super::db::{sql, sql_built};
use crate::domain::StoredArticle;
use crate::store::backend::Backend;
use crate::store::rows::{
    ARTICLE_COLUMNS, ArticleRow, TopicSlugRow, TopicTotalRow, WithdrawnRow, articles, ts,
};
use crate::store::{ArchiveEntry, StoreError, Withdrawn};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Slugs per statement that reads bodies.
const BODY_ROWS: usize = 1000;

impl<B: Backend> SqlStore<B> {
    /// Every article's place, in one row: each article's fields joined by
    /// spaces (none holds one: a slug, a status word, a hex hash, numbers),
    /// one article a line, split and put in order here. A build after one
    /// change reads all 10,000 places of a large site, and with a row each,
    /// every row was a hand-off between the database's thread and this
    /// one: 25 ms of the 60 a daemon's run has, against 3 ms for one text.
    pub(super) async fn site_archive(&self) -> Result<Vec<ArchiveEntry>, StoreError> {
        let place = "CAST(a.seq AS TEXT) || ' ' || a.slug || ' ' || a.status || ' ' || \
                     a.content_hash || ' ' || CAST(a.updated_ts AS TEXT) || ' ' || \
                     CAST(a.published_ts AS TEXT)";
        let joined: String = sql_built::<B>(format!(
            "SELECT COALESCE({}, '') FROM articles a",
            B::joined(place)
        ))
        .scalar(&self.pool)
        .await?;
        let mut places = joined
            .lines()
            .map(archive_place)
            .collect::<Result<Vec<(i64, ArchiveEntry)>, StoreError>>()?;
        places.sort_unstable_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.slug.cmp(&y.slug)));
        Ok(places.into_iter().map(|(_, e)| e).collect())
    }

    pub(super) async fn topic_slug_lists(
        &self,
        topics: Option<&[String]>,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let which = match topics {
            Some(_) => format!("WHERE {}", B::in_list("topic_id", 1)),
            None => String::new(),
        };
        // One row per topic, its slugs joined: a build after one change
        // reads tens of thousands of them.
        let q = sql_built::<B>(format!(
            "SELECT topic_id, {} AS slugs FROM article_topics {which} GROUP BY topic_id",
            B::joined("slug")
        ));
        let q = match topics {
            Some(ids) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                B::bind_texts(q, &ids)?
            }
            None => q,
        };
        let rows: Vec<TopicSlugRow> = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let slugs = r.slugs.split('\n').map(str::to_owned).collect();
                (r.topic_id, slugs)
            })
            .collect())
    }

    pub(super) async fn archive_totals(&self) -> Result<(u64, BTreeMap<String, u64>), StoreError> {
        let site: i64 = sql::<B>("SELECT COUNT(*) FROM articles")
            .scalar(&self.pool)
            .await?;
        let rows: Vec<TopicTotalRow> = sql::<B>(
            "SELECT topic_id, COUNT(*) AS n FROM article_topics GROUP BY topic_id ORDER BY topic_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let n = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((
            n(site),
            rows.into_iter().map(|r| (r.topic_id, n(r.n))).collect(),
        ))
    }

    pub(super) async fn bodies(&self, slugs: &[&str]) -> Result<Vec<StoredArticle>, StoreError> {
        let mut out = Vec::with_capacity(slugs.len());
        for chunk in slugs.chunks(BODY_ROWS) {
            let q = sql_built::<B>(format!(
                "SELECT {ARTICLE_COLUMNS} FROM articles WHERE status = 'published' AND {}",
                B::in_list("slug", 1)
            ));
            let rows: Vec<ArticleRow> = B::bind_texts(q, chunk)?.fetch_all(&self.pool).await?;
            out.extend(articles(rows)?);
        }
        Ok(out)
    }

    pub(super) async fn withdrawals(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<Withdrawn>, StoreError> {
        let rows: Vec<WithdrawnRow> = sql::<B>(
            "SELECT a.slug, a.guid, a.withdrawn_ts, t.topic_id FROM articles a \
             LEFT JOIN article_topics t ON t.slug = a.slug \
             WHERE a.status = 'withdrawn' AND a.withdrawn_ts >= $1 \
             ORDER BY a.withdrawn_ts DESC, a.slug, t.topic_id",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Withdrawn> = Vec::new();
        for r in rows {
            match out.last_mut() {
                Some(w) if w.slug == r.slug => w.topics.extend(r.topic_id),
                _ => out.push(Withdrawn {
                    slug: r.slug,
                    guid: r.guid,
                    at: ts(r.withdrawn_ts)?,
                    topics: r.topic_id.into_iter().collect(),
                }),
            }
        }
        Ok(out)
    }
}

/// One line of `site_archive`'s text: `seq slug status hash updated published`.
fn archive_place(line: &str) -> Result<(i64, ArchiveEntry), StoreError> {
    let bad = || StoreError::Corrupt(format!("an article's place '{line}'"));
    let mut f = line.split(' ');
    let mut next = || f.next().ok_or_else(bad);
    let number = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let seq = number(next()?)?;
    let slug = next()?.to_owned();
    let published = next()? == "published";
    let content_hash = next()?.to_owned();
    let updated_ts = number(next()?)?;
    let published_ts = number(next()?)?;
    Ok((
        seq,
        ArchiveEntry {
            slug,
            published,
            content_hash,
            updated_ts,
            published_ts,
        },
    ))
}
