//! CallService on both backends: ringing, answering and ending calls, the signals relayed
//! between the two parties only, the ticket's record of each call, the agent report's
//! figures, and every refusal with its status.

use std::time::Duration;

use futures::StreamExt;
use support_service::domain::AgentRole;
use support_service::domain::access::Principal;
use support_service::pb::{
    self, Availability, CallOutcome, CallState, ConversationMode, CustomerTier, SdpType, SenderKind, Severity,
    join_call_response::Item,
};
use tonic::{Code, Streaming};

use crate::helpers::{Clients, TestApp, bad_fields, spawn_with};

/// A department, its agent (assigned the ticket), a second agent, a supervisor, and a
/// customer with a ticket.
struct Scene {
    department: i64,
    ticket: i64,
    agent_id: i64,
    customer_id: i64,
    agent: Clients,
    other_agent: Clients,
    supervisor: Clients,
    customer: Clients,
}

async fn scene(app: &mut TestApp) -> Scene {
    let department = app.department("Voice", ConversationMode::Chat).await.id;
    let agent_id = app.agent("ada@example.com", department).await.id;
    let other = app.agent("alan@example.com", department).await.id;
    let boss = app.agent("grace@example.com", department).await.id;
    let customer_id = app.customer("kim@example.com", CustomerTier::Paid).await.id;
    let ticket = app.ticket(customer_id, department, Severity::Major, 2).await.id;
    app.assign(ticket, agent_id).await.expect("assign");
    Scene {
        department,
        ticket,
        agent_id,
        customer_id,
        agent: app.as_(&Principal::agent(agent_id, AgentRole::Agent, department)),
        other_agent: app.as_(&Principal::agent(other, AgentRole::Agent, department)),
        supervisor: app.as_(&Principal::agent(boss, AgentRole::Supervisor, department)),
        customer: app.as_(&Principal::customer(customer_id)),
    }
}

async fn start(c: &mut Clients, ticket_id: i64) -> Result<pb::Call, tonic::Status> {
    c.calls.start_call(pb::StartCallRequest { ticket_id }).await.map(|r| r.into_inner().call.expect("call"))
}

async fn answer(c: &mut Clients, call_id: i64, accept: bool) -> Result<pb::Call, tonic::Status> {
    c.calls.answer_call(pb::AnswerCallRequest { call_id, accept }).await.map(|r| r.into_inner().call.expect("call"))
}

async fn end(c: &mut Clients, call_id: i64) -> Result<pb::Call, tonic::Status> {
    c.calls.end_call(pb::EndCallRequest { call_id }).await.map(|r| r.into_inner().call.expect("call"))
}

async fn get(c: &mut Clients, call_id: i64) -> Result<pb::Call, tonic::Status> {
    c.calls.get_call(pb::GetCallRequest { call_id }).await.map(|r| r.into_inner().call.expect("call"))
}

fn sdp(call_id: i64, kind: SdpType, text: &str) -> pb::SendCallSignalRequest {
    let d = pb::SessionDescription { r#type: kind.into(), sdp: text.into() };
    pb::SendCallSignalRequest { call_id, payload: Some(pb::send_call_signal_request::Payload::Description(d)) }
}

fn candidate(call_id: i64, line: &str) -> pb::SendCallSignalRequest {
    let c = pb::IceCandidate { candidate: line.into(), sdp_mid: "0".into(), sdp_m_line_index: 0 };
    pb::SendCallSignalRequest { call_id, payload: Some(pb::send_call_signal_request::Payload::Candidate(c)) }
}

async fn join(c: &mut Clients, call_id: i64) -> Streaming<pb::JoinCallResponse> {
    c.calls.join_call(pb::JoinCallRequest { call_id }).await.expect("join").into_inner()
}

/// The next call or signal on a relay (heartbeats skipped).
async fn next(relay: &mut Streaming<pb::JoinCallResponse>) -> Item {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), relay.next())
            .await
            .expect("an item within 10 s")
            .expect("the relay is open")
            .expect("an item, not an error")
            .item
            .expect("set");
        if !matches!(item, Item::Heartbeat(_)) {
            return item;
        }
    }
}

