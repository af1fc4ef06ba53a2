//! GetTicketHistory on both backends: each kind of change becomes one entry in order,
//! customers see only the public entries of their own tickets, and the history outlives
//! the event log's retention.

use chrono::Duration;
use support_service::domain::AgentRole;
use support_service::domain::access::Principal;
use support_service::pb::ticket_history_entry::Change;
use support_service::pb::{self, ConversationMode, CustomerTier, SenderKind, Severity, TicketStatus, Visibility};
use tonic::Code;

use crate::helpers::{Clients, TestApp, bad_fields, spawn_app};

async fn history(c: &mut Clients, ticket_id: i64) -> Vec<Change> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = pb::GetTicketHistoryRequest { ticket_id, page_size: 2, page_token };
        let r = c.tickets.get_ticket_history(req).await.expect("history").into_inner();
        out.extend(r.entries.into_iter().map(|e| e.change.expect("change")));
        if r.next_page_token.is_empty() {
            return out;
        }
        page_token = r.next_page_token;
    }
}

/// The kinds of `changes`, as short names, for order assertions.
fn kinds(changes: &[Change]) -> Vec<&'static str> {
    changes
        .iter()
        .map(|c| match c {
            Change::Opened(_) => "opened",
            Change::StatusChanged(_) => "status",
            Change::DepartmentChanged(_) => "department",
            Change::AssignmentChanged(_) => "assignment",
            Change::PriorityChanged(_) => "priority",
            Change::SlaBreached(_) => "sla",
            Change::MessageAdded(m) if m.visibility == i32::from(Visibility::Internal) => "note",
            Change::MessageAdded(_) => "message",
        })
        .collect()
}

/// A ticket that goes through every kind of change: (ticket, customer, department, agents).
async fn eventful_ticket(app: &mut TestApp) -> (i64, i64, i64, i64, i64) {
    let d = app.department("Billing", ConversationMode::Chat).await.id;
    let c = app.customer("ann@example.com", CustomerTier::Free).await.id;
    let a1 = app.agent("a1@example.com", d).await.id;
    let a2 = app.agent("a2@example.com", d).await.id;
    let t = app.ticket(c, d, Severity::Minor, 1).await;
    assert_eq!(t.assigned_agent_id, Some(a1), "the first agent gets it");
    app.clock.advance(Duration::hours(9));
    app.maintenance.run_once().await.expect("maintenance: the first reply (8 h at P3) is late");
    app.say(t.id, SenderKind::Agent, a1, "Looking into it").await.expect("reply");
    let note = pb::AddLogRequest {
        ticket_id: t.id,
        sender_kind: SenderKind::Agent.into(),
        sender_id: a1,
        body: "Customer is on the old plan".into(),
        visibility: Visibility::Internal.into(),
        ..Default::default()
    };
    app.logs.add_log(note).await.expect("note");
    app.assign(t.id, a2).await.expect("reassign");
    let change = pb::Ticket { id: t.id, severity: Severity::Critical.into(), ..Default::default() };
    let mask = prost_types::FieldMask { paths: vec!["severity".into()] };
    app.tickets
        .update_ticket(pb::UpdateTicketRequest { ticket: Some(change), update_mask: Some(mask) })
        .await
        .expect("severity up");
    app.set_status(t.id, TicketStatus::Resolved).await.expect("resolve");
    (t.id, c, d, a1, a2)
}

