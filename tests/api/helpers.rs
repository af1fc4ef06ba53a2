//! `spawn_app()`: a fresh database per test (SQLite file or MariaDB database, chosen by
//! `SUPPORT_TEST_DB`), the real server on 127.0.0.1:0, and typed clients that carry a
//! `service` token by default ([`TestApp::as_`] and [`TestApp::anonymous`] for others).

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use support_service::app::App;
use support_service::auth::token::Tokens;
use support_service::config::Settings;
use support_service::domain::ManualClock;
use support_service::domain::access::{Principal, Role};
use support_service::jobs::Maintenance;
use support_service::pb::{
    self, agent_service_client::AgentServiceClient, auth_service_client::AuthServiceClient,
    call_service_client::CallServiceClient, customer_service_client::CustomerServiceClient,
    department_service_client::DepartmentServiceClient, log_service_client::LogServiceClient,
    reply_service_client::ReplyServiceClient, report_service_client::ReportServiceClient,
    ticket_service_client::TicketServiceClient, webhook_service_client::WebhookServiceClient,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::{Interceptor, interceptor::InterceptedService};
use tonic::transport::Channel;

/// The signing secret every test server (and replica process) uses.
pub const TEST_SECRET: &str = "sUpp0rt-su1te-Zq8rT4vW9xY2kL7mN3pB6cD1fG5hJ0";

/// A token for `who`, signed with [`TEST_SECRET`].
pub fn token_for(who: &Principal) -> String {
    let tokens = Tokens::new(&SecretString::from(TEST_SECRET.to_owned()), Duration::from_secs(3600));
    tokens.mint(who).expect("mint a token")
}

/// The token the default clients carry: an internal service, which sees everything.
pub fn service_token() -> String {
    token_for(&Principal::named(Role::Service, "tests"))
}

/// Adds `authorization: Bearer <token>` to every call (nothing when anonymous).
#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

impl Bearer {
    /// Carrying `token` (None: anonymous).
    pub fn new(token: Option<&str>) -> Self {
        Self(token.map(|t| format!("Bearer {t}").parse().expect("ascii token")))
    }
}

/// A channel whose calls carry a token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// `channel` carrying `token` (None: anonymous).
pub fn authed(channel: Channel, token: Option<&str>) -> Authed {
    InterceptedService::new(channel, Bearer::new(token))
}

/// Which database the suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

pub fn backend() -> Backend {
    match std::env::var("SUPPORT_TEST_DB").as_deref() {
        Ok("mysql") | Ok("mariadb") => Backend::MySql,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("SUPPORT_TEST_DB={other}: use sqlite or mysql"),
    }
}

/// A database made for one test and dropped after it.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    drop_with: Option<(String, String)>,
    file: Option<std::path::PathBuf>,
}

impl TestDb {
    pub async fn create() -> Self {
        let name = format!("support_test_{}", uuid::Uuid::new_v4().simple());
        match backend() {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                Self { url: format!("sqlite://{}?mode=rwc", file.display()), drop_with: None, file: Some(file) }
            }
            Backend::MySql => Self::create_mysql(&mysql_base()).await,
        }
    }

    /// An SQLite file made elsewhere, removed with this value.
    pub fn sqlite_file(file: std::path::PathBuf) -> Self {
        Self { url: format!("sqlite://{}?mode=rwc", file.display()), drop_with: None, file: Some(file) }
    }

    /// A fresh MariaDB database, whatever the suite's backend.
    pub async fn create_mysql(base: &str) -> Self {
        let name = format!("support_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(base)
            .await
            .unwrap_or_else(|e| panic!("MariaDB at {base} cannot be reached: {e}; run scripts/test.sh to set it up"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
            .await
            .expect("create the test database");
        admin.close().await.expect("close admin connection");
        Self { url: format!("{base}/{name}"), drop_with: Some((base.to_owned(), name)), file: None }
    }

    /// The same MariaDB database reached through another host:port.
    pub fn mysql_url_via(&self, host_port: &str) -> String {
        let (base, name) = self.drop_with.as_ref().expect("a MariaDB test database");
        let creds = base
            .strip_prefix("mysql://")
            .and_then(|b| b.rsplit_once('@'))
            .map(|(c, _)| c)
            .expect("mysql://user:pass@host:port");
        format!("mysql://{creds}@{host_port}/{name}")
    }

    /// The host:port of the MariaDB server.
    pub fn mysql_host_port(&self) -> String {
        let (base, _) = self.drop_with.as_ref().expect("a MariaDB test database");
        base.rsplit_once('@').map(|(_, hp)| hp.to_owned()).expect("mysql://user:pass@host:port")
    }
}

/// The MariaDB server the suite uses (`SUPPORT_TEST_MYSQL_URL`, no database part).
pub fn mysql_base() -> String {
    std::env::var("SUPPORT_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://support:support@127.0.0.1:3306".to_owned())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        if let Some((base, name)) = self.drop_with.take() {
            let result = std::thread::spawn(move || {
                let rt =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                rt.block_on(async {
                    let admin = Database::connect(base).await.map_err(|e| e.to_string())?;
                    // The test's server may still hold connections (and open transactions) on
                    // the database: end them, or DROP DATABASE waits on their metadata locks.
                    admin.execute_unprepared("SET SESSION lock_wait_timeout = 20").await.map_err(|e| e.to_string())?;
                    let rows = admin
                        .query_all_raw(sea_orm::Statement::from_string(
                            sea_orm::DatabaseBackend::MySql,
                            format!("SELECT id FROM information_schema.processlist WHERE db = '{name}' AND id <> CONNECTION_ID()"),
                        ))
                        .await
                        .map_err(|e| e.to_string())?;
                    for row in rows {
                        let id: i64 = row.try_get_by_index(0).map_err(|e| e.to_string())?;
                        // A connection may end on its own meanwhile: ignore "unknown thread".
                        let _ = admin.execute_unprepared(&format!("KILL CONNECTION {id}")).await;
                    }
                    admin.execute_unprepared(&format!("DROP DATABASE `{name}`")).await.map_err(|e| e.to_string())?;
                    admin.close().await.map_err(|e| e.to_string())
                })
            })
            .join();
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) if !std::thread::panicking() => panic!("dropping the test database failed: {e}"),
                other => eprintln!("dropping the test database failed: {other:?}"),
            }
        }
    }
}

