//! The backend a test runs on. Without `FEEDLETTER_TEST_POSTGRES_URL` the
//! suite runs on SQLite files in temporary folders; with it (CI sets it, and
//! `.ci/run` runs the suite both ways), every test that opens a store gets a
//! database of its own on that PostgreSQL server, dropped when the test ends.

use std::sync::atomic::{AtomicU32, Ordering};

pub const POSTGRES_URL_VAR: &str = "FEEDLETTER_TEST_POSTGRES_URL";

/// The server to run on, when one is named.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A fresh, empty database on the test server.
pub struct TestDb {
    /// Where the store connects: the server's URL with this database's name.
    pub url: String,
    admin: String,
    name: String,
}

impl TestDb {
    /// Creates one when the suite runs on PostgreSQL; None on SQLite.
    /// Fails the test (rather than skipping it) when the server named
    /// cannot be reached.
    pub async fn create() -> Option<Self> {
        let admin = postgres_url()?;
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "feedletter_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut conn = connect(&admin).await;
        use sqlx::Executor as _;
        // A linguistic collation where the server has ICU, as many
        // production databases do: feeds must not depend on it.
        let icu = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} LOCALE_PROVIDER icu ICU_LOCALE 'en-US' \
                 LOCALE 'C.UTF-8' TEMPLATE template0"
            )))
            .await;
        if icu.is_err() {
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: cannot create a database: {e}"));
        }
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(Self {
            url: url.to_string(),
            admin,
            name,
        })
    }
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!("{POSTGRES_URL_VAR}={url}: cannot reach the PostgreSQL server: {e}")
    })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime: the database goes from a
        // thread of its own. FORCE ends the store's idle connections.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Executor as _;
                let mut conn = connect(&admin).await;
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}
