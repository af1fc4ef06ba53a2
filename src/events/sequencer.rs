//! The sequencer: one per cluster at a time, it numbers committed events.
//!
//! On MySQL the replicas elect it with `GET_LOCK` on a dedicated connection (the lock is
//! named after the database, and is released by the server if that connection dies, so
//! another replica takes over within a second). On SQLite the single process is always
//! the sequencer. The unique index on `sequence` guards against two sequencers anyway.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::AppResult;
use crate::repo::Repo;

const BATCH: u64 = 1000;
const RETRY_LEADERSHIP: Duration = Duration::from_secs(1);

async fn scalar(conn: &DatabaseConnection, sql: &str) -> AppResult<Option<i64>> {
    let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<Option<i64>>(0)?,
        None => None,
    })
}

/// Holds (or tries to hold) the sequencer lock.
#[derive(Debug)]
struct Leadership {
    conn: DatabaseConnection,
    mysql: bool,
    held: bool,
}

impl Leadership {
    async fn acquire(&mut self) -> AppResult<bool> {
        if !self.mysql {
            self.held = true;
        } else if !self.held {
            let got = scalar(&self.conn, "SELECT GET_LOCK(CONCAT('support_sequencer:', DATABASE()), 0)").await?;
            self.held = got == Some(1);
            if self.held {
                tracing::info!("this replica is now the event sequencer");
            }
        } else {
            // The connection may have been replaced (and the lock lost) without our noticing.
            let mine =
                scalar(&self.conn, "SELECT IS_USED_LOCK(CONCAT('support_sequencer:', DATABASE())) = CONNECTION_ID()")
                    .await?;
            self.held = mine == Some(1);
        }
        Ok(self.held)
    }
}

/// Numbers events until `stop`; wakes on local commits (`repo.outbox_signal()`) or every
/// `every`, and tells the local tailer when it numbered something.
pub async fn run(repo: Repo, every: Duration, numbered: Arc<Notify>, stop: CancellationToken) {
    let mysql = repo.backend() == DatabaseBackend::MySql;
    let conn = if mysql {
        match repo.dedicated_connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %crate::error::chain(&e), "the sequencer cannot open its connection; this replica will not sequence");
                return;
            }
        }
    } else {
        repo.connection().clone()
    };
    let mut leadership = Leadership { conn: conn.clone(), mysql, held: false };
    let outbox = repo.outbox_signal();
    let mut checked = tokio::time::Instant::now() - RETRY_LEADERSHIP;
    loop {
        if stop.is_cancelled() {
            break;
        }
        let mut wait = every;
        if checked.elapsed() >= RETRY_LEADERSHIP || !leadership.held {
            checked = tokio::time::Instant::now();
            match leadership.acquire().await {
                Ok(true) => {}
                Ok(false) => wait = RETRY_LEADERSHIP,
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), "sequencer leadership check failed");
                    leadership.held = false;
                    wait = RETRY_LEADERSHIP;
                }
            }
        }
        if leadership.held {
            match repo.sequence_pending(&conn, BATCH).await {
                Ok(0) => {}
                Ok(n) => {
                    numbered.notify_one();
                    if n == BATCH {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %crate::error::chain(&e), "sequencing failed; retrying"),
            }
        }
        tokio::select! {
            _ = outbox.notified(), if leadership.held => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => break,
        }
    }
    if mysql && leadership.held {
        let _ = scalar(&conn, "SELECT RELEASE_LOCK(CONCAT('support_sequencer:', DATABASE()))").await;
    }
    if mysql {
        let _ = conn.close().await;
    }
}
