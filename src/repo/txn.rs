//! The service's transaction. On MySQL it holds sqlx's own transaction, and a statement
//! goes from it to sqlx directly. sea-orm's `DatabaseTransaction` sends each statement
//! through an `async_trait` box, a tracing span and its metric hook, and each layer copies
//! the statement's whole future (BENCHMARKS.md, issue 21, item 40). On SQLite it is
//! sea-orm's transaction, unchanged.
//!
//! It is a sea-orm `ConnectionTrait`, so entities and queries run on it as on sea-orm's;
//! the hottest statements skip even that box through [`super::direct`].

use sea_orm::sqlx::{self, MySql};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, Statement, TransactionTrait,
};
use tokio::sync::Mutex;

use super::direct::{self, Direct, Route};
use crate::error::{sqlx_db_err, sqlx_exec_err};

/// A transaction: committed by [`Txn::commit`], rolled back when dropped without it.
pub(crate) struct Txn(Inner);

enum Inner {
    /// sqlx's transaction on a MySQL pool's connection. The lock is only for `&self`:
    /// one call's statements run one after another.
    MySql(Mutex<sqlx::Transaction<'static, MySql>>),
    /// sea-orm's, on any other backend.
    SeaOrm(DatabaseTransaction),
}

impl Txn {
    /// Begins a transaction on a connection taken from `db`'s pool. sea-orm's own begin
    /// (`TransactionTrait`) is an `async_trait` box holding sqlx's acquire, copied whole at
    /// each of its layers: 36,000 instructions a write on MySQL (issue 21, item 34).
    pub(crate) async fn begin(db: &DatabaseConnection) -> Result<Txn, DbErr> {
        let inner = match &db.inner {
            DatabaseConnectionType::SqlxMySqlPoolConnection(_) => {
                Inner::MySql(Mutex::new(db.get_mysql_connection_pool().begin().await.map_err(begin_err)?))
            }
            _ => Inner::SeaOrm(db.begin().await?),
        };
        Ok(Txn(inner))
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self.0 {
            Inner::MySql(txn) => txn.into_inner().commit().await.map_err(sqlx_db_err),
            Inner::SeaOrm(txn) => txn.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), DbErr> {
        match self.0 {
            Inner::MySql(txn) => txn.into_inner().rollback().await.map_err(sqlx_db_err),
            Inner::SeaOrm(txn) => txn.rollback().await,
        }
    }
}

/// A failed begin, as sea-orm reports it: no connection from the pool in time (or a
/// closed pool) is a `ConnectionAcquire` error, which the pool's metrics count.
fn begin_err(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        err => sqlx_db_err(err),
    }
}

impl Direct for Txn {
    fn route(&self) -> Route<'_> {
        match &self.0 {
            Inner::MySql(txn) => Route::Txn(txn),
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
            Inner::MySql(txn) => {
                let conn: &mut sqlx::MySqlConnection = &mut *txn.lock().await;
                let done = sqlx::Executor::execute(conn, sqlx::AssertSqlSafe(sql.to_owned())).await;
                done.map(Into::into).map_err(sqlx_exec_err)
            }
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
