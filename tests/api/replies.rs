//! ReplyService on both backends: quick replies kept by supervisors and read by agents of
//! their department, drafts with placeholders filled for a ticket, and suggestions drawn
//! only from resolved tickets in the caller's scope, with their counts.

use support_service::domain::AgentRole;
use support_service::domain::access::Principal;
use support_service::pb::{self, ConversationMode, CustomerTier, SenderKind, Severity, TicketStatus};
use tonic::Code;

use crate::helpers::{Clients, TestApp, bad_fields, spawn_app};

fn quick_reply(department_id: i64, title: &str, body: &str) -> pb::CreateQuickReplyRequest {
    let q = pb::QuickReply { department_id, title: title.into(), body: body.into(), ..Default::default() };
    pb::CreateQuickReplyRequest { quick_reply: Some(q), request_id: String::new() }
}

async fn create(c: &mut Clients, req: pb::CreateQuickReplyRequest) -> Result<pb::QuickReply, tonic::Status> {
    c.replies.create_quick_reply(req).await.map(|r| r.into_inner().quick_reply.expect("quick reply"))
}

#[tokio::test]
async fn supervisors_keep_their_departments_quick_replies_and_agents_read_them() {
    let mut app = spawn_app().await;
    let d1 = app.department("Billing", ConversationMode::Chat).await.id;
    let d2 = app.department("Hardware", ConversationMode::Chat).await.id;
    let s1 = app.agent("sup1@example.com", d1).await.id;
    let a1 = app.agent("a1@example.com", d1).await.id;
    let s2 = app.agent("sup2@example.com", d2).await.id;
    let mut supervisor = app.as_(&Principal::agent(s1, AgentRole::Supervisor, d1));
    let mut agent = app.as_(&Principal::agent(a1, AgentRole::Agent, d1));
    let mut other = app.as_(&Principal::agent(s2, AgentRole::Supervisor, d2));

    let q =
        create(&mut supervisor, quick_reply(d1, "Refund sent", "Hi {customer.first_name}, refunded.")).await.unwrap();
    create(&mut supervisor, quick_reply(d1, "Apology", "Sorry for the wait.")).await.unwrap();
    let taken = create(&mut supervisor, quick_reply(d1, "Refund sent", "again")).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    let bad = create(&mut supervisor, quick_reply(d1, "Bad", "Hi {customer.middle_name}")).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&bad), ["quick_reply.body"]);
    assert!(bad.message().contains("unknown placeholder"), "{}", bad.message());
    let elsewhere = create(&mut supervisor, quick_reply(d2, "Mine now", "text")).await.unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied);
    let by_agent = create(&mut agent, quick_reply(d1, "Agent's", "text")).await.unwrap_err();
    assert_eq!(by_agent.code(), Code::PermissionDenied, "agents read, supervisors write");

    // Agents list their own department's, by title; other departments' are not theirs.
    let listed = agent.replies.list_quick_replies(pb::ListQuickRepliesRequest::default()).await.unwrap().into_inner();
    let titles: Vec<_> = listed.quick_replies.iter().map(|q| q.title.as_str()).collect();
    assert_eq!(titles, ["Apology", "Refund sent"]);
    let get = pb::GetQuickReplyRequest { id: q.id };
    assert_eq!(other.replies.get_quick_reply(get).await.unwrap_err().code(), Code::PermissionDenied);
    let customer = app.customer("ann@example.com", CustomerTier::Free).await.id;
    let list = pb::ListQuickRepliesRequest { department_id: d1, ..Default::default() };
    let refused = app.as_(&Principal::customer(customer)).replies.list_quick_replies(list).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let unnamed = app.replies.list_quick_replies(pb::ListQuickRepliesRequest::default()).await.unwrap_err();
    assert_eq!(bad_fields(&unnamed), ["department_id"], "a service names the department");

    // Updates are conditional on the etag; deletes remove.
    let change = pb::QuickReply {
        id: q.id,
        body: "Refunded, {customer.first_name}.".into(),
        etag: q.etag.clone(),
        ..Default::default()
    };
    let update = pb::UpdateQuickReplyRequest { quick_reply: Some(change.clone()), update_mask: None };
    let updated =
        supervisor.replies.update_quick_reply(update.clone()).await.unwrap().into_inner().quick_reply.unwrap();
    assert_eq!((updated.title.as_str(), updated.body.as_str()), ("Refund sent", "Refunded, {customer.first_name}."));
    assert_eq!(supervisor.replies.update_quick_reply(update).await.unwrap_err().code(), Code::Aborted, "stale etag");
    let delete = pb::DeleteQuickReplyRequest { id: q.id, etag: String::new() };
    agent.replies.delete_quick_reply(delete.clone()).await.unwrap_err();
    supervisor.replies.delete_quick_reply(delete).await.unwrap();
    let gone = supervisor.replies.get_quick_reply(pb::GetQuickReplyRequest { id: q.id }).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn a_draft_fills_the_placeholders_for_the_ticket() {
    let mut app = spawn_app().await;
    let d1 = app.department("Billing", ConversationMode::Chat).await.id;
    let d2 = app.department("Hardware", ConversationMode::Chat).await.id;
    let a1 = app.agent("a1@example.com", d1).await.id;
    let c = app.customer("ada@example.com", CustomerTier::Free).await.id;
    let t = app.ticket(c, d1, Severity::Minor, 1).await.id;
    let body = "Hi {customer.first_name} {customer.last_name}, about #{ticket.id} ({ticket.subject}): \
                {agent.first_name} of {department.name} is on it. {{ok}}";
    let q = create(&mut app, quick_reply(d1, "Ack", body)).await.unwrap();
    let mut agent = app.as_(&Principal::agent(a1, AgentRole::Agent, d1));
    let draft = pb::DraftReplyRequest { ticket_id: t, quick_reply_id: q.id };
    let filled = agent.replies.draft_reply(draft).await.unwrap().into_inner().body;
    assert_eq!(filled, format!("Hi Ada Lovelace, about #{t} (Checkout fails): Grace of Billing is on it. {{ok}}"));

    let foreign = create(&mut app, quick_reply(d2, "Other", "text")).await.unwrap();
    let draft = pb::DraftReplyRequest { ticket_id: t, quick_reply_id: foreign.id };
    assert_eq!(app.replies.draft_reply(draft).await.unwrap_err().code(), Code::FailedPrecondition);
    let other_agent = app.agent("b@example.com", d2).await.id;
    let draft = pb::DraftReplyRequest { ticket_id: t, quick_reply_id: q.id };
    let mut outsider = app.as_(&Principal::agent(other_agent, AgentRole::Agent, d2));
    assert_eq!(outsider.replies.draft_reply(draft).await.unwrap_err().code(), Code::PermissionDenied);
    let bad = pb::DraftReplyRequest { ticket_id: 0, quick_reply_id: -1 };
    let err = app.replies.draft_reply(bad).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["ticket_id", "quick_reply_id"]);
}

