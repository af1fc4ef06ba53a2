//! The authorization matrix: every RPC called as anonymous, customer (own / other's),
//! agent (own department / other), supervisor, admin and service, each answer checked
//! against the expected code.

use std::sync::atomic::{AtomicUsize, Ordering};

use support_service::domain::AgentRole;
use support_service::domain::access::{Principal, Role};
use support_service::pb::{self, ConversationMode, Severity};
use tonic::Code;

use crate::helpers::{Clients, TestApp, spawn_with};

/// The columns of the matrix.
const COLUMNS: [&str; 8] =
    ["anonymous", "customer-own", "customer-other", "agent-own", "agent-other", "supervisor", "admin", "service"];

/// One cell's caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Anon,
    CustOwn,
    CustOther,
    AgentOwn,
    AgentOther,
    Supervisor,
    Admin,
    Service,
}

const COLS: [Col; 8] = [
    Col::Anon,
    Col::CustOwn,
    Col::CustOther,
    Col::AgentOwn,
    Col::AgentOther,
    Col::Supervisor,
    Col::Admin,
    Col::Service,
];

/// The expected codes, one letter per column: O ok, U unauthenticated, P permission
/// denied, N not found.
const MATRIX: &[(&str, &str)] = &[
    ("CreateDepartment", "UPPPPPOO"),
    ("GetDepartment", "UOOOOOOO"),
    ("ListDepartments", "UOOOOOOO"),
    ("UpdateDepartment", "UPPPPPOO"),
    ("CreateCustomer", "UPPOOOOO"),
    ("GetCustomer", "UONOOOOO"),
    ("ListCustomers", "UOOOOOOO"),
    ("UpdateCustomer", "UONOPOOO"),
    ("CreateAgent", "UPPPPPOO"),
    ("GetAgent", "UPPOOOOO"),
    ("ListAgents", "UPPOOOOO"),
    ("UpdateAgent", "UPPPPPOO"),
    ("SetAgentAvailability", "UPPOPOOO"),
    ("GetAgentWorkload", "UPPOOOOO"),
    ("CreateTicket", "UONOOOOO"),
    ("GetTicket", "UONOPOOO"),
    ("ListTickets", "UOOOOOOO"),
    ("UpdateTicket", "UPPOPOOO"),
    ("UpdateTicketStatus", "UPPOPOOO"),
    ("AssignTicket", "UPPOPOOO"),
    ("CloseTicket", "UONPPPOO"),
    ("GetAllowedTransitions", "UONOPOOO"),
    ("WatchQueue", "UOOOOOOO"),
    ("SearchTickets", "UOOOOOOO"),
    ("GetTicketHistory", "UONOPOOO"),
    ("AddLog", "UONOPOOO"),
    ("ListLogs", "UONOPOOO"),
    ("MarkRead", "UONOPOOO"),
    ("GetAttachment", "UONOPOOO"),
    ("Register", "OOOOOOOO"),
    ("Login", "OOOOOOOO"),
    ("Refresh", "UUUUUUUU"),
    ("SetAgentPassword", "UPPPPPOO"),
    ("GetResolutionTimeReport", "UPPPPOOO"),
    ("GetAgentsPerTicketReport", "UPPPPOOO"),
    ("GetAgentReport", "UPPPPOOO"),
    ("GetFirstResponseReport", "UPPPPOOO"),
    ("GetBacklogReport", "UPPPPOOO"),
    // Department 1's quick replies: its supervisor would write them (the column's is of
    // department 2), its agents read them; drafts and suggestions follow the ticket scope.
    ("CreateQuickReply", "UPPPPPOO"),
    ("GetQuickReply", "UPPOPPOO"),
    ("ListQuickReplies", "UPPOPPOO"),
    ("UpdateQuickReply", "UPPPPPOO"),
    ("DeleteQuickReply", "UPPPPPOO"),
    ("DraftReply", "UPPOPOOO"),
    ("SuggestReplies", "UPPOPOOO"),
    ("CreateWebhook", "UPPPPPOO"),
    ("GetWebhook", "UPPPPPOO"),
    ("ListWebhooks", "UPPPPPOO"),
    ("UpdateWebhook", "UPPPPPOO"),
    ("ListWebhookDeliveries", "UPPPPPOO"),
    ("RedeliverWebhookEvent", "UPPPPPOO"),
    ("ReplayWebhook", "UPPPPPOO"),
    ("DeleteWebhook", "UPPPPPOO"),
    // Calls on department 1's tickets: a1 calls c1. The supervisor is department 2's.
    ("SendTyping", "UONOPOPP"),
    ("RelayTyping", "UPPPPPPO"),
    ("StartCall", "UFNOPOPP"),
    ("AnswerCall", "UONPNNPP"),
    ("EndCall", "UONONNPP"),
    ("GetCall", "UONONNOO"),
    ("ListCalls", "UONOPOOO"),
    ("SendCallSignal", "UONONNPP"),
    ("JoinCall", "UONONNPP"),
    ("GetIceServers", "UOOOOOPP"),
    ("Logout", "OOOOOOOO"),
    ("SetPasswordWithToken", "UUUUUUUU"),
    ("IssueSetPasswordToken", "UPPPPOOO"),
    ("SetAccountEnabled", "UPPPPPOO"),
    // Last: a new password revokes the account's earlier tokens. Staff here have none.
    ("ChangePassword", "UOOFFFPP"),
];

