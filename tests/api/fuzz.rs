//! Property test: random, often nonsensical requests to every RPC, each made as a random
//! caller (anonymous, a garbage token, a customer, an agent, a supervisor, an admin or a
//! service, existing or not), never yield INTERNAL or UNKNOWN, and the server still
//! answers afterwards. `SUPPORT_FUZZ_CASES` sets the number of requests (CI: 10,000).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost_types::FieldMask;
use support_service::domain::AgentRole;
use support_service::domain::access::{Principal, Role};
use support_service::pb::{self, ConversationMode, CustomerTier, Severity};
use tonic::Code;

use crate::helpers::{Clients, spawn_app, token_for};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z ]{1,20}",
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|org)",
        "\\PC{0,40}",
        any::<String>(),
        Just("x".repeat(10_001)),
    ]
}

fn id() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), -3..6i64, any::<i64>()]
}

fn enm() -> impl Strategy<Value = i32> {
    prop_oneof![-2..9i32, any::<i32>()]
}

fn num() -> impl Strategy<Value = i32> {
    prop_oneof![-2..8i32, any::<i32>()]
}

fn mask() -> impl Strategy<Value = Option<FieldMask>> {
    proptest::option::of(proptest::collection::vec(
        prop_oneof![
            Just("name".to_owned()),
            Just("tier".to_owned()),
            Just("impact".to_owned()),
            Just("email".to_owned()),
            "[a-z_.]{0,12}"
        ],
        0..3,
    ))
    .prop_map(|p| p.map(|paths| FieldMask { paths }))
}

fn department() -> impl Strategy<Value = pb::Department> {
    (id(), text(), text(), enm(), text()).prop_map(|(id, name, description, mode, etag)| pb::Department {
        id,
        name,
        description,
        conversation_mode: mode,
        etag,
        ..Default::default()
    })
}

fn customer() -> impl Strategy<Value = pb::Customer> {
    (id(), text(), text(), text(), text(), enm(), text()).prop_map(
        |(id, first_name, last_name, email, phone, tier, etag)| pb::Customer {
            id,
            first_name,
            last_name,
            email,
            phone,
            tier,
            etag,
            ..Default::default()
        },
    )
}

fn agent() -> impl Strategy<Value = pb::Agent> {
    (id(), text(), text(), id(), enm(), enm()).prop_map(|(id, first_name, email, department_id, role, availability)| {
        pb::Agent {
            id,
            first_name,
            last_name: "L".into(),
            email,
            department_id,
            role,
            availability,
            ..Default::default()
        }
    })
}

fn ticket() -> impl Strategy<Value = pb::Ticket> {
    (id(), text(), enm(), enm(), num(), id(), text()).prop_map(
        |(id, subject, category, severity, impact, department_id, etag)| pb::Ticket {
            id,
            subject,
            category,
            severity,
            impact,
            department_id,
            etag,
            ..Default::default()
        },
    )
}

/// Who makes a call.
#[derive(Debug, Clone)]
enum Who {
    Anonymous,
    Garbage(String),
    Principal(Principal),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        1 => Just(Who::Anonymous),
        1 => "[A-Za-z0-9._-]{0,60}".prop_map(Who::Garbage),
        2 => id().prop_map(|c| Who::Principal(Principal::customer(c))),
        2 => (id(), id(), any::<bool>()).prop_map(|(a, d, sup)| {
            let role = if sup { AgentRole::Supervisor } else { AgentRole::Agent };
            Who::Principal(Principal::agent(a, role, d))
        }),
        1 => Just(Who::Principal(Principal::named(Role::Admin, "fuzz"))),
        3 => Just(Who::Principal(Principal::named(Role::Service, "fuzz"))),
    ]
}

fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    proptest::option::of(
        (prop_oneof![any::<i64>(), 1_700_000_000..1_900_000_000i64], any::<i32>())
            .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
    )
}

fn scope() -> impl Strategy<Value = Option<pb::ReportScope>> {
    proptest::option::of(
        (timestamp(), timestamp(), id()).prop_map(|(start_time, end_time, department_id)| pb::ReportScope {
            start_time,
            end_time,
            department_id,
        }),
    )
}

