//! Signing up and in, refresh rotation, staff passwords, narrowed lists, rate limits,
//! the signing secret, the `token` command and TLS.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use support_service::app::App;
use support_service::config::Settings;
use support_service::domain::access::{Principal, Role};
use support_service::domain::{AgentRole, SystemClock};
use support_service::pb::{self, ConversationMode, CustomerTier, Severity};
use tonic::Code;

use crate::helpers::{Clients, PASSWORD, TestApp, TestDb, login, register, spawn_app, spawn_with};

/// Clients carrying a token pair's access token.
fn with(app: &TestApp, tokens: &pb::TokenPair) -> Clients {
    Clients::new(app.channel.clone(), Some(&tokens.access_token))
}

#[tokio::test]
async fn register_then_login_then_refresh_rotates_and_reuse_revokes_the_chain() {
    let app = spawn_app().await;
    let mut anon = app.anonymous();
    let reg = anon.auth.register(register("Ada@Example.com")).await.expect("register").into_inner();
    let tokens = reg.tokens.expect("tokens");
    assert_eq!(tokens.access_token_ttl.as_ref().map(|d| d.seconds), Some(900));
    let mut me = with(&app, &tokens);
    let own = me.customers.get_customer(pb::GetCustomerRequest { id: reg.customer_id }).await.expect("own record");
    assert_eq!(own.into_inner().customer.expect("customer").email, "ada@example.com");

    // Sign in with the email in any case; refresh rotates the refresh token.
    let signed_in = anon.auth.login(login("ADA@example.com", PASSWORD)).await.expect("login").into_inner();
    let first = signed_in.tokens.expect("tokens");
    let second = anon
        .auth
        .refresh(pb::RefreshRequest { refresh_token: first.refresh_token.clone() })
        .await
        .expect("refresh")
        .into_inner()
        .tokens
        .expect("tokens");
    assert_ne!(second.refresh_token, first.refresh_token);
    with(&app, &second).tickets.list_tickets(pb::ListTicketsRequest::default()).await.expect("the new token works");

    // Presenting the spent token again revokes the chain: the newest token stops working too.
    let reuse = anon.auth.refresh(pb::RefreshRequest { refresh_token: first.refresh_token }).await.unwrap_err();
    assert_eq!(reuse.code(), Code::Unauthenticated);
    assert!(reuse.message().contains("already used"), "{}", reuse.message());
    let revoked = anon.auth.refresh(pb::RefreshRequest { refresh_token: second.refresh_token }).await.unwrap_err();
    assert_eq!(revoked.code(), Code::Unauthenticated);
    // The sign-up's own chain is a different sign-in and still works.
    anon.auth.refresh(pb::RefreshRequest { refresh_token: tokens.refresh_token }).await.expect("other chain");
}

#[tokio::test]
async fn failed_logins_say_nothing_about_which_part_was_wrong_and_are_throttled() {
    let app = spawn_with(|s| s.login_attempts_per_minute = 3).await;
    let mut anon = app.anonymous();
    anon.auth.register(register("ada@example.com")).await.expect("register");
    let wrong_password = anon.auth.login(login("ada@example.com", "not the passphrase")).await.unwrap_err();
    let unknown_email = anon.auth.login(login("nobody@example.com", PASSWORD)).await.unwrap_err();
    assert_eq!(wrong_password.code(), Code::Unauthenticated);
    assert_eq!((unknown_email.code(), unknown_email.message()), (wrong_password.code(), wrong_password.message()));
    anon.auth.login(login("ada@example.com", PASSWORD)).await.expect("second attempt");
    anon.auth.login(login("ada@example.com", PASSWORD)).await.expect("third attempt still allowed");
    let throttled = anon.auth.login(login("ada@example.com", PASSWORD)).await.unwrap_err();
    assert_eq!(throttled.code(), Code::ResourceExhausted, "{throttled:?}");
}

