//! The hottest reads on the MySQL pool go to sqlx directly. sea-orm's `query_one_raw` and
//! `query_all_raw` are `async_trait` boxes around one more layer, and each layer copies
//! the whole future, sqlx's acquire and fetch included: 38,000 instructions a GetTicket,
//! most of them moving futures, and 33,000 a ListTickets (BENCHMARKS.md, issue 21,
//! item 38). The statement, its values (bound by sea-orm's own binding) and the rows are
//! sea-orm's, so callers decode them as before; a transaction, and SQLite, keep sea-orm's
//! path.

use sea_orm::sqlx::{self, MySqlPool};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DatabaseTransaction, DbErr, QueryResult, Statement,
    Values,
};
use sea_query_sqlx::SqlxValues;

use crate::error::sqlx_db_err;

/// A connection a read can be sent on.
pub(crate) trait Reader: ConnectionTrait {
    /// The MySQL pool itself, to send a read on with sqlx; `None` inside a transaction
    /// and on SQLite.
    fn mysql_pool(&self) -> Option<&MySqlPool>;
}

impl Reader for DatabaseConnection {
    fn mysql_pool(&self) -> Option<&MySqlPool> {
        match &self.inner {
            DatabaseConnectionType::SqlxMySqlPoolConnection(_) => Some(self.get_mysql_connection_pool()),
            _ => None,
        }
    }
}

impl Reader for DatabaseTransaction {
    fn mysql_pool(&self) -> Option<&MySqlPool> {
        None
    }
}

/// The first row of `stmt` on `conn`, as `conn.query_one_raw(stmt)` gives it.
pub(crate) async fn one(conn: &impl Reader, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
    match conn.mysql_pool() {
        Some(pool) => Ok(query(stmt).fetch_optional(pool).await.map_err(sqlx_db_err)?.map(QueryResult::from)),
        None => conn.query_one_raw(stmt).await,
    }
}

/// Every row of `stmt` on `conn`, as `conn.query_all_raw(stmt)` gives them.
pub(crate) async fn all(conn: &impl Reader, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
    match conn.mysql_pool() {
        Some(pool) => {
            let rows = query(stmt).fetch_all(pool).await.map_err(sqlx_db_err)?;
            Ok(rows.into_iter().map(QueryResult::from).collect())
        }
        None => conn.query_all_raw(stmt).await,
    }
}

/// `stmt` for sqlx, its values bound as sea-orm binds them.
fn query(stmt: Statement) -> sqlx::query::Query<'static, sqlx::MySql, SqlxValues> {
    let values = stmt.values.unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql), SqlxValues(values))
}
