//! Tickets: create, read, the filtered queue, updates with re-scoring, status moves.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, TryIntoModel,
};
use serde_json::Value;

use super::assignment::{Announce, auto_assign, drain_backlog, lock_department_agents};
use super::entity::{customer, ticket as row};
use super::idempotency::IdempotencyKey;
use super::{Repo, Rules, agents::require_department, check_version, events, found, paging, stored};
use crate::domain::access::TicketScope;
use crate::domain::event::EventKind;
use crate::domain::priority::{Priority, PriorityInputs, PriorityPolicy};
use crate::domain::workflow;
use crate::domain::*;
use crate::error::{AppError, AppResult};

pub(crate) fn to_domain(m: row::Model) -> AppResult<Ticket> {
    Ok(Ticket {
        id: m.id,
        customer_id: m.customer_id,
        department_id: m.department_id,
        category: stored(Category::parse, "tickets.category", &m.category)?,
        severity: stored(Severity::parse, "tickets.severity", &m.severity)?,
        status: stored(Status::parse, "tickets.status", &m.status)?,
        priority: Priority {
            score: m.priority_score,
            level: stored(Level::parse, "tickets.priority_level", &m.priority_level)?,
            severity_points: m.severity_points,
            tier_points: m.tier_points,
            impact_points: m.impact_points,
            aging_points: m.aging_points,
        },
        assignment_reason: m
            .assignment_reason
            .as_deref()
            .map(|r| stored(AssignmentReason::parse, "tickets.assignment_reason", r))
            .transpose()?,
        feedback: m.feedback.as_deref().map(|f| stored(Feedback::parse, "tickets.feedback", f)).transpose()?,
        sla: Sla {
            first_response_due: m.first_response_due_at,
            resolution_due: m.resolution_due_at,
            first_response_breached: m.first_response_breached,
            resolution_breached: m.resolution_breached,
        },
        subject: m.subject,
        description: m.description,
        impact: m.impact,
        assigned_agent_id: m.assigned_agent_id,
        rating: m.rating,
        last_response: m.last_response,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        first_response_at: m.first_response_at,
        resolved_at: m.resolved_at,
        closed_at: m.closed_at,
    })
}

/// Writes a priority, and the SLA due times of its level, into an active model.
pub(crate) fn set_priority(
    am: &mut row::ActiveModel,
    p: &Priority,
    policy: &PriorityPolicy,
    created_at: DateTime<Utc>,
) {
    let (first_response_due, resolution_due) = policy.sla.due(p.level, created_at);
    am.first_response_due_at = Set(Some(first_response_due));
    am.resolution_due_at = Set(Some(resolution_due));
    am.priority_score = Set(p.score);
    am.priority_level = Set(p.level.as_str().to_owned());
    am.severity_points = Set(p.severity_points);
    am.tier_points = Set(p.tier_points);
    am.impact_points = Set(p.impact_points);
    am.aging_points = Set(p.aging_points);
}

async fn require_customer(conn: &impl ConnectionTrait, id: i64) -> AppResult<customer::Model> {
    found(customer::Entity::find_by_id(id).one(conn).await?, "customer", id)
}

fn tier_of(c: &customer::Model) -> AppResult<Tier> {
    stored(Tier::parse, "customers.tier", &c.tier)
}

/// The condition that narrows a ticket query to what `scope` may see (None: everything).
pub(crate) fn within(scope: &TicketScope) -> Option<Condition> {
    use row::Column as C;
    match *scope {
        TicketScope::All => None,
        TicketScope::Customer(c) => Some(Condition::all().add(C::CustomerId.eq(c))),
        TicketScope::Agent { agent_id, department_id } => {
            Some(Condition::any().add(C::DepartmentId.eq(department_id)).add(C::AssignedAgentId.eq(agent_id)))
        }
    }
}

/// Refuses a ticket row outside `scope` (NOT_FOUND for customers, PERMISSION_DENIED for staff).
pub(crate) fn check_scope(scope: &TicketScope, t: &row::Model) -> AppResult<()> {
    Ok(scope.check(t.id, t.customer_id, t.department_id, t.assigned_agent_id)?)
}

