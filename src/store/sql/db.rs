//! What the shared SQL needs from sqlx, said once.
//!
//! Code generic over a sqlx `Database` has to prove at every generic item
//! that the database's connections run queries, that its arguments take
//! each Rust type bound and that its rows decode into each row type. Rust
//! carries a trait's supertraits to its users but not its other `where`
//! clauses, so a trait such as `trait SqlDb where String: Encode<Self>`
//! would make every user repeat the bounds. Here each capability is
//! instead a small trait *of the database itself* (`Runs`, `Binds<T>`,
//! `Reads<O>`), implemented for every database sqlx gives it to, and
//! `SqlDb` lists them as supertraits: `B: Backend` is all a generic item
//! writes. A statement that binds a new type or reads a new row shape adds
//! it to `SqlDb`'s list once.
//!
//! `Sql` wraps a sqlx query so that call sites read as plain sqlx does:
//! `sql(TEXT).bind(x).fetch_all(&pool)` or `.execute(&mut *tx)`.

use crate::store::rows::{
    ArticleRow, ClaimedRow, CountsRow, DigestArticleRow, HeldRow, InstanceRow, OutboxErrorRow,
    QueuedRow, RunRow, SourceStateRow, StateCountRow, SubscriberRow, TopicCountRow, TopicSlugRow,
    TopicTotalRow, WebCopyRow, WithdrawnRow,
};
use sqlx::query::Query;
use sqlx::query_builder::Separated;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use std::future::Future;
use std::pin::Pin;

type Args<DB> = <DB as Database>::Arguments;
type BoxFuture<'e, T> = Pin<Box<dyn Future<Output = T> + Send + 'e>>;

/// Everything the statements under `sql/` do with a database.
pub trait SqlDb:
    Database
    + Runs
    + for<'a> Binds<'a, i64>
    + for<'a> Binds<'a, Option<i64>>
    + for<'a> Binds<'a, String>
    + for<'a> Binds<'a, Option<String>>
    + for<'a> Binds<'a, &'a str>
    + for<'a> Binds<'a, Option<&'a str>>
    + for<'a> Binds<'a, &'a String>
    + for<'a> Binds<'a, &'a Option<String>>
    + Reads<(i64,)>
    + Reads<(Option<i64>,)>
    + Reads<(String,)>
    + Reads<(Vec<u8>,)>
    + Reads<(String, i64)>
    + Reads<CountsRow>
    + Reads<ArticleRow>
    + Reads<TopicCountRow>
    + Reads<SubscriberRow>
    + Reads<QueuedRow>
    + Reads<RunRow>
    + Reads<ClaimedRow>
    + Reads<DigestArticleRow>
    + Reads<StateCountRow>
    + Reads<OutboxErrorRow>
    + Reads<WebCopyRow>
    + Reads<TopicSlugRow>
    + Reads<TopicTotalRow>
    + Reads<WithdrawnRow>
    + Reads<InstanceRow>
    + Reads<HeldRow>
    + Reads<SourceStateRow>
{
    /// Rows a statement changed: sqlx gives each driver's result its own
    /// type, with no common trait.
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

/// Where a statement runs: the pool (any free connection) or one
/// connection, such as a transaction's.
pub enum On<'e, DB: Database> {
    Pool(&'e Pool<DB>),
    Conn(&'e mut DB::Connection),
}

/// What a statement can run on: `&pool` or `&mut *tx`.
pub trait Executes<'e, DB: Database> {
    fn on(self) -> On<'e, DB>;
}

impl<'e, DB: Database> Executes<'e, DB> for &'e Pool<DB> {
    fn on(self) -> On<'e, DB> {
        On::Pool(self)
    }
}

impl<'e, DB: Database> Executes<'e, DB> for &'e mut <DB as Database>::Connection {
    fn on(self) -> On<'e, DB> {
        On::Conn(self)
    }
}

/// Runs a query on a pool or a connection.
pub trait Runs: Database {
    fn execute<'e>(
        q: Query<'e, Self, Args<Self>>,
        on: On<'e, Self>,
    ) -> BoxFuture<'e, Result<Self::QueryResult, sqlx::Error>>;
    /// Every row, each decoded by `read` as it arrives (rather than all
    /// rows held first), as `sqlx::query_as` does.
    fn fetch_all<'e, O: Send + Unpin + 'e>(
        q: Query<'e, Self, Args<Self>>,
        on: On<'e, Self>,
        read: fn(&Self::Row) -> Result<O, sqlx::Error>,
    ) -> BoxFuture<'e, Result<Vec<O>, sqlx::Error>>;
    fn fetch_optional<'e>(
        q: Query<'e, Self, Args<Self>>,
        on: On<'e, Self>,
    ) -> BoxFuture<'e, Result<Option<Self::Row>, sqlx::Error>>;
}

impl<DB> Runs for DB
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    Args<DB>: IntoArguments<DB>,
{
    fn execute<'e>(
        q: Query<'e, Self, Args<Self>>,
        on: On<'e, Self>,
    ) -> BoxFuture<'e, Result<Self::QueryResult, sqlx::Error>> {
        match on {
            On::Pool(pool) => pool.execute(q),
            On::Conn(conn) => conn.execute(q),
        }
    }

    fn fetch_all<'e, O: Send + Unpin + 'e>(
        q: Query<'e, Self, Args<Self>>,
        on: On<'e, Self>,
        read: fn(&Self::Row) -> Result<O, sqlx::Error>,
    ) -> BoxFuture<'e, Result<Vec<O>, sqlx::Error>> {
        let q = q.try_map(move |row: Self::Row| read(&row));
        match on {
            On::Pool(pool) => Box::pin(q.fetch_all(pool)),
            On::Conn(conn) => Box::pin(q.fetch_all(conn)),
        }
    }

    fn fetch_optional<'e>(
        q: Query<'e, Self, Args<Self>>,
        on: On<'e, Self>,
    ) -> BoxFuture<'e, Result<Option<Self::Row>, sqlx::Error>> {
        match on {
            On::Pool(pool) => pool.fetch_optional(q),
            On::Conn(conn) => conn.fetch_optional(q),
        }
    }
}

