//! TicketService, and the seeds' InsertTicket, GetTicketsByCustomerID, UpdateTicketStatus,
//! GetTicketsBySeverity, GetOpenTickets and GetClosedTickets.

use prost_types::FieldMask;
use support_service::pb::{
    self, Availability, ConversationMode, CustomerTier, PriorityLevel, Severity, TicketOrder, TicketStatus,
};
use tonic::Code;

use crate::helpers::{TestApp, bad_fields, spawn_app, spawn_with};

async fn setup() -> (TestApp, pb::Department, pb::Customer) {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    (app, d, c)
}

fn ids(tickets: &[pb::Ticket]) -> Vec<i64> {
    tickets.iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn insert_ticket() {
    let (mut app, d, c) = setup().await;
    let t = app.ticket(c.id, d.id, Severity::Critical, 5).await;
    assert_eq!(t.status, TicketStatus::Open as i32);
    assert_eq!(t.customer_id, c.id);
    assert_eq!(t.last_response, "The pay button answers 500.");
    let p = t.priority.unwrap();
    assert_eq!((p.score, p.level), (15, PriorityLevel::P1 as i32));
    let b = p.breakdown.unwrap();
    assert_eq!((b.severity_points, b.tier_points, b.impact_points, b.aging_points), (5, 5, 5, 0));
    let got = app.tickets.get_ticket(pb::GetTicketRequest { id: t.id }).await.unwrap().into_inner().ticket.unwrap();
    assert_eq!(got, t);
}

#[tokio::test]
async fn create_ticket_rejects_each_bad_field() {
    let (mut app, d, c) = setup().await;
    for (impact, field) in [(0, "impact"), (6, "impact")] {
        let err =
            app.tickets.create_ticket(TestApp::ticket_request(c.id, d.id, Severity::Minor, impact)).await.unwrap_err();
        assert_eq!(bad_fields(&err), [field]);
    }
    let err = app.tickets.create_ticket(pb::CreateTicketRequest::default()).await.unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["customer_id", "department_id", "category", "subject", "description", "severity", "impact"]
    );
    let err =
        app.tickets.create_ticket(TestApp::ticket_request(c.id + 50, d.id, Severity::Minor, 1)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("customer"), "{}", err.message());
}

#[tokio::test]
async fn create_ticket_with_request_id_creates_once() {
    let (mut app, d, c) = setup().await;
    let mut req = TestApp::ticket_request(c.id, d.id, Severity::Major, 2);
    req.request_id = "retry-me".into();
    let a = app.tickets.create_ticket(req.clone()).await.unwrap().into_inner();
    let b = app.tickets.create_ticket(req).await.unwrap().into_inner();
    assert_eq!(a, b);
    let all = app.list_tickets(pb::ListTicketsRequest::default()).await;
    assert_eq!(all.tickets.len(), 1);
}

/// Retries racing with one request_id: each creates its ticket in a transaction, and all
/// but the first lose on the key and roll back, ticket, event and search entry alike.
#[tokio::test]
async fn racing_retries_with_one_request_id_create_one_ticket() {
    let (mut app, d, c) = setup().await;
    let mut req = TestApp::ticket_request(c.id, d.id, Severity::Major, 2);
    req.request_id = "raced".into();
    let calls = (0..8).map(|_| {
        let (mut tickets, req) = (app.tickets.clone(), req.clone());
        tokio::spawn(async move { tickets.create_ticket(req).await.map(|r| r.into_inner().ticket.unwrap().id) })
    });
    let mut answered = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        answered.push(call.await.unwrap().unwrap());
    }
    answered.dedup();
    assert_eq!(answered.len(), 1, "every retry answers the one ticket: {answered:?}");
    let all = app.list_tickets(pb::ListTicketsRequest::default()).await;
    assert_eq!(ids(&all.tickets), answered, "the losers' tickets were rolled back");
    // The rolled-back connections went back to the pool in a usable state.
    let next = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    assert_eq!(app.get(next.id).await, next);
}

#[tokio::test]
async fn get_tickets_by_customer_id() {
    let (mut app, d, c) = setup().await;
    let other = app.customer("bob@example.com", CustomerTier::Free).await;
    let t1 = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    app.ticket(other.id, d.id, Severity::Minor, 1).await;
    let t2 = app.ticket(c.id, d.id, Severity::Critical, 1).await;
    let list = app.list_tickets(pb::ListTicketsRequest { customer_id: c.id, ..Default::default() }).await;
    assert_eq!(ids(&list.tickets), vec![t2.id, t1.id], "queue order: higher score first");
}

