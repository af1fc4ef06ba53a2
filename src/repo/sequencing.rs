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

use chrono::{DateTime, Utc};
use sea_orm::sqlx::mysql::{MySql, MySqlPool};
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Acquire as _, Executor as _, Row as _};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
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
    pub oldest: Option<DateTime<Utc>>,
}

/// The sequencer's own connection, who it is, and the fencing token of the lease it holds.
#[derive(Debug)]
pub struct SequencerSeat {
    link: Link,
    /// This replica's name in the lease row.
    holder: String,
    lease: Duration,
    /// The lease's fencing token while this replica holds it.
    token: Option<i64>,
    /// The highest sequence this seat gave, while it has held the lease since: nobody else
    /// numbers meanwhile (the fencing check), so the next round need not read it.
    highest: Option<i64>,
}

/// How the seat reaches the database.
#[derive(Debug)]
enum Link {
    /// MySQL: the one connection of the seat's own pool, held from round to round. A
    /// connection taken from the pool for each statement cost every round two more round
    /// trips (sqlx pings each one it gets back) and two spawned tasks, about 60,000
    /// instructions a created ticket at 16 callers. Let go after any error, so the next
    /// round takes a fresh one (sqlx's ping on its return closes a broken one).
    MySql { pool: MySqlPool, held: Option<PoolConnection<MySql>> },
    /// SQLite: the process's one connection, through the pool (the single process always
    /// holds the lease).
    Sqlite(DatabaseConnection),
}

/// Extends the lease this seat holds: zero rows when it is no longer this holder's
/// (another took it after it expired: the fencing check).
const EXTEND: &str = "UPDATE sequencer_lease SET expires_at = NOW(6) + INTERVAL ? MICROSECOND \
                      WHERE id = 1 AND holder = ? AND token = ? AND expires_at > NOW(6)";

/// Takes an expired lease, with a new fencing token.
const TAKE: &str = "UPDATE sequencer_lease SET holder = ?, token = token + 1, \
                    expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = 1 AND expires_at <= NOW(6)";

/// Gives the lease up: expired now, so another replica takes over at once.
const GIVE_UP: &str = "UPDATE sequencer_lease SET expires_at = NOW(6) WHERE id = 1 AND holder = ? AND token = ?";

/// The events waiting for a number, oldest first. The (sequence, id) index holds them in id
/// order; left to itself MariaDB walks the primary key past every numbered event, each
/// round (2.3 s a round with 300,000 unnumbered events; 13 ms with the index).
const UNNUMBERED: &str = "SELECT id, created_at FROM queue_events FORCE INDEX (idx_queue_events_unnumbered) \
                          WHERE sequence IS NULL ORDER BY id LIMIT ?";

impl Repo {
    /// A seat for this replica's sequencer, holding leases of `lease`: on MySQL its own
    /// long-lived connection (the sequencer never waits for the pool), on SQLite the pool's.
    pub async fn sequencer_seat(&self, lease: Duration) -> AppResult<SequencerSeat> {
        let link = if self.backend() == sea_orm::DatabaseBackend::MySql {
            let pool = self.dedicated_connection().await?.get_mysql_connection_pool().clone();
            // The one lease row, expired from the start; whoever comes first writes it.
            pool.execute(
                "INSERT IGNORE INTO sequencer_lease (id, holder, token, expires_at) VALUES (1, '', 0, '1970-01-02')",
            )
            .await?;
            Link::MySql { pool, held: None }
        } else {
            Link::Sqlite(self.connection().clone())
        };
        let holder = format!("{:016x}", rand::random::<u64>());
        Ok(SequencerSeat { link, holder, lease, token: None, highest: None })
    }
}

impl SequencerSeat {
    /// Whether this replica holds the lease now: extends it when held, takes it when it
    /// has expired. On SQLite the single process always holds it.
    pub async fn acquire(&mut self) -> AppResult<bool> {
        if matches!(self.link, Link::Sqlite(_)) {
            self.token = Some(0);
            return Ok(true);
        }
        match self.token {
            Some(_) => {
                if !self.extend().await? {
                    self.lose();
                }
            }
            None => {
                let taken = self.take().await;
                self.token = self.let_go_after(taken)?;
                if let Some(token) = self.token {
                    tracing::info!(token, holder = %self.holder, "this replica is now the event sequencer");
                }
            }
        }
        Ok(self.token.is_some())
    }

