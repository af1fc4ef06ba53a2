//! The demo dataset: a realistic, reproducible support history written through the data
//! layer (the same transactions, rules, assignments and events as the API), at the seed's
//! scale (34 agents, 123 customers, 377 tickets, 6,341 messages) or any multiple of it.
//!
//! Tickets arrive over six months (May to October 2026) in five departments of both
//! conversation modes; each gets a conversation that respects the turn rules (agent and
//! customer alternate, with internal notes), sometimes a second or third agent, and most
//! are resolved and closed with feedback and a rating. The last fortnight's tickets are
//! more often still open. One seed gives one dataset, on SQLite and MySQL alike.

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::StreamExt;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::access::TicketScope;
use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::repo::Repo;

/// The seed's figures, multiplied by the scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoPlan {
    /// Multiplier of the seed's scale (at least 1).
    pub scale: u32,
    /// The random seed.
    pub seed: u64,
    /// Tickets written at once (MySQL gains from several; SQLite has one writer).
    pub jobs: usize,
}

impl DemoPlan {
    /// Agents to create.
    pub fn agents(&self) -> usize {
        34 * self.scale as usize
    }
    /// Customers to create.
    pub fn customers(&self) -> usize {
        123 * self.scale as usize
    }
    /// Tickets to open.
    pub fn tickets(&self) -> usize {
        377 * self.scale as usize
    }
    /// Messages to write.
    pub fn messages(&self) -> usize {
        6_341 * self.scale as usize
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Departments.
    pub departments: usize,
    /// Agents.
    pub agents: usize,
    /// Customers.
    pub customers: usize,
    /// Tickets.
    pub tickets: usize,
    /// Messages.
    pub messages: usize,
    /// Tickets closed with a rating.
    pub closed: usize,
}

const DEPARTMENTS: &[(&str, &str, ConversationMode)] = &[
    ("Payments", "Cards, refunds and invoices", ConversationMode::Ticket),
    ("Orders", "Orders, cancellations and returns", ConversationMode::Ticket),
    ("Shipping", "Deliveries and lost parcels", ConversationMode::Ticket),
    ("Accounts", "Sign-in, security and profiles", ConversationMode::Chat),
    ("Technical", "Bugs and outages", ConversationMode::Chat),
];
const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Linus",
    "Hedy",
    "John",
    "Katherine",
    "Tim",
    "Sophie",
    "Niklaus",
    "Joan",
    "Bjarne",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Torvalds",
    "Lamarr",
    "Backus",
    "Johnson",
    "Berners-Lee",
    "Wilson",
    "Wirth",
    "Clarke",
    "Stroustrup",
];
const CITIES: &[&str] = &["London", "Berlin", "Lyon", "Austin", "Toronto", "Osaka", "Lagos", "Lima", "Oslo", "Pune"];
const SUBJECTS: &[(Category, &str)] = &[
    (Category::AccountAccess, "Cannot sign in after password reset"),
    (Category::BugReport, "The app crashes when I open my orders"),
    (Category::OrderCancellation, "Please cancel my order"),
    (Category::OverchargedTransaction, "I was charged twice"),
    (Category::UndeliveredGoods, "My parcel never arrived"),
    (Category::WrongOrder, "I received the wrong item"),
    (Category::Other, "Question about my invoice"),
];
const AGENT_LINES: &[&str] = &[
    "Thanks for reaching out, I'm looking into it now.",
    "Could you send me the order number?",
    "I've escalated this to the team that owns it.",
    "A refund has been issued; it can take 3-5 days to show.",
    "Could you try again and tell me what you see?",
    "This is fixed on our side now.",
];
const CUSTOMER_LINES: &[&str] = &[
    "Here it is: the order number is in my account.",
    "Still not working, I'm afraid.",
    "Any news on this?",
    "That worked, thank you!",
    "I tried again and got the same error.",
    "Thanks for the quick answer.",
];
const NOTES: &[&str] =
    &["Customer is frustrated; prioritise.", "Gateway logs show a duplicate capture.", "Known issue"];