#[derive(Debug, Clone)]
enum Call {
    CloseTicket(pb::CloseTicketRequest),
    GetAttachment(i64),
    Watch(pb::WatchQueueRequest),
    Register(pb::RegisterRequest),
    Login(pb::LoginRequest),
    Refresh(String),
    SetAgentPassword(i64, String),
    Report(u8, Option<pb::ReportScope>),
    CreateDepartment(pb::CreateDepartmentRequest),
    GetDepartment(i64),
    ListDepartments(i32, String),
    UpdateDepartment(pb::UpdateDepartmentRequest),
    CreateCustomer(pb::CreateCustomerRequest),
    GetCustomer(i64),
    ListCustomers(pb::ListCustomersRequest),
    UpdateCustomer(pb::UpdateCustomerRequest),
    CreateAgent(pb::CreateAgentRequest),
    GetAgent(i64),
    ListAgents(pb::ListAgentsRequest),
    UpdateAgent(pb::UpdateAgentRequest),
    SetAvailability(i64, i32),
    Workload(i64),
    CreateTicket(pb::CreateTicketRequest),
    GetTicket(i64),
    ListTickets(pb::ListTicketsRequest),
    SearchTickets(pb::SearchTicketsRequest),
    History(pb::GetTicketHistoryRequest),
    UpdateTicket(pb::UpdateTicketRequest),
    UpdateStatus(i64, i32, String),
    Assign(i64, i64),
    Transitions(i64),
    AddLog(pb::AddLogRequest),
    ListLogs(pb::ListLogsRequest),
    MarkRead(i64, i64, i32),
    QuickReply(pb::CreateQuickReplyRequest),
    Draft(i64, i64),
    Suggest(i64),
    Webhook(pb::CreateWebhookRequest),
    Replay(i64, i64),
    Ring(i64),
    Signal(i64, String, i32),
}

fn access_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (id(), enm(), num()).prop_map(|(id, feedback, rating)| Call::CloseTicket(pb::CloseTicketRequest {
            id,
            feedback,
            rating
        })),
        id().prop_map(Call::GetAttachment),
        (id(), id(), enm(), id(), any::<bool>(), id()).prop_map(
            |(department_id, assigned_agent_id, min_priority_level, ticket_id, include_messages, resume_after)| {
                Call::Watch(pb::WatchQueueRequest {
                    department_id,
                    assigned_agent_id,
                    min_priority_level,
                    ticket_id,
                    include_messages,
                    resume_after,
                    include_calls: include_messages,
                })
            }
        ),
        (text(), text(), text(), prop_oneof![text(), Just("a decent passphrase".to_owned())]).prop_map(
            |(first_name, last_name, email, password)| Call::Register(pb::RegisterRequest {
                first_name,
                last_name,
                email,
                password
            })
        ),
        (text(), text()).prop_map(|(email, password)| Call::Login(pb::LoginRequest { email, password })),
        text().prop_map(Call::Refresh),
        (id(), prop_oneof![text(), Just("a decent passphrase".to_owned())])
            .prop_map(|(a, p)| Call::SetAgentPassword(a, p)),
        (0u8..5, scope()).prop_map(|(which, scope)| Call::Report(which, scope)),
        (id(), text(), text(), text()).prop_map(|(department_id, title, body, request_id)| {
            let q = pb::QuickReply { department_id, title, body, ..Default::default() };
            Call::QuickReply(pb::CreateQuickReplyRequest { quick_reply: Some(q), request_id })
        }),
        (id(), id()).prop_map(|(t, q)| Call::Draft(t, q)),
        id().prop_map(Call::Suggest),
        (text(), proptest::collection::vec(enm(), 0..3), id(), id()).prop_map(
            |(url, event_kinds, department_id, after_sequence)| {
                let webhook = pb::Webhook { url, event_kinds, department_id, active: false, ..Default::default() };
                Call::Webhook(pb::CreateWebhookRequest {
                    webhook: Some(webhook),
                    after_sequence,
                    request_id: String::new(),
                })
            }
        ),
        (id(), id()).prop_map(|(w, s)| Call::Replay(w, s)),
        id().prop_map(Call::Ring),
        (id(), text(), any::<i32>()).prop_map(|(c, t, i)| Call::Signal(c, t, i)),
    ]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![5 => data_call(), 1 => access_call()]
}