    /// Takes the lease if it has expired: its new fencing token, or None.
    async fn take(&mut self) -> AppResult<Option<i64>> {
        let micros = self.lease.as_micros() as i64;
        let holder = self.holder.clone();
        let conn = self.connection().await?;
        // A transaction: on a Galera cluster two replicas taking at once on different nodes
        // both update the row, and certification lets one commit.
        let mut txn = conn.begin().await?;
        let taken = sqlx::query(TAKE).bind(holder).bind(micros).execute(&mut *txn).await?;
        let token = if taken.rows_affected() == 1 {
            let row = sqlx::query("SELECT token FROM sequencer_lease WHERE id = 1").fetch_one(&mut *txn).await?;
            Some(row.try_get::<i64, _>(0)?)
        } else {
            None
        };
        txn.commit().await?;
        Ok(token)
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

    /// The held MySQL connection, taken from the seat's pool when it has none.
    async fn connection(&mut self) -> AppResult<&mut PoolConnection<MySql>> {
        let Link::MySql { pool, held } = &mut self.link else {
            return Err(AppError::Internal("the sequencer's SQLite seat holds no MySQL connection".into()));
        };
        if held.is_none() {
            *held = Some(pool.acquire().await?);
        }
        held.as_mut().ok_or_else(|| AppError::Internal("the sequencer's connection vanished".into()))
    }

    /// Passes `result` on, letting the held connection go when it is an error: it may be
    /// broken, or hold a transaction sqlx has yet to roll back.
    fn let_go_after<T>(&mut self, result: AppResult<T>) -> AppResult<T> {
        if result.is_err()
            && let Link::MySql { held, .. } = &mut self.link
        {
            *held = None;
        }
        result
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
        let rows = self.unnumbered(limit).await;
        let rows = self.let_go_after(rows)?;
        if rows.is_empty() {
            return Ok(Round::default());
        }
        let numbered = self.number(rows).await;
        if numbered.is_err() {
            self.highest = None;
        }
        self.let_go_after(numbered)
    }

    /// Up to `limit` unnumbered events, ids in order, with their times.
    async fn unnumbered(&mut self, limit: u64) -> AppResult<Vec<(i64, DateTime<Utc>)>> {
        if let Link::Sqlite(db) = &self.link {
            let rows = row::Entity::find()
                .select_only()
                .column(row::Column::Id)
                .column(row::Column::CreatedAt)
                .filter(row::Column::Sequence.is_null())
                .order_by_asc(row::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(db)
                .await?;
            return Ok(rows);
        }
        let rows = sqlx::query(UNNUMBERED).bind(limit).fetch_all(&mut **self.connection().await?).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Numbers `rows` (ids in order, with their times) after the highest sequence, in one
    /// transaction. On MySQL the numbering statement also extends the lease (a join on the
    /// lease row, fenced by holder, token and expiry): a deposed replica matches no row, and
    /// the lease row is in the write set for Galera's certification, without a round trip
    /// of its own.
    async fn number(&mut self, rows: Vec<(i64, DateTime<Utc>)>) -> AppResult<Round> {
        let oldest = rows.iter().map(|(_, at)| *at).min();
        let ids: Vec<i64> = rows.into_iter().map(|(id, _)| id).collect();
        let count = ids.len() as u64;
        let numbered = match &self.link {
            Link::Sqlite(db) => number_sqlite(db, self.highest, &ids).await?,
            Link::MySql { .. } => {
                let Some(token) = self.token else {
                    return Err(AppError::Aborted("this replica does not hold the lease".into()));
                };
                let (highest, holder, micros) = (self.highest, self.holder.clone(), self.lease.as_micros() as i64);
                let conn = self.connection().await?;
                match number_mysql(conn, highest, &ids, &holder, token, micros).await? {
                    Some(start) => Some(start),
                    None => {
                        if !self.extend().await? {
                            self.lose();
                            return Err(AppError::Aborted(
                                "the sequencer lease was taken over; this replica stops numbering".into(),
                            ));
                        }
                        None
                    }
                }
            }
        };
        // None: another sequencer got there first; numbering again is its job.
        let start = numbered.ok_or_else(|| AppError::Aborted("another sequencer numbered these events".into()))?;
        self.highest = Some(start + count as i64);
        Ok(Round { numbered: count, oldest })
    }

    /// Extends the lease this seat holds: false when it is no longer this holder's.
    async fn extend(&mut self) -> AppResult<bool> {
        let Some(token) = self.token else { return Ok(false) };
        let (micros, holder) = (self.lease.as_micros() as i64, self.holder.clone());
        let conn = self.connection().await?;
        let extended = sqlx::query(EXTEND).bind(micros).bind(holder).bind(token).execute(&mut **conn).await;
        let extended = self.let_go_after(extended.map_err(AppError::from))?;
        Ok(extended.rows_affected() == 1)
    }

    /// Gives the lease up (expired now, so another replica takes over at once) and closes
    /// the seat's own connection.
    pub async fn release(mut self) {
        let Some(token) = self.token else { return self.close().await };
        if matches!(self.link, Link::MySql { .. }) {
            let holder = self.holder.clone();
            if let Ok(conn) = self.connection().await {
                let _ = sqlx::query(GIVE_UP).bind(holder).bind(token).execute(&mut **conn).await;
            }
        }
        self.close().await
    }

    async fn close(self) {
        if let Link::MySql { pool, held } = self.link {
            drop(held);
            pool.close().await;
        }
    }
}

/// The CASE that gives `ids` the sequences after `start`, in order:
/// `CASE queue_events.id WHEN 17 THEN 101 WHEN 19 THEN 102 ... END`, and the ids' list.
fn numbering(start: i64, ids: &[i64]) -> (String, String) {
    let mut case = String::from("CASE queue_events.id");
    for (i, id) in ids.iter().enumerate() {
        case.push_str(&format!(" WHEN {id} THEN {}", start + 1 + i as i64));
    }
    case.push_str(" END");
    (case, ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

/// Numbers `ids` on MySQL in one transaction on the held connection, fenced by the lease:
/// the sequence before the first (Some), or None when the statement did not match every
/// event and the lease row, and nothing was numbered.
async fn number_mysql(
    conn: &mut PoolConnection<MySql>,
    highest: Option<i64>,
    ids: &[i64],
    holder: &str,
    token: i64,
    micros: i64,
) -> AppResult<Option<i64>> {
    let mut txn = conn.begin().await?;
    let start = match highest {
        Some(highest) => highest,
        None => {
            let row = sqlx::query("SELECT MAX(sequence) FROM queue_events").fetch_one(&mut *txn).await?;
            row.try_get::<Option<i64>, _>(0)?.unwrap_or(0)
        }
    };
    let (case, list) = numbering(start, ids);
    // By the primary key only: left to itself MariaDB updates through the (sequence, id)
    // index, whose next-key locks cover the gap where every new event is inserted, so each
    // writer's commit waited for the round, and on Galera a replicated insert arriving
    // meanwhile aborted it (a "sequencing failed" a few times an hour).
    // Sent as plain text (no prepared statement): the text is new every round, and sqlx's
    // statement cache would evict (COM_STMT_CLOSE, no reply) then prepare anew, a
    // write-write-read that Nagle and delayed ACKs stall ~40 ms per round on MySQL.
    // The holder is hex and the token and lease numbers, so the text is safe to build.
    let sql = format!(
        "UPDATE queue_events FORCE INDEX (PRIMARY) JOIN sequencer_lease AS l \
         ON l.id = 1 AND l.holder = '{holder}' AND l.token = {token} AND l.expires_at > NOW(6) \
         SET queue_events.sequence = {case}, l.expires_at = NOW(6) + INTERVAL {micros} MICROSECOND \
         WHERE queue_events.id IN ({list}) AND queue_events.sequence IS NULL"
    );
    // Rows matched (sqlx asks for found rows): every event and the lease row.
    let matched = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *txn).await?.rows_affected();
    if matched != ids.len() as u64 + 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    txn.commit().await?;
    Ok(Some(start))
}

/// Numbers `ids` on SQLite in one transaction: as [`number_mysql`], without a lease.
async fn number_sqlite(db: &DatabaseConnection, highest: Option<i64>, ids: &[i64]) -> AppResult<Option<i64>> {
    let txn = db.begin().await?;
    let start = match highest {
        Some(highest) => highest,
        None => max_sequence(&txn).await?,
    };
    let (case, list) = numbering(start, ids);
    let sql = format!("UPDATE queue_events SET sequence = {case} WHERE id IN ({list}) AND sequence IS NULL");
    if txn.execute_unprepared(&sql).await?.rows_affected() != ids.len() as u64 {
        txn.rollback().await?;
        return Ok(None);
    }
    txn.commit().await?;
    Ok(Some(start))
}
