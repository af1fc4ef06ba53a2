//! Assignment of tickets to agents.
//!
//! - Manual: to a named agent, who must exist, be ACTIVE and work in the ticket's
//!   department.
//! - Automatic (on create when enabled, and on request): to the ACTIVE agent of the
//!   department with the fewest open (OPEN or IN_PROGRESS) assigned tickets, below the
//!   capacity limit; ties go to the agent idle longest (oldest last assignment, never
//!   assigned first), then the lowest id.
//! - Backlog drain: when an agent becomes ACTIVE or frees capacity, the department's
//!   unassigned open tickets are handed out in queue order.
//!
//! Every pick first locks all agents of the department (in id order), so concurrent picks
//! take turns and see each other's assignments (READ COMMITTED), and every transaction
//! that touches agents takes those locks in the same order.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Statement, sea_query::Expr,
};

use super::entity::{agent, assignment, handover, ticket};
use super::ticket_rows;
use super::txn::Txn;
use super::{Repo, Rules, events};
use crate::domain::access::TicketScope;
use crate::domain::assignment::{Candidate, check_named, choose};
use crate::domain::event::EventKind;
use crate::domain::priority::PriorityPolicy;
use crate::domain::ticket::Command;
use crate::domain::{AssignmentReason, Availability, Handover, Status, Ticket};
use crate::error::{AppError, AppResult};

/// Who made an automatic assignment.
pub const SYSTEM: &str = "system";

#[derive(Debug, FromQueryResult)]
struct CandidateRow {
    id: i64,
    last_assigned_at: Option<DateTime<Utc>>,
    open: i64,
}

