//! Automatic assignment, availability, capacity and the backlog.

use std::collections::HashMap;

use chrono::Duration;
use support_service::pb::{
    self, AssignmentReason, Availability, ConversationMode, CustomerTier, Severity, TicketStatus,
};

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn new_tickets_go_to_the_least_loaded_agent_ties_to_the_idlest() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let a1 = app.agent("a1@support.example", d.id).await;
    let a2 = app.agent("a2@support.example", d.id).await;
    let a3 = app.agent("a3@support.example", d.id).await;
    let mut owners = Vec::new();
    for _ in 0..4 {
        let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
        assert_eq!(t.assignment_reason, AssignmentReason::AutoLeastLoaded as i32);
        owners.push(t.assigned_agent_id.unwrap());
        app.clock.advance(Duration::minutes(1));
    }
    // Never-assigned agents first (by id), then the one idle longest.
    assert_eq!(owners, vec![a1.id, a2.id, a3.id, a1.id]);

    app.availability(a2.id, Availability::Off).await;
    for _ in 0..4 {
        let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
        assert_ne!(t.assigned_agent_id, Some(a2.id), "an OFF agent gets no new work");
        app.clock.advance(Duration::minutes(1));
    }
}

#[tokio::test]
async fn an_agent_going_off_hands_back_unanswered_tickets_only() {
    let mut app = spawn_with(|s| s.agent_capacity = 0).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let a1 = app.agent("a1@support.example", d.id).await;
    let waiting = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let talking = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    assert_eq!((waiting.assigned_agent_id, talking.assigned_agent_id), (Some(a1.id), Some(a1.id)));
    app.say(talking.id, pb::SenderKind::Agent, a1.id, "hello").await.unwrap();
    let a2 = app.agent("a2@support.example", d.id).await;

    app.availability(a1.id, Availability::Off).await;
    let w = app.get(waiting.id).await;
    assert_eq!(w.assigned_agent_id, Some(a2.id), "the unanswered ticket moved");
    assert_eq!(w.assignment_reason, AssignmentReason::BacklogDrain as i32);
    assert_eq!(app.get(talking.id).await.assigned_agent_id, Some(a1.id), "the started conversation stays");

    // With nobody ACTIVE, tickets wait unassigned, then go out in queue order.
    app.availability(a2.id, Availability::Off).await;
    let low = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let high = app.ticket(c.id, d.id, Severity::Critical, 5).await;
    assert_eq!((low.assigned_agent_id, high.assigned_agent_id), (None, None));
    assert_eq!(app.get(waiting.id).await.assigned_agent_id, None, "a2's unanswered ticket returned to the backlog");
    app.availability(a1.id, Availability::Active).await;
    for id in [waiting.id, low.id, high.id] {
        let t = app.get(id).await;
        assert_eq!(t.assigned_agent_id, Some(a1.id));
        assert_eq!(t.assignment_reason, AssignmentReason::BacklogDrain as i32);
    }
}

#[tokio::test]
async fn capacity_holds_work_back_until_an_agent_frees_up() {
    let mut app = spawn_with(|s| s.agent_capacity = 2).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let a = app.agent("a@support.example", d.id).await;
    let t1 = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let t2 = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let t3 = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    assert_eq!((t1.assigned_agent_id, t2.assigned_agent_id, t3.assigned_agent_id), (Some(a.id), Some(a.id), None));
    app.set_status(t1.id, TicketStatus::InProgress).await.unwrap();
    app.set_status(t1.id, TicketStatus::Resolved).await.unwrap();
    let t3 = app.get(t3.id).await;
    assert_eq!(t3.assigned_agent_id, Some(a.id), "resolving t1 freed capacity");
    assert_eq!(t3.assignment_reason, AssignmentReason::BacklogDrain as i32);
}