/// Writes a new ticket row and returns it as stored, without reading it back: sea-orm's
/// `ActiveModel::insert` selects the row again on MySQL (which has no RETURNING), a round
/// trip inside the transaction that tells nothing the model does not already hold.
pub(crate) async fn insert_row(txn: &DatabaseTransaction, mut am: row::ActiveModel) -> AppResult<row::Model> {
    let id = row::Entity::insert(am.clone()).exec(txn).await?.last_insert_id;
    am.id = Set(id);
    Ok(am.try_into_model()?)
}

/// Writes the changed columns of a ticket the caller holds locked and returns the row as
/// stored, without the read-back of `ActiveModel::update` (see [`insert_row`]).
pub(crate) async fn update_row(txn: &DatabaseTransaction, am: row::ActiveModel) -> AppResult<row::Model> {
    let Some(id) = am.id.clone().take() else {
        return Err(AppError::Internal("a ticket update without the ticket's id".into()));
    };
    row::Entity::update_many().set(am.clone()).filter(row::Column::Id.eq(id)).exec(txn).await?;
    Ok(am.try_into_model()?)
}

/// Loads a ticket for change, locked until the transaction ends.
async fn lock_ticket(txn: &DatabaseTransaction, id: i64) -> AppResult<row::Model> {
    found(row::Entity::find_by_id(id).lock_exclusive().one(txn).await?, "ticket", id)
}

/// Locks the agents of the ticket's department (and of `also`, in department order), then
/// the ticket: the lock order of every transaction that may assign.
async fn lock_with_agents(
    txn: &DatabaseTransaction,
    id: i64,
    also: Option<i64>,
    scope: &TicketScope,
) -> AppResult<row::Model> {
    let seen = found(row::Entity::find_by_id(id).one(txn).await?, "ticket", id)?;
    check_scope(scope, &seen)?;
    let dept = seen.department_id;
    let mut depts = vec![dept];
    depts.extend(also.filter(|d| *d != dept));
    depts.sort_unstable();
    for d in depts {
        lock_department_agents(txn, d).await?;
    }
    let t = lock_ticket(txn, id).await?;
    check_scope(scope, &t)?;
    if t.department_id != dept {
        return Err(AppError::Aborted("the ticket moved to another department meanwhile; retry".into()));
    }
    Ok(t)
}

/// Re-scores a customer's open tickets after a tier change.
pub(crate) async fn rescore_customer_tickets(
    txn: &DatabaseTransaction,
    customer_id: i64,
    tier: Tier,
    rules: &Rules,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let policy = &rules.policy;
    // Bounded: the highest-priority tickets now, the rest by the maintenance job (which
    // scores every open ticket with its customer's tier), so one call writes a bounded
    // number of rows however many tickets the customer opened.
    let open = row::Entity::find()
        .filter(row::Column::CustomerId.eq(customer_id))
        .filter(row::Column::Status.ne(Status::Closed.as_str()))
        .order_by_desc(row::Column::PriorityScore)
        .order_by_asc(row::Column::Id)
        .limit(rules.rescore_per_call)
        .lock_exclusive()
        .all(txn)
        .await?;
    if open.len() as u64 == rules.rescore_per_call {
        tracing::info!(
            customer_id,
            limit = rules.rescore_per_call,
            "tier change: the remaining open tickets are re-scored by the maintenance job"
        );
    }
    for m in open {
        let inputs = PriorityInputs {
            severity: stored(Severity::parse, "tickets.severity", &m.severity)?,
            tier,
            impact: m.impact,
            opened_at: m.created_at,
        };
        let p = policy.score(&inputs, now);
        if p.score == m.priority_score && p.tier_points == m.tier_points {
            continue;
        }
        let version = m.version + 1;
        let created_at = m.created_at;
        let before = m.clone();
        let mut am = m.into_active_model();
        set_priority(&mut am, &p, policy, created_at);
        am.version = Set(version);
        am.updated_at = Set(now);
        let after = update_row(txn, am).await?;
        events::record(txn, EventKind::PriorityChanged, Some(&before), &after, None, now).await?;
    }
    Ok(())
}

