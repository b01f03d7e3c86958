//! PostgreSQL: one database shared by any number of instances, migrations
//! from `migrations/postgres`. Lists are bound as arrays (`= ANY($1)`,
//! `unnest`); claims skip the rows another instance holds.

use super::Backend;
use crate::store::sql::{ImportCommon, Sql, SqlDb, SqlStore, TopicRow, TopicSet, key, topics_json};
use crate::store::{ImportRow, StoreError};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgQueryResult};
use sqlx::{Pool, Postgres};
use std::str::FromStr as _;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

impl SqlStore<Postgres> {
    /// Connects to the database `url` names (`postgres://user@host/db`).
    /// The password, if any, is never logged. Migrations are applied by
    /// `Store::migrate`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("store.url: not a PostgreSQL URL: {e}"))?
            .application_name("feedletter")
            // A process frozen or cut off in the middle of a transaction
            // would hold its row locks for ever; the server ends such a
            // transaction after this, and the others recover its rows.
            // Every transaction of ours runs its statements back to back.
            .options([("idle_in_transaction_session_timeout", "15s")]);
        let shown = redact(url);
        // One connection first: its error says why (refused, no such
        // database, authentication), where the pool's would only time out.
        {
            use sqlx::Connection as _;
            PgConnection::connect_with(&options)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {shown}"))?
                .close()
                .await
                .ok();
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {shown}"))?;
        Ok(Self::from_pool(pool))
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl SqlDb for Postgres {
    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}

impl Backend for Postgres {
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const BEGIN_WRITE: &'static str = "BEGIN";

    async fn defer_checkpoint(_conn: &mut PgConnection) -> Result<(), StoreError> {
        Ok(())
    }

    fn checkpoint_later(_conn: PoolConnection<Postgres>, _pool: &Pool<Postgres>) {}

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// `LIMIT NULL` is no limit.
    fn limit(limit: Option<usize>) -> Option<i64> {
        limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX))
    }

    fn in_list(column: &str, param: u8) -> String {
        format!("{column} = ANY(${param})")
    }

    fn joined(column: &str) -> String {
        format!("string_agg({column}, chr(10))")
    }

    fn json_rows(values: &str) -> String {
        format!(
            "convert_to(COALESCE({}::text, '[]'), 'UTF8')",
            Self::json_group(values)
        )
    }

    fn json_group(values: &str) -> String {
        format!("json_agg(json_build_array({values}))")
    }

    fn json(expr: &str) -> String {
        expr.to_owned()
    }

    fn latest(a: &str, b: &str) -> String {
        format!("GREATEST({a}, {b})")
    }

    fn bind_texts<'q>(q: Sql<'q, Self>, items: &[&str]) -> Result<Sql<'q, Self>, StoreError> {
        Ok(q.bind(items.to_vec()))
    }

    fn bind_ids<'q>(q: Sql<'q, Self>, items: &[i64]) -> Result<Sql<'q, Self>, StoreError> {
        Ok(q.bind(items.to_vec()))
    }

    async fn clear_topics(
        conn: &mut PgConnection,
        sets: &[&TopicSet<'_>],
    ) -> Result<(), StoreError> {
        let slugs: Vec<&str> = sets.iter().map(|s| s.slug).collect();
        let (keep_slugs, keep_topics): (Vec<&str>, Vec<&str>) = sets
            .iter()
            .flat_map(|s| s.topics.iter().map(|t| (s.slug, t.id.as_str())))
            .unzip();
        sqlx::query(
            "DELETE FROM article_topics WHERE slug = ANY($1) \
             AND (slug, topic_id) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        )
        .bind(&slugs)
        .bind(&keep_slugs)
        .bind(&keep_topics)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One array per column.
    async fn insert_topics(
        conn: &mut PgConnection,
        rows: &[TopicRow<'_>],
    ) -> Result<(), StoreError> {
        let slugs: Vec<&str> = rows.iter().map(|r| r.slug).collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.topic).collect();
        let labels: Vec<&str> = rows.iter().map(|r| r.label).collect();
        let seen: Vec<i64> = rows.iter().map(|r| r.first_seen).collect();
        let prominence: Vec<i64> = rows.iter().map(|r| i64::from(r.prominence)).collect();
        sqlx::query(
            "INSERT INTO article_topics (slug, topic_id, label, first_seen_ts, prominence) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
             ON CONFLICT (slug, topic_id) DO UPDATE SET label = excluded.label, \
             prominence = excluded.prominence",
        )
        .bind(&slugs)
        .bind(&ids)
        .bind(&labels)
        .bind(&seen)
        .bind(&prominence)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One array per column.
    async fn note_first_seen(
        conn: &mut PgConnection,
        topics: &[&str],
        times: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO topic_firsts (topic_id, first_seen_ts) \
             SELECT * FROM unnest($1::text[], $2::int8[]) \
             ON CONFLICT (topic_id) DO UPDATE SET \
             first_seen_ts = LEAST(topic_firsts.first_seen_ts, excluded.first_seen_ts)",
        )
        .bind(topics)
        .bind(times)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One array per column.
    async fn insert_imports(
        conn: &mut PgConnection,
        rows: &[ImportRow],
        common: &ImportCommon<'_>,
    ) -> Result<u64, StoreError> {
        let emails: Vec<&str> = rows.iter().map(|r| r.email.as_str()).collect();
        let keys: Vec<String> = rows.iter().map(|r| key(r.email.as_str())).collect();
        let topics: Vec<String> = rows
            .iter()
            .map(|r| topics_json(&r.topics))
            .collect::<Result<_, _>>()?;
        let frequencies: Vec<&str> = rows.iter().map(|r| r.frequency.as_str()).collect();
        let done = sqlx::query(
            "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
               consent_ts, consent_source, confirmed_ts, updated_ts) \
             SELECT e, k, $1, tp, f, $2, $2, $3, $4, $2 \
             FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) AS r(e, k, tp, f) \
             ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(common.status.as_str())
        .bind(common.at)
        .bind(common.source)
        .bind(common.confirmed_at)
        .bind(&emails)
        .bind(&keys)
        .bind(&topics)
        .bind(&frequencies)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_manage_tokens(
        conn: &mut PgConnection,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (subscribers, hashes): (Vec<i64>, Vec<&str>) =
            tokens.iter().map(|(s, h)| (*s, h.as_str())).unzip();
        sqlx::query(
            "INSERT INTO subscriber_tokens (token_hash, subscriber_id, purpose, created_ts, \
             expires_ts) SELECT h, s, 'manage', $3, $4 FROM unnest($1::text[], $2::int8[]) AS t(h, s)",
        )
        .bind(&hashes)
        .bind(&subscribers)
        .bind(now.timestamp())
        .bind(expires.timestamp())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
