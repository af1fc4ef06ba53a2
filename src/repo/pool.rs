//! The service's own pool of MySQL connections. sqlx's pool takes a connection back in a
//! task it spawns for the purpose, and that task pings the server before the connection is
//! reused: one more round trip a call, which the database pays too, and a spawned future
//! holding the connection, which tokio copies whole (BENCHMARKS.md, issue 21, item 41).
//!
//! This pool takes a connection back where it is dropped, with no round trip. It can,
//! because it knows the connection's state: one whose last statement the server did not
//! answer (the call was cancelled mid-statement, or the socket failed) is closed instead,
//! and one dropped inside a transaction is rolled back first, in a task, before it is
//! reused. A connection idle for a second or more is pinged when it is next taken, as
//! before: the server, a proxy or a failover may have cut it since.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sea_orm::sqlx::{self, ConnectOptions, Connection};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbSettings;

/// A connection unused this long is pinged before it is reused.
pub(super) const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// A connection unused this long is closed rather than reused (sqlx's default).
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// A connection this old is closed rather than reused (sqlx's default), so that the pool
/// moves to a replaced server or a changed configuration in time.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A pool of MySQL connections, each set up as [`super::prepare_session`] sets sqlx's.
#[derive(Clone)]
pub(crate) struct Pool(Arc<Shared>);

struct Shared {
    options: MySqlConnectOptions,
    /// The connections not in use, the most recently used last.
    idle: Mutex<Vec<Live>>,
    /// One permit a connection the pool may have in use.
    permits: Arc<Semaphore>,
    /// Connections open, in use or idle.
    open: Arc<AtomicU32>,
    max: u32,
    acquire_timeout: Duration,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (open, idle, max) = self.status();
        f.debug_struct("Pool").field("open", &open).field("idle", &idle).field("max", &max).finish()
    }
}

/// An open connection.
struct Live {
    raw: MySqlConnection,
    born: Instant,
    used: Instant,
    _counted: Counted,
}

