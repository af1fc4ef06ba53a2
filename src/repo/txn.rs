//! The service's transaction. On MySQL it holds a connection of the service's own pool
//! ([`super::pool`]), and a statement goes from it to sqlx directly. sea-orm's
//! `DatabaseTransaction` sends each statement through an `async_trait` box, a tracing span
//! and its metric hook, and each layer copies the statement's whole future (BENCHMARKS.md,
//! issue 21, item 40). On SQLite it is sea-orm's transaction, unchanged.
//!
//! It is a sea-orm `ConnectionTrait`, so entities and queries run on it as on sea-orm's;
//! the hottest statements skip even that box through [`super::direct`].

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult,
    Statement, TransactionTrait,
};
use tokio::sync::Mutex;

use super::db::Db;
use super::direct::{self, Direct, Ours, Route};
use super::pool::Conn;
use crate::error::sqlx_db_err;

/// A transaction: committed by [`Txn::commit`], rolled back when dropped without it.
pub(crate) struct Txn(Inner);

enum Inner {
    /// A transaction on a connection of the service's pool (MySQL). The lock is only for
    /// `&self`: one call's statements run one after another.
    MySql(Mutex<Conn>),
    /// sea-orm's, on any other backend.
    SeaOrm(DatabaseTransaction),
}

impl Txn {
    /// Begins a transaction (READ COMMITTED on MySQL, the session's level) on a connection
    /// taken from `db`'s pool.
    pub(crate) async fn begin(db: &Db) -> Result<Txn, DbErr> {
        match db.pool() {
            Some(pool) => Txn::on(pool.acquire().await?, &["BEGIN"]).await,
            None => Ok(Txn(Inner::SeaOrm(db.orm().begin().await?))),
        }
    }

    /// Begins a read-only transaction whose reads all see one moment (REPEATABLE READ on
    /// MySQL; SQLite's transactions always do).
    pub(crate) async fn begin_snapshot(db: &Db) -> Result<Txn, DbErr> {
        match db.pool() {
            Some(pool) => {
                let statements = ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION READ ONLY"];
                Txn::on(pool.acquire().await?, &statements).await
            }
            None => {
                let orm = db.orm();
                let txn = match orm.get_database_backend() {
                    DbBackend::MySql => {
                        orm.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
                    }
                    _ => orm.begin().await?,
                };
                Ok(Txn(Inner::SeaOrm(txn)))
            }
        }
    }

    /// A transaction on `conn`, begun by `statements`.
    async fn on(mut conn: Conn, statements: &[&'static str]) -> Result<Txn, DbErr> {
        conn.set_in_txn(true);
        for sql in statements {
            conn.run_text(sql).await.map_err(sqlx_db_err)?;
        }
        Ok(Txn(Inner::MySql(Mutex::new(conn))))
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self.0 {
            Inner::MySql(conn) => conn.into_inner().finish("COMMIT").await,
            Inner::SeaOrm(txn) => txn.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), DbErr> {
        match self.0 {
            Inner::MySql(conn) => conn.into_inner().finish("ROLLBACK").await,
            Inner::SeaOrm(txn) => txn.rollback().await,
        }
    }
}

impl Conn {
    /// Ends the transaction on this connection with `sql` (COMMIT or ROLLBACK). When it
    /// fails, the connection is rolled back before reuse (or closed, if the server did not
    /// answer).
    async fn finish(mut self, sql: &'static str) -> Result<(), DbErr> {
        self.run_text(sql).await.map_err(sqlx_db_err)?;
        self.set_in_txn(false);
        Ok(())
    }
}

impl Direct for Txn {
    fn route(&self) -> Route<'_> {
        match &self.0 {
            Inner::MySql(conn) => Route::Ours(Ours::Txn(conn)),
            Inner::SeaOrm(_) => Route::SeaOrm,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        match &self.0 {
            Inner::MySql(_) => DbBackend::MySql,
            Inner::SeaOrm(txn) => txn.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match &self.0 {
            Inner::MySql(_) => direct::execute(self, stmt).await,
            Inner::SeaOrm(txn) => txn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &self.0 {
            Inner::MySql(_) => direct::execute_text(self, sql).await,
            Inner::SeaOrm(txn) => txn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.0 {
            Inner::MySql(_) => direct::one(self, stmt).await,
            Inner::SeaOrm(txn) => txn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.0 {
            Inner::MySql(_) => direct::all(self, stmt).await,
            Inner::SeaOrm(txn) => txn.query_all_raw(stmt).await,
        }
    }
}
