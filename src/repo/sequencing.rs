//! The sequencer's data: the lease that elects it and the numbering of committed events.
//!
//! On MySQL (a single server or a Galera cluster) one row, `sequencer_lease`, names the
//! holder, a fencing token and an expiry in the database's own clock. A replica takes an
//! expired lease in a transaction (incrementing the token), extends it while it works, and
//! every numbering round extends it again in the round's own transaction, so a replica
//! that was deposed (paused past its lease, cut off) fails that check and writes nothing.
//! `GET_LOCK` served a single server well (released the moment its connection died) but is
//! node-local on Galera, where every replica took it: one mechanism for both now, at the
//! price of a take-over bounded by the lease (`SUPPORT_SEQUENCER_LEASE_MS`) instead of
//! about a second. On SQLite the single process is always the sequencer. The unique index
//! on `sequence` guards against two sequencers anyway.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait, Value,
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

/// The sequencer's own connection, who it is, and the fencing token of the lease it holds.
#[derive(Debug)]
pub struct SequencerSeat {
    conn: DatabaseConnection,
    mysql: bool,
    /// This replica's name in the lease row.
    holder: String,
    lease: Duration,
    /// The lease's fencing token while this replica holds it.
    token: Option<i64>,
    /// The highest sequence this seat gave, while it has held the lease since: nobody else
    /// numbers meanwhile (the fencing check), so the next round need not read it.
    highest: Option<i64>,
}

/// The first column of the first row of `sql`, if any.
async fn scalar(conn: &impl ConnectionTrait, sql: &str) -> AppResult<Option<i64>> {
    let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<Option<i64>>(0)?,
        None => None,
    })
}