#[tokio::test]
async fn sign_up_refuses_weak_passwords_bad_fields_and_taken_emails() {
    let app = spawn_app().await;
    let mut anon = app.anonymous();
    let mut weak = register("ada@example.com");
    weak.password = "short".into();
    weak.email = "not-an-email".into();
    let e = anon.auth.register(weak).await.unwrap_err();
    assert_eq!(crate::helpers::bad_fields(&e), vec!["email", "password"]);
    anon.auth.register(register("ada@example.com")).await.expect("register");
    let taken = anon.auth.register(register("ada@example.com")).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn an_admin_sets_an_agents_password_and_the_agent_signs_in_to_their_department() {
    let mut app = spawn_app().await;
    let d1 = app.department("One", ConversationMode::Chat).await;
    let d2 = app.department("Two", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let a1 = app.agent("grace@support.example", d1.id).await;
    app.agent("linus@support.example", d2.id).await;
    let mine = app.ticket(c.id, d1.id, Severity::Major, 3).await;
    app.ticket(c.id, d2.id, Severity::Major, 3).await;

    let mut admin = app.as_(&Principal::named(Role::Admin, "ops"));
    let set = pb::SetAgentPasswordRequest { agent_id: a1.id, password: PASSWORD.into() };
    admin.auth.set_agent_password(set.clone()).await.expect("set password");
    let mut weak = set.clone();
    weak.password = "aaaaaaaaaaaaaaaa".into();
    assert_eq!(crate::helpers::bad_fields(&admin.auth.set_agent_password(weak).await.unwrap_err()), vec!["password"]);

    let mut anon = app.anonymous();
    let tokens = anon.auth.login(login("grace@support.example", PASSWORD)).await.expect("agent login");
    let mut agent = with(&app, &tokens.into_inner().tokens.expect("tokens"));
    let seen = agent.list_tickets(pb::ListTicketsRequest::default()).await.tickets;
    assert_eq!(seen.iter().map(|t| t.id).collect::<Vec<_>>(), vec![mine.id], "only department One's ticket");
    // A new password signs the agent out everywhere and the old one stops working.
    let mut newer = set;
    newer.password = "another decent passphrase".into();
    admin.auth.set_agent_password(newer).await.expect("reset password");
    assert_eq!(
        anon.auth.login(login("grace@support.example", PASSWORD)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn lists_are_narrowed_to_the_callers_scope_and_internal_notes_stay_internal() {
    let mut app = spawn_app().await;
    let d1 = app.department("One", ConversationMode::Chat).await;
    let d2 = app.department("Two", ConversationMode::Chat).await;
    let c1 = app.customer("c1@example.com", CustomerTier::Paid).await;
    let c2 = app.customer("c2@example.com", CustomerTier::Paid).await;
    let a1 = app.agent("a1@support.example", d1.id).await;
    let a2 = app.agent("a2@support.example", d2.id).await;
    let t1 = app.ticket(c1.id, d1.id, Severity::Major, 3).await;
    let t2 = app.ticket(c2.id, d2.id, Severity::Major, 3).await;
    let t3 = app.ticket(c2.id, d1.id, Severity::Major, 3).await;
    app.say(t1.id, pb::SenderKind::Customer, c1.id, "Hello").await.expect("public");
    let mut agent1 = app.as_(&Principal::agent(a1.id, AgentRole::Agent, d1.id));
    let note = pb::AddLogRequest {
        ticket_id: t1.id,
        body: "Customer seems upset".into(),
        visibility: pb::Visibility::Internal.into(),
        ..Default::default()
    };
    let note = agent1.logs.add_log(note).await.expect("internal note").into_inner().log.expect("log");
    assert_eq!((note.sender_id, note.sender_kind), (a1.id, pb::SenderKind::Agent as i32), "filled from the token");

    let ids = |r: pb::ListTicketsResponse| r.tickets.iter().map(|t| t.id).collect::<Vec<_>>();
    let mut cust1 = app.as_(&Principal::customer(c1.id));
    assert_eq!(ids(cust1.list_tickets(pb::ListTicketsRequest::default()).await), vec![t1.id]);
    let other = pb::ListTicketsRequest { customer_id: c2.id, ..Default::default() };
    assert!(ids(cust1.list_tickets(other).await).is_empty(), "filtering by another customer finds nothing");
    let customers = cust1.customers.list_customers(pb::ListCustomersRequest::default()).await.expect("list");
    assert_eq!(customers.into_inner().customers.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c1.id]);
    let logs = cust1
        .logs
        .list_logs(pb::ListLogsRequest { ticket_id: t1.id, include_internal: true, ..Default::default() })
        .await
        .expect("logs")
        .into_inner()
        .logs;
    assert_eq!(logs.len(), 1, "the internal note is not listed to the customer");
    let transitions = allowed_methods(&mut cust1, t1.id).await;
    assert!(transitions.iter().all(|m| m.ends_with("CloseTicket")), "{transitions:?}");
    let staff = allowed_methods(&mut agent1, t1.id).await;
    assert!(!staff.is_empty() && staff.iter().all(|m| m.ends_with("UpdateTicketStatus")), "{staff:?}");
    let tier = pb::UpdateCustomerRequest {
        customer: Some(pb::Customer { id: c1.id, tier: CustomerTier::Enterprise.into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["tier".into()] }),
    };
    assert_eq!(cust1.customers.update_customer(tier).await.unwrap_err().code(), Code::PermissionDenied);

    let mut listed = ids(agent1.list_tickets(pb::ListTicketsRequest::default()).await);
    listed.sort_unstable();
    assert_eq!(listed, vec![t1.id, t3.id], "agent 1 sees department One");
    let mut agent2 = app.as_(&Principal::agent(a2.id, AgentRole::Agent, d2.id));
    assert_eq!(ids(agent2.list_tickets(pb::ListTicketsRequest::default()).await), vec![t2.id]);
    // Assigned across departments: then agent 2 sees it too.
    let mut supervisor = app.as_(&Principal::named(Role::Service, "router"));
    supervisor.tickets.update_ticket(move_to(t3.id, d2.id)).await.expect("move t3");
    let mut seen2 = ids(agent2.list_tickets(pb::ListTicketsRequest::default()).await);
    seen2.sort_unstable();
    assert_eq!(seen2, vec![t2.id, t3.id]);
}

/// The methods GetAllowedTransitions offers the caller for a ticket.
async fn allowed_methods(c: &mut Clients, id: i64) -> Vec<String> {
    let r = c.tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id }).await.expect("transitions");
    r.into_inner().transitions.into_iter().map(|t| t.method).collect()
}

fn move_to(ticket: i64, department: i64) -> pb::UpdateTicketRequest {
    pb::UpdateTicketRequest {
        ticket: Some(pb::Ticket { id: ticket, department_id: department, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["department_id".into()] }),
    }
}

#[tokio::test]
async fn each_principal_has_its_own_rate_limit() {
    let app = spawn_with(|s| {
        s.rate_limit_per_second = 1;
        s.rate_limit_burst = 3;
    })
    .await;
    let mut busy = app.as_(&Principal::named(Role::Service, "busy"));
    for _ in 0..3 {
        busy.departments.list_departments(pb::ListDepartmentsRequest::default()).await.expect("within the burst");
    }
    let e = busy.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(e.message().contains("service:busy"), "{}", e.message());
    let mut calm = app.as_(&Principal::named(Role::Service, "calm"));
    calm.departments.list_departments(pb::ListDepartmentsRequest::default()).await.expect("another principal");
}

#[tokio::test]
async fn missing_garbage_and_foreign_tokens_are_unauthenticated_but_health_is_open() {
    let app = spawn_app().await;
    let mut anon = app.anonymous();
    let e = anon.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("authorization: Bearer"), "{}", e.message());
    let mut garbage = Clients::new(app.channel.clone(), Some("garbage"));
    assert_eq!(
        garbage.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let foreign = support_service::auth::token::Tokens::new(
        &SecretString::from("another-deployments-secret-0123456789abcdef".to_owned()),
        Duration::from_secs(60),
    )
    .mint(&Principal::named(Role::Admin, "intruder"))
    .unwrap();
    let mut forged = Clients::new(app.channel.clone(), Some(&foreign));
    assert_eq!(
        forged.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    health.check(tonic_health::pb::HealthCheckRequest::default()).await.expect("health needs no token");
}

#[tokio::test]
async fn production_refuses_a_missing_or_weak_secret_before_connecting() {
    // An unreachable MySQL URL: the refusal must come first, naming what to set.
    let mut settings = Settings::with_database("mysql://nobody:nothing@127.0.0.1:9/none");
    settings.db_startup_timeout_secs = 0;
    let e = App::build(settings.clone(), Arc::new(SystemClock)).await.unwrap_err().to_string();
    assert!(e.contains("SUPPORT_AUTH_SECRET is not set"), "{e}");
    settings.auth_secret = Some(SecretString::from("changeme".to_owned()));
    let e = App::build(settings, Arc::new(SystemClock)).await.unwrap_err().to_string();
    assert!(e.contains("too short"), "{e}");
}

#[tokio::test]
async fn the_quick_start_token_command_signs_with_the_key_kept_in_the_database() {
    let file = std::env::temp_dir().join(format!("support_quick_{}.db", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_support-service"))
        .args(["token", "--role", "admin", "--subject", "quickstart"])
        .env("DATABASE_URL", &url)
        .env_remove("SUPPORT_AUTH_SECRET")
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("run the token command");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();

    let db = TestDb::sqlite_file(file);
    let app = crate::helpers::spawn_on(db, url, |s| s.auth_secret = None).await;
    let mut admin = Clients::new(app.channel.clone(), Some(&token));
    admin.departments.list_departments(pb::ListDepartmentsRequest::default()).await.expect("the CLI token works");
}

#[tokio::test]
async fn tls_serves_when_a_certificate_is_configured() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let dir = std::env::temp_dir().join(format!("support_tls_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let db = TestDb::create().await;
    let url = db.url.clone();
    let (c, k) = (cert_path.clone(), key_path.clone());
    let app = crate::helpers::spawn_on_tls(db, url, move |s| {
        s.tls_cert = Some(c);
        s.tls_key = Some(k);
    })
    .await;
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(format!("https://localhost:{}", app.port))
        .unwrap()
        .tls_config(tls)
        .expect("tls config")
        .connect()
        .await
        .expect("TLS connect");
    let mut clients = Clients::new(channel, Some(&crate::helpers::service_token()));
    clients.departments.list_departments(pb::ListDepartmentsRequest::default()).await.expect("a call over TLS");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn requests_over_the_size_limit_are_refused_and_the_server_goes_on() {
    let mut app = spawn_with(|s| s.max_request_bytes = 64 * 1024).await;
    let d = app.department("One", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let big = pb::AddLogRequest {
        ticket_id: t.id,
        sender_kind: pb::SenderKind::Customer.into(),
        sender_id: c.id,
        body: "see attached".into(),
        attachments: vec![pb::AttachmentUpload {
            file_name: "dump.bin".into(),
            content_type: String::new(),
            content: vec![7; 100 * 1024],
        }],
        ..Default::default()
    };
    let e = app.logs.add_log(big).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("too large"), "{}", e.message());
    app.say(t.id, pb::SenderKind::Customer, c.id, "a small one").await.expect("still answering");
}
