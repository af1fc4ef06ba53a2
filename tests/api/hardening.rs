//! Regression tests for the outside review's findings (issue 14): each fails on the code
//! before the fix. Bounded requests and responses, account lifecycle, agent powers, the
//! transport, shutdown, deadlines and start-up.

use support_service::pb::{self, ConversationMode, CustomerTier, SenderKind, Severity};
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, bad_fields, login, register, spawn_app};

fn message(ticket_id: i64, kind: SenderKind, sender_id: i64, body: &str) -> pb::AddLogRequest {
    pb::AddLogRequest { ticket_id, sender_kind: kind.into(), sender_id, body: body.into(), ..Default::default() }
}

async fn chat_ticket(app: &mut TestApp) -> (pb::Ticket, pb::Customer, pb::Agent) {
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let a = app.agent("grace@support.example", d.id).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 2).await;
    (t, c, a)
}

fn empty_attachments(n: usize) -> Vec<pb::AttachmentUpload> {
    (0..n).map(|_| pb::AttachmentUpload { file_name: "a".into(), ..Default::default() }).collect()
}

/// Item 1: a message's attachments are counted before anything is written; a million of
/// them is refused at once, naming the field and the setting.
#[tokio::test]
async fn attachments_per_message_are_limited_before_any_row_is_written() {
    let mut app = spawn_app().await;
    let (t, c, _) = chat_ticket(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "files");
    req.attachments = empty_attachments(10);
    let log = app.logs.add_log(req.clone()).await.expect("ten attachments").into_inner().log.unwrap();
    assert_eq!(log.attachments.len(), 10);
    for n in [11, 1_000_000] {
        req.attachments = empty_attachments(n);
        let err = app.logs.add_log(req.clone()).await.unwrap_err();
        assert_eq!(bad_fields(&err), ["attachments"], "{n}");
        assert!(err.message().contains("SUPPORT_MAX_ATTACHMENTS_PER_MESSAGE"), "{}", err.message());
    }
    let listed = app.logs.list_logs(pb::ListLogsRequest { ticket_id: t.id, ..Default::default() }).await.unwrap();
    assert_eq!(listed.into_inner().logs.len(), 1, "nothing of the refused messages was written");
}

/// Item 1: the attachments of one message are bounded in bytes together, and repeated
/// filter fields in count.
#[tokio::test]
async fn attachment_bytes_per_message_and_repeated_filters_are_limited() {
    let mut app = crate::helpers::spawn_with(|s| {
        s.max_attachment_bytes = 1000;
        s.max_message_attachment_bytes = 2500;
    })
    .await;
    let (t, c, _) = chat_ticket(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "files");
    req.attachments = empty_attachments(3);
    for a in &mut req.attachments {
        a.content = vec![7; 900];
    }
    let err = app.logs.add_log(req).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["attachments"]);
    assert!(err.message().contains("SUPPORT_MAX_MESSAGE_ATTACHMENT_BYTES"), "{}", err.message());

    let statuses = vec![pb::TicketStatus::Open as i32; 17];
    let err = app.tickets.list_tickets(pb::ListTicketsRequest { statuses, ..Default::default() }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["statuses"]);
}

/// Item 1: a tier change re-scores a bounded number of tickets in its own transaction;
/// the maintenance job re-scores the rest.
#[tokio::test]
async fn a_tier_change_writes_a_bounded_number_of_rows() {
    let mut app = crate::helpers::spawn_with(|s| s.max_rescored_per_call = 2).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let mut ids = Vec::new();
    for impact in [5, 4, 3, 2, 1] {
        ids.push(app.ticket(c.id, d.id, Severity::Minor, impact).await.id);
    }
    let tier = pb::Customer { id: c.id, tier: CustomerTier::Enterprise.into(), ..Default::default() };
    app.customers
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(tier),
            update_mask: Some(prost_types::FieldMask { paths: vec!["tier".into()] }),
        })
        .await
        .unwrap();
    let mut tier_points = Vec::new();
    for id in &ids {
        tier_points.push(app.get(*id).await.priority.unwrap().breakdown.unwrap().tier_points);
    }
    assert_eq!(tier_points, [5, 5, 1, 1, 1], "the two highest re-scored at once");
    app.maintenance.run_once().await.expect("maintenance");
    for id in &ids {
        assert_eq!(app.get(*id).await.priority.unwrap().breakdown.unwrap().tier_points, 5, "ticket {id}");
    }
}