fn as_call(item: Item) -> pb::Call {
    match item {
        Item::Call(c) => c,
        other => panic!("expected a call, got {other:?}"),
    }
}

fn as_signal(item: Item) -> pb::CallSignal {
    match item {
        Item::Signal(s) => s,
        other => panic!("expected a signal, got {other:?}"),
    }
}

/// Waits until `call_id` has ended, reading as `c`.
async fn ended(c: &mut Clients, call_id: i64) -> pb::Call {
    for _ in 0..200 {
        let call = get(c, call_id).await.expect("get call");
        if call.state == CallState::Ended as i32 {
            return call;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("call {call_id} did not end");
}

async fn records(c: &mut Clients, ticket_id: i64) -> Vec<String> {
    let req = pb::ListLogsRequest { ticket_id, page_size: 100, ..Default::default() };
    let logs = c.logs.list_logs(req).await.expect("list logs").into_inner().logs;
    logs.into_iter().filter(|l| l.sender_kind == SenderKind::System as i32).map(|l| l.body).collect()
}

#[tokio::test]
async fn an_agent_rings_the_customer_who_accepts_and_signals_reach_only_the_other_party() {
    // No sweeper: this test moves the clock past the relays' staleness.
    let mut app = spawn_with(|s| s.call_sweep_ms = 3_600_000).await;
    let mut s = scene(&mut app).await;

    // The customer's queue stream learns of the ringing call.
    let watch = pb::WatchQueueRequest { ticket_id: s.ticket, include_calls: true, ..Default::default() };
    let mut queue = s.customer.tickets.watch_queue(watch).await.unwrap().into_inner();
    let call = start(&mut s.agent, s.ticket).await.unwrap();
    assert_eq!(call.state, CallState::Ringing as i32);
    let (caller, callee) = (call.caller.clone().unwrap(), call.callee.clone().unwrap());
    assert_eq!((caller.kind, caller.id), (SenderKind::Agent as i32, s.agent_id));
    assert_eq!((callee.kind, callee.id), (SenderKind::Customer as i32, s.customer_id));
    assert!(!caller.display_name.is_empty() && !callee.display_name.is_empty());
    let deadline = call.ring_deadline.expect("a ringing call has a deadline");
    assert_eq!(deadline.seconds - call.create_time.unwrap().seconds, 30, "30 s of ringing by default");
    let rung = loop {
        let item = tokio::time::timeout(Duration::from_secs(10), queue.next()).await.unwrap().unwrap().unwrap();
        if let Some(pb::watch_queue_response::Item::Event(e)) = item.item {
            break e;
        }
    };
    assert_eq!(rung.kind, pb::QueueEventKind::CallUpdated as i32);
    assert_eq!(rung.call.as_ref().map(|c| (c.id, c.state)), Some((call.id, CallState::Ringing as i32)));

    // One live call per ticket.
    let second = start(&mut s.agent, s.ticket).await.unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition, "{second:?}");
    assert!(second.message().contains("already has a live call"), "{}", second.message());

    // The caller's relay; the caller may offer while ringing.
    let mut agent_relay = join(&mut s.agent, call.id).await;
    assert_eq!(as_call(next(&mut agent_relay).await).state, CallState::Ringing as i32);
    s.agent.calls.send_call_signal(sdp(call.id, SdpType::Offer, "v=0 offer")).await.unwrap();
    s.agent.calls.send_call_signal(candidate(call.id, "candidate:1 1 udp 1 127.0.0.1 5000 typ host")).await.unwrap();

    // Refusals before the answer.
    let early = s.customer.calls.send_call_signal(sdp(call.id, SdpType::Answer, "v=0")).await.unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "the callee accepts first");
    let own = answer(&mut s.agent, call.id, true).await.unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied, "only the callee answers: {own:?}");
    let stranger = answer(&mut s.other_agent, call.id, true).await.unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound, "another agent does not see the call");
    let boss = answer(&mut s.supervisor, call.id, true).await.unwrap_err();
    assert_eq!(boss.code(), Code::PermissionDenied, "a supervisor sees the call but is no party");
    let third = s.other_agent.calls.send_call_signal(candidate(call.id, "x")).await.unwrap_err();
    assert_eq!(third.code(), Code::NotFound);
    let third = s.supervisor.calls.send_call_signal(candidate(call.id, "x")).await.unwrap_err();
    assert_eq!(third.code(), Code::PermissionDenied);
    let watcher = s.supervisor.calls.join_call(pb::JoinCallRequest { call_id: call.id }).await.unwrap_err();
    assert_eq!(watcher.code(), Code::PermissionDenied, "only parties relay");

    // The customer accepts and joins: the offer and candidate sent while ringing come first.
    app.clock.advance(chrono::Duration::seconds(2));
    let accepted = answer(&mut s.customer, call.id, true).await.unwrap();
    assert_eq!(accepted.state, CallState::Active as i32);
    assert!(accepted.answer_time.is_some());
    let again = answer(&mut s.customer, call.id, true).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    let mut customer_relay = join(&mut s.customer, call.id).await;
    assert_eq!(as_call(next(&mut customer_relay).await).state, CallState::Active as i32);
    let mut got = Vec::new();
    while got.len() < 2 {
        match next(&mut customer_relay).await {
            Item::Signal(sig) => got.push(sig),
            Item::Call(c) => assert_eq!(c.id, call.id),
            Item::Heartbeat(_) => {}
        }
    }
    assert_eq!(got[0].from, SenderKind::Agent as i32);
    assert!(matches!(&got[0].payload, Some(pb::call_signal::Payload::Description(d)) if d.sdp == "v=0 offer"));
    assert!(
        matches!(&got[1].payload, Some(pb::call_signal::Payload::Candidate(c)) if c.candidate.contains("typ host"))
    );

    // The answer goes back to the caller only; the caller sees the call accepted first.
    let wrong = s.customer.calls.send_call_signal(sdp(call.id, SdpType::Offer, "v=0")).await.unwrap_err();
    assert_eq!(wrong.code(), Code::FailedPrecondition, "the callee answers, it does not offer");
    s.customer.calls.send_call_signal(sdp(call.id, SdpType::Answer, "v=0 answer")).await.unwrap();
    assert_eq!(as_call(next(&mut agent_relay).await).state, CallState::Active as i32);
    let answer_signal = as_signal(next(&mut agent_relay).await);
    assert_eq!(answer_signal.from, SenderKind::Customer as i32);
    assert!(matches!(answer_signal.payload, Some(pb::call_signal::Payload::Description(d)) if d.sdp == "v=0 answer"));

    // Bad signals name the field.
    let empty = s.agent.calls.send_call_signal(pb::SendCallSignalRequest { call_id: call.id, payload: None }).await;
    assert_eq!(bad_fields(&empty.unwrap_err()), ["payload"]);
    let huge = s.agent.calls.send_call_signal(sdp(call.id, SdpType::Offer, &"a".repeat(16_385))).await.unwrap_err();
    assert_eq!(bad_fields(&huge), ["description.sdp"]);
    let nobody = s.agent.calls.send_call_signal(candidate(0, "x")).await.unwrap_err();
    assert_eq!(bad_fields(&nobody), ["call_id"]);

    // 125 s later the agent hangs up: both relays get the end, and then close.
    app.clock.advance(chrono::Duration::seconds(125));
    let over = end(&mut s.agent, call.id).await.unwrap();
    assert_eq!((over.state, over.outcome), (CallState::Ended as i32, CallOutcome::Accepted as i32));
    assert_eq!(over.duration_seconds, 125);
    for relay in [&mut agent_relay, &mut customer_relay] {
        let last = as_call(next(relay).await);
        assert_eq!(last.outcome, CallOutcome::Accepted as i32);
        let closed = tokio::time::timeout(Duration::from_secs(10), relay.next()).await.unwrap();
        assert!(closed.is_none(), "the relay ends with the call: {closed:?}");
    }
    assert_eq!(end(&mut s.customer, call.id).await.unwrap_err().code(), Code::FailedPrecondition);

    // The ticket's record, for the customer too; the agent report counts the call.
    let record = records(&mut s.customer, s.ticket).await;
    assert_eq!(record.len(), 1, "{record:?}");
    assert!(record[0].starts_with("Call from "), "{}", record[0]);
    assert!(record[0].contains("ACCEPTED") && record[0].ends_with("lasted 2:05."), "{}", record[0]);
    let listed = s.customer.calls.list_calls(pb::ListCallsRequest { ticket_id: s.ticket, ..Default::default() });
    assert_eq!(listed.await.unwrap().into_inner().calls.len(), 1);
    let hidden = s.other_agent.calls.list_calls(pb::ListCallsRequest { ticket_id: s.ticket, ..Default::default() });
    assert!(hidden.await.unwrap().into_inner().calls.is_empty(), "another agent sees the ticket, not its calls");
    let report = app.reports.get_agent_report(pb::GetAgentReportRequest::default()).await.unwrap().into_inner();
    let row = report.rows.iter().find(|r| r.agent_id == s.agent_id).expect("the agent's row");
    assert_eq!((row.calls_made, row.calls_answered, row.talk_seconds), (1, 0, 125));
    let _ = s.department;
    app.stop().await;
}