#[tokio::test]
async fn update_ticket_status() {
    let (mut app, d, c) = setup().await;
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let err = app.set_status(t.id, TicketStatus::Resolved).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("IN_PROGRESS"), "names the allowed move: {}", err.message());
    let t1 = app.set_status(t.id, TicketStatus::InProgress).await.unwrap();
    assert_eq!(t1.status, TicketStatus::InProgress as i32);
    let t2 = app.set_status(t.id, TicketStatus::Resolved).await.unwrap();
    assert!(t2.resolve_time.is_some());
    let t3 = app.set_status(t.id, TicketStatus::Closed).await.unwrap();
    assert!(t3.close_time.is_some());
    let err = app.set_status(t.id, TicketStatus::InProgress).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // A stale etag is ABORTED; an unspecified status is INVALID_ARGUMENT.
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    app.set_status(t.id, TicketStatus::InProgress).await.unwrap();
    let err = app
        .tickets
        .update_ticket_status(pb::UpdateTicketStatusRequest {
            id: t.id,
            status: TicketStatus::Resolved.into(),
            etag: t.etag,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = app.set_status(t.id, TicketStatus::Unspecified).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["status"]);
}

#[tokio::test]
async fn get_allowed_transitions_matches_what_the_server_accepts() {
    let (mut app, d, c) = setup().await;
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let allowed =
        app.tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id: t.id }).await.unwrap().into_inner();
    assert_eq!(allowed.current_status, TicketStatus::Open as i32);
    let moves: Vec<(i32, String)> = allowed.transitions.iter().map(|m| (m.status, m.method.clone())).collect();
    assert_eq!(
        moves,
        vec![
            (TicketStatus::InProgress as i32, "support.v1.TicketService/UpdateTicketStatus".to_owned()),
            (TicketStatus::Closed as i32, "support.v1.TicketService/CloseTicket".to_owned()),
        ]
    );
    for s in [TicketStatus::InProgress, TicketStatus::Resolved, TicketStatus::Closed] {
        app.set_status(t.id, s).await.unwrap();
    }
    let allowed =
        app.tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id: t.id }).await.unwrap().into_inner();
    assert!(allowed.transitions.is_empty());
}

#[tokio::test]
async fn get_tickets_by_severity() {
    let (mut app, d, c) = setup().await;
    let crit = app.ticket(c.id, d.id, Severity::Critical, 2).await;
    app.ticket(c.id, d.id, Severity::Minor, 2).await;
    let list =
        app.list_tickets(pb::ListTicketsRequest { severity: Severity::Critical.into(), ..Default::default() }).await;
    assert_eq!(ids(&list.tickets), vec![crit.id]);
}

#[tokio::test]
async fn get_open_tickets() {
    let (mut app, d, c) = setup().await;
    let open = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let working = app.ticket(c.id, d.id, Severity::Minor, 2).await;
    app.set_status(working.id, TicketStatus::InProgress).await.unwrap();
    let list = app
        .list_tickets(pb::ListTicketsRequest { statuses: vec![TicketStatus::Open.into()], ..Default::default() })
        .await;
    assert_eq!(ids(&list.tickets), vec![open.id]);
}

#[tokio::test]
async fn get_closed_tickets() {
    let (mut app, d, c) = setup().await;
    app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let done = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    for s in [TicketStatus::InProgress, TicketStatus::Resolved, TicketStatus::Closed] {
        app.set_status(done.id, s).await.unwrap();
    }
    let list = app
        .list_tickets(pb::ListTicketsRequest { statuses: vec![TicketStatus::Closed.into()], ..Default::default() })
        .await;
    assert_eq!(ids(&list.tickets), vec![done.id]);
    assert_eq!(list.tickets[0].status, TicketStatus::Closed as i32);
}

