//! The data layer: SeaORM entities, queries and transactions. The only code that
//! touches the database; it speaks domain types in and out, never gRPC.
//!
//! Lists are one query per page (keyset paging, see [`paging`]); writes that span rows
//! run in one transaction.

pub mod agents;
pub mod assignment;
pub mod calls;
pub mod credentials;
pub mod customers;
mod db;
pub mod departments;
mod direct;
pub mod entity;
pub mod events;
pub mod history;
pub mod idempotency;
pub mod logs;
pub mod mail;
pub mod maintenance;
pub mod paging;
mod pool;
mod prebuilt;
pub mod replicas;
pub mod replies;
pub mod reports;
pub mod search;
pub mod sequencing;
pub mod sign_in;
pub mod ticket_list;
pub mod ticket_rows;
pub mod tickets;
mod txn;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr};

use crate::domain::priority::PriorityPolicy;
use crate::error::{AppError, AppResult};
use crate::observe::metrics::DbMetrics;
use db::Db;
use pool::{PING_IF_IDLE_FOR, Pool};
use txn::Txn;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// A `mysql://` or `sqlite://` URL.
    pub url: String,
    /// The pool's maximum connections (SQLite always uses one writer connection).
    pub max_connections: u32,
    /// How long a call waits for a pooled connection before failing with UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// On a Galera node, [`Repo::catch_up`] waits for the cluster before each call
    /// (ignored elsewhere).
    pub causal_reads: bool,
}

/// The workflow rules the data layer applies inside its transactions.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The priority and SLA policy.
    pub policy: PriorityPolicy,
    /// Assign new tickets to the least-loaded active agent of their department.
    pub auto_assign: bool,
    /// Open tickets (OPEN or IN_PROGRESS) an agent holds before automatic assignment skips
    /// them; 0 means no limit. Manual assignment ignores it.
    pub agent_capacity: u32,
    /// The most tickets one call re-scores in its own transaction (a customer's tier
    /// change); the maintenance job re-scores the rest on its next run.
    pub rescore_per_call: u64,
}

/// The handle every repository function hangs off.
#[derive(Debug, Clone)]
pub struct Repo {
    db: Db,
    rules: Arc<Rules>,
    /// Woken after every commit that may have written events, so the sequencer numbers
    /// them at once instead of at its next poll.
    outbox: Arc<tokio::sync::Notify>,
    settings: DbSettings,
    metrics: Option<DbMetrics>,
    /// A Galera node with causal reads on: [`Repo::catch_up`] waits for the cluster.
    causal: bool,
}

impl Repo {
    /// Opens the pool. SQLite gets one connection (it has one writer; a single connection
    /// avoids lock upgrades failing with SQLITE_BUSY), WAL and a busy timeout.
    pub async fn connect(settings: &DbSettings, rules: Rules) -> Result<Self, DbErr> {
        let sqlite = settings.url.starts_with("sqlite:");
        let mut opts = ConnectOptions::new(settings.url.clone());
        opts.max_connections(if sqlite { 1 } else { settings.max_connections })
            .min_connections(if sqlite { 1 } else { 0 })
            .acquire_timeout(settings.acquire_timeout)
            .connect_timeout(settings.connect_timeout)
            .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
            .sqlx_logging(false);
        if sqlite {
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    // WAL with NORMAL sync (SQLite's advice for WAL): commits never corrupt
                    // the file; a power cut may lose the last commits, not a crash of the
                    // process. MySQL is the durable production store.
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        }
        if !sqlite {
            mysql_session(&mut opts);
        }
        let orm = Database::connect(opts).await?;
        let db = if sqlite { Db::orm_only(orm) } else { Db::pooled(orm, Pool::new(settings)?) };
        let causal = settings.causal_reads && !sqlite && galera(&db).await;
        if causal {
            tracing::info!(
                "a Galera node: each call first waits until the node has applied the cluster's acknowledged writes"
            );
        }
        Ok(Self {
            db,
            rules: Arc::new(rules),
            outbox: Arc::new(tokio::sync::Notify::new()),
            settings: settings.clone(),
            metrics: None,
            causal,
        })
    }

    /// A pool of exactly one long-lived connection to the same database, for background
    /// readers that tolerate a Galera node's lag (the sequencer, the tailer, the health
    /// check), so they never wait for a connection behind the callers.
    pub(crate) async fn dedicated_connection(&self) -> Result<DatabaseConnection, DbErr> {
        let mut opts = ConnectOptions::new(self.settings.url.clone());
        opts.max_connections(1)
            .min_connections(1)
            .acquire_timeout(self.settings.acquire_timeout)
            .connect_timeout(self.settings.connect_timeout)
            .idle_timeout(Duration::from_secs(365 * 24 * 3600))
            .max_lifetime(Duration::from_secs(365 * 24 * 3600))
            .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
            .sqlx_logging(false);
        if self.db.get_database_backend() == DatabaseBackend::MySql {
            mysql_session(&mut opts);
        }
        Database::connect(opts).await
    }

