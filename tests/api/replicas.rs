//! Two server processes on one MariaDB database, 8 writers split across them, one
//! subscriber on each: both see every change exactly once, in one gap-free order, and
//! end with a view equal to the database.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use support_service::pb::{
    self, ConversationMode, CustomerTier, Severity, TicketStatus, ticket_service_client::TicketServiceClient,
    watch_queue_response::Item,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use crate::helpers::{Authed, TestApp, TestDb, authed, mysql_base, service_token};

/// A `support-service` process.
struct Replica {
    _child: Child,
    channel: Channel,
}

async fn start_replica(url: &str) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_support-service"))
        .env("DATABASE_URL", url)
        .env("SUPPORT_LISTEN", "127.0.0.1:0")
        .env("SUPPORT_ADMIN_LISTEN", "127.0.0.1:0")
        .env("SUPPORT_LOG_FORMAT", "json")
        .env("SUPPORT_WATCH_HEARTBEAT_MS", "200")
        .env("RUST_LOG", "info")
        .env("SUPPORT_AUTH_SECRET", crate::helpers::TEST_SECRET)
        .env("SUPPORT_RATE_LIMIT_PER_SECOND", "0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start support-service");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // It listens first, then connects and migrates: wait for both.
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        let mut addr = None;
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            if let Some(rest) = line.split("\"address\":\"").nth(1) {
                addr = Some(rest.split('"').next().expect("address").to_owned());
            }
            if line.contains("\"message\":\"ready\"") {
                return addr.expect("the address is logged before ready");
            }
        }
        panic!("support-service exited before it was ready");
    })
    .await
    .expect("the replica listens within 60 s");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.expect("connect replica");
    Replica { _child: child, channel }
}

#[derive(Debug, Default)]
struct Seen {
    snapshot_end: i64,
    sequences: Vec<i64>,
    view: BTreeMap<i64, pb::Ticket>,
    last: i64,
}

async fn subscribe(channel: Channel) -> tonic::Streaming<pb::WatchQueueResponse> {
    let mut client = TicketServiceClient::new(authed(channel, Some(&service_token())));
    client
        .watch_queue(pb::WatchQueueRequest { include_messages: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
}

/// Reads until the subscriber has processed `target`.
async fn read_until(stream: &mut tonic::Streaming<pb::WatchQueueResponse>, seen: &mut Seen, target: i64) {
    while seen.last < target {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("an item within 20 s")
            .expect("stream ok")
            .expect("stream open");
        match msg.item.expect("item") {
            Item::SnapshotTicket(t) => {
                seen.view.insert(t.id, t);
            }
            Item::SnapshotEnd(e) => {
                seen.snapshot_end = e.sequence;
                seen.last = e.sequence;
            }
            Item::Heartbeat(h) => seen.last = seen.last.max(h.sequence),
            Item::Typing(_) => {}
            Item::Event(e) => {
                seen.sequences.push(e.sequence);
                seen.last = e.sequence;
                let t = e.ticket.expect("ticket");
                if e.removed {
                    seen.view.remove(&t.id);
                } else {
                    seen.view.insert(t.id, t);
                }
            }
        }
    }
}

async fn write(channel: Channel, writer: usize, customer_id: i64, departments: [i64; 2], ops: usize) -> usize {
    let channel: Authed = authed(channel, Some(&service_token()));
    let mut tickets = TicketServiceClient::new(channel.clone());
    let mut logs = pb::log_service_client::LogServiceClient::new(channel);
    let mut mine: Vec<i64> = Vec::new();
    let mut done = 0;
    for i in 0..ops {
        let pick = (i * 7 + writer * 3) % 10;
        let result = if mine.len() < 3 || pick < 3 {
            let mut req = TestApp::ticket_request(customer_id, departments[i % 2], Severity::Major, 1 + (i % 5) as i32);
            req.subject = format!("writer {writer} op {i}");
            tickets.create_ticket(req).await.map(|r| mine.push(r.into_inner().ticket.unwrap().id))
        } else {
            let k = (i * 31 + writer) % mine.len();
            let id = mine[k];
            match (pick, ()) {
                (3 | 4, _) => {
                    let change = pb::Ticket { id, impact: 1 + (i % 5) as i32, ..Default::default() };
                    tickets
                        .update_ticket(pb::UpdateTicketRequest { ticket: Some(change), update_mask: None })
                        .await
                        .map(drop)
                }
                (5 | 6, _) => {
                    let req = pb::AddLogRequest {
                        ticket_id: id,
                        sender_kind: pb::SenderKind::Customer.into(),
                        sender_id: customer_id,
                        body: format!("message {i}"),
                        ..Default::default()
                    };
                    logs.add_log(req).await.map(drop)
                }
                (7 | 8, _) => {
                    // Whatever move the ticket allows now (a customer reply may have reopened it).
                    let allowed =
                        tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id }).await.unwrap();
                    let next =
                        allowed.into_inner().transitions.into_iter().find(|t| t.method.ends_with("UpdateTicketStatus"));
                    match next {
                        Some(t) => tickets
                            .update_ticket_status(pb::UpdateTicketStatusRequest {
                                id,
                                status: t.status,
                                etag: String::new(),
                            })
                            .await
                            .map(drop),
                        None => continue,
                    }
                }
                _ => {
                    let r = pb::CloseTicketRequest { id, feedback: pb::Feedback::Satisfied.into(), rating: 4 };
                    tickets.close_ticket(r).await.map(|_| {
                        mine.swap_remove(k);
                    })
                }
            }
        };
        match result {
            Ok(()) => done += 1,
            Err(s) if s.code() == tonic::Code::Aborted => {} // lost a lock race: a retryable no-op
            Err(s) => panic!("writer {writer} op {i}: {s:?}"),
        }
    }
    done
}

