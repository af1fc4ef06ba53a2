//! What a call's statements run on: on MySQL the service's own [`Pool`], each statement
//! on a connection taken from it (or through [`super::direct`], on the hottest paths);
//! elsewhere sea-orm's connection. sea-orm's connection is kept on MySQL too, for what
//! needs sea-orm's own type: the migrations, the readiness check's pending migrations and
//! the demo seeder. Its pool opens one connection at start, and more only while those run.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement};

use super::direct::{self, Direct, Ours, Route};
use super::pool::Pool;
use crate::error::sqlx_db_err;

#[derive(Debug, Clone)]
pub(crate) struct Db {
    orm: DatabaseConnection,
    pool: Option<Pool>,
}

impl Db {
    /// sea-orm's connection alone (SQLite, or a MySQL handle with a dedicated connection).
    pub(crate) fn orm_only(orm: DatabaseConnection) -> Db {
        Db { orm, pool: None }
    }

    /// Calls' statements on `pool`, and sea-orm's own on `orm`.
    pub(crate) fn pooled(orm: DatabaseConnection, pool: Pool) -> Db {
        Db { orm, pool: Some(pool) }
    }

    /// sea-orm's connection.
    pub(crate) fn orm(&self) -> &DatabaseConnection {
        &self.orm
    }

    /// The service's own pool (MySQL).
    pub(crate) fn pool(&self) -> Option<&Pool> {
        self.pool.as_ref()
    }

    /// Answers whether the database responds, on a connection the calls would use.
    pub(crate) async fn ping(&self) -> Result<(), DbErr> {
        match &self.pool {
            Some(pool) => pool.acquire().await?.ping().await.map_err(sqlx_db_err),
            None => self.orm.ping().await,
        }
    }

    /// Connections open, idle, and the most the calls' pool opens (`max` given for
    /// sea-orm's).
    pub(crate) fn status(&self, max: u32) -> (u32, usize, u32) {
        match (&self.pool, self.orm.get_database_backend()) {
            (Some(pool), _) => pool.status(),
            (None, DbBackend::MySql) => {
                let pool = self.orm.get_mysql_connection_pool();
                (pool.size(), pool.num_idle(), max)
            }
            (None, _) => {
                let pool = self.orm.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle(), 1)
            }
        }
    }

    /// Closes both.
    pub(crate) async fn close(self) -> Result<(), DbErr> {
        if let Some(pool) = &self.pool {
            pool.close().await;
        }
        self.orm.close().await
    }
}

impl Direct for Db {
    fn route(&self) -> Route<'_> {
        match &self.pool {
            Some(pool) => Route::Ours(Ours::Pool(pool)),
            None => self.orm.route(),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.orm.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match &self.pool {
            Some(_) => direct::execute(self, stmt).await,
            None => self.orm.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &self.pool {
            Some(_) => direct::execute_text(self, sql).await,
            None => self.orm.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.pool {
            Some(_) => direct::one(self, stmt).await,
            None => self.orm.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.pool {
            Some(_) => direct::all(self, stmt).await,
            None => self.orm.query_all_raw(stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        self.orm.support_returning()
    }
}