/// Item 2: no response message exceeds the 4 MiB a default client reads: a page of long
/// messages ends early and the next token carries on (the tonic client here keeps its
/// default 4 MiB decoding limit).
#[tokio::test]
async fn a_page_of_long_messages_stays_under_four_mebibytes() {
    let mut app = spawn_app().await;
    let (t, c, a) = chat_ticket(&mut app).await;
    // 10,000 four-byte characters: 40 kB a message, 4.8 MB for 120 of them.
    let body = "😀".repeat(10_000);
    for i in 0..120 {
        let (kind, id) = if i % 2 == 0 { (SenderKind::Customer, c.id) } else { (SenderKind::Agent, a.id) };
        app.logs.add_log(message(t.id, kind, id, &body)).await.expect("a long message");
    }
    let mut seen = 0;
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .logs
            .list_logs(pb::ListLogsRequest { ticket_id: t.id, page_size: 500, page_token: token, ..Default::default() })
            .await
            .expect("a page a default client can read")
            .into_inner();
        seen += page.logs.len();
        pages += 1;
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((seen, pages), (120, 2));

    let mut watch = app
        .tickets
        .watch_queue(pb::WatchQueueRequest {
            ticket_id: t.id,
            include_messages: true,
            resume_after: 1,
            ..Default::default()
        })
        .await
        .expect("a resume through long messages")
        .into_inner();
    let mut events = 0;
    while events < 120 {
        let item = watch.message().await.expect("every event fits a default client").expect("an item");
        if matches!(item.item, Some(pb::watch_queue_response::Item::Event(_))) {
            events += 1;
        }
    }
}

/// Also: attachment names lose their paths and unsafe content types become downloads.
#[tokio::test]
async fn attachment_names_and_types_are_made_safe() {
    let mut app = spawn_app().await;
    let (t, c, _) = chat_ticket(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "files");
    req.attachments = vec![
        pb::AttachmentUpload {
            file_name: "../../../etc/passwd".into(),
            content_type: "text/html".into(),
            content: b"<script>alert(1)</script>".to_vec(),
        },
        pb::AttachmentUpload { file_name: "shot.png".into(), content_type: "image/png".into(), content: vec![1] },
    ];
    let log = app.logs.add_log(req).await.unwrap().into_inner().log.unwrap();
    let names: Vec<(&str, &str)> =
        log.attachments.iter().map(|a| (a.file_name.as_str(), a.content_type.as_str())).collect();
    assert_eq!(names, [("passwd", "application/octet-stream"), ("shot.png", "image/png")]);
    let got = app.logs.get_attachment(pb::GetAttachmentRequest { id: log.attachments[0].id }).await.unwrap();
    assert_eq!(got.into_inner().attachment.unwrap().content_type, "application/octet-stream");
}

#[allow(dead_code)]
fn code_of<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
    r.expect_err("an error").code()
}

// ---- accounts ---------------------------------------------------------------------------

fn account_agent(id: i64) -> Option<pb::AccountRef> {
    Some(pb::AccountRef { account: Some(pb::account_ref::Account::AgentId(id)) })
}

fn account_customer(id: i64) -> Option<pb::AccountRef> {
    Some(pb::AccountRef { account: Some(pb::account_ref::Account::CustomerId(id)) })
}

/// Item 3: another spelling of a throttled account's email gets no fresh bucket and no
/// sign-in (on MariaDB the default collation ignores accents; emails now compare exactly).
#[tokio::test]
async fn a_throttled_account_cannot_sign_in_under_another_spelling() {
    let app = crate::helpers::spawn_with(|s| s.login_attempts_per_minute = 3).await;
    let mut anon = app.anonymous();
    anon.auth.register(register("victim@example.com")).await.expect("register");
    for _ in 0..3 {
        let err = anon.auth.login(login("victim@example.com", "wrong password!")).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
    }
    let err = anon.auth.login(login("victim@example.com", PASSWORD)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "throttled");
    for spelling in ["victïm@example.com", "victím@example.com", "VICTİM@example.com"] {
        let err = anon.auth.login(login(spelling, PASSWORD)).await.unwrap_err();
        assert_eq!(bad_fields(&err), ["email"], "{spelling}");
    }
    let err = anon.auth.login(login("Victim@Example.com", PASSWORD)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "the same account, the same bucket");
}