fn data_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (department(), text()).prop_map(|(d, r)| Call::CreateDepartment(pb::CreateDepartmentRequest {
            department: Some(d),
            request_id: r
        })),
        id().prop_map(Call::GetDepartment),
        (num(), text()).prop_map(|(s, t)| Call::ListDepartments(s, t)),
        (department(), mask()).prop_map(|(d, m)| Call::UpdateDepartment(pb::UpdateDepartmentRequest {
            department: Some(d),
            update_mask: m
        })),
        (customer(), text())
            .prop_map(|(c, r)| Call::CreateCustomer(pb::CreateCustomerRequest { customer: Some(c), request_id: r })),
        id().prop_map(Call::GetCustomer),
        (num(), text(), text(), enm()).prop_map(|(page_size, page_token, email, tier)| Call::ListCustomers(
            pb::ListCustomersRequest { page_size, page_token, email, tier }
        )),
        (customer(), mask())
            .prop_map(|(c, m)| Call::UpdateCustomer(pb::UpdateCustomerRequest { customer: Some(c), update_mask: m })),
        (agent(), text())
            .prop_map(|(a, r)| Call::CreateAgent(pb::CreateAgentRequest { agent: Some(a), request_id: r })),
        id().prop_map(Call::GetAgent),
        (num(), text(), id(), enm()).prop_map(|(page_size, page_token, department_id, availability)| Call::ListAgents(
            pb::ListAgentsRequest { page_size, page_token, department_id, availability }
        )),
        (agent(), mask())
            .prop_map(|(a, m)| Call::UpdateAgent(pb::UpdateAgentRequest { agent: Some(a), update_mask: m })),
        (id(), enm()).prop_map(|(i, a)| Call::SetAvailability(i, a)),
        id().prop_map(Call::Workload),
        (id(), id(), enm(), text(), text(), enm(), num(), text()).prop_map(
            |(customer_id, department_id, category, subject, description, severity, impact, request_id)| {
                Call::CreateTicket(pb::CreateTicketRequest {
                    customer_id,
                    department_id,
                    category,
                    subject,
                    description,
                    severity,
                    impact,
                    request_id,
                })
            }
        ),
        id().prop_map(Call::GetTicket),
        (num(), text(), id(), proptest::collection::vec(enm(), 0..3), enm(), enm(), id(), enm()).prop_map(
            |(page_size, page_token, customer_id, statuses, severity, priority_level, department_id, order_by)| {
                Call::ListTickets(pb::ListTicketsRequest {
                    page_size,
                    page_token,
                    customer_id,
                    statuses,
                    severity,
                    priority_level,
                    department_id,
                    assigned_agent_id: 0,
                    order_by,
                })
            }
        ),
        (text(), num(), text(), proptest::collection::vec(enm(), 0..3), id(), enm(), timestamp(), timestamp())
            .prop_map(
                |(
                    query,
                    page_size,
                    page_token,
                    statuses,
                    department_id,
                    priority_level,
                    created_after,
                    created_before,
                )| {
                    Call::SearchTickets(pb::SearchTicketsRequest {
                        query,
                        page_size,
                        page_token,
                        statuses,
                        department_id,
                        priority_level,
                        created_after,
                        created_before,
                    })
                }
            ),
        (id(), num(), text()).prop_map(|(ticket_id, page_size, page_token)| {
            Call::History(pb::GetTicketHistoryRequest { ticket_id, page_size, page_token })
        }),
        (ticket(), mask())
            .prop_map(|(t, m)| Call::UpdateTicket(pb::UpdateTicketRequest { ticket: Some(t), update_mask: m })),
        (id(), enm(), text()).prop_map(|(i, s, e)| Call::UpdateStatus(i, s, e)),
        (id(), id()).prop_map(|(i, a)| Call::Assign(i, a)),
        id().prop_map(Call::Transitions),
        (id(), enm(), id(), text(), enm(), text()).prop_map(
            |(ticket_id, sender_kind, sender_id, body, visibility, request_id)| {
                Call::AddLog(pb::AddLogRequest {
                    ticket_id,
                    sender_kind,
                    sender_id,
                    body,
                    visibility,
                    attachments: vec![],
                    request_id,
                })
            }
        ),
        (id(), num(), text(), any::<bool>()).prop_map(|(ticket_id, page_size, page_token, include_internal)| {
            Call::ListLogs(pb::ListLogsRequest { ticket_id, page_size, page_token, include_internal })
        }),
        (id(), id(), enm()).prop_map(|(t, u, r)| Call::MarkRead(t, u, r)),
    ]
}

