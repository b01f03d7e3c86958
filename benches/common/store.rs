//! Where a bench's store lives (included with `#[path]`; not a bench): a
//! SQLite file in the run's folder, or, when
//! `FEEDLETTER_BENCH_POSTGRES_URL` names a PostgreSQL server, a fresh
//! database on it, dropped by `remove`.

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

pub struct BenchStore {
    /// For `[store].url`.
    pub url: String,
    file: Option<PathBuf>,
    postgres: Option<(String, String)>,
}

impl BenchStore {
    pub async fn create(dir: &Path) -> Result<Self> {
        let Some(admin) = std::env::var("FEEDLETTER_BENCH_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            let file = dir.join("bench.db");
            return Ok(Self {
                url: format!("sqlite://{}", file.display()),
                file: Some(file),
                postgres: None,
            });
        };
        let mut nonce = [0u8; 4];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
        let name = format!("feedletter_bench_{}", hex::encode(nonce));
        execute(&admin, &format!("CREATE DATABASE {name}")).await?;
        let mut url = url::Url::parse(&admin).context("FEEDLETTER_BENCH_POSTGRES_URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: url.to_string(),
            file: None,
            postgres: Some((admin, name)),
        })
    }

    /// "SQLite" or "PostgreSQL", for the report.
    pub fn kind(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// The database's size on disk (the file and its WAL, or
    /// `pg_database_size`).
    pub async fn size_bytes(&self) -> Result<u64> {
        if let Some(file) = &self.file {
            let wal = file.with_extension("db-wal");
            return Ok(
                std::fs::metadata(file)?.len() + std::fs::metadata(wal).map_or(0, |m| m.len())
            );
        }
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.url).await?;
        let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&mut conn)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Drops a PostgreSQL database (a SQLite file goes with its folder).
    pub async fn remove(self) -> Result<()> {
        if let Some((admin, name)) = &self.postgres {
            execute(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await?;
        }
        Ok(())
    }
}

async fn execute(url: &str, sql: &str) -> Result<()> {
    use sqlx::{Connection as _, Executor as _};
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .with_context(|| sql.to_owned())?;
    Ok(())
}