/// A running server and its clients.
#[allow(dead_code)]
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    /// The admin listener: `/metrics`, `/livez`, `/readyz`.
    pub admin: std::net::SocketAddr,
    pub channel: Channel,
    pub clients: Clients,
    pub clock: ManualClock,
    pub maintenance: Maintenance,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _db: TestDb,
}

/// Another server on a running app's database (a second replica), stopped when dropped.
pub struct Replica {
    pub channel: Channel,
    _shutdown: oneshot::Sender<()>,
}

#[allow(dead_code)]
impl Replica {
    /// Clients of this replica calling as `who`.
    pub fn as_(&self, who: &Principal) -> Clients {
        Clients::new(self.channel.clone(), Some(&token_for(who)))
    }

    /// Clients of this replica carrying `token`.
    pub fn with_token(&self, token: &str) -> Clients {
        Clients::new(self.channel.clone(), Some(token))
    }
}

impl TestApp {
    /// The URL of this app's database.
    #[allow(dead_code)]
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// A second server on this app's database.
    #[allow(dead_code)]
    pub async fn replica(&self, tune: impl FnOnce(&mut Settings)) -> Replica {
        let (addr, _, _, tx, _, _) = start(self._db.url.clone(), tune).await;
        let channel = Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        Replica { channel, _shutdown: tx }
    }

    /// Stops the server and waits for it to drain.
    #[allow(dead_code)]
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tune: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create().await;
    let url = db.url.clone();
    spawn_on(db, url, tune).await
}

/// Serves `db` through `url` (which may reach it indirectly).
pub async fn spawn_on(db: TestDb, url: String, tune: impl FnOnce(&mut Settings)) -> TestApp {
    let (addr, clock, maintenance, tx, server, admin) = start(url, tune).await;
    let channel = Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
    TestApp {
        addr,
        admin,
        clients: TestApp::clients(channel.clone()),
        channel,
        clock,
        maintenance,
        shutdown: Some(tx),
        server: Some(server),
        _db: db,
    }
}

/// A server tuned to serve TLS; the test connects itself.
pub struct TlsApp {
    pub port: u16,
    _shutdown: oneshot::Sender<()>,
    _db: TestDb,
}

/// Serves `db` with settings that configure TLS.
pub async fn spawn_on_tls(db: TestDb, url: String, tune: impl FnOnce(&mut Settings)) -> TlsApp {
    let (addr, _, _, tx, _, _) = start(url, tune).await;
    TlsApp { port: addr.port(), _shutdown: tx, _db: db }
}

/// A started server: its address, clock, maintenance job, stop, task and admin address.
type Started = (
    std::net::SocketAddr,
    ManualClock,
    Maintenance,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    std::net::SocketAddr,
);

async fn start(url: String, tune: impl FnOnce(&mut Settings)) -> Started {
    let mut settings = Settings::with_database(url);
    settings.health_interval_ms = 100;
    settings.shutdown_grace_ms = 2_000;
    settings.auth_secret = Some(SecretString::from(TEST_SECRET.to_owned()));
    // Tests make thousands of calls as one principal; the rate-limit test turns it on.
    settings.rate_limit_per_second = 0;
    tune(&mut settings);
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let app = App::build(settings, Arc::new(clock.clone())).await.expect("build the app");
    let maintenance = app.maintenance();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let admin_addr = admin.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_with_admin(listener, Some(admin), async {
            let _ = rx.await;
        })
        .await
        .expect("server run");
    });
    (addr, clock, maintenance, tx, server, admin_addr)
}