async fn perform(app: &mut Clients, call: Call) -> Result<(), tonic::Status> {
    match call {
        Call::CloseTicket(r) => app.tickets.close_ticket(r).await.map(drop),
        Call::GetAttachment(id) => app.logs.get_attachment(pb::GetAttachmentRequest { id }).await.map(drop),
        Call::Watch(r) => {
            let mut stream = app.tickets.watch_queue(r).await?.into_inner();
            match tokio::time::timeout(std::time::Duration::from_secs(5), stream.message()).await {
                Ok(first) => first.map(drop),
                Err(_) => Ok(()),
            }
        }
        Call::Register(r) => app.auth.register(r).await.map(drop),
        Call::Login(r) => app.auth.login(r).await.map(drop),
        Call::Refresh(refresh_token) => app.auth.refresh(pb::RefreshRequest { refresh_token }).await.map(drop),
        Call::SetAgentPassword(agent_id, password) => {
            app.auth.set_agent_password(pb::SetAgentPasswordRequest { agent_id, password }).await.map(drop)
        }
        Call::Report(which, scope) => {
            let r = &mut app.reports;
            match which {
                0 => r.get_resolution_time_report(pb::GetResolutionTimeReportRequest { scope }).await.map(drop),
                1 => r.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest { scope }).await.map(drop),
                2 => r.get_agent_report(pb::GetAgentReportRequest { scope }).await.map(drop),
                3 => r.get_first_response_report(pb::GetFirstResponseReportRequest { scope }).await.map(drop),
                _ => r.get_backlog_report(pb::GetBacklogReportRequest { scope }).await.map(drop),
            }
        }
        Call::CreateDepartment(r) => app.departments.create_department(r).await.map(drop),
        Call::GetDepartment(id) => app.departments.get_department(pb::GetDepartmentRequest { id }).await.map(drop),
        Call::ListDepartments(page_size, page_token) => {
            app.departments.list_departments(pb::ListDepartmentsRequest { page_size, page_token }).await.map(drop)
        }
        Call::UpdateDepartment(r) => app.departments.update_department(r).await.map(drop),
        Call::CreateCustomer(r) => app.customers.create_customer(r).await.map(drop),
        Call::GetCustomer(id) => app.customers.get_customer(pb::GetCustomerRequest { id }).await.map(drop),
        Call::ListCustomers(r) => app.customers.list_customers(r).await.map(drop),
        Call::UpdateCustomer(r) => app.customers.update_customer(r).await.map(drop),
        Call::CreateAgent(r) => app.agents.create_agent(r).await.map(drop),
        Call::GetAgent(id) => app.agents.get_agent(pb::GetAgentRequest { id }).await.map(drop),
        Call::ListAgents(r) => app.agents.list_agents(r).await.map(drop),
        Call::UpdateAgent(r) => app.agents.update_agent(r).await.map(drop),
        Call::SetAvailability(id, availability) => {
            app.agents.set_agent_availability(pb::SetAgentAvailabilityRequest { id, availability }).await.map(drop)
        }
        Call::Workload(id) => app.agents.get_agent_workload(pb::GetAgentWorkloadRequest { id }).await.map(drop),
        Call::CreateTicket(r) => app.tickets.create_ticket(r).await.map(drop),
        Call::GetTicket(id) => app.tickets.get_ticket(pb::GetTicketRequest { id }).await.map(drop),
        Call::ListTickets(r) => app.tickets.list_tickets(r).await.map(drop),
        Call::SearchTickets(r) => app.tickets.search_tickets(r).await.map(drop),
        Call::History(r) => app.tickets.get_ticket_history(r).await.map(drop),
        Call::UpdateTicket(r) => app.tickets.update_ticket(r).await.map(drop),
        Call::UpdateStatus(id, status, etag) => {
            app.tickets.update_ticket_status(pb::UpdateTicketStatusRequest { id, status, etag }).await.map(drop)
        }
        Call::Assign(id, agent_id) => {
            app.tickets.assign_ticket(pb::AssignTicketRequest { id, agent_id }).await.map(drop)
        }
        Call::Transitions(id) => {
            app.tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id }).await.map(drop)
        }
        Call::AddLog(r) => app.logs.add_log(r).await.map(drop),
        Call::ListLogs(r) => app.logs.list_logs(r).await.map(drop),
        Call::MarkRead(ticket_id, up_to_log_id, reader_kind) => {
            app.logs.mark_read(pb::MarkReadRequest { ticket_id, up_to_log_id, reader_kind }).await.map(drop)
        }
        Call::QuickReply(r) => app.replies.create_quick_reply(r).await.map(drop),
        Call::Draft(ticket_id, quick_reply_id) => {
            app.replies.draft_reply(pb::DraftReplyRequest { ticket_id, quick_reply_id }).await.map(drop)
        }
        Call::Suggest(ticket_id) => {
            app.replies.suggest_replies(pb::SuggestRepliesRequest { ticket_id }).await.map(drop)
        }
        Call::Webhook(r) => app.webhooks.create_webhook(r).await.map(drop),
        Call::Replay(webhook_id, after_sequence) => {
            app.webhooks.replay_webhook(pb::ReplayWebhookRequest { webhook_id, after_sequence }).await.map(drop)
        }
        Call::Ring(ticket_id) => app.calls.start_call(pb::StartCallRequest { ticket_id }).await.map(drop),
        Call::Signal(call_id, candidate, sdp_m_line_index) => {
            let c = pb::IceCandidate { candidate, sdp_mid: String::new(), sdp_m_line_index };
            let payload = Some(pb::send_call_signal_request::Payload::Candidate(c));
            app.calls.send_call_signal(pb::SendCallSignalRequest { call_id, payload }).await.map(drop)
        }
    }
}

