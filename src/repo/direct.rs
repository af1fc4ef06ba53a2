//! The hottest statements on MySQL go to sqlx directly. sea-orm's `query_one_raw`,
//! `query_all_raw` and `execute_raw` are `async_trait` boxes around one more layer (two
//! in a transaction), and each layer copies the whole future, sqlx's acquire and fetch
//! included: 38,000 instructions a GetTicket, most of them moving futures, and 33,000 a
//! ListTickets (BENCHMARKS.md, issue 21, items 38 and 40). The statement, its values
//! (bound by sea-orm's own binding) and the results are sea-orm's, so callers decode them
//! as before; SQLite keeps sea-orm's path.

use sea_orm::sqlx::{self, MySqlPool};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbErr, ExecResult, QueryResult, Statement, Values,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

use super::pool::{Conn, Pool};
use crate::error::{sqlx_db_err, sqlx_exec_err};

/// Where a connection's statements go.
pub(crate) enum Route<'a> {
    /// The service's own pool ([`super::db::Db`]): each statement on a connection taken
    /// from it.
    Pool(&'a Pool),
    /// sqlx's pool under sea-orm's connection (a dedicated connection on MySQL).
    Sqlx(&'a MySqlPool),
    /// A transaction on MySQL ([`super::txn::Txn`]), on its one connection.
    Txn(&'a Mutex<Conn>),
    /// sea-orm's own path (SQLite).
    SeaOrm,
}

/// A connection whose statements can go to sqlx directly.
pub(crate) trait Direct: ConnectionTrait {
    fn route(&self) -> Route<'_>;
}

impl Direct for DatabaseConnection {
    fn route(&self) -> Route<'_> {
        match &self.inner {
            DatabaseConnectionType::SqlxMySqlPoolConnection(_) => Route::Sqlx(self.get_mysql_connection_pool()),
            _ => Route::SeaOrm,
        }
    }
}

/// The first row of `stmt` on `conn`, as `conn.query_one_raw(stmt)` gives it.
pub(crate) async fn one(conn: &impl Direct, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
    let row = match conn.route() {
        Route::Pool(pool) => {
            let mut conn = pool.acquire().await?;
            let row = query(stmt).fetch_optional(conn.sending()).await;
            conn.answered(row)
        }
        Route::Sqlx(pool) => query(stmt).fetch_optional(pool).await,
        Route::Txn(txn) => {
            let mut conn = txn.lock().await;
            let row = query(stmt).fetch_optional(conn.sending()).await;
            conn.answered(row)
        }
        Route::SeaOrm => return conn.query_one_raw(stmt).await,
    };
    Ok(row.map_err(sqlx_db_err)?.map(QueryResult::from))
}

/// Every row of `stmt` on `conn`, as `conn.query_all_raw(stmt)` gives them.
pub(crate) async fn all(conn: &impl Direct, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
    let rows = match conn.route() {
        Route::Pool(pool) => {
            let mut conn = pool.acquire().await?;
            let rows = query(stmt).fetch_all(conn.sending()).await;
            conn.answered(rows)
        }
        Route::Sqlx(pool) => query(stmt).fetch_all(pool).await,
        Route::Txn(txn) => {
            let mut conn = txn.lock().await;
            let rows = query(stmt).fetch_all(conn.sending()).await;
            conn.answered(rows)
        }
        Route::SeaOrm => return conn.query_all_raw(stmt).await,
    };
    Ok(rows.map_err(sqlx_db_err)?.into_iter().map(QueryResult::from).collect())
}

/// Runs `stmt` on `conn`, as `conn.execute_raw(stmt)` does.
pub(crate) async fn execute(conn: &impl Direct, stmt: Statement) -> Result<ExecResult, DbErr> {
    let done = match conn.route() {
        Route::Pool(pool) => {
            let mut conn = pool.acquire().await?;
            let done = query(stmt).execute(conn.sending()).await;
            conn.answered(done)
        }
        Route::Sqlx(pool) => query(stmt).execute(pool).await,
        Route::Txn(txn) => {
            let mut conn = txn.lock().await;
            let done = query(stmt).execute(conn.sending()).await;
            conn.answered(done)
        }
        Route::SeaOrm => return conn.execute_raw(stmt).await,
    };
    done.map(ExecResult::from).map_err(sqlx_exec_err)
}

/// `stmt` for sqlx, its values bound as sea-orm binds them.
fn query(stmt: Statement) -> sqlx::query::Query<'static, sqlx::MySql, SqlxValues> {
    let values = stmt.values.unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql), SqlxValues(values))
}
