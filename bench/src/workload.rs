//! What the callers ask for, as requests drawn from a seeded generator. The service side
//! ([`Api`]) sends them through the generated clients; the raw side (`crate::raw`) does
//! the same database work with sqlx. Both draw the same [`Draw`] from the same seed.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use support_service::pb;

use crate::client::Clients;
use crate::fixture::Fixture;
use crate::load::Op;

/// The table-driven scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// CreateTicket for a random customer and department.
    CreateTicket,
    /// GetTicket of a random ticket.
    GetTicket,
    /// ListTickets: one department's OPEN and IN_PROGRESS tickets by priority, a page of 50.
    ListTickets,
    /// AddLog: an agent's public reply on a random ticket that is not closed.
    AddLog,
    /// An agent's round: their department's queue page, the top ticket, its messages, a reply.
    Mixed,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::CreateTicket => "create-ticket",
            Kind::GetTicket => "get-ticket",
            Kind::ListTickets => "list-tickets",
            Kind::AddLog => "add-log",
            Kind::Mixed => "mixed",
        }
    }
}

/// One request's random choices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Draw {
    pub(crate) customer: i64,
    pub(crate) department: i64,
    pub(crate) agent: i64,
    pub(crate) ticket: i64,
    pub(crate) open_ticket: i64,
    pub(crate) severity: i32,
    pub(crate) impact: i32,
    pub(crate) nonce: u32,
}

impl Draw {
    pub(crate) fn new(rng: &mut ChaCha8Rng, f: &Fixture) -> Self {
        let (agent, department) = f.agents[rng.random_range(0..f.agents.len())];
        Self {
            customer: rng.random_range(1..=f.customers),
            department,
            agent,
            ticket: rng.random_range(1..=f.tickets),
            open_ticket: f.open_tickets[rng.random_range(0..f.open_tickets.len())],
            severity: rng.random_range(1..=3),
            impact: rng.random_range(1..=5),
            nonce: rng.random(),
        }
    }
}

/// Severity in the API's numbering (1 = CRITICAL ... 3 = MINOR) as stored.
pub(crate) fn severity_name(n: i32) -> &'static str {
    match n {
        1 => "CRITICAL",
        2 => "MAJOR",
        _ => "MINOR",
    }
}

/// The ticket an agent takes from a queue page: one of the page, spread by the draw (not
/// always the top, or every agent of a department would queue on one row lock); any open
/// ticket when the page is empty.
pub(crate) fn pick(page: &[i64], d: &Draw) -> i64 {
    if page.is_empty() { d.open_ticket } else { page[d.nonce as usize % page.len()] }
}

/// The page size of the list scenarios.
pub(crate) const PAGE: i32 = 50;

/// The service side: calls through the generated clients.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub(crate) kind: Kind,
    /// The clients, on one HTTP/2 connection (measured: 4 connections were no faster).
    pub(crate) clients: Clients,
    pub(crate) fixture: std::sync::Arc<Fixture>,
}

fn err(s: tonic::Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

impl Api {
    async fn create(&mut self, d: &Draw) -> Result<(), String> {
        self.clients
            .tickets
            .create_ticket(pb::CreateTicketRequest {
                customer_id: d.customer,
                department_id: d.department,
                category: pb::TicketCategory::Other.into(),
                subject: format!("Bench {}", d.nonce),
                description: "A ticket made by the load generator.".into(),
                severity: d.severity,
                impact: d.impact,
                request_id: String::new(),
            })
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn get(&mut self, id: i64) -> Result<(), String> {
        self.clients.tickets.get_ticket(pb::GetTicketRequest { id }).await.map_err(err)?;
        Ok(())
    }

    async fn list(&mut self, department: i64) -> Result<Vec<pb::Ticket>, String> {
        let page = self
            .clients
            .tickets
            .list_tickets(pb::ListTicketsRequest {
                page_size: PAGE,
                department_id: department,
                statuses: vec![pb::TicketStatus::Open.into(), pb::TicketStatus::InProgress.into()],
                order_by: pb::TicketOrder::Priority.into(),
                ..Default::default()
            })
            .await
            .map_err(err)?
            .into_inner();
        Ok(page.tickets)
    }

    async fn reply(&mut self, ticket: i64, agent: i64, nonce: u32) -> Result<(), String> {
        self.clients
            .logs
            .add_log(pb::AddLogRequest {
                ticket_id: ticket,
                sender_kind: pb::SenderKind::Agent.into(),
                sender_id: agent,
                body: format!("Reply {nonce} from the load generator."),
                visibility: pb::Visibility::Public.into(),
                ..Default::default()
            })
            .await
            .map_err(err)?;
        Ok(())
    }
}

impl Op for Api {
    async fn call(&mut self, rng: &mut ChaCha8Rng) -> Result<(), String> {
        let d = Draw::new(rng, &self.fixture);
        match self.kind {
            Kind::CreateTicket => self.create(&d).await,
            Kind::GetTicket => self.get(d.ticket).await,
            Kind::ListTickets => self.list(d.department).await.map(drop),
            Kind::AddLog => self.reply(d.open_ticket, d.agent, d.nonce).await,
            Kind::Mixed => {
                let queue = self.list(d.department).await?;
                let ticket = pick(&queue.iter().map(|t| t.id).collect::<Vec<_>>(), &d);
                self.get(ticket).await?;
                self.clients
                    .logs
                    .list_logs(pb::ListLogsRequest {
                        ticket_id: ticket,
                        page_size: PAGE,
                        include_internal: true,
                        ..Default::default()
                    })
                    .await
                    .map_err(err)?;
                self.reply(ticket, d.agent, d.nonce).await
            }
        }
    }
}