#[tokio::test]
async fn calls_end_declined_missed_or_failed_and_customers_call_where_allowed() {
    let mut app = spawn_with(|s| s.call_sweep_ms = 50).await;
    let mut s = scene(&mut app).await;

    // Declined.
    let call = start(&mut s.agent, s.ticket).await.unwrap();
    let declined = answer(&mut s.customer, call.id, false).await.unwrap();
    assert_eq!((declined.state, declined.outcome), (CallState::Ended as i32, CallOutcome::Declined as i32));

    // Missed: nobody answers within the ringing time; the sweeper ends it.
    let call = start(&mut s.agent, s.ticket).await.unwrap();
    app.clock.advance(chrono::Duration::seconds(31));
    let late = answer(&mut s.customer, call.id, true).await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    let missed = ended(&mut s.agent, call.id).await;
    assert_eq!(missed.outcome, CallOutcome::Missed as i32);

    // Failed: the callee's relay is lost mid-call.
    let call = start(&mut s.agent, s.ticket).await.unwrap();
    answer(&mut s.customer, call.id, true).await.unwrap();
    let mut agent_relay = join(&mut s.agent, call.id).await;
    let customer_relay = join(&mut s.customer, call.id).await;
    drop(customer_relay);
    let failed = ended(&mut s.agent, call.id).await;
    assert_eq!(failed.outcome, CallOutcome::Failed as i32);
    assert_eq!(failed.end_reason, "the callee's relay was lost");
    loop {
        let c = as_call(next(&mut agent_relay).await);
        if c.state == CallState::Ended as i32 {
            assert_eq!(c.outcome, CallOutcome::Failed as i32, "the other side learns of it");
            break;
        }
    }

    // Failed: the agent goes OFF mid-call.
    let call = start(&mut s.agent, s.ticket).await.unwrap();
    answer(&mut s.customer, call.id, true).await.unwrap();
    app.availability(s.agent_id, Availability::Off).await;
    let off = get(&mut s.customer, call.id).await.unwrap();
    assert_eq!((off.outcome, off.end_reason.as_str()), (CallOutcome::Failed as i32, "the agent went OFF"));
    let refused = start(&mut s.agent, s.ticket).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "an OFF agent places no calls");

    // Customers call only where the department allows it, and never an OFF agent.
    let not_here = start(&mut s.customer, s.ticket).await.unwrap_err();
    assert_eq!(not_here.code(), Code::FailedPrecondition);
    assert!(not_here.message().contains("does not take calls"), "{}", not_here.message());
    let allow = pb::Department { id: s.department, customer_calls: true, ..Default::default() };
    let mask = prost_types::FieldMask { paths: vec!["customer_calls".into()] };
    let update = pb::UpdateDepartmentRequest { department: Some(allow), update_mask: Some(mask) };
    let d = app.departments.update_department(update).await.unwrap().into_inner().department.unwrap();
    assert!(d.customer_calls);
    // The OFF agent's ticket went back to the backlog; give it to the agent again.
    app.availability(s.agent_id, Availability::Active).await;
    app.assign(s.ticket, s.agent_id).await.unwrap();
    let by_customer = start(&mut s.customer, s.ticket).await.unwrap();
    assert_eq!(by_customer.callee.map(|p| (p.kind, p.id)), Some((SenderKind::Agent as i32, s.agent_id)));
    end(&mut s.customer, by_customer.id).await.unwrap();

    // A relay never opened counts as lost: the sweeper fails the call.
    let call = start(&mut s.agent, s.ticket).await.unwrap();
    answer(&mut s.customer, call.id, true).await.unwrap();
    app.clock.advance(chrono::Duration::seconds(20));
    let lost = ended(&mut s.agent, call.id).await;
    assert_eq!((lost.outcome, lost.end_reason.as_str()), (CallOutcome::Failed as i32, "the caller's relay was lost"));

    // Services are no party; bad ids name the field.
    let service = start(&mut app, s.ticket).await.unwrap_err();
    assert_eq!(service.code(), Code::PermissionDenied);
    assert_eq!(bad_fields(&start(&mut s.agent, 0).await.unwrap_err()), ["ticket_id"]);
    assert_eq!(get(&mut s.agent, 999_999).await.unwrap_err().code(), Code::NotFound);

    // Every end left its record.
    let record = records(&mut s.customer, s.ticket).await;
    let outcomes: Vec<&str> = record
        .iter()
        .map(|r| ["DECLINED", "MISSED", "FAILED", "ACCEPTED"].into_iter().find(|o| r.contains(o)).unwrap_or("?"))
        .collect();
    assert_eq!(outcomes, ["DECLINED", "MISSED", "FAILED", "FAILED", "MISSED", "FAILED"], "{record:?}");
    app.stop().await;
}