    /// This handle over a [`Repo::dedicated_connection`] (SQLite, with its one connection:
    /// the same handle).
    pub async fn detached(&self) -> Result<Repo, DbErr> {
        if self.db.get_database_backend() != DatabaseBackend::MySql {
            return Ok(self.clone());
        }
        let db = Db::orm_only(self.dedicated_connection().await?);
        Ok(Repo { db, metrics: None, causal: false, ..self.clone() })
    }

    /// Whether [`Repo::catch_up`] waits (a Galera node with causal reads on).
    pub fn causal(&self) -> bool {
        self.causal
    }

    /// Read-your-writes across Galera nodes, once per call: on a Galera node with causal
    /// reads on, waits until this node has applied every write the cluster acknowledged
    /// before now (one causality check, `wsrep_sync_wait`, while the call holds no lock),
    /// so whatever the call reads next, on any connection, includes them. Elsewhere it
    /// does nothing. A node that cannot catch up in time answers UNAVAILABLE.
    pub async fn catch_up(&self) -> AppResult<()> {
        if self.causal {
            self.db.execute_unprepared("SET STATEMENT wsrep_sync_wait = 1 FOR SELECT 1").await.map_err(|e| {
                AppError::Unavailable(DbErr::Custom(format!(
                    "this database node could not catch up with its cluster: {}",
                    crate::error::chain(&e)
                )))
            })?;
        }
        Ok(())
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(self.db.orm(), None).await
    }

    /// Answers whether the database responds.
    pub async fn ping(&self) -> AppResult<()> {
        self.db.ping().await.map_err(AppError::Unavailable)
    }

    /// Ready to serve: the database answers and no migration is pending (the reason if not).
    pub async fn readiness(&self) -> Result<(), String> {
        self.db.ping().await.map_err(|e| format!("the database does not answer: {}", crate::error::chain(&e)))?;
        let pending = Migrator::get_pending_migrations(self.db.orm())
            .await
            .map_err(|e| format!("cannot read the migrations: {}", crate::error::chain(&e)))?;
        match pending.len() {
            0 => Ok(()),
            n => Err(format!("{n} migrations are not applied")),
        }
    }

    /// The pool's connections now: (open, idle, most it opens).
    pub fn pool_status(&self) -> (u32, usize, u32) {
        self.db.status(self.settings.max_connections)
    }

    /// Records the pool's metrics from now on.
    pub fn observe(&mut self, metrics: DbMetrics) {
        self.metrics = Some(metrics);
    }

    /// Starts a transaction (READ COMMITTED on MySQL, see [`Repo::connect`]), timing how
    /// long it waits for a connection.
    pub(crate) async fn begin(&self) -> Result<Txn, DbErr> {
        let Some(m) = &self.metrics else {
            return Txn::begin(&self.db).await;
        };
        let started = std::time::Instant::now();
        m.waiters.inc();
        let txn = Txn::begin(&self.db).await;
        m.waiters.dec();
        m.acquire.observe(started.elapsed().as_secs_f64());
        if let Err(DbErr::ConnectionAcquire(_)) = &txn {
            m.acquire_timeouts.inc();
        }
        txn
    }

    /// Commits a write transaction and wakes the sequencer.
    pub(crate) async fn commit(&self, txn: Txn) -> Result<(), DbErr> {
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// Signalled after commits that may have written events.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox.clone()
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The backend in use.
    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// sea-orm's connection (for tools such as the demo seeder).
    pub fn connection(&self) -> &DatabaseConnection {
        self.db.orm()
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }
}

/// Why a database server cannot be reached, at the transport: the pool reports only that it
/// timed out, so a server's host and port are tried directly (`connection refused`, `no
/// route to host`…). None for SQLite, or when the port answers (the cause is then the
/// pool's own error: credentials, the database name…).
pub async fn unreachable_cause(url: &str) -> Option<String> {
    let described = describe_url(url);
    let host_port = described.strip_prefix("mysql://")?;
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:3306") };
    match tokio::time::timeout(std::time::Duration::from_secs(2), tokio::net::TcpStream::connect(&host_port)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer from {host_port} within 2 s")),
    }
}

/// A database URL for logs: the scheme, host and port or file, never the credentials.
pub fn describe_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split(['?', '/']).next().unwrap_or_default();
    let rest = if scheme == "sqlite" {
        url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default()
    } else {
        rest
    };
    format!("{scheme}://{rest}")
}