/// Item 4: agents change contact details only, of customers with a ticket in their
/// department; the tier is a supervisor's, the email the customer's or an admin's.
#[tokio::test]
async fn agents_cannot_change_tier_or_email_or_customers_outside_their_department() {
    use support_service::domain::AgentRole;
    use support_service::domain::access::{Principal, Role};
    let mut app = spawn_app().await;
    let da = app.department("A", ConversationMode::Chat).await;
    let db = app.department("B", ConversationMode::Chat).await;
    let agent_a = app.agent("a@support.example", da.id).await;
    let agent_b = app.agent("b@support.example", db.id).await;
    let her = app.customer("her@example.com", CustomerTier::Free).await;
    let t = app.ticket(her.id, db.id, Severity::Major, 2).await;
    let update = |cu: pb::Customer, path: &str| pb::UpdateCustomerRequest {
        customer: Some(cu),
        update_mask: Some(prost_types::FieldMask { paths: vec![path.into()] }),
    };
    let tier = pb::Customer { id: her.id, tier: CustomerTier::Enterprise.into(), ..Default::default() };
    let email = pb::Customer { id: her.id, email: "attacker@example.com".into(), ..Default::default() };
    let phone = pb::Customer { id: her.id, phone: "+44 20 7946 0000".into(), ..Default::default() };

    let mut a = app.as_(&Principal::agent(agent_a.id, AgentRole::Agent, da.id));
    for (cu, path) in [(tier.clone(), "tier"), (email.clone(), "email"), (phone.clone(), "phone")] {
        let err = a.customers.update_customer(update(cu, path)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "agent of A, {path}");
    }
    let mut b = app.as_(&Principal::agent(agent_b.id, AgentRole::Agent, db.id));
    for (cu, path) in [(tier.clone(), "tier"), (email.clone(), "email")] {
        let err = b.customers.update_customer(update(cu, path)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "agent of B, {path}");
    }
    b.customers.update_customer(update(phone, "phone")).await.expect("her department's agent fixes her phone");
    assert_eq!(app.get(t.id).await.priority.unwrap().score, 6, "not re-scored");

    let mut sup = app.as_(&Principal::agent(agent_a.id, AgentRole::Supervisor, da.id));
    let err = sup.customers.update_customer(update(email.clone(), "email")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "supervisor, email");
    sup.customers.update_customer(update(tier, "tier")).await.expect("a supervisor sets the tier");
    let mut admin = app.as_(&Principal::named(Role::Admin, "ops"));
    admin.customers.update_customer(update(email, "email")).await.expect("an admin changes the email");
}

/// Item 5: request ids belong to their sender: another caller's id finds nothing of theirs.
#[tokio::test]
async fn request_ids_are_scoped_to_the_caller() {
    use support_service::domain::AgentRole;
    use support_service::domain::access::Principal;
    let mut app = spawn_app().await;
    let da = app.department("A", ConversationMode::Chat).await;
    let db = app.department("B", ConversationMode::Chat).await;
    let other_agent = app.agent("b@support.example", db.id).await;
    let her = app.customer("her@example.com", CustomerTier::Free).await;
    let him = app.customer("him@example.com", CustomerTier::Free).await;
    let mut req = TestApp::ticket_request(her.id, da.id, Severity::Major, 2);
    req.request_id = "7d0b6c1e-shared".into();
    let mut her_clients = app.as_(&Principal::customer(her.id));
    let first = her_clients.tickets.create_ticket(req.clone()).await.unwrap().into_inner().ticket.unwrap();
    let again = her_clients.tickets.create_ticket(req.clone()).await.unwrap().into_inner().ticket.unwrap();
    assert_eq!(again.id, first.id, "her retry returns her ticket");

    let mut agent = app.as_(&Principal::agent(other_agent.id, AgentRole::Agent, db.id));
    let replay = agent.tickets.create_ticket(req.clone()).await.unwrap().into_inner().ticket.unwrap();
    assert_ne!(replay.id, first.id, "another caller's replay does not reach her ticket");

    let mut his = TestApp::ticket_request(him.id, da.id, Severity::Minor, 1);
    his.request_id = req.request_id.clone();
    let mut him_clients = app.as_(&Principal::customer(him.id));
    let own = him_clients.tickets.create_ticket(his).await.expect("the same id is his to use").into_inner();
    assert_eq!(own.ticket.unwrap().customer_id, him.id);
}