/// Writes the demo dataset into an empty database; `progress` is called once per ticket.
pub async fn seed(repo: &Repo, plan: DemoPlan, mut progress: impl FnMut(usize)) -> AppResult<DemoSummary> {
    let none = PageRequest { size: 1, token: None };
    if !repo.list_departments(&none).await?.items.is_empty() {
        return Err(AppError::FailedPrecondition(
            "the database already holds data; seed the demo into a fresh database (another DATABASE_URL)".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let start = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().unwrap_or_default();
    let end = Utc.with_ymd_and_hms(2026, 10, 31, 18, 0, 0).single().unwrap_or_default();
    let mut summary = DemoSummary::default();

    let mut departments = Vec::new();
    for (name, description, mode) in DEPARTMENTS {
        let new = NewDepartment {
            name: (*name).into(),
            description: (*description).into(),
            mode: *mode,
            customer_calls: false,
        };
        departments.push(repo.create_department(&new, None, start).await?.id);
    }
    summary.departments = departments.len();

    // Agents, spread evenly; one in eight supervises.
    let mut staff: Vec<Vec<i64>> = vec![Vec::new(); departments.len()];
    for i in 0..plan.agents() {
        let d = i % departments.len();
        let new = NewAgent {
            first_name: FIRST.choose(&mut rng).copied().unwrap_or("Sam").into(),
            last_name: LAST.choose(&mut rng).copied().unwrap_or("Smith").into(),
            email: format!("agent{}@support.example", i + 1),
            phone: format!("+44 20 7946 {:04}", i % 10_000),
            department_id: departments[d],
            role: if i % 8 == 7 { AgentRole::Supervisor } else { AgentRole::Agent },
            availability: Availability::Active,
        };
        staff[d].push(repo.create_agent(&new, None, start).await?.id);
    }
    summary.agents = plan.agents();

    let mut customers = Vec::new();
    for i in 0..plan.customers() {
        let tier = match rng.random_range(0..100) {
            0..50 => Tier::Free,
            50..85 => Tier::Paid,
            _ => Tier::Enterprise,
        };
        let new = NewCustomer {
            first_name: FIRST.choose(&mut rng).copied().unwrap_or("Alex").into(),
            last_name: LAST.choose(&mut rng).copied().unwrap_or("Doe").into(),
            email: format!("customer{}@example.com", i + 1),
            phone: String::new(),
            location: CITIES.choose(&mut rng).copied().unwrap_or("London").into(),
            tier,
        };
        customers.push(repo.create_customer(&new, None, start).await?.id);
    }
    summary.customers = customers.len();

    // Arrival times, oldest first, and how many messages each ticket gets.
    let span = (end - start).num_seconds();
    let mut arrivals: Vec<DateTime<Utc>> =
        (0..plan.tickets()).map(|_| start + Duration::seconds(rng.random_range(0..span))).collect();
    arrivals.sort_unstable();
    let counts = message_counts(&mut rng, plan.tickets(), plan.messages());

    // Every ticket's spec is drawn here, in order; each is then written with its own
    // random stream, `plan.jobs` at a time, so the dataset is the same however many run.
    let mut turns = vec![0usize; departments.len()];
    let mut specs = Vec::with_capacity(plan.tickets());
    for (i, (created, messages)) in arrivals.into_iter().zip(counts).enumerate() {
        let d = rng.random_range(0..departments.len());
        let (category, subject) = *SUBJECTS.choose(&mut rng).unwrap_or(&SUBJECTS[0]);
        let new = NewTicket {
            customer_id: *customers.choose(&mut rng).unwrap_or(&customers[0]),
            department_id: departments[d],
            category,
            subject: subject.into(),
            description: format!("{subject}. Reference {}.", 10_000 + i),
            severity: *[Severity::Critical, Severity::Major, Severity::Major, Severity::Minor, Severity::Minor]
                .choose(&mut rng)
                .unwrap_or(&Severity::Minor),
            impact: rng.random_range(1..=5),
        };
        // Work goes round each department's team in order of arrival.
        let lead = staff[d][turns[d] % staff[d].len().max(1)];
        turns[d] += 1;
        let recent = end - created < Duration::days(14);
        specs.push(Spec { new, created, messages, lead, team: staff[d].clone(), recent, seed: rng.random() });
    }
    let mut done = 0;
    let mut written = futures::stream::iter(specs.into_iter().map(|spec| write_ticket(repo, spec)))
        .buffer_unordered(plan.jobs.max(1));
    while let Some(result) = written.next().await {
        let (messages, closed) = result?;
        summary.tickets += 1;
        summary.messages += messages;
        summary.closed += usize::from(closed);
        done += 1;
        progress(done);
    }
    Ok(summary)
}

/// Runs a data-layer call again when it lost a lock conflict (ABORTED: nothing was
/// written), as a client of the API would.
async fn retry<T>(mut call: impl AsyncFnMut() -> AppResult<T>) -> AppResult<T> {
    let mut attempt = 0;
    loop {
        match call().await {
            Err(AppError::Aborted(_) | AppError::Conflict(_)) if attempt < 10 => attempt += 1,
            other => return other,
        }
    }
}

/// One ticket to write.
#[derive(Debug, Clone)]
struct Spec {
    new: NewTicket,
    created: DateTime<Utc>,
    messages: usize,
    lead: i64,
    team: Vec<i64>,
    recent: bool,
    seed: u64,
}

/// Opens, assigns and converses one ticket; returns its messages and whether it closed.
async fn write_ticket(repo: &Repo, spec: Spec) -> AppResult<(usize, bool)> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let t = retry(async || repo.create_ticket(&spec.new, None, spec.created).await).await?;
    let t = if t.assigned_agent_id == Some(spec.lead) {
        t
    } else {
        retry(async || repo.assign_ticket(t.id, Some(spec.lead), "demo", &TicketScope::All, spec.created).await).await?
    };
    let closed = converse(repo, &mut rng, &t, &spec.team, spec.messages, spec.created, spec.recent).await?;
    Ok((spec.messages, closed))
}

/// `tickets` counts adding up to `total`: about 5% zero (never answered), the rest 4 to 29.
fn message_counts(rng: &mut ChaCha8Rng, tickets: usize, total: usize) -> Vec<usize> {
    let mut counts: Vec<usize> =
        (0..tickets).map(|_| if rng.random_range(0..100) < 5 { 0 } else { rng.random_range(4..30) }).collect();
    let live: Vec<usize> = (0..tickets).filter(|i| counts[*i] > 0).collect();
    if live.is_empty() {
        return counts;
    }
    let mut sum: usize = counts.iter().sum();
    while sum < total {
        counts[live[rng.random_range(0..live.len())]] += 1;
        sum += 1;
    }
    while sum > total {
        let i = live[rng.random_range(0..live.len())];
        if counts[i] > 1 {
            counts[i] -= 1;
            sum -= 1;
        }
    }
    counts
}

/// Writes a ticket's conversation and fate; true when it ends closed with a rating.
async fn converse(
    repo: &Repo,
    rng: &mut ChaCha8Rng,
    t: &Ticket,
    team: &[i64],
    messages: usize,
    created: DateTime<Utc>,
    recent: bool,
) -> AppResult<bool> {
    if messages == 0 {
        return Ok(false);
    }
    let lead = t.assigned_agent_id.unwrap_or_default();
    // A second (and rarely a third) agent joins some conversations.
    let mut agents = vec![lead];
    for _ in 0..2 {
        if rng.random_range(0..100) < 22
            && let Some(other) = team.choose(rng).copied().filter(|a| !agents.contains(a))
        {
            agents.push(other);
        }
    }
    let mut now = created + Duration::minutes(rng.random_range(5..480));
    let mut agent_turn = true;
    for n in 0..messages {
        let note = n > 0 && n + 1 < messages && rng.random_range(0..100) < 8;
        let (kind, sender, body, visibility) = if note || agent_turn {
            let who = if n == 0 { lead } else { *agents.choose(rng).unwrap_or(&lead) };
            let line = if note { NOTES.choose(rng) } else { AGENT_LINES.choose(rng) };
            let v = if note { Visibility::Internal } else { Visibility::Public };
            (SenderKind::Agent, who, line.copied().unwrap_or("…"), v)
        } else {
            (
                SenderKind::Customer,
                t.customer_id,
                CUSTOMER_LINES.choose(rng).copied().unwrap_or("…"),
                Visibility::Public,
            )
        };
        let new = NewLog {
            ticket_id: t.id,
            sender_kind: kind,
            sender_id: sender,
            body: body.into(),
            visibility,
            attachments: Vec::new(),
        };
        retry(async || repo.add_log(&new, None, &TicketScope::All, now).await).await?;
        if !note {
            agent_turn = !agent_turn;
        }
        // Mostly quick replies, sometimes overnight.
        now += Duration::minutes(if rng.random_range(0..100) < 75 {
            rng.random_range(2..90)
        } else {
            rng.random_range(60..1_200)
        });
    }
    let fate = rng.random_range(0..100);
    if (recent && fate < 60) || fate < 8 {
        return Ok(false); // still being worked on
    }
    retry(async || repo.update_status(t.id, Status::Resolved, None, &TicketScope::All, now).await).await?;
    if fate < 18 {
        return Ok(false); // resolved, not yet closed by the customer
    }
    let rating = *[5, 5, 5, 4, 4, 4, 3, 2, 1].choose(rng).unwrap_or(&4);
    let feedback = if rating >= 3 { Feedback::Satisfied } else { Feedback::NotSatisfied };
    let at = now + Duration::minutes(rng.random_range(10..2_880));
    retry(async || repo.close_ticket(t.id, feedback, rating, &TicketScope::All, at).await).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_counts_add_up_and_are_reproducible() {
        let a = message_counts(&mut ChaCha8Rng::seed_from_u64(7), 377, 6_341);
        let b = message_counts(&mut ChaCha8Rng::seed_from_u64(7), 377, 6_341);
        assert_eq!(a, b);
        assert_eq!(a.iter().sum::<usize>(), 6_341);
        assert!(a.iter().filter(|c| **c == 0).count() > 5, "some tickets are never answered");
    }
}