/// Typed clients of every service, all carrying one token.
pub struct Clients {
    pub departments: DepartmentServiceClient<Authed>,
    pub customers: CustomerServiceClient<Authed>,
    pub agents: AgentServiceClient<Authed>,
    pub tickets: TicketServiceClient<Authed>,
    pub logs: LogServiceClient<Authed>,
    pub auth: AuthServiceClient<Authed>,
    pub reports: ReportServiceClient<Authed>,
    pub replies: ReplyServiceClient<Authed>,
    pub webhooks: WebhookServiceClient<Authed>,
    pub calls: CallServiceClient<Authed>,
}

impl Clients {
    /// Clients on `channel` carrying `token` (None: anonymous).
    pub fn new(channel: Channel, token: Option<&str>) -> Self {
        let c = authed(channel, token);
        Clients {
            departments: DepartmentServiceClient::new(c.clone()),
            customers: CustomerServiceClient::new(c.clone()),
            agents: AgentServiceClient::new(c.clone()),
            tickets: TicketServiceClient::new(c.clone()),
            logs: LogServiceClient::new(c.clone()),
            auth: AuthServiceClient::new(c.clone()),
            reports: ReportServiceClient::new(c.clone()),
            replies: ReplyServiceClient::new(c.clone()),
            webhooks: WebhookServiceClient::new(c.clone()),
            calls: CallServiceClient::new(c),
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = Clients;
    fn deref(&self) -> &Clients {
        &self.clients
    }
}

impl std::ops::DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut Clients {
        &mut self.clients
    }
}

// ---- fixtures -------------------------------------------------------------------------

#[allow(dead_code)]
impl TestApp {
    /// Service-token clients for a server that is not this test's own.
    pub fn clients(channel: Channel) -> Clients {
        Clients::new(channel, Some(&service_token()))
    }

    /// Clients calling as `who`.
    pub fn as_(&self, who: &Principal) -> Clients {
        Clients::new(self.channel.clone(), Some(&token_for(who)))
    }

    /// Clients with no token.
    pub fn anonymous(&self) -> Clients {
        Clients::new(self.channel.clone(), None)
    }

    pub fn ticket_request(
        customer_id: i64,
        department_id: i64,
        severity: pb::Severity,
        impact: i32,
    ) -> pb::CreateTicketRequest {
        Clients::ticket_request(customer_id, department_id, severity, impact)
    }
}

#[allow(dead_code)]
impl Clients {
    pub async fn department(&mut self, name: &str, mode: pb::ConversationMode) -> pb::Department {
        let d = pb::Department { name: name.into(), conversation_mode: mode.into(), ..Default::default() };
        self.departments
            .create_department(pb::CreateDepartmentRequest { department: Some(d), request_id: String::new() })
            .await
            .expect("create department")
            .into_inner()
            .department
            .expect("department")
    }

    pub async fn customer(&mut self, email: &str, tier: pb::CustomerTier) -> pb::Customer {
        let c = pb::Customer {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: email.into(),
            tier: tier.into(),
            ..Default::default()
        };
        self.customers
            .create_customer(pb::CreateCustomerRequest { customer: Some(c), request_id: String::new() })
            .await
            .expect("create customer")
            .into_inner()
            .customer
            .expect("customer")
    }

    pub async fn agent(&mut self, email: &str, department_id: i64) -> pb::Agent {
        let a = pb::Agent {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            email: email.into(),
            department_id,
            ..Default::default()
        };
        self.agents
            .create_agent(pb::CreateAgentRequest { agent: Some(a), request_id: String::new() })
            .await
            .expect("create agent")
            .into_inner()
            .agent
            .expect("agent")
    }

    pub fn ticket_request(
        customer_id: i64,
        department_id: i64,
        severity: pb::Severity,
        impact: i32,
    ) -> pb::CreateTicketRequest {
        pb::CreateTicketRequest {
            customer_id,
            department_id,
            category: pb::TicketCategory::BugReport.into(),
            subject: "Checkout fails".into(),
            description: "The pay button answers 500.".into(),
            severity: severity.into(),
            impact,
            request_id: String::new(),
        }
    }

    pub async fn ticket(
        &mut self,
        customer_id: i64,
        department_id: i64,
        severity: pb::Severity,
        impact: i32,
    ) -> pb::Ticket {
        self.tickets
            .create_ticket(Self::ticket_request(customer_id, department_id, severity, impact))
            .await
            .expect("create ticket")
            .into_inner()
            .ticket
            .expect("ticket")
    }

