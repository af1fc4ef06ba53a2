//! The sequencer's lease on MariaDB (what holds on a single server and on Galera): one
//! holder at a time, a dead holder replaced once its lease expires, and a deposed holder
//! stopped by the fencing check before it numbers anything.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use support_service::config::Settings;
use support_service::repo::Repo;

use crate::helpers::{TestDb, mysql_base};

async fn repo(url: &str) -> Repo {
    let settings = Settings::with_database(url);
    let repo = Repo::connect(&settings.db(), settings.rules().unwrap()).await.expect("connect");
    repo.migrate().await.expect("migrate");
    repo
}

/// An event written and not yet numbered, as a write transaction leaves it.
async fn pending_event(repo: &Repo) {
    repo.connection()
        .execute_unprepared(
            "INSERT INTO queue_events (sequence, kind, ticket_id, ticket, created_at) \
             VALUES (NULL, 'TICKET_CREATED', 1, '{}', NOW(6))",
        )
        .await
        .expect("insert an event");
}

/// The first column of the rows `sql` returns.
async fn column(repo: &Repo, sql: &str) -> Vec<i64> {
    let statement = sea_orm::Statement::from_string(sea_orm::DatabaseBackend::MySql, sql);
    let rows = repo.connection().query_all_raw(statement).await.unwrap();
    rows.iter().map(|r| r.try_get_by_index::<i64>(0).unwrap()).collect()
}

async fn numbered(repo: &Repo) -> i64 {
    column(repo, "SELECT COUNT(*) FROM queue_events WHERE sequence IS NOT NULL").await[0]
}

#[tokio::test]
async fn one_holder_a_dead_one_replaced_after_its_lease_and_a_deposed_one_fenced_off() {
    let db = TestDb::create_mysql(&mysql_base()).await;
    let (one, two) = (repo(&db.url).await, repo(&db.url).await);
    let lease = Duration::from_millis(400);
    let mut a = one.sequencer_seat(lease).await.unwrap();
    let mut b = two.sequencer_seat(lease).await.unwrap();

    assert!(a.acquire().await.unwrap(), "the first replica takes the free lease");
    assert!(!b.acquire().await.unwrap(), "a held lease is not taken");
    assert!(a.acquire().await.unwrap(), "the holder extends it");
    pending_event(&one).await;
    assert_eq!(a.sequence_pending(100).await.unwrap().numbered, 1);

    // The holder stalls (a long pause, a partition) past its lease: another takes over.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert!(b.acquire().await.unwrap(), "an expired lease is taken");
    // The deposed holder still thinks it holds the lease, and is stopped before writing.
    assert!(a.held());
    pending_event(&one).await;
    let refused = a.sequence_pending(100).await.unwrap_err();
    assert!(refused.to_string().contains("taken over"), "{refused}");
    assert!(!a.held(), "the deposed holder knows it");
    assert_eq!(numbered(&one).await, 1, "nothing numbered by the deposed holder");
    assert_eq!(b.sequence_pending(100).await.unwrap().numbered, 1, "the new holder numbers it");
    assert!(!a.acquire().await.unwrap(), "and keeps the lease while it renews");

    // A graceful stop gives the lease up at once.
    b.release().await;
    assert!(a.acquire().await.unwrap(), "a released lease is taken without waiting");
}

/// The ids of the server's connections to the test database, but the one asking.
async fn others(repo: &Repo) -> Vec<i64> {
    column(repo, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()").await
}

#[tokio::test]
async fn a_holder_whose_connection_was_cut_numbers_again_on_a_fresh_one() {
    let db = TestDb::create_mysql(&mysql_base()).await;
    let (one, killer) = (repo(&db.url).await, repo(&db.url).await);
    let mut seat = one.sequencer_seat(Duration::from_secs(30)).await.unwrap();
    assert!(seat.acquire().await.unwrap());
    pending_event(&killer).await;
    assert_eq!(seat.sequence_pending(100).await.unwrap().numbered, 1);

    // Every other connection to the database is cut, the seat's held one among them.
    for id in others(&killer).await {
        let _ = killer.connection().execute_unprepared(&format!("KILL CONNECTION {id}")).await;
    }
    pending_event(&killer).await;
    // The round on the cut connection fails; it is let go, and the next takes a new one.
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let round = seat.sequence_pending(100).await;
        let done = matches!(round, Ok(r) if r.numbered == 1);
        rounds.push(round.map(|r| r.numbered).map_err(|e| e.to_string()));
        if done {
            break;
        }
    }
    assert!(matches!(rounds.last(), Some(Ok(1))), "the event is numbered on a fresh connection: {rounds:?}");
    assert!(rounds.len() <= 2, "after at most one failed round: {rounds:?}");
    assert!(seat.held(), "the lease is still this seat's");
    assert_eq!(numbered(&killer).await, 2);
}