fn code(letter: char) -> Code {
    match letter {
        'O' => Code::Ok,
        'U' => Code::Unauthenticated,
        'P' => Code::PermissionDenied,
        'N' => Code::NotFound,
        'F' => Code::FailedPrecondition,
        other => panic!("unknown code letter {other}"),
    }
}

/// The world every cell acts on: department 1 with agent a1 and customer c1's ticket t1
/// (assigned to a1, with a public message and attachment); department 2 with agent a2,
/// supervisor s and customer c2.
struct World {
    d1: i64,
    c1: i64,
    a1: i64,
    t1: i64,
    attachment: i64,
    /// A quick reply of department 1.
    reply: i64,
    /// A webhook subscription.
    webhook: i64,
    /// A call from a1 to c1 on a ticket of its own.
    call: i64,
    c1_email: &'static str,
    /// Accounts the account-changing calls act on, so the others' tokens stay valid.
    spare_agent: i64,
    spare_customer: i64,
}

const PASSWORD: &str = "a decent passphrase";
static UNIQUE: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

async fn world(app: &mut TestApp) -> (World, Vec<Clients>) {
    let d1 = app.department("One", ConversationMode::Chat).await.id;
    let d2 = app.department("Two", ConversationMode::Chat).await.id;
    let mut anon = app.anonymous();
    let register = |email: &'static str| pb::RegisterRequest {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: email.into(),
        password: PASSWORD.into(),
    };
    let c1 = anon.auth.register(register("c1@example.com")).await.expect("register c1").into_inner().customer_id;
    let c2 = anon.auth.register(register("c2@example.com")).await.expect("register c2").into_inner().customer_id;
    assert_ne!(c1, c2);
    let a1 = app.agent("a1@support.example", d1).await.id;
    let a2 = app.agent("a2@support.example", d2).await.id;
    let mut s = pb::Agent {
        first_name: "Sam".into(),
        last_name: "Super".into(),
        email: "s@support.example".into(),
        department_id: d2,
        role: pb::AgentRole::Supervisor.into(),
        ..Default::default()
    };
    s = app
        .agents
        .create_agent(pb::CreateAgentRequest { agent: Some(s), request_id: String::new() })
        .await
        .expect("supervisor")
        .into_inner()
        .agent
        .expect("agent");
    let t1 = app.ticket(c1, d1, Severity::Major, 3).await;
    assert_eq!(t1.assigned_agent_id, Some(a1), "the only agent of department 1 gets it");
    let log = app
        .logs
        .add_log(pb::AddLogRequest {
            ticket_id: t1.id,
            sender_kind: pb::SenderKind::Customer.into(),
            sender_id: c1,
            body: "Here is a screenshot.".into(),
            attachments: vec![pb::AttachmentUpload {
                file_name: "shot.png".into(),
                content_type: "image/png".into(),
                content: vec![1, 2, 3],
            }],
            ..Default::default()
        })
        .await
        .expect("add log")
        .into_inner()
        .log
        .expect("log");
    let spare_agent = app.agent("spare@support.example", d2).await.id;
    let spare_customer = app.customer("spare@example.com", pb::CustomerTier::Free).await.id;
    let world = World {
        d1,
        c1,
        a1,
        t1: t1.id,
        attachment: log.attachments[0].id,
        reply: fresh_reply(app, d1).await,
        webhook: fresh_webhook(app).await,
        call: 0,
        c1_email: "c1@example.com",
        spare_agent,
        spare_customer,
    };
    let world = World { call: fresh_call(app, &world, false).await, ..world };
    let clients = COLS
        .iter()
        .map(|col| match col {
            Col::Anon => app.anonymous(),
            Col::CustOwn => app.as_(&Principal::customer(c1)),
            Col::CustOther => app.as_(&Principal::customer(c2)),
            Col::AgentOwn => app.as_(&Principal::agent(a1, AgentRole::Agent, d1)),
            Col::AgentOther => app.as_(&Principal::agent(a2, AgentRole::Agent, d2)),
            Col::Supervisor => app.as_(&Principal::agent(s.id, AgentRole::Supervisor, d2)),
            Col::Admin => app.as_(&Principal::named(Role::Admin, "ops")),
            Col::Service => app.as_(&Principal::named(Role::Service, "billing")),
        })
        .collect();
    (world, clients)
}