/// Needs MariaDB (two processes share one database), in both suite runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_eight_writers_every_subscriber_sees_every_change_once_in_order() {
    let db = TestDb::create_mysql(&mysql_base()).await;
    let a = start_replica(&db.url).await;
    let b = start_replica(&db.url).await;

    // Fixtures through replica a.
    let mut fixtures = TestApp::clients(a.channel.clone());
    let d1 = fixtures.department("One", ConversationMode::Chat).await;
    let d2 = fixtures.department("Two", ConversationMode::Chat).await;
    let c = fixtures.customer("ada@example.com", CustomerTier::Paid).await;
    for (i, d) in [d1.id, d1.id, d2.id, d2.id].into_iter().enumerate() {
        fixtures.agent(&format!("agent{i}@support.example"), d).await;
    }

    let mut sub_a = subscribe(a.channel.clone()).await;
    let mut sub_b = subscribe(b.channel.clone()).await;
    let (mut seen_a, mut seen_b) = (Seen::default(), Seen::default());
    read_until(&mut sub_a, &mut seen_a, 0).await;
    read_until(&mut sub_b, &mut seen_b, 0).await;

    let mut writers = Vec::new();
    for w in 0..8 {
        let channel = if w % 2 == 0 { a.channel.clone() } else { b.channel.clone() };
        writers.push(tokio::spawn(write(channel, w, c.id, [d1.id, d2.id], 625)));
    }
    let mut changes = 0;
    for w in writers {
        changes += w.await.unwrap();
    }
    assert!(changes >= 4_900, "{changes} of 5,000 writes succeeded");

    // Wait for every event to be numbered, then for both subscribers to reach the end.
    let conn = Database::connect(db.url.as_str()).await.unwrap();
    let scalar = |sql: &'static str| {
        let conn = conn.clone();
        async move {
            let row =
                conn.query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
            row.unwrap().try_get_by_index::<Option<i64>>(0).unwrap().unwrap_or(0)
        }
    };
    for _ in 0..200 {
        if scalar("SELECT COUNT(*) FROM queue_events WHERE sequence IS NULL").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = scalar("SELECT COUNT(*) FROM queue_events").await;
    let max = scalar("SELECT MAX(sequence) FROM queue_events").await;
    assert_eq!(total, max, "every event numbered, densely");
    read_until(&mut sub_a, &mut seen_a, max).await;
    read_until(&mut sub_b, &mut seen_b, max).await;

    let mut open = BTreeMap::new();
    let mut token = String::new();
    loop {
        let req = pb::ListTicketsRequest {
            statuses: vec![TicketStatus::Open.into(), TicketStatus::InProgress.into(), TicketStatus::Resolved.into()],
            page_size: 500,
            page_token: token,
            ..Default::default()
        };
        let page = fixtures.list_tickets(req).await;
        open.extend(page.tickets.into_iter().map(|t| (t.id, t)));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    for (name, seen) in [("a", &seen_a), ("b", &seen_b)] {
        let expected: Vec<i64> = (seen.snapshot_end + 1..=max).collect();
        // Said in full when it fails: which numbers came twice, out of order or never.
        let out_of_order: Vec<(i64, i64)> =
            seen.sequences.windows(2).filter(|w| w[1] <= w[0]).map(|w| (w[0], w[1])).collect();
        let got: BTreeSet<i64> = seen.sequences.iter().copied().collect();
        let missing: Vec<&i64> = expected.iter().filter(|s| !got.contains(s)).collect();
        assert!(
            seen.sequences == expected,
            "subscriber {name}: every change once, in order, after the snapshot's end {}: {} received for {} \
             expected; out of order or repeated {out_of_order:?}, missing {missing:?}",
            seen.snapshot_end,
            seen.sequences.len(),
            expected.len(),
        );
        assert!(seen.view == open, "subscriber {name}: its final view equals the database");
    }
    eprintln!("{changes} writes produced {max} events; both subscribers saw all of them in order");
}