/// Binds a `T` to a query or to a multi-row `VALUES` list. `'t` is how
/// long the value's borrows last (`Option<&'t str>` encodes for `'t`
/// only).
pub trait Binds<'t, T>: Database {
    fn bind<'q>(q: Query<'q, Self, Args<Self>>, value: T) -> Query<'q, Self, Args<Self>>;
    fn push(row: &mut Separated<'_, Self, &'static str>, value: T);
}

impl<'t, DB: Database, T> Binds<'t, T> for DB
where
    T: Encode<'t, DB> + Type<DB>,
{
    fn bind<'q>(q: Query<'q, Self, Args<Self>>, value: T) -> Query<'q, Self, Args<Self>> {
        q.bind(value)
    }

    fn push(row: &mut Separated<'_, Self, &'static str>, value: T) {
        row.push_bind(value);
    }
}

/// `push_bind` on a row of a multi-row `VALUES` list, for any type the
/// database binds.
pub trait PushBind<DB: Database> {
    fn bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        DB: Binds<'t, T>;
}

impl<DB: Database> PushBind<DB> for Separated<'_, DB, &'static str> {
    fn bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        DB: Binds<'t, T>,
    {
        <DB as Binds<'t, T>>::push(self, value);
        self
    }
}

/// Decodes one row into an `O`.
pub trait Reads<O>: Database {
    fn read(row: &Self::Row) -> Result<O, sqlx::Error>;
}

impl<DB: Database, O> Reads<O> for DB
where
    O: for<'r> FromRow<'r, DB::Row>,
{
    fn read(row: &Self::Row) -> Result<O, sqlx::Error> {
        O::from_row(row)
    }
}

/// A statement and its binds.
pub struct Sql<'q, DB: Database>(Query<'q, DB, Args<DB>>);

/// A statement written as a literal.
pub fn sql<DB: SqlDb>(text: &'static str) -> Sql<'static, DB> {
    Sql(sqlx::query(text))
}

/// A statement assembled at run time, from this module's own constants
/// (column lists, the backend's list conditions), never from input.
pub fn sql_built<DB: SqlDb>(text: String) -> Sql<'static, DB> {
    Sql(sqlx::query(AssertSqlSafe(text)))
}

impl<'q, DB: SqlDb> Sql<'q, DB> {
    /// A statement a `QueryBuilder` made.
    pub fn from_query(q: Query<'q, DB, Args<DB>>) -> Self {
        Sql(q)
    }

    pub fn bind<'t, T>(self, value: T) -> Self
    where
        DB: Binds<'t, T>,
    {
        Sql(<DB as Binds<'t, T>>::bind(self.0, value))
    }

    /// Runs the statement; returns how many rows it changed.
    pub async fn execute<'e>(self, on: impl Executes<'e, DB>) -> Result<u64, sqlx::Error>
    where
        'q: 'e,
    {
        let done = <DB as Runs>::execute(self.0, on.on()).await?;
        Ok(DB::rows_affected(&done))
    }

    pub async fn fetch_all<'e, O>(self, on: impl Executes<'e, DB>) -> Result<Vec<O>, sqlx::Error>
    where
        'q: 'e,
        O: Send + Unpin + 'e,
        DB: Reads<O>,
    {
        <DB as Runs>::fetch_all(self.0, on.on(), <DB as Reads<O>>::read).await
    }

    pub async fn fetch_optional<'e, O>(
        self,
        on: impl Executes<'e, DB>,
    ) -> Result<Option<O>, sqlx::Error>
    where
        'q: 'e,
        DB: Reads<O>,
    {
        <DB as Runs>::fetch_optional(self.0, on.on())
            .await?
            .as_ref()
            .map(<DB as Reads<O>>::read)
            .transpose()
    }

    /// Exactly one row; none is `RowNotFound`, as with sqlx.
    pub async fn fetch_one<'e, O>(self, on: impl Executes<'e, DB>) -> Result<O, sqlx::Error>
    where
        'q: 'e,
        DB: Reads<O>,
    {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of exactly one row.
    pub async fn scalar<'e, O>(self, on: impl Executes<'e, DB>) -> Result<O, sqlx::Error>
    where
        'q: 'e,
        DB: Reads<(O,)>,
    {
        Ok(self.fetch_one::<(O,)>(on).await?.0)
    }

    /// The first column of one row, if there is one.
    pub async fn scalar_optional<'e, O>(
        self,
        on: impl Executes<'e, DB>,
    ) -> Result<Option<O>, sqlx::Error>
    where
        'q: 'e,
        DB: Reads<(O,)>,
    {
        Ok(self.fetch_optional::<(O,)>(on).await?.map(|(v,)| v))
    }

    /// The first column of every row.
    pub async fn scalars<'e, O>(self, on: impl Executes<'e, DB>) -> Result<Vec<O>, sqlx::Error>
    where
        'q: 'e,
        O: Send + Unpin + 'e,
        DB: Reads<(O,)>,
    {
        let rows = self.fetch_all::<(O,)>(on).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }
}