/// Runs `sql` with `values`; the rows it changed.
async fn execute(conn: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> AppResult<u64> {
    let done = conn.execute_raw(Statement::from_sql_and_values(DatabaseBackend::MySql, sql, values)).await?;
    Ok(done.rows_affected())
}

/// Extends the lease this seat holds: zero rows when it is no longer this holder's
/// (another took it after it expired: the fencing check).
const EXTEND: &str = "UPDATE sequencer_lease SET expires_at = NOW(6) + INTERVAL ? MICROSECOND \
                      WHERE id = 1 AND holder = ? AND token = ? AND expires_at > NOW(6)";

impl Repo {
    /// A seat for this replica's sequencer, holding leases of `lease`: on MySQL its own
    /// long-lived connection (the sequencer never waits for the pool), on SQLite the pool's.
    pub async fn sequencer_seat(&self, lease: Duration) -> AppResult<SequencerSeat> {
        let mysql = self.backend() == DatabaseBackend::MySql;
        let conn = if mysql { self.dedicated_connection().await? } else { self.connection().clone() };
        if mysql {
            // The one lease row, expired from the start; whoever comes first writes it.
            conn.execute_unprepared(
                "INSERT IGNORE INTO sequencer_lease (id, holder, token, expires_at) VALUES (1, '', 0, '1970-01-02')",
            )
            .await?;
        }
        let holder = format!("{:016x}", rand::random::<u64>());
        Ok(SequencerSeat { conn, mysql, holder, lease, token: None, highest: None })
    }
}

impl SequencerSeat {
    /// Whether this replica holds the lease now: extends it when held, takes it when it
    /// has expired. On SQLite the single process always holds it.
    pub async fn acquire(&mut self) -> AppResult<bool> {
        if !self.mysql {
            self.token = Some(0);
            return Ok(true);
        }
        let micros = Value::from(self.lease.as_micros() as i64);
        match self.token {
            Some(_) => {
                if !self.extend().await? {
                    self.lose();
                }
            }
            None => {
                // Taking is a transaction: on a Galera cluster two replicas taking at once
                // on different nodes both update the row, and certification lets one commit.
                let txn = self.conn.begin().await?;
                let take = "UPDATE sequencer_lease SET holder = ?, token = token + 1, \
                            expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = 1 AND expires_at <= NOW(6)";
                if execute(&txn, take, vec![self.holder.clone().into(), micros]).await? == 1 {
                    let token = scalar(&txn, "SELECT token FROM sequencer_lease WHERE id = 1").await?;
                    txn.commit().await?;
                    self.token = token;
                    tracing::info!(token, holder = %self.holder, "this replica is now the event sequencer");
                } else {
                    txn.commit().await?;
                }
            }
        }
        Ok(self.token.is_some())
    }

    /// Whether the lease was held at the last look.
    pub fn held(&self) -> bool {
        self.token.is_some()
    }

    /// The highest sequence this seat gave (committed), while it has held the lease since.
    pub fn highest(&self) -> Option<i64> {
        self.highest
    }

    /// Counts the lease as lost (after an error), so the next round asks again.
    pub fn lose(&mut self) {
        self.highest = None;
        if let Some(token) = self.token.take() {
            tracing::warn!(token, holder = %self.holder, "this replica is no longer the event sequencer");
        }
    }

    /// Numbers up to `limit` committed, unnumbered events in id order, continuing from the
    /// highest sequence. Only the elected sequencer calls it, on its own connection.
    /// On MySQL the numbering extends the lease in the same statement: a replica whose
    /// lease was taken over numbers nothing (the fencing token no longer matches), and on
    /// Galera the lease row in the write set makes certification refuse one of two
    /// overlapping rounds.
    pub async fn sequence_pending(&mut self, limit: u64) -> AppResult<Round> {
        // Which events wait, read without a transaction: most rounds find none, and then
        // this is all they cost. The numbering below counts what it changed, so an event
        // another sequencer numbered meanwhile cannot be numbered twice.
        let mut unnumbered = row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .column(row::Column::CreatedAt)
            .filter(row::Column::Sequence.is_null())
            .order_by_asc(row::Column::Id)
            .limit(limit);
        if self.mysql {
            // The (sequence, id) index holds the unnumbered events in id order; left to
            // itself MariaDB walks the primary key past every numbered event, each round
            // (2.3 s a round with 300,000 unnumbered events; 13 ms with the index).
            use sea_orm::sea_query::extension::mysql::{IndexHintScope, MySqlSelectStatementExt};
            sea_orm::QueryTrait::query(&mut unnumbered)
                .force_index(sea_orm::sea_query::Alias::new("idx_queue_events_unnumbered"), IndexHintScope::All);
        }
        let rows: Vec<(i64, sea_orm::prelude::DateTimeUtc)> = unnumbered.into_tuple().all(&self.conn).await?;
        if rows.is_empty() {
            return Ok(Round::default());
        }
        let numbered = self.number(rows).await;
        if numbered.is_err() {
            self.highest = None;
        }
        numbered
    }

    /// Numbers `rows` (ids in order, with their times) after the highest sequence, in one
    /// transaction. On MySQL the numbering statement also extends the lease (a join on the
    /// lease row, fenced by holder, token and expiry): a deposed replica matches no row, and
    /// the lease row is in the write set for Galera's certification, without a round trip
    /// of its own.
    async fn number(&mut self, rows: Vec<(i64, sea_orm::prelude::DateTimeUtc)>) -> AppResult<Round> {
        let token = match (self.mysql, self.token) {
            (false, _) => None,
            (true, Some(token)) => Some(token),
            (true, None) => return Err(AppError::Aborted("this replica does not hold the lease".into())),
        };
        let txn = self.conn.begin().await?;
        let start = match self.highest {
            Some(highest) => highest,
            None => max_sequence(&txn).await?,
        };
        let oldest = rows.iter().map(|(_, at)| *at).min();
        let ids: Vec<i64> = rows.into_iter().map(|(id, _)| id).collect();
        // One statement: CASE id WHEN 17 THEN 101 WHEN 19 THEN 102 ... END.
        let mut case = String::from("CASE queue_events.id");
        for (i, id) in ids.iter().enumerate() {
            case.push_str(&format!(" WHEN {id} THEN {}", start + 1 + i as i64));
        }
        case.push_str(" END");
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        // By the primary key only: left to itself MariaDB updates through the (sequence, id)
        // index, whose next-key locks cover the gap where every new event is inserted, so
        // each writer's commit waited for the round, and on Galera a replicated insert
        // arriving meanwhile aborted it (a "sequencing failed" a few times an hour).
        // Sent as plain text (no prepared statement): the text is new every round, and
        // sqlx's statement cache would evict (COM_STMT_CLOSE, no reply) then prepare anew,
        // a write-write-read that Nagle and delayed ACKs stall ~40 ms per round on MySQL.
        // The holder is hex and the token and lease numbers, so the text is safe to build.
        let (sql, lease_rows) = match token {
            Some(token) => (
                format!(
                    "UPDATE queue_events FORCE INDEX (PRIMARY) JOIN sequencer_lease AS l \
                     ON l.id = 1 AND l.holder = '{holder}' AND l.token = {token} AND l.expires_at > NOW(6) \
                     SET queue_events.sequence = {case}, l.expires_at = NOW(6) + INTERVAL {micros} MICROSECOND \
                     WHERE queue_events.id IN ({list}) AND queue_events.sequence IS NULL",
                    holder = self.holder,
                    micros = self.lease.as_micros() as i64,
                ),
                1,
            ),
            None => (format!("UPDATE queue_events SET sequence = {case} WHERE id IN ({list}) AND sequence IS NULL"), 0),
        };
        // Rows matched (sqlx asks for found rows): every event and, on MySQL, the lease row.
        let matched = txn.execute_unprepared(&sql).await?.rows_affected();
        if matched != ids.len() as u64 + lease_rows {
            txn.rollback().await?;
            if lease_rows == 1 && !self.extend().await? {
                self.lose();
                return Err(AppError::Aborted(
                    "the sequencer lease was taken over; this replica stops numbering".into(),
                ));
            }
            // Another sequencer got there first; numbering again is its job.
            return Err(AppError::Aborted("another sequencer numbered these events".into()));
        }
        txn.commit().await?;
        self.highest = Some(start + ids.len() as i64);
        Ok(Round { numbered: ids.len() as u64, oldest })
    }

    /// Extends the lease this seat holds: false when it is no longer this holder's.
    async fn extend(&self) -> AppResult<bool> {
        let Some(token) = self.token else { return Ok(false) };
        let values = vec![Value::from(self.lease.as_micros() as i64), self.holder.clone().into(), token.into()];
        Ok(execute(&self.conn, EXTEND, values).await? == 1)
    }

    /// Gives the lease up (expired now, so another replica takes over at once) and closes
    /// the seat's own connection.
    pub async fn release(self) {
        if let (true, Some(token)) = (self.mysql, self.token) {
            let give_up = "UPDATE sequencer_lease SET expires_at = NOW(6) WHERE id = 1 AND holder = ? AND token = ?";
            let _ = execute(&self.conn, give_up, vec![self.holder.clone().into(), token.into()]).await;
        }
        if self.mysql {
            let _ = self.conn.close().await;
        }
    }
}