/// The next event on a queue stream (snapshots and heartbeats skipped).
async fn next_event(stream: &mut Streaming<pb::WatchQueueResponse>) -> pb::QueueEvent {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("open")
            .expect("not an error");
        if let Some(pb::watch_queue_response::Item::Event(e)) = item.item {
            return e;
        }
    }
}

/// The next MESSAGE_UPDATED event's message `id` on a queue stream, within 30 s in all
/// (heartbeats and other events do not extend it).
async fn next_receipt(stream: &mut Streaming<pb::WatchQueueResponse>, id: i64) -> pb::Log {
    let receipt = async {
        loop {
            let e = next_event(stream).await;
            if e.kind == pb::QueueEventKind::MessageUpdated as i32 && e.log.as_ref().is_some_and(|l| l.id == id) {
                return e.log.expect("the message");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), receipt).await.expect("the receipt within 30 s")
}

/// Waits, at most 5 s, until the server holds `open` WatchQueue subscriptions: a stream the
/// client dropped ends on the server a moment later.
async fn until_subscriptions(app: &TestApp, open: usize) {
    let wanted = format!("support_watch_subscribers {open}\n");
    for _ in 0..100 {
        let metrics = reqwest::get(format!("http://{}/metrics", app.admin)).await.unwrap().text().await.unwrap();
        if metrics.contains(&wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_message_becomes_received_on_its_readers_stream_or_list_and_read_by_mark_read_and_the_sender_sees_it_live() {
    let mut app = spawn_with(|_| {}).await;
    let mut s = scene(&mut app).await;
    let watch = pb::WatchQueueRequest { ticket_id: s.ticket, include_messages: true, ..Default::default() };
    let mut agent_stream = s.agent.tickets.watch_queue(watch).await.unwrap().into_inner();
    let mut customer_stream = s.customer.tickets.watch_queue(watch).await.unwrap().into_inner();

    // Delivered to the customer's stream: RECEIVED, and the agent sees it move.
    let reply = app.say(s.ticket, SenderKind::Agent, s.agent_id, "We are on it.").await.unwrap();
    assert_eq!(reply.delivery_status, pb::DeliveryStatus::Sent as i32);
    let got = loop {
        let e = next_event(&mut customer_stream).await;
        if e.kind == pb::QueueEventKind::MessageAdded as i32 {
            break e;
        }
    };
    assert_eq!(got.log.map(|l| l.id), Some(reply.id));
    let receipt = next_receipt(&mut agent_stream, reply.id).await;
    assert_eq!((receipt.id, receipt.delivery_status), (reply.id, pb::DeliveryStatus::Received as i32));

    // Read through MarkRead: READ, live to the agent.
    let read = pb::MarkReadRequest { ticket_id: s.ticket, up_to_log_id: 0, reader_kind: SenderKind::Customer.into() };
    assert_eq!(s.customer.logs.mark_read(read).await.unwrap().into_inner().marked_count, 1);
    let receipt = next_receipt(&mut agent_stream, reply.id).await;
    assert_eq!((receipt.id, receipt.delivery_status), (reply.id, pb::DeliveryStatus::Read as i32));

    // Listed by its reader (the agent has no stream now): RECEIVED, live to the customer.
    // The question must be sent after the server has seen the agent's stream end, or it is
    // received at once on that stream.
    drop(agent_stream);
    until_subscriptions(&app, 1).await;
    let question = app.say(s.ticket, SenderKind::Customer, s.customer_id, "Thanks, how long?").await.unwrap();
    let listed = pb::ListLogsRequest { ticket_id: s.ticket, ..Default::default() };
    // A supervisor reading is not the reader: nothing moves.
    s.supervisor.logs.list_logs(listed.clone()).await.unwrap();
    s.agent.logs.list_logs(listed.clone()).await.unwrap();
    let receipt = next_receipt(&mut customer_stream, question.id).await;
    assert_eq!((receipt.id, receipt.delivery_status), (question.id, pb::DeliveryStatus::Received as i32));
    let again = s.customer.logs.list_logs(listed).await.unwrap().into_inner().logs;
    let statuses: Vec<_> = again.iter().map(|l| (l.id, l.delivery_status)).collect();
    assert!(statuses.contains(&(reply.id, pb::DeliveryStatus::Read as i32)), "never back: {statuses:?}");
    assert!(statuses.contains(&(question.id, pb::DeliveryStatus::Received as i32)), "{statuses:?}");
    let _ = (&mut s.other_agent, s.department);
    app.stop().await;
}

/// The next typing indicator on a queue stream within `wait`, if any.
async fn typing_within(stream: &mut Streaming<pb::WatchQueueResponse>, wait: Duration) -> Option<pb::TypingIndicator> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let item = tokio::time::timeout(left, stream.next()).await.ok()??.ok()?;
        if let Some(pb::watch_queue_response::Item::Typing(t)) = item.item {
            return Some(t);
        }
    }
}

#[tokio::test]
async fn typing_reaches_only_the_other_party_whichever_replica_it_is_on() {
    let mut app = spawn_with(|_| {}).await;
    let mut s = scene(&mut app).await;
    let other = app.replica(|_| {}).await;
    let watch = pb::WatchQueueRequest { ticket_id: s.ticket, include_messages: true, ..Default::default() };
    // The customer on the second replica; the agent, and a colleague, on the first.
    let mut customer_b = other.as_(&Principal::customer(s.customer_id));
    let mut customer_stream = customer_b.tickets.watch_queue(watch).await.unwrap().into_inner();
    let mut agent_stream = s.agent.tickets.watch_queue(watch).await.unwrap().into_inner();
    let mut colleague_stream = s.other_agent.tickets.watch_queue(watch).await.unwrap().into_inner();

    // The replicas find each other within a few seconds: type until it arrives.
    let typing = pb::SendTypingRequest { ticket_id: s.ticket };
    let mut got = None;
    for _ in 0..10 {
        let sent = s.agent.logs.send_typing(typing).await.unwrap().into_inner();
        assert!(sent.relayed, "one every 2 s passes");
        let again = s.agent.logs.send_typing(typing).await.unwrap().into_inner();
        assert!(!again.relayed, "at once again: dropped by the rate limit");
        got = typing_within(&mut customer_stream, Duration::from_millis(2_100)).await;
        if got.is_some() {
            break;
        }
    }
    let got = got.expect("the agent's typing reached the customer on the other replica");
    assert_eq!((got.ticket_id, got.sender_kind, got.sender_id), (s.ticket, SenderKind::Agent as i32, s.agent_id));
    assert!(!got.sender_name.is_empty(), "with the agent's name");

    // The customer types on the second replica: her agent sees it on the first.
    let mine = customer_b.logs.send_typing(typing).await.unwrap().into_inner();
    assert!(mine.relayed);
    let seen = typing_within(&mut agent_stream, Duration::from_secs(5)).await.expect("the customer's typing");
    assert_eq!((seen.sender_kind, seen.sender_id), (SenderKind::Customer as i32, s.customer_id));
    // Nobody else gets it: not the colleague, not the sender's own stream.
    assert!(typing_within(&mut colleague_stream, Duration::from_millis(500)).await.is_none(), "not the colleague");
    assert!(typing_within(&mut agent_stream, Duration::from_millis(500)).await.is_none(), "once, and not my own");
    // Services are no party.
    let refused = app.logs.send_typing(typing).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn ice_servers_are_the_configured_ones_with_turn_credentials_of_the_callers_own() {
    use hmac::{Hmac, Mac};
    let mut app = spawn_with(|s| {
        s.ice_urls = vec!["stun:stun.example.com:3478".into(), "turn:turn.example.com:3478?transport=udp".into()];
        s.turn_secret = Some("coturn-static-auth-secret".to_owned().into());
        s.turn_ttl_secs = 3_600;
    })
    .await;
    let mut s = scene(&mut app).await;
    let now = support_service::domain::Clock::now(&app.clock);
    let got = s.customer.calls.get_ice_servers(pb::GetIceServersRequest {}).await.expect("ice").into_inner();
    assert_eq!(got.ice_servers.len(), 2, "{got:?}");
    assert_eq!(got.ice_servers[0].urls, ["stun:stun.example.com:3478"]);
    assert!(got.ice_servers[0].username.is_empty() && got.ice_servers[0].credential.is_empty());
    let turn = &got.ice_servers[1];
    assert_eq!(turn.urls, ["turn:turn.example.com:3478?transport=udp"]);
    // The TURN REST API: "<expiry>:<user>", and base64(HMAC-SHA1(secret, username)).
    let expiry = now.timestamp() + 3_600;
    assert_eq!(turn.username, format!("{expiry}:customer.{}", s.customer_id));
    assert_eq!(got.expire_time.as_ref().map(|t| t.seconds), Some(expiry));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"coturn-static-auth-secret").expect("key");
    mac.update(turn.username.as_bytes());
    use base64::Engine;
    assert_eq!(turn.credential, base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    // Each party gets its own; the agent's differ from the customer's.
    let agent = s.agent.calls.get_ice_servers(pb::GetIceServersRequest {}).await.expect("ice").into_inner();
    assert_ne!(agent.ice_servers[1].username, turn.username);
    assert_ne!(agent.ice_servers[1].credential, turn.credential);
    // Only those who take part in calls: not anonymous callers, nor services.
    let anonymous = app.anonymous().calls.get_ice_servers(pb::GetIceServersRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let service = app
        .as_(&Principal::named(support_service::domain::access::Role::Service, "bot"))
        .calls
        .get_ice_servers(pb::GetIceServersRequest {})
        .await;
    assert_eq!(service.unwrap_err().code(), Code::PermissionDenied);
    app.stop().await;

    // None configured: none given, and the browsers use host candidates.
    let mut plain = spawn_with(|_| {}).await;
    let mut s = scene(&mut plain).await;
    let got = s.agent.calls.get_ice_servers(pb::GetIceServersRequest {}).await.expect("ice").into_inner();
    assert_eq!((got.ice_servers.len(), got.expire_time), (0, None));
    plain.stop().await;
}