/// Counts a connection in [`Shared::open`] while it lives.
struct Counted(Arc<AtomicU32>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pool {
    /// A pool for `settings`; it opens connections as calls need them.
    pub(crate) fn new(settings: &DbSettings) -> Result<Pool, DbErr> {
        let options: MySqlConnectOptions =
            settings.url.parse().map_err(|e: sqlx::Error| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
        let max = settings.max_connections.max(1);
        Ok(Pool(Arc::new(Shared {
            options: options.disable_statement_logging(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max as usize)),
            open: Arc::new(AtomicU32::new(0)),
            max,
            acquire_timeout: settings.acquire_timeout,
            connect_timeout: settings.connect_timeout,
        })))
    }

    /// A connection, within the acquire timeout: an idle one, or a new one while fewer
    /// than the most are open. No connection in time is a `ConnectionAcquire` timeout;
    /// a server that cannot be reached is a `Conn` error.
    pub(crate) async fn acquire(&self) -> Result<Conn, DbErr> {
        match tokio::time::timeout(self.0.acquire_timeout, self.checkout()).await {
            Ok(conn) => conn,
            Err(_) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        }
    }

    async fn checkout(&self) -> Result<Conn, DbErr> {
        let permit = self.0.permits.clone().acquire_owned().await;
        let permit = permit.map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        loop {
            let Some(mut live) = self.0.idle.lock().expect("the pool's lock").pop() else { break };
            let unused = live.used.elapsed();
            if unused >= IDLE_TIMEOUT || live.born.elapsed() >= MAX_LIFETIME {
                let _ = live.raw.close().await;
                continue;
            }
            if unused >= PING_IF_IDLE_FOR && live.raw.ping().await.is_err() {
                continue;
            }
            return Ok(Conn::new(live, permit, self.clone()));
        }
        // On the heap: opening a connection (TLS included) is a large future, and held
        // inline it would grow every future that takes a connection, a WatchQueue
        // subscriber's stream among them, for the life of each.
        let live = Box::pin(self.connect()).await?;
        Ok(Conn::new(live, permit, self.clone()))
    }

    async fn connect(&self) -> Result<Live, DbErr> {
        let connecting = async {
            let mut raw = self.0.options.connect().await?;
            super::prepare_session(&mut raw).await?;
            Ok::<_, sqlx::Error>(raw)
        };
        let raw = match tokio::time::timeout(self.0.connect_timeout, connecting).await {
            Ok(raw) => raw.map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?,
            Err(_) => {
                return Err(DbErr::Conn(RuntimeErr::Internal(format!(
                    "no connection to the database within {} ms",
                    self.0.connect_timeout.as_millis()
                ))));
            }
        };
        self.0.open.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        Ok(Live { raw, born: now, used: now, _counted: Counted(self.0.open.clone()) })
    }

    /// Takes a connection back for reuse, unless it has lived its time.
    fn put(&self, mut live: Live) {
        if live.born.elapsed() >= MAX_LIFETIME || self.0.permits.is_closed() {
            return;
        }
        live.used = Instant::now();
        self.0.idle.lock().expect("the pool's lock").push(live);
    }

    /// Connections open, idle, and the most it opens.
    pub(crate) fn status(&self) -> (u32, usize, u32) {
        let idle = self.0.idle.lock().expect("the pool's lock").len();
        (self.0.open.load(Ordering::Relaxed), idle, self.0.max)
    }

    /// Closes the idle connections; calls waiting for one, and later ones, fail.
    pub(crate) async fn close(&self) {
        self.0.permits.close();
        let idle = std::mem::take(&mut *self.0.idle.lock().expect("the pool's lock"));
        for live in idle {
            let _ = live.raw.close().await;
        }
    }
}

/// A connection taken from the [`Pool`], given back when dropped.
pub(crate) struct Conn {
    live: Option<Live>,
    /// A statement was sent and its answer not read to the end: the connection's state is
    /// unknown, so it is closed rather than reused.
    awaiting: bool,
    /// A transaction is open on it: rolled back before the connection is reused.
    in_txn: bool,
    pool: Pool,
    permit: Option<OwnedSemaphorePermit>,
}

impl Conn {
    fn new(live: Live, permit: OwnedSemaphorePermit, pool: Pool) -> Conn {
        Conn { live: Some(live), awaiting: false, in_txn: false, pool, permit: Some(permit) }
    }

    /// Sends one statement on the connection (`statement` given the connection) and
    /// returns its outcome. The connection stays reusable when the server answered, even
    /// with an error of its own; cut before the answer, it is closed when dropped.
    pub(crate) async fn send<'c, T, F, Sent>(&'c mut self, statement: F) -> Result<T, sqlx::Error>
    where
        F: FnOnce(&'c mut MySqlConnection) -> Sent,
        Sent: Future<Output = Result<T, sqlx::Error>> + 'c,
    {
        let Conn { live, awaiting, .. } = self;
        *awaiting = true;
        let outcome = statement(&mut live.as_mut().expect("a taken connection").raw).await;
        *awaiting = !matches!(&outcome, Ok(_) | Err(sqlx::Error::Database(_)));
        outcome
    }

    /// Runs one statement of text (BEGIN, COMMIT, a session setting) on the connection.
    pub(crate) async fn run_text(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        self.send(|raw| sqlx::raw_sql(sql).execute(raw)).await.map(drop)
    }

    /// Marks a transaction open (or closed) on the connection.
    pub(crate) fn set_in_txn(&mut self, open: bool) {
        self.in_txn = open;
    }

    /// Pings the server on this connection.
    pub(crate) async fn ping(&mut self) -> Result<(), sqlx::Error> {
        self.send(|raw| raw.ping()).await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(mut live) = self.live.take() else { return };
        if self.awaiting {
            return;
        }
        if !self.in_txn {
            self.pool.put(live);
            return;
        }
        // Its locks are released now rather than at the connection's next use; the permit
        // is held until then, so the pool never has more connections in use than its most.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let pool = self.pool.clone();
        let permit = self.permit.take();
        runtime.spawn(async move {
            if sqlx::raw_sql("ROLLBACK").execute(&mut live.raw).await.is_ok() {
                pool.put(live);
            }
            drop(permit);
        });
    }
}

/// Against the MariaDB the API tests use (`SUPPORT_TEST_MYSQL_URL`); they need no schema.
#[cfg(test)]
mod tests {
    use super::*;

    fn pool(max_connections: u32) -> Pool {
        let url = std::env::var("SUPPORT_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://support:support@127.0.0.1:3306".to_owned());
        Pool::new(&DbSettings {
            url,
            max_connections,
            acquire_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(5),
            causal_reads: false,
        })
        .unwrap()
    }

    async fn scalar(conn: &mut Conn, sql: &'static str) -> i64 {
        let row: (i64,) = conn
            .send(|raw| sqlx::query_as(sql).fetch_one(raw))
            .await
            .expect("MariaDB at SUPPORT_TEST_MYSQL_URL answers");
        row.0
    }

    #[tokio::test]
    async fn a_connection_comes_back_with_no_round_trip_and_a_server_error_keeps_it() {
        let pool = pool(1);
        let mut conn = pool.acquire().await.unwrap();
        let id = scalar(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await;
        let failed = conn.send(|raw| sqlx::raw_sql("SELECT * FROM no_such_table").execute(raw)).await;
        assert!(matches!(failed, Err(sqlx::Error::Database(_))));
        drop(conn);
        assert_eq!(pool.status(), (1, 1, 1), "one connection, idle again");
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(scalar(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await, id, "the same connection");
        // Its session was set up as sqlx's pool sets it up.
        let level: (String,) = conn.send(|raw| sqlx::query_as("SELECT @@tx_isolation").fetch_one(raw)).await.unwrap();
        assert_eq!(level.0, "READ-COMMITTED");
    }

    #[tokio::test]
    async fn a_connection_dropped_inside_a_transaction_is_rolled_back_before_reuse() {
        let pool = pool(1);
        let mut conn = pool.acquire().await.unwrap();
        let id = scalar(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await;
        // A temporary table lives in the session, so no test sees another's.
        conn.run_text("CREATE DATABASE IF NOT EXISTS support_pool_tests").await.unwrap();
        conn.run_text("CREATE TEMPORARY TABLE support_pool_tests.kept (n INT) ENGINE=InnoDB").await.unwrap();
        conn.set_in_txn(true);
        conn.run_text("BEGIN").await.unwrap();
        conn.run_text("INSERT INTO support_pool_tests.kept VALUES (1)").await.unwrap();
        drop(conn);
        // The one permit is held until the rollback ends, so this is the same connection.
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(scalar(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await, id);
        assert_eq!(scalar(&mut conn, "SELECT CAST(@@in_transaction AS SIGNED)").await, 0, "no transaction open");
        assert_eq!(
            scalar(&mut conn, "SELECT COUNT(*) FROM support_pool_tests.kept").await,
            0,
            "the insert was rolled back"
        );
    }

    #[tokio::test]
    async fn a_connection_cut_mid_statement_is_closed_not_reused() {
        let pool = pool(1);
        let mut conn = pool.acquire().await.unwrap();
        let id = scalar(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await;
        let cut = tokio::time::timeout(Duration::from_millis(100), conn.run_text("DO SLEEP(5)")).await;
        assert!(cut.is_err(), "the statement was cut");
        drop(conn);
        assert_eq!(pool.status(), (0, 0, 1), "closed, not taken back");
        let mut conn = pool.acquire().await.unwrap();
        assert_ne!(scalar(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await, id, "a new connection");
        assert_eq!(scalar(&mut conn, "SELECT 7").await, 7);
    }

    #[tokio::test]
    async fn no_connection_in_time_is_an_acquire_timeout_and_a_closed_pool_refuses() {
        let pool = pool(1);
        let held = pool.acquire().await.unwrap();
        let started = Instant::now();
        let err = pool.acquire().await.err().expect("the only connection is held");
        assert!(matches!(err, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)), "{err:?}");
        assert!(started.elapsed() >= Duration::from_millis(500));
        drop(held);
        pool.close().await;
        let err = pool.acquire().await.err().expect("the pool is closed");
        assert!(matches!(err, DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)), "{err:?}");
        assert_eq!(pool.status(), (0, 0, 1));
    }
}
