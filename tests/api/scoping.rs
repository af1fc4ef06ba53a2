//! WatchQueue under access control: two customers and two departments' agents watch at
//! once, and each sees only their own tickets, in the snapshot and in every event;
//! customers never see internal notes; a ticket leaving an agent's department reaches
//! them once more, marked removed.

use std::collections::BTreeSet;

use support_service::domain::AgentRole;
use support_service::domain::access::Principal;
use support_service::pb::{self, ConversationMode, CustomerTier, Severity, watch_queue_response::Item};
use tonic::Streaming;

use crate::helpers::{TestApp, spawn_with};

struct Sub {
    name: &'static str,
    stream: Streaming<pb::WatchQueueResponse>,
    snapshot: Vec<i64>,
    events: Vec<pb::QueueEvent>,
}

impl Sub {
    async fn open(app: &TestApp, name: &'static str, who: &Principal) -> Self {
        let mut clients = app.as_(who);
        let req = pb::WatchQueueRequest { include_messages: true, ..Default::default() };
        let stream = clients.tickets.watch_queue(req).await.expect("watch").into_inner();
        let mut sub = Sub { name, stream, snapshot: Vec::new(), events: Vec::new() };
        loop {
            match sub.next().await {
                Item::SnapshotTicket(t) => sub.snapshot.push(t.id),
                Item::SnapshotEnd(_) => return sub,
                other => panic!("{name}: expected the snapshot, got {other:?}"),
            }
        }
    }

    async fn next(&mut self) -> Item {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.message())
            .await
            .unwrap_or_else(|_| panic!("{}: nothing within 10 s", self.name))
            .unwrap_or_else(|s| panic!("{}: stream failed: {s:?}", self.name))
            .unwrap_or_else(|| panic!("{}: stream ended", self.name));
        m.item.expect("item")
    }

    /// Reads events until a heartbeat says everything through `sequence` was considered.
    async fn read_through(&mut self, sequence: i64) {
        loop {
            match self.next().await {
                Item::Event(e) => self.events.push(e),
                Item::Heartbeat(h) if h.sequence >= sequence => return,
                Item::Heartbeat(_) => {}
                other => panic!("{}: unexpected {other:?}", self.name),
            }
        }
    }

    fn tickets(&self) -> BTreeSet<i64> {
        self.events.iter().filter_map(|e| e.ticket.as_ref()).map(|t| t.id).collect()
    }

    /// The messages added (receipts, MESSAGE_UPDATED, carry them again).
    fn messages(&self) -> Vec<&pb::Log> {
        let added = |e: &&pb::QueueEvent| e.kind == pb::QueueEventKind::MessageAdded as i32;
        self.events.iter().filter(added).filter_map(|e| e.log.as_ref()).collect()
    }
}

#[tokio::test]
async fn customers_and_agents_each_see_only_their_own_queue() {
    let mut app = spawn_with(|s| s.watch_heartbeat_ms = 100).await;
    let d1 = app.department("One", ConversationMode::Chat).await.id;
    let d2 = app.department("Two", ConversationMode::Chat).await.id;
    let c1 = app.customer("c1@example.com", CustomerTier::Paid).await.id;
    let c2 = app.customer("c2@example.com", CustomerTier::Paid).await.id;
    let a1 = app.agent("a1@support.example", d1).await.id;
    let a2 = app.agent("a2@support.example", d2).await.id;
    let t0 = app.ticket(c1, d2, Severity::Major, 3).await.id;

    let mut subs = vec![
        Sub::open(&app, "customer 1", &Principal::customer(c1)).await,
        Sub::open(&app, "customer 2", &Principal::customer(c2)).await,
        Sub::open(&app, "agent 1", &Principal::agent(a1, AgentRole::Agent, d1)).await,
        Sub::open(&app, "agent 2", &Principal::agent(a2, AgentRole::Agent, d2)).await,
    ];
    let snapshots: Vec<Vec<i64>> = subs.iter().map(|s| s.snapshot.clone()).collect();
    assert_eq!(snapshots, vec![vec![t0], vec![], vec![], vec![t0]], "snapshots are scoped");

    let t1 = app.ticket(c1, d1, Severity::Major, 3).await.id;
    let t2 = app.ticket(c2, d2, Severity::Major, 3).await.id;
    let t3 = app.ticket(c2, d1, Severity::Major, 3).await.id;
    app.say(t1, pb::SenderKind::Customer, c1, "Still broken").await.expect("public message");
    let note = pb::AddLogRequest {
        ticket_id: t1,
        sender_kind: pb::SenderKind::Agent.into(),
        sender_id: a1,
        body: "Escalate to billing".into(),
        visibility: pb::Visibility::Internal.into(),
        ..Default::default()
    };
    app.logs.add_log(note).await.expect("internal note");
    let moved = pb::UpdateTicketRequest {
        ticket: Some(pb::Ticket { id: t3, department_id: d2, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["department_id".into()] }),
    };
    app.tickets.update_ticket(moved).await.expect("move t3 to department Two");

    // The sequence of the last change, read by an unrestricted subscriber: its snapshot
    // may precede the numbering of the last events, so wait for its first heartbeat.
    let mut all = app.tickets.watch_queue(pb::WatchQueueRequest::default()).await.expect("watch").into_inner();
    let last = loop {
        match all.message().await.expect("stream").expect("item").item.expect("item") {
            Item::Heartbeat(h) => break h.sequence,
            _ => continue,
        }
    };
    for sub in &mut subs {
        sub.read_through(last).await;
    }
    let [cust1, cust2, agent1, agent2] = &subs[..] else { unreachable!() };

    assert_eq!(cust1.tickets(), BTreeSet::from([t1]), "customer 1 sees their new ticket only");
    assert_eq!(cust2.tickets(), BTreeSet::from([t2, t3]), "customer 2 sees theirs, wherever they go");
    assert!(cust1.messages().iter().all(|l| l.visibility == pb::Visibility::Public as i32), "no internal notes");
    assert_eq!(cust1.messages().len(), 1, "the public message");

    assert_eq!(agent1.tickets(), BTreeSet::from([t1, t3]), "agent 1: department One");
    assert!(
        agent1.messages().iter().any(|l| l.visibility == pb::Visibility::Internal as i32),
        "staff see internal notes"
    );
    let last_t3 = agent1.events.iter().rfind(|e| e.ticket.as_ref().is_some_and(|t| t.id == t3)).expect("t3 events");
    assert!(last_t3.removed, "t3 left agent 1's department and is marked removed");

    assert_eq!(agent2.tickets(), BTreeSet::from([t2, t3]), "agent 2: department Two, t3 once it arrived");
    assert!(agent2.events.iter().filter(|e| e.ticket.as_ref().is_some_and(|t| t.id == t3)).all(|e| !e.removed));
    assert!(agent2.messages().is_empty(), "no messages of department One's tickets");
}
