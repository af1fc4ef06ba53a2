//! Tickets: create, updates with re-scoring, status moves. Reads are in [`super::ticket_list`].

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QuerySelect};

use super::assignment::{Announce, auto_assign, drain_backlog, lock_department_agents};
use super::entity::{customer, ticket as row};
use super::idempotency::IdempotencyKey;
use super::ticket_rows::{check_scope, insert_row, set_priority, to_domain, update_row};
use super::{Repo, agents::require_department, check_version, events, found, stored};
use crate::domain::access::TicketScope;
use crate::domain::event::EventKind;
use crate::domain::priority::PriorityInputs;
use crate::domain::workflow;
use crate::domain::*;
use crate::error::{AppError, AppResult};

async fn require_customer(conn: &impl ConnectionTrait, id: i64) -> AppResult<customer::Model> {
    found(customer::Entity::find_by_id(id).one(conn).await?, "customer", id)
}

fn tier_of(c: &customer::Model) -> AppResult<Tier> {
    stored(Tier::parse, "customers.tier", &c.tier)
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