/// Makes every MySQL connection of a pool READ COMMITTED: a transaction that waited for a
/// lock reads what the lock holder committed (the least-loaded agent pick depends on it),
/// and no gap locks, so the event sequencer never blocks writers' inserts. On a Galera node
/// it turns per-statement causality checks off (`wsrep_sync_wait = 0`, whatever the server's
/// default): inside a transaction that holds locks they stall writers for hundreds of
/// milliseconds (docs/scaling.md); [`Repo::catch_up`] checks once per call instead.
fn mysql_session(opts: &mut ConnectOptions) {
    opts.map_sqlx_mysql_pool_opts(|pool| pool.after_connect(|conn, _meta| Box::pin(prepare_session(conn))));
}

/// Sets up a new MySQL connection's session, as [`mysql_session`] describes.
async fn prepare_session(conn: &mut sea_orm::sqlx::MySqlConnection) -> Result<(), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Executor;
    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await?;
    // A MariaDB without Galera takes the setting and ignores it; MySQL has no such
    // variable (1193).
    match conn.execute("SET SESSION wsrep_sync_wait = 0").await {
        Err(sea_orm::sqlx::Error::Database(e)) if unknown_variable(&*e) => Ok(()),
        other => other.map(drop),
    }
}

/// MySQL's "Unknown system variable" (1193).
fn unknown_variable(e: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
    e.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>().is_some_and(|e| e.number() == 1193)
}

/// Whether the database is a Galera node (`wsrep_on`); MySQL has no such variable.
async fn galera(db: &Db) -> bool {
    use sea_orm::Statement;
    let query = Statement::from_string(DatabaseBackend::MySql, "SELECT CAST(@@wsrep_on AS SIGNED)");
    match db.query_one_raw(query).await {
        Ok(Some(row)) => row.try_get_by_index::<i64>(0).is_ok_and(|on| on == 1),
        _ => false,
    }
}

/// Maps a missing row to NOT_FOUND.
pub(crate) fn found<T>(row: Option<T>, resource: &'static str, id: i64) -> AppResult<T> {
    row.ok_or(AppError::NotFound { resource, id })
}

/// Checks a caller's etag against the stored version.
pub(crate) fn check_version(resource: &str, expected: Option<i64>, actual: i64) -> AppResult<()> {
    match expected {
        Some(v) if v != actual => Err(AppError::Aborted(format!(
            "the {resource} changed since it was read (etag {v}, now {actual}); read it again and retry"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_url;

    #[test]
    fn a_described_url_has_no_credentials() {
        assert_eq!(describe_url("mysql://support:s3cret@db.internal:3306/support"), "mysql://db.internal:3306");
        assert_eq!(describe_url("sqlite://support.db?mode=rwc"), "sqlite://support.db");
    }
}

/// Runs `write` (one transaction) again while it loses a lock or certification conflict,
/// at most four times in all with a short random pause, so that callers do not see
/// conflicts they did not cause. Safe because a conflicted transaction wrote nothing; a
/// stale etag is not a conflict and is returned at once.
pub async fn retry_conflicts<T, Fut>(mut write: impl FnMut() -> Fut) -> AppResult<T>
where
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let mut attempt = 0u32;
    loop {
        // On the heap: a transaction's future holds sea-orm's and sqlx's (tens of KB), and
        // held by value it would be copied again into every future above it, down to the
        // handler's, which tonic boxes.
        match Box::pin(write()).await {
            Err(AppError::Conflict(reason)) if attempt < 3 => {
                attempt += 1;
                tracing::info!(attempt, %reason, "transaction conflicted; running it again");
                let pause = rand::random_range(2..10u64) * u64::from(attempt);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test]
    async fn conflicts_run_again_a_bounded_number_of_times_and_stale_etags_never() {
        let calls = Cell::new(0);
        let twice_then_ok = retry_conflicts(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(AppError::Conflict("lost".into())) } else { Ok(n) } }
        })
        .await;
        assert_eq!(twice_then_ok.unwrap(), 3);

        calls.set(0);
        let always: AppResult<()> = retry_conflicts(|| {
            calls.set(calls.get() + 1);
            async { Err(AppError::Conflict("lost".into())) }
        })
        .await;
        assert!(matches!(always, Err(AppError::Conflict(_))));
        assert_eq!(calls.get(), 4, "four runs in all");

        calls.set(0);
        let stale: AppResult<()> = retry_conflicts(|| {
            calls.set(calls.get() + 1);
            async { Err(AppError::Aborted("stale etag".into())) }
        })
        .await;
        assert!(matches!(stale, Err(AppError::Aborted(_))));
        assert_eq!(calls.get(), 1, "a stale etag is returned at once");
    }
}