#[tokio::test]
async fn moving_a_ticket_to_another_department_reassigns_it_there() {
    let mut app = spawn_app().await;
    let d1 = app.department("One", ConversationMode::Chat).await;
    let d2 = app.department("Two", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    app.agent("a1@support.example", d1.id).await;
    let b = app.agent("b@support.example", d2.id).await;
    let t = app.ticket(c.id, d1.id, Severity::Minor, 1).await;
    let change = pb::Ticket { id: t.id, department_id: d2.id, ..Default::default() };
    let moved = app
        .tickets
        .update_ticket(pb::UpdateTicketRequest { ticket: Some(change), update_mask: None })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!((moved.department_id, moved.assigned_agent_id), (d2.id, Some(b.id)));
}

/// 200 tickets from 16 concurrent callers over 5 active agents: 40 ± 1 each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_spread_evenly() {
    let mut app = spawn_with(|s| s.agent_capacity = 0).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    for i in 0..5 {
        app.agent(&format!("a{i}@support.example"), d.id).await;
    }
    let mut callers = Vec::new();
    for caller in 0..16 {
        let count = if caller < 8 { 13 } else { 12 }; // 200 in all
        let mut tickets = app.tickets.clone();
        let (cid, did) = (c.id, d.id);
        callers.push(tokio::spawn(async move {
            let mut owners = Vec::new();
            for _ in 0..count {
                let req = crate::helpers::TestApp::ticket_request(cid, did, Severity::Minor, 1);
                owners.push(
                    tickets.create_ticket(req).await.expect("create").into_inner().ticket.unwrap().assigned_agent_id,
                );
            }
            owners
        }));
    }
    let mut owners = Vec::new();
    for caller in callers {
        owners.extend(caller.await.unwrap());
    }
    assert_eq!(owners.len(), 200);
    assert!(owners.iter().all(Option::is_some), "every ticket was assigned on create");
    let mut per_agent: HashMap<i64, i64> = HashMap::new();
    let mut token = String::new();
    loop {
        let page =
            app.list_tickets(pb::ListTicketsRequest { page_size: 500, page_token: token, ..Default::default() }).await;
        for t in &page.tickets {
            *per_agent.entry(t.assigned_agent_id.expect("every ticket assigned")).or_default() += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let total: i64 = per_agent.values().sum();
    assert_eq!(total, 200);
    let (min, max) = (per_agent.values().min().unwrap(), per_agent.values().max().unwrap());
    eprintln!("distribution of 200 concurrent creates over 5 agents: {per_agent:?}");
    assert_eq!(per_agent.len(), 5);
    assert!(per_agent.values().all(|n| (39..=41).contains(n)), "not 40 ± 1: {per_agent:?}");
    assert!(max - min <= 2);
}

#[tokio::test]
async fn off_means_off_a_customer_writing_to_an_off_agent_is_handed_over_or_waits() {
    let mut app = spawn_with(|s| s.agent_capacity = 0).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let a1 = app.agent("a1@support.example", d.id).await;
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    app.say(t.id, pb::SenderKind::Agent, a1.id, "hello").await.unwrap();
    let a2 = app.agent("a2@support.example", d.id).await;
    app.availability(a1.id, Availability::Off).await;
    assert_eq!(app.get(t.id).await.assigned_agent_id, Some(a1.id), "a started conversation keeps its owner");

    // The OFF agent's own note, or anyone but the customer, moves nothing.
    app.say(t.id, pb::SenderKind::Agent, a1.id, "note to self").await.unwrap();
    assert_eq!(app.get(t.id).await.assigned_agent_id, Some(a1.id));
    // The customer writes: the active agent takes over, and the history says why.
    app.say(t.id, pb::SenderKind::Customer, c.id, "are you there?").await.unwrap();
    let moved = app.get(t.id).await;
    assert_eq!(moved.assigned_agent_id, Some(a2.id));
    assert_eq!(moved.assignment_reason, AssignmentReason::Handover as i32);
    let req = pb::GetTicketHistoryRequest { ticket_id: t.id, page_size: 100, ..Default::default() };
    let history = app.tickets.get_ticket_history(req).await.unwrap().into_inner().entries;
    let handover = history.iter().rev().find_map(|e| match &e.change {
        Some(pb::ticket_history_entry::Change::AssignmentChanged(a)) => Some(*a),
        _ => None,
    });
    let handover = handover.expect("an assignment entry");
    assert_eq!((handover.before_agent_id, handover.after_agent_id), (a1.id, a2.id));
    assert_eq!(handover.reason, AssignmentReason::Handover as i32);
    // The customer's conversation says who will answer, before her message.
    let customer = support_service::domain::access::Principal::customer(c.id);
    let said = |mut cl: crate::helpers::Clients| async move {
        let req = pb::ListLogsRequest { ticket_id: t.id, page_size: 100, ..Default::default() };
        cl.logs.list_logs(req).await.unwrap().into_inner().logs.into_iter().map(|l| l.body).collect::<Vec<_>>()
    };
    let logs = said(app.as_(&customer)).await;
    let note = logs.iter().position(|b| b.contains(" is away; ") && b.ends_with(" will answer."));
    let asked = logs.iter().position(|b| b == "are you there?");
    assert!(note.is_some() && note < asked, "{logs:?}");

    // With nobody ACTIVE, the ticket waits in the department's backlog for the first return.
    app.availability(a2.id, Availability::Off).await;
    app.say(t.id, pb::SenderKind::Customer, c.id, "hello again?").await.unwrap();
    let waiting = app.get(t.id).await;
    assert_eq!((waiting.assigned_agent_id, waiting.status), (None, TicketStatus::InProgress as i32));
    assert!(said(app.as_(&customer)).await.iter().any(|b| b.contains("waits for the next agent")), "marked as waiting");
    let set =
        |id, availability: Availability| pb::SetAgentAvailabilityRequest { id, availability: availability.into() };
    let returned = app.agents.set_agent_availability(set(a1.id, Availability::Active)).await.unwrap().into_inner();
    let back = app.get(t.id).await;
    assert_eq!(back.assigned_agent_id, Some(a1.id), "the agent who returns gets it");
    assert_eq!(back.assignment_reason, AssignmentReason::BacklogDrain as i32);
    // Each agent who was OFF is told once, on return, what was handed over meanwhile.
    let told: Vec<_> = returned.handed_over.iter().map(|h| (h.ticket_id, h.to_agent_id, h.assigned_agent_id)).collect();
    assert_eq!(told, [(t.id, a2.id, a1.id)], "a1's ticket went to a2 and is back with a1");
    let other = app.agents.set_agent_availability(set(a2.id, Availability::Active)).await.unwrap().into_inner();
    let told: Vec<_> = other.handed_over.iter().map(|h| (h.ticket_id, h.to_agent_id)).collect();
    assert_eq!(told, [(t.id, 0)], "from a2 it waited in the backlog");
    app.availability(a1.id, Availability::Off).await;
    let again = app.agents.set_agent_availability(set(a1.id, Availability::Active)).await.unwrap().into_inner();
    assert!(again.handed_over.is_empty(), "told once");
}