/// A ticket made for one cell (so that state-changing calls start alike).
async fn fresh_ticket(app: &mut TestApp, w: &World) -> i64 {
    app.ticket(w.c1, w.d1, Severity::Minor, 1).await.id
}

/// A call from a1 to c1 on a fresh ticket, ringing or (`accept`) active.
async fn fresh_call(app: &mut TestApp, w: &World, accept: bool) -> i64 {
    let ticket_id = fresh_ticket(app, w).await;
    let mut agent = app.as_(&Principal::agent(w.a1, AgentRole::Agent, w.d1));
    let call = agent.calls.start_call(pb::StartCallRequest { ticket_id }).await.expect("call").into_inner();
    let id = call.call.expect("call").id;
    if accept {
        let mut customer = app.as_(&Principal::customer(w.c1));
        customer.calls.answer_call(pb::AnswerCallRequest { call_id: id, accept: true }).await.expect("accept");
    }
    id
}

async fn fresh_reply(app: &mut TestApp, department_id: i64) -> i64 {
    let q = pb::QuickReply { department_id, title: unique("Reply "), body: "Hello".into(), ..Default::default() };
    let req = pb::CreateQuickReplyRequest { quick_reply: Some(q), request_id: String::new() };
    app.replies.create_quick_reply(req).await.expect("quick reply").into_inner().quick_reply.expect("reply").id
}

const DISCARD: &str = "http://127.0.0.1:9/hook";

async fn fresh_webhook(app: &mut TestApp) -> i64 {
    let webhook = pb::Webhook { url: DISCARD.into(), active: false, ..Default::default() };
    let req = pb::CreateWebhookRequest { webhook: Some(webhook), ..Default::default() };
    app.webhooks.create_webhook(req).await.expect("webhook").into_inner().webhook.expect("webhook").id
}