#[tokio::test]
async fn list_tickets_orders_pages_and_filters() {
    let (mut app, d, c) = setup().await;
    let other = app.department("Other", ConversationMode::Chat).await;
    let mut created = Vec::new();
    for (i, sev) in [
        Severity::Minor,
        Severity::Critical,
        Severity::Major,
        Severity::Critical,
        Severity::Minor,
        Severity::Major,
        Severity::Minor,
    ]
    .iter()
    .enumerate()
    {
        created.push(app.ticket(c.id, if i == 6 { other.id } else { d.id }, *sev, 1).await);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    // Queue order: score desc, then create time, then id.
    let mut expected = created.clone();
    expected.sort_by_key(|t| (-t.priority.as_ref().unwrap().score, t.id));
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page =
            app.list_tickets(pb::ListTicketsRequest { page_size: 2, page_token: token, ..Default::default() }).await;
        seen.extend(page.tickets);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids(&seen), ids(&expected));

    let newest = app
        .list_tickets(pb::ListTicketsRequest {
            order_by: TicketOrder::CreateTime.into(),
            page_size: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&newest.tickets), vec![created[6].id, created[5].id]);
    let next = app
        .list_tickets(pb::ListTicketsRequest {
            order_by: TicketOrder::CreateTime.into(),
            page_size: 2,
            page_token: newest.next_page_token.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&next.tickets), vec![created[4].id, created[3].id]);
    // A token is bound to its filters.
    let err = app
        .tickets
        .list_tickets(pb::ListTicketsRequest { page_token: newest.next_page_token, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_token"]);

    let by_dept = app.list_tickets(pb::ListTicketsRequest { department_id: other.id, ..Default::default() }).await;
    assert_eq!(ids(&by_dept.tickets), vec![created[6].id]);
    // ENTERPRISE (5) + CRITICAL (5) + impact 1 = 11: P1.
    let p1 = app
        .list_tickets(pb::ListTicketsRequest { priority_level: PriorityLevel::P1.into(), ..Default::default() })
        .await;
    assert_eq!(ids(&p1.tickets), vec![created[1].id, created[3].id]);
    let err =
        app.tickets.list_tickets(pb::ListTicketsRequest { statuses: vec![0], ..Default::default() }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["statuses[0]"]);
}

#[tokio::test]
async fn update_ticket_rescores_and_checks_etag() {
    let (mut app, d, c) = setup().await;
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    assert_eq!(t.priority.as_ref().unwrap().score, 1 + 5 + 1);
    let change = pb::Ticket {
        id: t.id,
        severity: Severity::Critical.into(),
        impact: 5,
        etag: t.etag.clone(),
        ..Default::default()
    };
    let updated = app
        .tickets
        .update_ticket(pb::UpdateTicketRequest {
            ticket: Some(change.clone()),
            update_mask: Some(FieldMask { paths: vec!["severity".into(), "impact".into()] }),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(updated.priority.unwrap().score, 15);
    let err = app
        .tickets
        .update_ticket(pb::UpdateTicketRequest { ticket: Some(change), update_mask: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let bad = pb::Ticket { id: t.id, impact: 9, ..Default::default() };
    let err =
        app.tickets.update_ticket(pb::UpdateTicketRequest { ticket: Some(bad), update_mask: None }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["ticket.impact"]);
}

#[tokio::test]
async fn assign_ticket_manually_and_to_the_least_loaded_agent() {
    let mut app = spawn_with(|s| s.auto_assign = false).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let other = app.department("Other", ConversationMode::Chat).await;
    let a1 = app.agent("a1@support.example", d.id).await;
    let a2 = app.agent("a2@support.example", d.id).await;
    let outsider = app.agent("o@support.example", other.id).await;
    let t1 = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let assigned = app.assign(t1.id, a1.id).await.unwrap();
    assert_eq!(assigned.assigned_agent_id, Some(a1.id));
    assert_eq!(assigned.assignment_reason, pb::AssignmentReason::Manual as i32);
    // Auto: a2 has no open ticket, so it gets the next one.
    let t2 = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let auto = app.assign(t2.id, 0).await.unwrap();
    assert_eq!(auto.assigned_agent_id, Some(a2.id));
    assert_eq!(auto.assignment_reason, pb::AssignmentReason::AutoLeastLoaded as i32);

    let err = app.assign(t2.id, outsider.id).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    app.agents
        .set_agent_availability(pb::SetAgentAvailabilityRequest { id: a1.id, availability: Availability::Off.into() })
        .await
        .unwrap();
    let err = app.assign(t2.id, a1.id).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("OFF"), "{}", err.message());
    let lone = app.ticket(c.id, other.id, Severity::Minor, 1).await;
    app.agents
        .set_agent_availability(pb::SetAgentAvailabilityRequest {
            id: outsider.id,
            availability: Availability::Off.into(),
        })
        .await
        .unwrap();
    let err = app.assign(lone.id, 0).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}
