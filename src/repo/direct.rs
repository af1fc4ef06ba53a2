//! The hottest statements on MySQL go to sqlx directly. sea-orm's `query_one_raw`,
//! `query_all_raw` and `execute_raw` are `async_trait` boxes around one more layer (two
//! in a transaction), and each layer copies the whole future, sqlx's acquire and fetch
//! included: 38,000 instructions a GetTicket, most of them moving futures, and 33,000 a
//! ListTickets (BENCHMARKS.md, issue 21, items 38 and 40). The statement, its values
//! (bound by sea-orm's own binding) and the results are sea-orm's, so callers decode them
//! as before; SQLite keeps sea-orm's path.

use std::ops::{Deref, DerefMut};

use sea_orm::sqlx::{self, MySqlPool};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbErr, ExecResult, QueryResult, Statement, Values,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

use super::pool::{Conn, Pool};
use crate::error::{sqlx_db_err, sqlx_exec_err};

/// Where a connection's statements go.
pub(crate) enum Route<'a> {
    /// A connection of the service's own pool.
    Ours(Ours<'a>),
    /// sqlx's pool under sea-orm's connection (a dedicated connection on MySQL).
    Sqlx(&'a MySqlPool),
    /// sea-orm's own path (SQLite).
    SeaOrm,
}

/// Which of the service's pool connections a statement runs on.
pub(crate) enum Ours<'a> {
    /// Any, taken from the pool ([`super::db::Db`]) for the statement.
    Pool(&'a Pool),
    /// A transaction's one connection ([`super::txn::Txn`]).
    Txn(&'a Mutex<Conn>),
}

impl<'a> Ours<'a> {
    /// The connection, held for one statement.
    async fn hold(self) -> Result<Held<'a>, DbErr> {
        Ok(match self {
            Ours::Pool(pool) => Held::Taken(pool.acquire().await?),
            Ours::Txn(conn) => Held::Locked(conn.lock().await),
        })
    }
}

/// A pool connection held for one statement: taken from the pool (given back when
/// dropped), or a transaction's, locked.
enum Held<'a> {
    Taken(Conn),
    Locked(MutexGuard<'a, Conn>),
}

impl Deref for Held<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match self {
            Held::Taken(conn) => conn,
            Held::Locked(conn) => conn,
        }
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Held::Taken(conn) => conn,
            Held::Locked(conn) => conn,
        }
    }
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
        Route::Ours(ours) => ours.hold().await?.send(|raw| query(stmt).fetch_optional(raw)).await,
        Route::Sqlx(pool) => query(stmt).fetch_optional(pool).await,
        Route::SeaOrm => return conn.query_one_raw(stmt).await,
    };
    Ok(row.map_err(sqlx_db_err)?.map(QueryResult::from))
}

/// Every row of `stmt` on `conn`, as `conn.query_all_raw(stmt)` gives them.
pub(crate) async fn all(conn: &impl Direct, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
    let rows = match conn.route() {
        Route::Ours(ours) => ours.hold().await?.send(|raw| query(stmt).fetch_all(raw)).await,
        Route::Sqlx(pool) => query(stmt).fetch_all(pool).await,
        Route::SeaOrm => return conn.query_all_raw(stmt).await,
    };
    Ok(rows.map_err(sqlx_db_err)?.into_iter().map(QueryResult::from).collect())
}

/// Runs `stmt` on `conn`, as `conn.execute_raw(stmt)` does.
pub(crate) async fn execute(conn: &impl Direct, stmt: Statement) -> Result<ExecResult, DbErr> {
    let done = match conn.route() {
        Route::Ours(ours) => ours.hold().await?.send(|raw| query(stmt).execute(raw)).await,
        Route::Sqlx(pool) => query(stmt).execute(pool).await,
        Route::SeaOrm => return conn.execute_raw(stmt).await,
    };
    done.map(ExecResult::from).map_err(sqlx_exec_err)
}

/// Runs `sql`, unprepared, on `conn`, as `conn.execute_unprepared(sql)` does.
pub(crate) async fn execute_text(conn: &impl Direct, sql: &str) -> Result<ExecResult, DbErr> {
    let text = || sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
    let done = match conn.route() {
        Route::Ours(ours) => ours.hold().await?.send(|raw| text().execute(raw)).await,
        Route::Sqlx(pool) => text().execute(pool).await,
        Route::SeaOrm => return conn.execute_unprepared(sql).await,
    };
    done.map(ExecResult::from).map_err(sqlx_exec_err)
}

/// `stmt` for sqlx, its values bound as sea-orm binds them.
fn query(stmt: Statement) -> sqlx::query::Query<'static, sqlx::MySql, SqlxValues> {
    let values = stmt.values.unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql), SqlxValues(values))
}