/// Item 6: one identity per person: an email change moves the sign-in, a customer cannot
/// take an agent's address, and staff-created customers are invited to set a password.
#[tokio::test]
async fn the_sign_in_follows_the_person() {
    use support_service::domain::AgentRole;
    use support_service::domain::access::{Principal, Role};
    let mut app = spawn_app().await;
    let mut anon = app.anonymous();
    let ada = anon.auth.register(register("ada@example.com")).await.unwrap().into_inner().customer_id;
    let mut admin = app.as_(&Principal::named(Role::Admin, "ops"));
    let moved = pb::Customer { id: ada, email: "ada.l@example.com".into(), ..Default::default() };
    admin
        .customers
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(moved),
            update_mask: Some(prost_types::FieldMask { paths: vec!["email".into()] }),
        })
        .await
        .unwrap();
    assert_eq!(anon.auth.login(login("ada@example.com", PASSWORD)).await.unwrap_err().code(), Code::Unauthenticated);
    anon.auth.login(login("ada.l@example.com", PASSWORD)).await.expect("the new email signs in");

    let d = app.department("Support", ConversationMode::Chat).await;
    let grace = app.agent("grace@support.example", d.id).await;
    let err = anon.auth.register(register("grace@support.example")).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "an agent's address is taken");
    admin
        .auth
        .set_agent_password(pb::SetAgentPasswordRequest { agent_id: grace.id, password: PASSWORD.into() })
        .await
        .expect("the agent's password can still be set");

    let bob = app.customer("bob@example.com", CustomerTier::Free).await;
    assert_eq!(anon.auth.register(register("bob@example.com")).await.unwrap_err().code(), Code::AlreadyExists);
    let sam = app.agent("sam@support.example", d.id).await;
    let mut sup = app.as_(&Principal::agent(sam.id, AgentRole::Supervisor, d.id));
    let err = sup
        .auth
        .issue_set_password_token(pb::IssueSetPasswordTokenRequest { account: account_agent(grace.id) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "supervisors do not reset agents");
    let invite = sup
        .auth
        .issue_set_password_token(pb::IssueSetPasswordTokenRequest { account: account_customer(bob.id) })
        .await
        .unwrap()
        .into_inner();
    assert!(invite.expire_time.is_some());
    let set = pb::SetPasswordWithTokenRequest { token: invite.token.clone(), password: PASSWORD.into() };
    let tokens = anon.auth.set_password_with_token(set.clone()).await.unwrap().into_inner().tokens.unwrap();
    let mut bob_clients = crate::helpers::Clients::new(app.channel.clone(), Some(&tokens.access_token));
    bob_clients.customers.get_customer(pb::GetCustomerRequest { id: bob.id }).await.expect("bob signed in");
    anon.auth.login(login("bob@example.com", PASSWORD)).await.expect("bob signs in with his password");
    assert_eq!(anon.auth.set_password_with_token(set).await.unwrap_err().code(), Code::Unauthenticated, "one use");
}

