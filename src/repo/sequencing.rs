//! The sequencer's data: the cluster-wide lock that elects it and the numbering of
//! committed events. On MySQL the replicas elect it with `GET_LOCK` on a dedicated
//! connection (the lock is named after the database, and is released by the server if
//! that connection dies, so another replica takes over within a second). On SQLite the
//! single process is always the sequencer. The unique index on `sequence` guards against
//! two sequencers anyway.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};

use super::Repo;
use super::entity::queue_event as row;
use super::events::max_sequence;
use crate::error::{AppError, AppResult};

/// What a numbering round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Events numbered.
    pub numbered: u64,
    /// When the oldest of them was written.
    pub oldest: Option<sea_orm::prelude::DateTimeUtc>,
}

/// The sequencer's own connection and whether it holds the lock.
#[derive(Debug)]
pub struct SequencerSeat {
    conn: DatabaseConnection,
    mysql: bool,
    held: bool,
}

async fn scalar(conn: &DatabaseConnection, sql: &str) -> AppResult<Option<i64>> {
    let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<Option<i64>>(0)?,
        None => None,
    })
}

impl Repo {
    /// A seat for this replica's sequencer: on MySQL its own long-lived connection (the
    /// lock lives on it), on SQLite the pool's.
    pub async fn sequencer_seat(&self) -> AppResult<SequencerSeat> {
        let mysql = self.backend() == DatabaseBackend::MySql;
        let conn = if mysql { self.dedicated_connection().await? } else { self.connection().clone() };
        Ok(SequencerSeat { conn, mysql, held: false })
    }
}

impl SequencerSeat {
    /// Whether this replica holds the lock now, taking it if it is free.
    pub async fn acquire(&mut self) -> AppResult<bool> {
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

    /// Whether the lock was held at the last look.
    pub fn held(&self) -> bool {
        self.held
    }

    /// Counts the lock as lost (after an error), so the next round asks again.
    pub fn lose(&mut self) {
        self.held = false;
    }

    /// Numbers up to `limit` committed, unnumbered events in id order, continuing from the
    /// highest sequence. Only the elected sequencer calls it, on its own connection.
    pub async fn sequence_pending(&self, limit: u64) -> AppResult<Round> {
        let txn = self.conn.begin().await?;
        let start = max_sequence(&txn).await?;
        let rows: Vec<(i64, sea_orm::prelude::DateTimeUtc)> = row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .column(row::Column::CreatedAt)
            .filter(row::Column::Sequence.is_null())
            .order_by_asc(row::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&txn)
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(Round::default());
        }
        let oldest = rows.iter().map(|(_, at)| *at).min();
        let ids: Vec<i64> = rows.into_iter().map(|(id, _)| id).collect();
        // One statement: CASE id WHEN 17 THEN 101 WHEN 19 THEN 102 ... END.
        let mut case = String::from("CASE id");
        for (i, id) in ids.iter().enumerate() {
            case.push_str(&format!(" WHEN {id} THEN {}", start + 1 + i as i64));
        }
        case.push_str(" END");
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!("UPDATE queue_events SET sequence = {case} WHERE id IN ({list}) AND sequence IS NULL");
        // Sent as plain text (no prepared statement): the text is new every round, and
        // sqlx's statement cache would evict (COM_STMT_CLOSE, no reply) then prepare anew,
        // a write-write-read that Nagle and delayed ACKs stall ~40 ms per round on MySQL.
        let done = txn.execute_unprepared(&sql).await?;
        if done.rows_affected() != ids.len() as u64 {
            // Another sequencer got there first; numbering again is its job.
            txn.rollback().await?;
            return Err(AppError::Aborted("another sequencer numbered these events".into()));
        }
        txn.commit().await?;
        Ok(Round { numbered: ids.len() as u64, oldest })
    }

    /// Gives the lock up and closes the seat's own connection.
    pub async fn release(self) {
        if self.mysql && self.held {
            let _ = scalar(&self.conn, "SELECT RELEASE_LOCK(CONCAT('support_sequencer:', DATABASE()))").await;
        }
        if self.mysql {
            let _ = self.conn.close().await;
        }
    }
}