/// Locks every agent of a department, in id order. The rows are found with a plain read
/// and then locked by primary key: a locking scan could lock (briefly) other departments'
/// agents too when the optimizer prefers a table scan, and deadlock with their writers.
pub(crate) async fn lock_department_agents(txn: &Txn, department_id: i64) -> AppResult<Vec<agent::Model>> {
    let ids: Vec<i64> = agent::Entity::find()
        .select_only()
        .column(agent::Column::Id)
        .filter(agent::Column::DepartmentId.eq(department_id))
        .into_tuple()
        .all(txn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let locked = agent::Entity::find()
        .filter(agent::Column::Id.is_in(ids))
        .order_by_asc(agent::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?;
    // An agent that moved meanwhile is not this department's any more.
    Ok(locked.into_iter().filter(|a| a.department_id == department_id).collect())
}

/// The least-loaded ACTIVE agent of a department below `capacity` (0: no limit), as
/// [`crate::domain::assignment::choose`] decides from each agent's open tickets. The
/// caller holds the department's agent locks.
async fn least_loaded(txn: &Txn, department_id: i64, capacity: u32) -> AppResult<Option<i64>> {
    let stmt = Statement::from_sql_and_values(
        txn.get_database_backend(),
        "SELECT a.id AS id, a.last_assigned_at AS last_assigned_at, COUNT(t.id) AS open FROM agents a \
         LEFT JOIN tickets t ON t.assigned_agent_id = a.id AND t.status IN (?, ?) \
         WHERE a.department_id = ? AND a.availability = ? \
         GROUP BY a.id, a.last_assigned_at",
        [Status::Open.into(), Status::InProgress.into(), department_id.into(), Availability::Active.into()],
    );
    let candidates: Vec<Candidate> = CandidateRow::find_by_statement(stmt)
        .all(txn)
        .await?
        .into_iter()
        .map(|r| Candidate {
            agent_id: r.id,
            open: u32::try_from(r.open).unwrap_or(u32::MAX),
            last_assigned_at: r.last_assigned_at,
        })
        .collect();
    Ok(choose(&candidates, capacity))
}

/// Whether an assignment writes its own ASSIGNED event. A new ticket's assignment does
/// not: its one TICKET_CREATED event already carries the assigned ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Announce {
    /// Write an ASSIGNED event.
    Yes,
    /// The caller's event covers it.
    No,
}

/// Gives a ticket to an agent and records the assignment.
pub(crate) async fn assign_to(
    txn: &Txn,
    t: ticket::Model,
    agent_id: i64,
    (reason, announce): (AssignmentReason, Announce),
    by: &str,
    policy: &PriorityPolicy,
    now: DateTime<Utc>,
) -> AppResult<ticket::Model> {
    let ticket_id = t.id;
    let before = t.clone();
    let current = ticket_rows::to_domain(t.clone())?;
    let outcome = current.apply(&Command::Assign { agent_id, reason }, policy, now)?;
    let mut am = t.into_active_model();
    ticket_rows::set_changes(&mut am, &current, &outcome.ticket);
    let m = ticket_rows::update_row(txn, am).await?;
    agent::Entity::update_many()
        .col_expr(agent::Column::LastAssignedAt, Expr::value(now))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(txn)
        .await?;
    let record = assignment::ActiveModel {
        ticket_id: Set(ticket_id),
        agent_id: Set(agent_id),
        reason: Set(reason),
        assigned_by: Set(by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    assignment::Entity::insert(record).exec(txn).await?;
    if announce == Announce::Yes {
        events::record(txn, EventKind::Assigned, Some(&before), &m, None, now).await?;
    }
    Ok(m)
}

/// Assigns to the least-loaded agent, if one has room; otherwise leaves the ticket as it is.
pub(crate) async fn auto_assign(
    txn: &Txn,
    t: ticket::Model,
    rules: &Rules,
    announce: Announce,
    now: DateTime<Utc>,
) -> AppResult<ticket::Model> {
    lock_department_agents(txn, t.department_id).await?;
    match least_loaded(txn, t.department_id, rules.agent_capacity).await? {
        Some(agent_id) => {
            assign_to(txn, t, agent_id, (AssignmentReason::AutoLeastLoaded, announce), SYSTEM, &rules.policy, now).await
        }
        None => Ok(t),
    }
}

/// Hands the department's unassigned open tickets, in queue order, to agents with room.
/// The caller holds the department's agent locks. Returns the tickets assigned.
pub(crate) async fn drain_backlog(
    txn: &Txn,
    department_id: i64,
    rules: &Rules,
    now: DateTime<Utc>,
) -> AppResult<Vec<ticket::Model>> {
    use ticket::Column as C;
    let mut assigned = Vec::new();
    loop {
        let backlog = ticket::Entity::find()
            .filter(C::DepartmentId.eq(department_id))
            .filter(C::AssignedAgentId.is_null())
            .filter(C::Status.is_in([Status::Open, Status::InProgress]))
            .order_by_desc(C::PriorityScore)
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Id)
            .limit(100)
            .lock_exclusive()
            .all(txn)
            .await?;
        let batch = backlog.len();
        for t in backlog {
            let Some(agent_id) = least_loaded(txn, department_id, rules.agent_capacity).await? else {
                return Ok(assigned);
            };
            assigned.push(
                assign_to(
                    txn,
                    t,
                    agent_id,
                    (AssignmentReason::BacklogDrain, Announce::Yes),
                    SYSTEM,
                    &rules.policy,
                    now,
                )
                .await?,
            );
        }
        if batch < 100 {
            return Ok(assigned);
        }
    }
}

/// Returns a ticket to its department's backlog, unassigned.
async fn unassign(txn: &Txn, t: ticket::Model, now: DateTime<Utc>) -> AppResult<ticket::Model> {
    let version = t.version + 1;
    let before = t.clone();
    let mut am = t.into_active_model();
    am.assigned_agent_id = Set(None);
    am.assignment_reason = Set(None);
    am.version = Set(version);
    am.updated_at = Set(now);
    let m = super::ticket_rows::update_row(txn, am).await?;
    events::record(txn, EventKind::TicketUpdated, Some(&before), &m, None, now).await?;
    Ok(m)
}

/// OFF means off: when the customer writes on a ticket whose agent is OFF, the
/// least-loaded ACTIVE agent of the department with room takes it over (HANDOVER, in the
/// ticket's history); with none, it returns to the department's backlog, unassigned, and
/// the first agent to become ACTIVE gets it (BACKLOG_DRAIN).
pub(crate) async fn hand_over_if_off(
    txn: &Txn,
    t: ticket::Model,
    rules: &Rules,
    now: DateTime<Utc>,
) -> AppResult<ticket::Model> {
    let Some(agent_id) = t.assigned_agent_id.filter(|_| t.status != Status::Closed) else { return Ok(t) };
    let Some(off) = agent::Entity::find_by_id(agent_id).one(txn).await?.filter(|a| a.availability == Availability::Off)
    else {
        return Ok(t);
    };
    lock_department_agents(txn, t.department_id).await?;
    let away = format!("{} {} is away", off.first_name, off.last_name);
    let (t, to, note) = match least_loaded(txn, t.department_id, rules.agent_capacity).await? {
        Some(to) => {
            let name =
                agent::Entity::find_by_id(to).one(txn).await?.map(|a| format!("{} {}", a.first_name, a.last_name));
            let reason = (AssignmentReason::Handover, Announce::Yes);
            let t = assign_to(txn, t, to, reason, SYSTEM, &rules.policy, now).await?;
            (t, Some(to), format!("{away}; {} will answer.", name.unwrap_or_else(|| "another agent".into())))
        }
        None => {
            let t = unassign(txn, t, now).await?;
            (t, None, format!("{away}; your message waits for the next agent of the department to become available."))
        }
    };
    // The customer's conversation says who will answer; the agent is told on return.
    super::logs::system_message(txn, &t, note, now).await?;
    let record = handover::ActiveModel {
        agent_id: Set(agent_id),
        ticket_id: Set(t.id),
        to_agent_id: Set(to),
        created_at: Set(now),
        ..Default::default()
    };
    handover::Entity::insert(record).exec(txn).await?;
    Ok(t)
}

/// The tickets handed over from `agent_id` while it was OFF, forgotten once returned:
/// (ticket id, subject, who got it then, who has it now).
pub(crate) async fn take_handovers(txn: &Txn, agent_id: i64) -> AppResult<Vec<Handover>> {
    let rows = handover::Entity::find()
        .filter(handover::Column::AgentId.eq(agent_id))
        .order_by_asc(handover::Column::Id)
        .limit(MAX_HANDOVERS)
        .all(txn)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let tickets: std::collections::HashMap<i64, ticket::Model> = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(rows.iter().map(|r| r.ticket_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    handover::Entity::delete_many().filter(handover::Column::Id.is_in(ids)).exec(txn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let t = tickets.get(&r.ticket_id)?;
            Some(Handover {
                ticket_id: t.id,
                subject: t.subject.clone(),
                to_agent_id: r.to_agent_id,
                assigned_agent_id: t.assigned_agent_id,
                at: r.created_at,
            })
        })
        .collect())
}

/// The most handovers one return reports (older ones are reported on the next).
const MAX_HANDOVERS: u64 = 500;

/// Returns an agent's not-yet-answered (OPEN) tickets to the backlog and hands them to
/// other agents with room. IN_PROGRESS and RESOLVED tickets stay with the agent: the
/// conversation has started and keeps its owner.
pub(crate) async fn release_agent(
    txn: &Txn,
    agent_id: i64,
    department_id: i64,
    rules: &Rules,
    now: DateTime<Utc>,
) -> AppResult<Vec<ticket::Model>> {
    use ticket::Column as C;
    let open = ticket::Entity::find()
        .filter(C::AssignedAgentId.eq(agent_id))
        .filter(C::Status.eq(Status::Open))
        .lock_exclusive()
        .all(txn)
        .await?;
    let mut released = Vec::new();
    for t in open {
        released.push(unassign(txn, t, now).await?);
    }
    let drained = drain_backlog(txn, department_id, rules, now).await?;
    // A released ticket that found no agent stays in the backlog, unassigned.
    let mut changed: Vec<ticket::Model> =
        released.into_iter().filter(|r| !drained.iter().any(|d| d.id == r.id)).collect();
    changed.extend(drained);
    Ok(changed)
}

impl Repo {
    /// Assigns a ticket to `agent_id`, or to the least-loaded active agent of its department.
    #[tracing::instrument(skip_all, fields(ticket_id, agent_id))]
    pub async fn assign_ticket(
        &self,
        ticket_id: i64,
        agent_id: Option<i64>,
        by: &str,
        scope: &TicketScope,
        now: DateTime<Utc>,
    ) -> AppResult<Ticket> {
        let txn = self.begin().await?;
        let seen = ticket_rows::read(&txn, ticket_id).await?;
        ticket_rows::check_scope(scope, &seen)?;
        let dept = seen.department_id;
        let agents = lock_department_agents(&txn, dept).await?;
        let t = ticket_rows::lock(&txn, ticket_id).await?;
        if t.department_id != dept {
            return Err(AppError::Aborted("the ticket moved to another department meanwhile; retry".into()));
        }
        let (agent_id, reason) = match agent_id {
            Some(id) => {
                let agent = match agents.iter().find(|a| a.id == id) {
                    Some(a) => Some(a.clone()),
                    None => agent::Entity::find_by_id(id).one(&txn).await?,
                };
                let agent = agent.map(|a| Ok::<_, AppError>((a.department_id, a.availability))).transpose()?;
                check_named(id, agent, dept)?;
                (id, AssignmentReason::Manual)
            }
            None => {
                let id = least_loaded(&txn, dept, 0).await?.ok_or_else(|| {
                    AppError::FailedPrecondition(format!("department {dept} has no ACTIVE agent to assign to"))
                })?;
                (id, AssignmentReason::AutoLeastLoaded)
            }
        };
        let m = assign_to(&txn, t, agent_id, (reason, Announce::Yes), by, &self.rules.policy, now).await?;
        self.commit(txn).await?;
        ticket_rows::to_domain(m)
    }
}