    pub async fn set_status(&mut self, id: i64, status: pb::TicketStatus) -> Result<pb::Ticket, tonic::Status> {
        self.tickets
            .update_ticket_status(pb::UpdateTicketStatusRequest { id, status: status.into(), etag: String::new() })
            .await
            .map(|r| r.into_inner().ticket.expect("ticket"))
    }

    pub async fn assign(&mut self, id: i64, agent_id: i64) -> Result<pb::Ticket, tonic::Status> {
        self.tickets
            .assign_ticket(pb::AssignTicketRequest { id, agent_id })
            .await
            .map(|r| r.into_inner().ticket.expect("ticket"))
    }

    pub async fn get(&mut self, id: i64) -> pb::Ticket {
        self.tickets
            .get_ticket(pb::GetTicketRequest { id })
            .await
            .expect("get ticket")
            .into_inner()
            .ticket
            .expect("ticket")
    }

    pub async fn say(
        &mut self,
        ticket_id: i64,
        kind: pb::SenderKind,
        sender_id: i64,
        body: &str,
    ) -> Result<pb::Log, tonic::Status> {
        let req = pb::AddLogRequest {
            ticket_id,
            sender_kind: kind.into(),
            sender_id,
            body: body.into(),
            ..Default::default()
        };
        self.logs.add_log(req).await.map(|r| r.into_inner().log.expect("log"))
    }

    pub async fn availability(&mut self, id: i64, availability: pb::Availability) {
        self.agents
            .set_agent_availability(pb::SetAgentAvailabilityRequest { id, availability: availability.into() })
            .await
            .expect("set availability");
    }

    pub async fn list_tickets(&mut self, req: pb::ListTicketsRequest) -> pb::ListTicketsResponse {
        self.tickets.list_tickets(req).await.expect("list tickets").into_inner()
    }
}

/// The password the suite's accounts sign in with.
pub const PASSWORD: &str = "a decent passphrase";

/// A sign-up of Ada Lovelace with `email` and [`PASSWORD`].
#[allow(dead_code)]
pub fn register(email: &str) -> pb::RegisterRequest {
    pb::RegisterRequest {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: email.into(),
        password: PASSWORD.into(),
    }
}

/// A sign-in.
#[allow(dead_code)]
pub fn login(email: &str, password: &str) -> pb::LoginRequest {
    pb::LoginRequest { email: email.into(), password: password.into() }
}

/// The field names of a status's BadRequest detail.
#[allow(dead_code)]
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// A TCP proxy in front of MariaDB that a test can cut (the database vanishes: connections
/// reset, as after `kill -9`) or freeze (the database hangs: connections stay open and
/// nothing moves, as under SIGSTOP).
#[allow(dead_code)]
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    frozen: tokio::sync::watch::Sender<bool>,
}

#[allow(dead_code)]
impl Proxy {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, target)
    }

    pub fn serve(listener: TcpListener, target: std::net::SocketAddr) -> Self {
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (frozen, _) = tokio::sync::watch::channel(false);
        let held = conns.clone();
        let freeze = frozen.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let freeze = freeze.clone();
                let handle = tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else { return };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    let up = pump(ri, wo, freeze.subscribe());
                    let down = pump(ro, wi, freeze.subscribe());
                    let _ = tokio::join!(up, down);
                });
                held.lock().unwrap().push(handle);
            }
        });
        Self { addr, task, conns, frozen }
    }

    /// The database vanishes: every connection is reset and new ones are refused.
    pub fn cut(&self) {
        self.task.abort();
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// The database hangs (true) or resumes (false).
    pub fn freeze(&self, frozen: bool) {
        let _ = self.frozen.send(frozen);
    }
}

/// Copies bytes one way, holding them while frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The real binary's log, line by line.
pub type LogLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>;

/// Starts the real binary with its admin listener off, the suite's secret and an info
/// log on a pipe, killed when dropped; `env` adds settings (the database and the listen
/// address among them) or overrides these.
pub fn start_binary(env: &[(&str, &str)]) -> (tokio::process::Child, LogLines) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_support-service"))
        .env("SUPPORT_ADMIN_LISTEN", "off")
        .env("SUPPORT_AUTH_SECRET", TEST_SECRET)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let lines = tokio::io::BufReader::new(child.stderr.take().expect("a piped stderr")).lines();
    (child, lines)
}

/// The first log line containing `needle`, within 30 s (the test fails if the binary
/// exits or stays silent).
pub async fn log_line(lines: &mut LogLines, needle: &str) -> String {
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("the log reads") {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("the service exited before it logged {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("{needle:?} logged within 30 s"))
}