/// A ticket in `department` with `subject`, answered first with `reply`, a customer
/// follow-up if `follow_up`, and resolved if `resolve`.
async fn answered(
    app: &mut TestApp,
    (customer, department, agent): (i64, i64, i64),
    subject: &str,
    reply: &str,
    follow_up: bool,
    resolve: bool,
) -> i64 {
    let mut req = Clients::ticket_request(customer, department, Severity::Minor, 1);
    req.subject = subject.into();
    req.description = format!("{subject}, please help");
    let t = app.tickets.create_ticket(req).await.unwrap().into_inner().ticket.unwrap().id;
    app.assign(t, agent).await.unwrap();
    app.say(t, SenderKind::Agent, agent, reply).await.unwrap();
    if follow_up {
        app.say(t, SenderKind::Customer, customer, "Still broken").await.unwrap();
        app.say(t, SenderKind::Agent, agent, "Try once more").await.unwrap();
    }
    if resolve {
        app.set_status(t, TicketStatus::Resolved).await.unwrap();
    }
    t
}

#[tokio::test]
async fn suggestions_come_from_resolved_tickets_in_scope_with_their_counts() {
    let mut app = spawn_app().await;
    let d1 = app.department("Printing", ConversationMode::Chat).await.id;
    let d2 = app.department("Elsewhere", ConversationMode::Chat).await.id;
    let c = app.customer("ada@example.com", CustomerTier::Free).await.id;
    let a1 = app.agent("a1@example.com", d1).await.id;
    let a2 = app.agent("a2@example.com", d2).await.id;
    let tray = "Open tray two and remove the jammed sheet.";
    let first = answered(&mut app, (c, d1, a1), "Printer jams paper", tray, false, true).await;
    let second = answered(&mut app, (c, d1, a1), "The printer jams paper again", tray, true, true).await;
    answered(&mut app, (c, d1, a1), "Printer paper jams", "Replace the roller.", false, true).await;
    answered(&mut app, (c, d1, a1), "Printer jams paper", "UNRESOLVED ANSWER", false, false).await;
    answered(&mut app, (c, d1, a1), "Invoice missing", "UNRELATED ANSWER", false, true).await;
    answered(&mut app, (c, d2, a2), "Printer jams paper", "OTHER DEPARTMENT ANSWER", false, true).await;

    let mut req = Clients::ticket_request(c, d1, Severity::Minor, 1);
    req.subject = "My printer jams the paper".into();
    let new = app.tickets.create_ticket(req).await.unwrap().into_inner().ticket.unwrap().id;
    let mut agent = app.as_(&Principal::agent(a1, AgentRole::Agent, d1));
    let got = agent.replies.suggest_replies(pb::SuggestRepliesRequest { ticket_id: new }).await.unwrap().into_inner();
    let bodies: Vec<_> = got.suggestions.iter().map(|s| s.body.as_str()).collect();
    assert_eq!(bodies, [tray, "Replace the roller."], "{got:#?}");
    let best = &got.suggestions[0];
    assert_eq!((best.first_reply_count, best.resolved_without_follow_up_count), (2, 1));
    assert!([first, second].contains(&best.source_ticket_id), "a ticket it answered: {best:?}");
    assert!(best.relevance > got.suggestions[1].relevance);

    let mut customer = app.as_(&Principal::customer(c));
    let refused = customer.replies.suggest_replies(pb::SuggestRepliesRequest { ticket_id: new }).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "suggestions are for staff");
    let err = app.replies.suggest_replies(pb::SuggestRepliesRequest { ticket_id: 0 }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["ticket_id"]);
}