impl Repo {
    /// Opens a ticket for an existing customer and department, scores it, sets its SLA due
    /// times and, when automatic assignment is on, gives it to the least-loaded agent.
    #[tracing::instrument(skip_all, fields(customer_id = new.customer_id))]
    pub async fn create_ticket(
        &self,
        new: &NewTicket,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> AppResult<Ticket> {
        if let Some(id) = self.replayed(key).await? {
            return self.get_ticket(id).await;
        }
        let policy = &self.rules.policy;
        let txn = self.begin().await?;
        let customer = require_customer(&txn, new.customer_id).await?;
        require_department(&txn, new.department_id).await?;
        if self.rules.auto_assign {
            // Agents before tickets: the lock order of every assigning transaction.
            lock_department_agents(&txn, new.department_id).await?;
        }
        let inputs =
            PriorityInputs { severity: new.severity, tier: tier_of(&customer)?, impact: new.impact, opened_at: now };
        let priority = policy.score(&inputs, now);
        let mut am = row::ActiveModel {
            customer_id: Set(new.customer_id),
            department_id: Set(new.department_id),
            category: Set(new.category.as_str().to_owned()),
            subject: Set(new.subject.clone()),
            description: Set(new.description.clone()),
            severity: Set(new.severity.as_str().to_owned()),
            impact: Set(new.impact),
            status: Set(Status::Open.as_str().to_owned()),
            assigned_agent_id: Set(None),
            assignment_reason: Set(None),
            first_response_breached: Set(false),
            resolution_breached: Set(false),
            rating: Set(None),
            feedback: Set(None),
            last_response: Set(new.description.clone()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            first_response_at: Set(None),
            resolved_at: Set(None),
            closed_at: Set(None),
            ..Default::default()
        };
        set_priority(&mut am, &priority, policy, now);
        let mut m = insert_row(&txn, am).await?;
        if self.rules.auto_assign {
            m = auto_assign(&txn, m, &self.rules, Announce::No, now).await?;
        }
        // One event for the new ticket, with its assignment if it got one.
        events::record(&txn, EventKind::TicketCreated, None, &m, None, now).await?;
        let id = self.commit_idempotent(txn, key, m.id, now).await?;
        if id == m.id { to_domain(m) } else { self.get_ticket(id).await }
    }

    /// One ticket.
    #[tracing::instrument(skip_all, fields(ticket_id = id))]
    pub async fn get_ticket(&self, id: i64) -> AppResult<Ticket> {
        to_domain(found(row::Entity::find_by_id(id).one(&self.db).await?, "ticket", id)?)
    }

    /// A filtered page of tickets in a stable order, in one query.
    pub async fn list_tickets(
        &self,
        filter: &TicketFilter,
        order: TicketOrder,
        page: &PageRequest,
        scope: &TicketScope,
    ) -> AppResult<Page<Ticket>> {
        use row::Column as C;
        let fp = paging::fingerprint(&(filter, order));
        let mut q = row::Entity::find().limit(page.size + 1);
        if let Some(within) = within(scope) {
            q = q.filter(within);
        }
        if let Some(v) = filter.customer_id {
            q = q.filter(C::CustomerId.eq(v));
        }
        if !filter.statuses.is_empty() {
            q = q.filter(C::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
        }
        if let Some(v) = filter.severity {
            q = q.filter(C::Severity.eq(v.as_str()));
        }
        if let Some(v) = filter.level {
            q = q.filter(C::PriorityLevel.eq(v.as_str()));
        }
        if let Some(v) = filter.department_id {
            q = q.filter(C::DepartmentId.eq(v));
        }
        if let Some(v) = filter.assigned_agent_id {
            q = q.filter(C::AssignedAgentId.eq(v));
        }
        let key = paging_key(order);
        if let Some(t) = &page.token {
            q = q.filter(after(order, &paging::decode(t, &fp)?)?);
        }
        q = match order {
            TicketOrder::Priority => q.order_by_desc(C::PriorityScore).order_by_asc(C::CreatedAt).order_by_asc(C::Id),
            TicketOrder::CreateTime => q.order_by_desc(C::CreatedAt).order_by_desc(C::Id),
        };
        let rows = q.all(&self.db).await?;
        let weight = |r: &row::Model| r.subject.len() + r.description.len() + r.last_response.len() + 512;
        let (rows, next_token) = paging::page_within(rows, page.size, key, &fp, weight);
        Ok(Page { items: rows.into_iter().map(to_domain).collect::<AppResult<_>>()?, next_token })
    }

    /// Applies a patch and re-scores, under optimistic concurrency. A move to another
    /// department drops the assignment and, with automatic assignment on, assigns anew there.
    #[tracing::instrument(skip_all, fields(ticket_id = id))]
    pub async fn update_ticket(
        &self,
        id: i64,
        patch: &TicketPatch,
        etag: Option<i64>,
        scope: &TicketScope,
        now: DateTime<Utc>,
    ) -> AppResult<Ticket> {
        let policy = &self.rules.policy;
        let txn = self.begin().await?;
        if let Some(d) = patch.department_id {
            require_department(&txn, d).await?;
        }
        let current = lock_with_agents(&txn, id, patch.department_id, scope).await?;
        check_version("ticket", etag, current.version)?;
        if current.status == Status::Closed.as_str() {
            return Err(AppError::FailedPrecondition(
                "the ticket is CLOSED, which is final; it cannot be edited".into(),
            ));
        }
        let customer = require_customer(&txn, current.customer_id).await?;
        let severity = match patch.severity {
            Some(s) => s,
            None => stored(Severity::parse, "tickets.severity", &current.severity)?,
        };
        let inputs = PriorityInputs {
            severity,
            tier: tier_of(&customer)?,
            impact: patch.impact.unwrap_or(current.impact),
            opened_at: current.created_at,
        };
        let priority = policy.score(&inputs, now);
        let moved = patch.department_id.is_some_and(|d| d != current.department_id);
        let before = current.clone();
        let version = current.version + 1;
        let created_at = current.created_at;
        let mut am = current.into_active_model();
        if let Some(v) = &patch.subject {
            am.subject = Set(v.clone());
        }
        if let Some(v) = &patch.description {
            am.description = Set(v.clone());
        }
        if let Some(v) = patch.category {
            am.category = Set(v.as_str().to_owned());
        }
        am.severity = Set(severity.as_str().to_owned());
        am.impact = Set(inputs.impact);
        if let (Some(v), true) = (patch.department_id, moved) {
            am.department_id = Set(v);
            am.assigned_agent_id = Set(None);
            am.assignment_reason = Set(None);
        }
        set_priority(&mut am, &priority, policy, created_at);
        am.version = Set(version);
        am.updated_at = Set(now);
        let mut m = update_row(&txn, am).await?;
        let kind = if m.priority_score != before.priority_score {
            EventKind::PriorityChanged
        } else {
            EventKind::TicketUpdated
        };
        events::record(&txn, kind, Some(&before), &m, None, now).await?;
        if moved && self.rules.auto_assign {
            m = auto_assign(&txn, m, &self.rules, Announce::Yes, now).await?;
        }
        self.commit(txn).await?;
        to_domain(m)
    }

    /// Moves a ticket along the staff workflow. Resolving or closing frees its agent's
    /// capacity, so the department's backlog is drained.
    #[tracing::instrument(skip_all, fields(ticket_id = id, to = %to))]
    pub async fn update_status(
        &self,
        id: i64,
        to: Status,
        etag: Option<i64>,
        scope: &TicketScope,
        now: DateTime<Utc>,
    ) -> AppResult<Ticket> {
        let txn = self.begin().await?;
        let current = lock_with_agents(&txn, id, None, scope).await?;
        check_version("ticket", etag, current.version)?;
        let from = stored(Status::parse, "tickets.status", &current.status)?;
        workflow::check_status_move(from, to)?;
        let m = self.finish_move(&txn, current, to, None, now).await?;
        self.commit(txn).await?;
        to_domain(m)
    }

    /// The customer's close: from any status before CLOSED, with feedback and a rating.
    #[tracing::instrument(skip_all, fields(ticket_id = id))]
    pub async fn close_ticket(
        &self,
        id: i64,
        feedback: Feedback,
        rating: i32,
        scope: &TicketScope,
        now: DateTime<Utc>,
    ) -> AppResult<Ticket> {
        let txn = self.begin().await?;
        let current = lock_with_agents(&txn, id, None, scope).await?;
        workflow::check_close(stored(Status::parse, "tickets.status", &current.status)?)?;
        let m = self.finish_move(&txn, current, Status::Closed, Some((feedback, rating)), now).await?;
        self.commit(txn).await?;
        to_domain(m)
    }

    /// Writes a status move (the caller checked it) and drains the backlog if it freed an agent.
    async fn finish_move(
        &self,
        txn: &DatabaseTransaction,
        current: row::Model,
        to: Status,
        verdict: Option<(Feedback, i32)>,
        now: DateTime<Utc>,
    ) -> AppResult<row::Model> {
        let frees_agent = current.assigned_agent_id.is_some() && matches!(to, Status::Resolved | Status::Closed);
        let department_id = current.department_id;
        let version = current.version + 1;
        let breached = current.resolution_due_at.is_some_and(|due| now > due);
        let before = current.clone();
        let mut am = current.into_active_model();
        am.status = Set(to.as_str().to_owned());
        match to {
            Status::Resolved => {
                am.resolved_at = Set(Some(now));
                if breached {
                    am.resolution_breached = Set(true);
                }
            }
            Status::Closed => am.closed_at = Set(Some(now)),
            Status::Open | Status::InProgress => {}
        }
        if let Some((feedback, rating)) = verdict {
            am.feedback = Set(Some(feedback.as_str().to_owned()));
            am.rating = Set(Some(rating));
        }
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = update_row(txn, am).await?;
        events::record(txn, EventKind::StatusChanged, Some(&before), &m, None, now).await?;
        if frees_agent {
            drain_backlog(txn, department_id, &self.rules, now).await?;
        }
        Ok(m)
    }
}

fn time_value(t: &DateTime<Utc>) -> Value {
    Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The sort key of a row in `order`, for page tokens.
fn paging_key(order: TicketOrder) -> impl Fn(&row::Model) -> Vec<Value> {
    move |r| match order {
        TicketOrder::Priority => vec![Value::from(r.priority_score), time_value(&r.created_at), Value::from(r.id)],
        TicketOrder::CreateTime => vec![time_value(&r.created_at), Value::from(r.id)],
    }
}

/// The rows strictly after a decoded key in `order`.
fn after(order: TicketOrder, key: &[Value]) -> AppResult<Condition> {
    use row::Column as C;
    Ok(match order {
        TicketOrder::Priority => {
            let (score, created, id) = (paging::int(key, 0)?, paging::time(key, 1)?, paging::int(key, 2)?);
            Condition::any()
                .add(C::PriorityScore.lt(score))
                .add(Condition::all().add(C::PriorityScore.eq(score)).add(C::CreatedAt.gt(created)))
                .add(Condition::all().add(C::PriorityScore.eq(score)).add(C::CreatedAt.eq(created)).add(C::Id.gt(id)))
        }
        TicketOrder::CreateTime => {
            let (created, id) = (paging::time(key, 0)?, paging::int(key, 1)?);
            Condition::any()
                .add(C::CreatedAt.lt(created))
                .add(Condition::all().add(C::CreatedAt.eq(created)).add(C::Id.lt(id)))
        }
    })
}