/// Item 7: a password change, a sign-out, a disable and a demotion each end the tokens
/// they should, at once; the change is seen by another replica within its poll.
#[tokio::test]
async fn password_change_logout_disable_and_demotion_end_old_tokens() {
    use support_service::domain::access::{Principal, Role};
    let mut app = spawn_app().await;
    let mut anon = app.anonymous();
    let reg = anon.auth.register(register("ada@example.com")).await.unwrap().into_inner();
    let ada = reg.customer_id;
    let old = reg.tokens.unwrap();
    let mut old_clients = crate::helpers::Clients::new(app.channel.clone(), Some(&old.access_token));
    old_clients.customers.get_customer(pb::GetCustomerRequest { id: ada }).await.expect("works before");
    let wrong = pb::ChangePasswordRequest {
        current_password: "not my password".into(),
        new_password: "a newer passphrase".into(),
    };
    assert_eq!(bad_fields(&old_clients.auth.change_password(wrong).await.unwrap_err()), ["current_password"]);
    let change =
        pb::ChangePasswordRequest { current_password: PASSWORD.into(), new_password: "a newer passphrase".into() };
    let new = old_clients.auth.change_password(change).await.unwrap().into_inner().tokens.unwrap();
    let err = old_clients.customers.get_customer(pb::GetCustomerRequest { id: ada }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "the old token stops at once");
    let err = anon.auth.refresh(pb::RefreshRequest { refresh_token: old.refresh_token }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "the old refresh token too");
    let mut new_clients = crate::helpers::Clients::new(app.channel.clone(), Some(&new.access_token));
    new_clients.customers.get_customer(pb::GetCustomerRequest { id: ada }).await.expect("the new token works");
    assert_eq!(anon.auth.login(login("ada@example.com", PASSWORD)).await.unwrap_err().code(), Code::Unauthenticated);

    // Logout ends that sign-in's refresh chain.
    let signed = anon.auth.login(login("ada@example.com", "a newer passphrase")).await.unwrap().into_inner();
    let refresh = signed.tokens.unwrap().refresh_token;
    anon.auth.logout(pb::LogoutRequest { refresh_token: refresh.clone() }).await.expect("sign out");
    let err = anon.auth.refresh(pb::RefreshRequest { refresh_token: refresh }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // An agent disabled through one replica is refused by the other within its poll.
    let replica = app.replica(|s| s.standing_poll_ms = 100).await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let grace = app.agent("grace@support.example", d.id).await;
    let mut admin = app.as_(&Principal::named(Role::Admin, "ops"));
    admin
        .auth
        .set_agent_password(pb::SetAgentPasswordRequest { agent_id: grace.id, password: PASSWORD.into() })
        .await
        .unwrap();
    let tokens = anon.auth.login(login("grace@support.example", PASSWORD)).await.unwrap().into_inner().tokens.unwrap();
    let mut here = crate::helpers::Clients::new(app.channel.clone(), Some(&tokens.access_token));
    let mut there = replica.with_token(&tokens.access_token);
    there.tickets.list_tickets(pb::ListTicketsRequest::default()).await.expect("works on the replica");
    let disable = pb::SetAccountEnabledRequest { account: account_agent(grace.id), enabled: false };
    admin.auth.set_account_enabled(disable).await.unwrap();
    let err = here.tickets.list_tickets(pb::ListTicketsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "at once on the replica that disabled her");
    let mut refused = false;
    for _ in 0..50 {
        if there.tickets.list_tickets(pb::ListTicketsRequest::default()).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the other replica refuses her within 2.5 s");
    let err = anon.auth.login(login("grace@support.example", PASSWORD)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "a disabled account cannot sign in");
    let enable = pb::SetAccountEnabledRequest { account: account_agent(grace.id), enabled: true };
    admin.auth.set_account_enabled(enable).await.unwrap();
    let tokens = anon.auth.login(login("grace@support.example", PASSWORD)).await.expect("enabled again");
    let tokens = tokens.into_inner().tokens.unwrap();

    // A demotion ends the supervisor's tokens (they carry the role).
    let promote = |role: pb::AgentRole| pb::UpdateAgentRequest {
        agent: Some(pb::Agent { id: grace.id, role: role.into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["role".into()] }),
    };
    admin.agents.update_agent(promote(pb::AgentRole::Supervisor)).await.unwrap();
    let sup = anon.auth.login(login("grace@support.example", PASSWORD)).await.unwrap().into_inner().tokens.unwrap();
    let mut sup_clients = crate::helpers::Clients::new(app.channel.clone(), Some(&sup.access_token));
    sup_clients.reports.get_backlog_report(pb::GetBacklogReportRequest::default()).await.expect("a supervisor");
    admin.agents.update_agent(promote(pb::AgentRole::Agent)).await.unwrap();
    let err = sup_clients.reports.get_backlog_report(pb::GetBacklogReportRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "the supervisor's token ended with the demotion");
    drop(tokens);
}

// ---- the transport ----------------------------------------------------------------------

/// Item 8: malformed framing sent raw over HTTP/2 is INVALID_ARGUMENT, never INTERNAL.
#[tokio::test]
async fn malformed_grpc_framing_is_invalid_argument() {
    use tower::ServiceExt;
    let app = spawn_app().await;
    let frames: [(&str, Vec<u8>); 4] = [
        ("a compressed flag without grpc-encoding", vec![1, 0, 0, 0, 0]),
        ("a length prefix longer than the data", vec![0, 0, 0, 0, 10, 1, 2]),
        ("a unary call with no message", vec![]),
        ("a 3-byte frame", vec![0, 0, 0]),
    ];
    for (what, bytes) in frames {
        let body = String::from_utf8(bytes).expect("ASCII frames");
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}/support.v1.DepartmentService/ListDepartments", app.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("authorization", format!("Bearer {}", crate::helpers::service_token()))
            .body(tonic::body::Body::new(body))
            .expect("a request");
        let response = app.channel.clone().oneshot(request).await.expect("an HTTP answer");
        let status = tonic::Status::from_header_map(response.headers()).expect("a trailers-only status");
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    }
}

// ---- a hung or absent database ------------------------------------------------------------

use std::time::{Duration, Instant};

use crate::helpers::{Proxy, TestDb, mysql_base, spawn_on};

/// MariaDB behind a proxy the test can freeze or cut.
async fn behind_proxy() -> (TestDb, Proxy, String) {
    let db = TestDb::create_mysql(&mysql_base()).await;
    let target = tokio::net::lookup_host(db.mysql_host_port()).await.unwrap().next().unwrap();
    let proxy = Proxy::start(target).await;
    let url = db.mysql_url_via(&proxy.addr.to_string());
    (db, proxy, url)
}

/// Item 10 (MariaDB): a call whose statement sits on a frozen database ends by its
/// deadline (the server's, or the caller's shorter `grpc-timeout`); writes that ended so
/// and are retried with their request id land exactly once.
#[tokio::test]
async fn calls_on_a_frozen_database_end_by_their_deadline_and_retried_writes_land_once() {
    let (db, proxy, url) = behind_proxy().await;
    let mut app = spawn_on(db, url, |s| {
        s.call_deadline_ms = 1_000;
        s.db_acquire_timeout_ms = 500;
    })
    .await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 2).await;
    proxy.freeze(true);

    let started = Instant::now();
    let err = app.tickets.get_ticket(pb::GetTicketRequest { id: t.id }).await.unwrap_err();
    assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Unavailable), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "ended by the deadline, not the freeze");
    // A caller's shorter grpc-timeout is honoured by the server too: see the unit test
    // `grpc::call::tests::a_hung_call_ends_at_the_shorter_grpc_timeout` (tonic's client
    // enforces the header itself, so it cannot tell here who ended the call).
    let request = |i: usize| {
        let mut r = TestApp::ticket_request(c.id, d.id, Severity::Minor, 1);
        r.subject = format!("written while frozen {i}");
        r.request_id = format!("5e1f0c2a-frozen-{i}");
        r
    };
    for i in 0..3 {
        let err = app.tickets.create_ticket(request(i)).await.unwrap_err();
        assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Unavailable), "{err:?}");
    }
    proxy.freeze(false);
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut tries = 0;
        let ticket = loop {
            match app.tickets.create_ticket(request(i)).await {
                Ok(r) => break r.into_inner().ticket.unwrap(),
                Err(s)
                    if tries < 60 && matches!(s.code(), Code::DeadlineExceeded | Code::Unavailable | Code::Aborted) =>
                {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(s) => panic!("retry {i}: {s:?}"),
            }
        };
        ids.push(ticket.id);
    }
    let page =
        app.list_tickets(pb::ListTicketsRequest { customer_id: c.id, page_size: 100, ..Default::default() }).await;
    for (i, id) in ids.iter().enumerate() {
        let subject = format!("written while frozen {i}");
        let found: Vec<i64> = page.tickets.iter().filter(|t| t.subject == subject).map(|t| t.id).collect();
        assert_eq!(found, [*id], "write {i} landed exactly once");
    }
}