#[tokio::test]
async fn each_change_is_an_entry_in_order_and_customers_see_only_public_ones() {
    let mut app = spawn_app().await;
    let (id, customer, department, a1, a2) = eventful_ticket(&mut app).await;

    let all = history(&mut app, id).await;
    assert_eq!(
        kinds(&all),
        ["opened", "assignment", "sla", "status", "message", "note", "assignment", "priority", "status"],
        "{all:#?}"
    );
    let Change::AssignmentChanged(handover) = &all[6] else { unreachable!() };
    assert_eq!((handover.before_agent_id, handover.after_agent_id), (a1, a2));
    assert_eq!(handover.reason, i32::from(pb::AssignmentReason::Manual));
    let Change::PriorityChanged(p) = &all[7] else { unreachable!() };
    let (before, after) = (p.before.as_ref().unwrap(), p.after.as_ref().unwrap());
    assert!(after.score > before.score, "{p:?}");
    assert_eq!(after.breakdown.as_ref().unwrap().severity_points, 5, "CRITICAL's points, with the breakdown");
    let Change::StatusChanged(s) = &all[8] else { unreachable!() };
    assert_eq!((s.before, s.after), (TicketStatus::InProgress.into(), TicketStatus::Resolved.into()));
    let Change::SlaBreached(b) = &all[2] else { unreachable!() };
    assert_eq!(b.target, i32::from(pb::SlaTarget::FirstResponse));

    let mut own = app.as_(&Principal::customer(customer));
    assert_eq!(kinds(&history(&mut own, id).await), ["opened", "status", "message", "status"]);
    let mut agent = app.as_(&Principal::agent(a2, AgentRole::Agent, department));
    assert_eq!(history(&mut agent, id).await.len(), all.len(), "staff see everything");

    let stranger = app.customer("bob@example.com", CustomerTier::Free).await.id;
    let req = pb::GetTicketHistoryRequest { ticket_id: id, ..Default::default() };
    let refused = app.as_(&Principal::customer(stranger)).tickets.get_ticket_history(req).await.unwrap_err();
    assert!(matches!(refused.code(), Code::NotFound | Code::PermissionDenied), "{refused:?}");
    let bad = pb::GetTicketHistoryRequest { ticket_id: 0, page_size: -1, ..Default::default() };
    let err = app.tickets.get_ticket_history(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(bad_fields(&err).contains(&"ticket_id".to_string()), "{err:?}");
}

#[tokio::test]
async fn the_history_outlives_the_event_logs_retention() {
    let mut app = spawn_app().await;
    let (id, ..) = eventful_ticket(&mut app).await;
    let before = history(&mut app, id).await;
    // Age every event past the retention and prune until a run finds nothing more: the
    // sequencer numbers events in the background, and only numbered events are pruned.
    let mut pruned = 0;
    for _ in 0..200 {
        app.clock.advance(Duration::hours(80));
        let n = app.maintenance.run_once().await.expect("prune").pruned;
        pruned += n;
        if pruned > 0 && n == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(pruned >= 7, "the ticket's events were pruned: {pruned}");
    let after = history(&mut app, id).await;
    assert_eq!(after, before, "pruning the event log leaves the history whole");
}

#[tokio::test]
async fn the_migration_rebuilds_openings_assignments_and_messages_of_existing_tickets() {
    use migration::MigratorTrait;
    let mut app = spawn_app().await;
    let (id, customer, ..) = eventful_ticket(&mut app).await;
    // Undo the migrations back to before the history table, then apply them all again, as
    // on a database from before it.
    let db = sea_orm::Database::connect(app.db_url()).await.expect("connect");
    let all = migration::Migrator::migrations();
    let first = all.iter().position(|m| m.name().contains("ticket_history")).expect("the history migration");
    migration::Migrator::down(&db, Some((all.len() - first) as u32)).await.expect("down");
    migration::Migrator::up(&db, None).await.expect("up again");
    db.close().await.expect("close");
    // Status and priority changes were never kept before; the rest is rebuilt in time order.
    let rebuilt = history(&mut app, id).await;
    assert_eq!(kinds(&rebuilt), ["opened", "assignment", "assignment", "message", "note"], "{rebuilt:#?}");
    let Change::AssignmentChanged(first) = &rebuilt[1] else { unreachable!() };
    let Change::AssignmentChanged(second) = &rebuilt[2] else { unreachable!() };
    assert_eq!((first.before_agent_id, second.before_agent_id), (0, first.after_agent_id));
    let mut own = app.as_(&Principal::customer(customer));
    assert_eq!(kinds(&history(&mut own, id).await), ["opened", "message"]);
}