#[test]
fn random_requests_to_every_rpc_never_fail_internally() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(async {
        let mut app = spawn_app().await;
        let d = app.department("Support", ConversationMode::Chat).await;
        let c = app.customer("ada@example.com", CustomerTier::Paid).await;
        app.agent("grace@support.example", d.id).await;
        app.ticket(c.id, d.id, Severity::Major, 3).await;
        app
    });
    let cases = std::env::var("SUPPORT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let app = std::cell::RefCell::new(app);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&(who(), call()), |(who, call)| {
        let shown = format!("{who:?} {call:?}");
        let channel = app.borrow().channel.clone();
        let mut clients = match &who {
            Who::Anonymous => Clients::new(channel, None),
            Who::Garbage(t) => Clients::new(channel, Some(t)),
            Who::Principal(p) => Clients::new(channel, Some(&token_for(p))),
        };
        let outcome = rt.block_on(perform(&mut clients, call));
        if let Err(status) = outcome {
            prop_assert!(
                !matches!(status.code(), Code::Internal | Code::Unknown),
                "{} for {}: {}",
                status.code(),
                &shown[..shown.len().min(300)],
                status.message()
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let mut app = app.into_inner();
    rt.block_on(async {
        let alive = app.departments.list_departments(pb::ListDepartmentsRequest::default()).await;
        assert!(alive.is_ok(), "the server must still answer: {alive:?}");
    });
    drop(app);
}

/// Sends raw bytes as a request body, to test what the server makes of malformed messages.
#[derive(Debug, Clone, Default)]
struct RawCodec;

#[derive(Debug)]
struct RawEncoder;

#[derive(Debug)]
struct RawDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        buf.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        Ok(Some(buf.copy_to_bytes(buf.remaining()).to_vec()))
    }
}

const METHODS: &[&str] = &[
    "/support.v1.DepartmentService/CreateDepartment",
    "/support.v1.DepartmentService/UpdateDepartment",
    "/support.v1.CustomerService/CreateCustomer",
    "/support.v1.CustomerService/ListCustomers",
    "/support.v1.AgentService/CreateAgent",
    "/support.v1.AgentService/SetAgentAvailability",
    "/support.v1.TicketService/CreateTicket",
    "/support.v1.TicketService/ListTickets",
    "/support.v1.TicketService/SearchTickets",
    "/support.v1.TicketService/GetTicketHistory",
    "/support.v1.ReplyService/CreateQuickReply",
    "/support.v1.ReplyService/SuggestReplies",
    "/support.v1.WebhookService/CreateWebhook",
    "/support.v1.CallService/SendCallSignal",
    "/support.v1.TicketService/UpdateTicket",
    "/support.v1.LogService/AddLog",
    "/support.v1.LogService/MarkRead",
];

#[test]
fn malformed_messages_are_invalid_argument_not_internal() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(spawn_app());
    let mut runner = TestRunner::new(Config { cases: 300, failure_persistence: None, ..Config::default() });
    let bytes = (prop::sample::select(METHODS), proptest::collection::vec(any::<u8>(), 0..64));
    let result = runner.run(&bytes, |(method, body)| {
        let status = rt.block_on(async {
            let mut grpc = tonic::client::Grpc::new(crate::helpers::authed(
                app.channel.clone(),
                Some(&crate::helpers::service_token()),
            ));
            grpc.ready().await.unwrap();
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
            grpc.unary(tonic::Request::new(body.clone()), path, RawCodec).await.err()
        });
        if let Some(status) = status {
            prop_assert!(!matches!(status.code(), Code::Internal | Code::Unknown), "{method} {body:?}: {status:?}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Truncated varint: definitely not a message.
    let status = rt.block_on(async {
        let mut grpc = tonic::client::Grpc::new(crate::helpers::authed(
            app.channel.clone(),
            Some(&crate::helpers::service_token()),
        ));
        grpc.ready().await.unwrap();
        let path = tonic::codegen::http::uri::PathAndQuery::from_static("/support.v1.CustomerService/GetCustomer");
        grpc.unary(tonic::Request::new(vec![0x08, 0xff]), path, RawCodec).await.unwrap_err()
    });
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    drop(app);
}