/// Item 9 (MariaDB): with the database frozen across a shutdown, the process stops within
/// its grace (plus a moment), and the call still running ends UNAVAILABLE, not OK.
#[tokio::test]
async fn shutdown_is_bounded_on_a_frozen_database() {
    let (db, proxy, url) = behind_proxy().await;
    let mut app = spawn_on(db, url, |s| {
        s.shutdown_grace_ms = 1_000;
        s.call_deadline_ms = 60_000;
    })
    .await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    proxy.freeze(true);
    let mut tickets = app.tickets.clone();
    let in_flight =
        tokio::spawn(
            async move { tickets.create_ticket(TestApp::ticket_request(c.id, d.id, Severity::Minor, 1)).await },
        );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("the server stops, frozen database or not");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "stopped {took:?} after the signal; the grace is 1 s");
    let err = in_flight.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    proxy.freeze(false);
}

/// Item 12 (MariaDB): health turns NOT_SERVING within about a second of the database
/// hanging (a ping timeout, not the pool's connect timeout), and back when it answers.
#[tokio::test]
async fn health_notices_a_hung_database_within_about_a_second() {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let (db, proxy, url) = behind_proxy().await;
    let app = spawn_on(db, url, |s| {
        s.health_interval_ms = 400;
        s.health_ping_timeout_ms = 500;
    })
    .await;
    let mut health = HealthClient::new(app.channel.clone());
    let status = || {
        let mut h = health.clone();
        async move { h.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status() }
    };
    let mut waited = 0;
    while status().await != ServingStatus::Serving && waited < 100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    proxy.freeze(true);
    let frozen = Instant::now();
    while status().await != ServingStatus::NotServing {
        assert!(frozen.elapsed() < Duration::from_secs(3), "still SERVING 3 s after the database hung");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let took = frozen.elapsed();
    eprintln!("health NOT_SERVING {} ms after the database hung", took.as_millis());
    assert!(took < Duration::from_millis(1_500), "{took:?}");
    proxy.freeze(false);
    let back = Instant::now();
    while status().await != ServingStatus::Serving {
        assert!(back.elapsed() < Duration::from_secs(10), "never SERVING again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    health = HealthClient::new(app.channel.clone());
    drop(health);
}

/// Item 11 (MariaDB; the real binary): with no database yet, the port answers health
/// NOT_SERVING and reflection, other calls are UNAVAILABLE, the log names the host, the
/// cause and the time left (in plain text: no colour off a terminal); when the database
/// appears, the service becomes ready. `--help` shows no database password.
#[tokio::test]
async fn it_listens_before_the_database_answers_and_serves_once_it_does() {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let db = TestDb::create_mysql(&mysql_base()).await;
    let target = tokio::net::lookup_host(db.mysql_host_port()).await.unwrap().next().unwrap();
    let absent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = db.mysql_url_via(&absent.to_string());
    let help = tokio::process::Command::new(env!("CARGO_BIN_EXE_support-service"))
        .arg("--help")
        .env("DATABASE_URL", &url)
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("DATABASE_URL") && !help.contains("support:support@"), "{help}");

    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (mut child, mut lines) = crate::helpers::start_binary(&[
        ("DATABASE_URL", &url),
        ("SUPPORT_LISTEN", &listen),
        ("SUPPORT_DB_CONNECT_TIMEOUT_MS", "300"),
    ]);
    let waiting = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            assert!(!line.contains('\u{1b}'), "no colour escapes in a log that is not a terminal: {line:?}");
            if line.contains("database not reachable yet") {
                return line;
            }
        }
        panic!("the service exited");
    })
    .await
    .expect("a start-up log line");
    assert!(waiting.contains(&absent.to_string()), "names the host: {waiting}");
    assert!(waiting.to_lowercase().contains("refused"), "names the cause: {waiting}");
    assert!(waiting.contains("seconds_left"), "names the time left: {waiting}");
    assert!(!waiting.contains("support:support"), "no password: {waiting}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .expect("the port answers before the database does");
    let mut health = HealthClient::new(channel.clone());
    let status = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status();
    assert_eq!(status, ServingStatus::NotServing);
    let mut clients = crate::helpers::TestApp::clients(channel.clone());
    let err = clients.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let list = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = reflection.server_reflection_info(tokio_stream::iter(vec![list])).await.unwrap().into_inner();
    assert!(replies.message().await.unwrap().is_some(), "reflection answers while starting");

    // The database appears where it was expected.
    let _proxy = Proxy::serve(tokio::net::TcpListener::bind(absent).await.unwrap(), target);
    let started = Instant::now();
    loop {
        let status = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status();
        if status == ServingStatus::Serving {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    clients.departments.list_departments(pb::ListDepartmentsRequest::default()).await.expect("ready");
    child.kill().await.unwrap();
}

/// Also: one caller holds a bounded number of WatchQueue streams; closing one frees a slot.
#[tokio::test]
async fn watch_streams_per_principal_are_limited() {
    use support_service::domain::access::Principal;
    let mut app = crate::helpers::spawn_with(|s| s.max_streams_per_principal = 3).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let mut her = app.as_(&Principal::customer(c.id));
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(her.tickets.watch_queue(pb::WatchQueueRequest::default()).await.expect("within the limit"));
    }
    let err = her.tickets.watch_queue(pb::WatchQueueRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("SUPPORT_MAX_STREAMS_PER_PRINCIPAL"), "{}", err.message());
    drop(open.pop());
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(s) = her.tickets.watch_queue(pb::WatchQueueRequest::default()).await {
            reopened = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "a closed stream frees its slot");
}