async fn call(app: &mut TestApp, w: &World, c: &mut Clients, col: Col, rpc: &str) -> Result<(), tonic::Status> {
    let t1 = w.t1;
    match rpc {
        "CreateDepartment" => {
            let d = pb::Department {
                name: unique("Dept "),
                conversation_mode: ConversationMode::Chat.into(),
                ..Default::default()
            };
            c.departments
                .create_department(pb::CreateDepartmentRequest { department: Some(d), request_id: String::new() })
                .await
                .map(drop)
        }
        "GetDepartment" => c.departments.get_department(pb::GetDepartmentRequest { id: w.d1 }).await.map(drop),
        "ListDepartments" => c.departments.list_departments(pb::ListDepartmentsRequest::default()).await.map(drop),
        "UpdateDepartment" => {
            let d = pb::Department { id: w.d1, description: unique("desc "), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["description".into()] };
            c.departments
                .update_department(pb::UpdateDepartmentRequest { department: Some(d), update_mask: Some(mask) })
                .await
                .map(drop)
        }
        "CreateCustomer" => {
            let cu = pb::Customer {
                first_name: "N".into(),
                last_name: "N".into(),
                email: format!("{}@example.com", unique("new")),
                ..Default::default()
            };
            c.customers
                .create_customer(pb::CreateCustomerRequest { customer: Some(cu), request_id: String::new() })
                .await
                .map(drop)
        }
        "GetCustomer" => c.customers.get_customer(pb::GetCustomerRequest { id: w.c1 }).await.map(drop),
        "ListCustomers" => c.customers.list_customers(pb::ListCustomersRequest::default()).await.map(drop),
        "UpdateCustomer" => {
            let cu = pb::Customer { id: w.c1, location: unique("Town "), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["location".into()] };
            c.customers
                .update_customer(pb::UpdateCustomerRequest { customer: Some(cu), update_mask: Some(mask) })
                .await
                .map(drop)
        }
        "CreateAgent" => {
            let a = pb::Agent {
                first_name: "N".into(),
                last_name: "N".into(),
                email: format!("{}@support.example", unique("agent")),
                department_id: w.d1,
                ..Default::default()
            };
            c.agents.create_agent(pb::CreateAgentRequest { agent: Some(a), request_id: String::new() }).await.map(drop)
        }
        "GetAgent" => c.agents.get_agent(pb::GetAgentRequest { id: w.a1 }).await.map(drop),
        "ListAgents" => c.agents.list_agents(pb::ListAgentsRequest::default()).await.map(drop),
        "UpdateAgent" => {
            let a = pb::Agent { id: w.a1, phone: "+44 20 7946 0000".into(), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["phone".into()] };
            c.agents.update_agent(pb::UpdateAgentRequest { agent: Some(a), update_mask: Some(mask) }).await.map(drop)
        }
        "SetAgentAvailability" => c
            .agents
            .set_agent_availability(pb::SetAgentAvailabilityRequest {
                id: w.a1,
                availability: pb::Availability::Active.into(),
            })
            .await
            .map(drop),
        "GetAgentWorkload" => c.agents.get_agent_workload(pb::GetAgentWorkloadRequest { id: w.a1 }).await.map(drop),
        "CreateTicket" => {
            c.tickets.create_ticket(Clients::ticket_request(w.c1, w.d1, Severity::Minor, 1)).await.map(drop)
        }
        "GetTicket" => c.tickets.get_ticket(pb::GetTicketRequest { id: t1 }).await.map(drop),
        "ListTickets" => c.tickets.list_tickets(pb::ListTicketsRequest::default()).await.map(drop),
        "SearchTickets" => {
            let req = pb::SearchTicketsRequest { query: "checkout".into(), ..Default::default() };
            c.tickets.search_tickets(req).await.map(drop)
        }
        "GetTicketHistory" => {
            let req = pb::GetTicketHistoryRequest { ticket_id: t1, ..Default::default() };
            c.tickets.get_ticket_history(req).await.map(drop)
        }
        "CreateQuickReply" => {
            let q = pb::QuickReply {
                department_id: w.d1,
                title: unique("Reply "),
                body: "Hi".into(),
                ..Default::default()
            };
            let req = pb::CreateQuickReplyRequest { quick_reply: Some(q), request_id: String::new() };
            c.replies.create_quick_reply(req).await.map(drop)
        }
        "GetQuickReply" => c.replies.get_quick_reply(pb::GetQuickReplyRequest { id: w.reply }).await.map(drop),
        "ListQuickReplies" => {
            let req = pb::ListQuickRepliesRequest { department_id: w.d1, ..Default::default() };
            c.replies.list_quick_replies(req).await.map(drop)
        }
        "UpdateQuickReply" => {
            let q = pb::QuickReply { id: w.reply, body: unique("Hello "), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["body".into()] };
            c.replies
                .update_quick_reply(pb::UpdateQuickReplyRequest { quick_reply: Some(q), update_mask: Some(mask) })
                .await
                .map(drop)
        }
        "DeleteQuickReply" => {
            let id = fresh_reply(app, w.d1).await;
            c.replies.delete_quick_reply(pb::DeleteQuickReplyRequest { id, etag: String::new() }).await.map(drop)
        }
        "DraftReply" => {
            let req = pb::DraftReplyRequest { ticket_id: t1, quick_reply_id: w.reply };
            c.replies.draft_reply(req).await.map(drop)
        }
        "CreateWebhook" => {
            let webhook = pb::Webhook { url: DISCARD.into(), ..Default::default() };
            c.webhooks
                .create_webhook(pb::CreateWebhookRequest { webhook: Some(webhook), ..Default::default() })
                .await
                .map(drop)
        }
        "GetWebhook" => c.webhooks.get_webhook(pb::GetWebhookRequest { id: w.webhook }).await.map(drop),
        "ListWebhooks" => c.webhooks.list_webhooks(pb::ListWebhooksRequest::default()).await.map(drop),
        "UpdateWebhook" => {
            let webhook =
                pb::Webhook { id: w.webhook, url: format!("{DISCARD}?{}", unique("v")), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["url".into()] };
            let req = pb::UpdateWebhookRequest { webhook: Some(webhook), update_mask: Some(mask) };
            c.webhooks.update_webhook(req).await.map(drop)
        }
        "ListWebhookDeliveries" => {
            let req = pb::ListWebhookDeliveriesRequest { webhook_id: w.webhook, ..Default::default() };
            c.webhooks.list_webhook_deliveries(req).await.map(drop)
        }
        "RedeliverWebhookEvent" => {
            let req = pb::RedeliverWebhookEventRequest { webhook_id: w.webhook, sequence: 1 };
            c.webhooks.redeliver_webhook_event(req).await.map(drop)
        }
        "ReplayWebhook" => {
            let req = pb::ReplayWebhookRequest { webhook_id: w.webhook, after_sequence: 0 };
            c.webhooks.replay_webhook(req).await.map(drop)
        }
        "DeleteWebhook" => {
            let id = fresh_webhook(app).await;
            c.webhooks.delete_webhook(pb::DeleteWebhookRequest { id }).await.map(drop)
        }
        "SuggestReplies" => c.replies.suggest_replies(pb::SuggestRepliesRequest { ticket_id: t1 }).await.map(drop),
        "UpdateTicket" => {
            let t = pb::Ticket { id: t1, subject: unique("Subject "), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["subject".into()] };
            c.tickets
                .update_ticket(pb::UpdateTicketRequest { ticket: Some(t), update_mask: Some(mask) })
                .await
                .map(drop)
        }
        "UpdateTicketStatus" => {
            let id = fresh_ticket(app, w).await;
            let r =
                pb::UpdateTicketStatusRequest { id, status: pb::TicketStatus::InProgress.into(), etag: String::new() };
            c.tickets.update_ticket_status(r).await.map(drop)
        }
        "AssignTicket" => c.tickets.assign_ticket(pb::AssignTicketRequest { id: t1, agent_id: w.a1 }).await.map(drop),
        "CloseTicket" => {
            let id = fresh_ticket(app, w).await;
            let r = pb::CloseTicketRequest { id, feedback: pb::Feedback::Satisfied.into(), rating: 5 };
            c.tickets.close_ticket(r).await.map(drop)
        }
        "SendTyping" => c.logs.send_typing(pb::SendTypingRequest { ticket_id: t1 }).await.map(drop),
        "RelayTyping" => {
            let typing = pb::TypingIndicator {
                ticket_id: t1,
                sender_kind: pb::SenderKind::Agent.into(),
                sender_id: w.a1,
                ..Default::default()
            };
            c.logs
                .relay_typing(pb::RelayTypingRequest { typing: Some(typing), origin: "elsewhere".into() })
                .await
                .map(drop)
        }
        "StartCall" => {
            let ticket_id = fresh_ticket(app, w).await;
            c.calls.start_call(pb::StartCallRequest { ticket_id }).await.map(drop)
        }
        "AnswerCall" => {
            let call_id = fresh_call(app, w, false).await;
            c.calls.answer_call(pb::AnswerCallRequest { call_id, accept: true }).await.map(drop)
        }
        "EndCall" => {
            let call_id = fresh_call(app, w, false).await;
            c.calls.end_call(pb::EndCallRequest { call_id }).await.map(drop)
        }
        "GetCall" => c.calls.get_call(pb::GetCallRequest { call_id: w.call }).await.map(drop),
        "ListCalls" => c.calls.list_calls(pb::ListCallsRequest { ticket_id: t1, ..Default::default() }).await.map(drop),
        "SendCallSignal" => {
            let call_id = fresh_call(app, w, true).await;
            let candidate = pb::IceCandidate { candidate: "candidate:1".into(), ..Default::default() };
            let payload = Some(pb::send_call_signal_request::Payload::Candidate(candidate));
            c.calls.send_call_signal(pb::SendCallSignalRequest { call_id, payload }).await.map(drop)
        }
        "JoinCall" => {
            let call_id = fresh_call(app, w, true).await;
            c.calls.join_call(pb::JoinCallRequest { call_id }).await.map(drop)
        }
        "GetIceServers" => c.calls.get_ice_servers(pb::GetIceServersRequest {}).await.map(drop),
        "GetAllowedTransitions" => {
            c.tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id: t1 }).await.map(drop)
        }
        "WatchQueue" => {
            let mut stream = c.tickets.watch_queue(pb::WatchQueueRequest::default()).await?.into_inner();
            stream.message().await.map(drop)
        }
        "AddLog" => {
            let mut r = pb::AddLogRequest { ticket_id: t1, body: "Any news?".into(), ..Default::default() };
            if matches!(col, Col::Admin | Col::Service) {
                // Relaying for the customer: the sender must be named.
                r.sender_kind = pb::SenderKind::Customer.into();
                r.sender_id = w.c1;
            }
            c.logs.add_log(r).await.map(drop)
        }
        "ListLogs" => c
            .logs
            .list_logs(pb::ListLogsRequest { ticket_id: t1, include_internal: true, ..Default::default() })
            .await
            .map(drop),
        "MarkRead" => {
            let reader = if matches!(col, Col::CustOwn | Col::CustOther) {
                pb::SenderKind::Customer
            } else {
                pb::SenderKind::Agent
            };
            c.logs
                .mark_read(pb::MarkReadRequest { ticket_id: t1, up_to_log_id: 0, reader_kind: reader.into() })
                .await
                .map(drop)
        }
        "GetAttachment" => c.logs.get_attachment(pb::GetAttachmentRequest { id: w.attachment }).await.map(drop),
        "Register" => {
            let r = pb::RegisterRequest {
                first_name: "R".into(),
                last_name: "R".into(),
                email: format!("{}@example.com", unique("reg")),
                password: PASSWORD.into(),
            };
            c.auth.register(r).await.map(drop)
        }
        "Login" => {
            c.auth.login(pb::LoginRequest { email: w.c1_email.into(), password: PASSWORD.into() }).await.map(drop)
        }
        "Refresh" => c.auth.refresh(pb::RefreshRequest { refresh_token: "not-a-token".into() }).await.map(drop),
        "SetAgentPassword" => c
            .auth
            .set_agent_password(pb::SetAgentPasswordRequest { agent_id: w.spare_agent, password: PASSWORD.into() })
            .await
            .map(drop),
        "Logout" => c.auth.logout(pb::LogoutRequest { refresh_token: "not-a-token".into() }).await.map(drop),
        "SetPasswordWithToken" => c
            .auth
            .set_password_with_token(pb::SetPasswordWithTokenRequest {
                token: "not-a-token".into(),
                password: PASSWORD.into(),
            })
            .await
            .map(drop),
        "IssueSetPasswordToken" => {
            let account = pb::AccountRef { account: Some(pb::account_ref::Account::CustomerId(w.spare_customer)) };
            c.auth.issue_set_password_token(pb::IssueSetPasswordTokenRequest { account: Some(account) }).await.map(drop)
        }
        "SetAccountEnabled" => {
            let account = pb::AccountRef { account: Some(pb::account_ref::Account::AgentId(w.spare_agent)) };
            c.auth
                .set_account_enabled(pb::SetAccountEnabledRequest { account: Some(account), enabled: true })
                .await
                .map(drop)
        }
        "ChangePassword" => c
            .auth
            .change_password(pb::ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: format!("{PASSWORD} again"),
            })
            .await
            .map(drop),
        "GetResolutionTimeReport" => {
            c.reports.get_resolution_time_report(pb::GetResolutionTimeReportRequest::default()).await.map(drop)
        }
        "GetAgentsPerTicketReport" => {
            c.reports.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest::default()).await.map(drop)
        }
        "GetAgentReport" => c.reports.get_agent_report(pb::GetAgentReportRequest::default()).await.map(drop),
        "GetFirstResponseReport" => {
            c.reports.get_first_response_report(pb::GetFirstResponseReportRequest::default()).await.map(drop)
        }
        "GetBacklogReport" => c.reports.get_backlog_report(pb::GetBacklogReportRequest::default()).await.map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_rpc_answers_every_role_as_the_policy_says() {
    // Webhooks may reach the discard port on loopback: deliveries fail at once.
    let mut app = spawn_with(|s| s.webhook_allow = vec!["127.0.0.1".into()]).await;
    let (w, mut clients) = world(&mut app).await;
    let mut wrong = Vec::new();
    for (rpc, expected) in MATRIX {
        assert_eq!(expected.len(), COLS.len(), "{rpc}");
        for (i, letter) in expected.chars().enumerate() {
            let got = match call(&mut app, &w, &mut clients[i], COLS[i], rpc).await {
                Ok(()) => (Code::Ok, String::new()),
                Err(s) => (s.code(), s.message().to_owned()),
            };
            if got.0 != code(letter) {
                wrong.push(format!(
                    "{rpc} as {}: expected {:?}, got {:?} ({})",
                    COLUMNS[i],
                    code(letter),
                    got.0,
                    got.1
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells differ:\n{}", wrong.len(), wrong.join("\n"));
    // Every RPC of the contract is in the matrix.
    let rpcs = support_service::pb::FILE_DESCRIPTOR_SET;
    let described = count_rpcs(rpcs);
    assert_eq!(MATRIX.len(), described, "the matrix covers every RPC of support.v1");
}

/// The RPCs of the `support.v1` services in an encoded descriptor set.
fn count_rpcs(encoded: &[u8]) -> usize {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(encoded).expect("descriptor set");
    set.file.iter().filter(|f| f.package() == "support.v1").flat_map(|f| f.service.iter()).map(|s| s.method.len()).sum()
}
