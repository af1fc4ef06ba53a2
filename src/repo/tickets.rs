//! Tickets: create, updates with re-scoring, status moves. Reads are in [`super::ticket_list`].

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel, QuerySelect, QueryTrait};

use super::assignment::{Announce, auto_assign, drain_backlog, lock_department_agents};
use super::direct::Direct;
use super::entity::{customer, ticket as row};
use super::idempotency::IdempotencyKey;
use super::prebuilt::Prebuilt;
use super::ticket_rows::{self, check_scope, insert_row, new_row, set_changes, to_domain, update_row};
use super::txn::Txn;
use super::{Repo, agents::require_department, check_version, events, found, search};
use crate::domain::access::TicketScope;
use crate::domain::event::EventKind;
use crate::domain::ticket::{Command, Outcome};
use crate::domain::*;
use crate::error::{AppError, AppResult};

async fn require_customer(conn: &impl ConnectionTrait, id: i64) -> AppResult<customer::Model> {
    found(customer::Entity::find_by_id(id).one(conn).await?, "customer", id)
}

/// The tier of the customer opening a ticket in a department, with both checked in one
/// statement (one round trip where two did): NOT_FOUND naming whichever is missing.
async fn opening_tier(conn: &impl Direct, customer_id: i64, department_id: i64) -> AppResult<Tier> {
    let values = opening_tier_values(customer_id, department_id);
    let row = OPENING_TIER.one(conn, values, || opening_tier_select(customer_id, department_id)).await?;
    let row: Option<(Tier, Option<i64>)> = row.map(|r| r.try_get_many_by_index()).transpose()?;
    let (tier, department) = found(row, "customer", customer_id)?;
    found(department, "department", department_id)?;
    Ok(tier)
}

static OPENING_TIER: Prebuilt = Prebuilt::new();

/// [`opening_tier`]'s SELECT, built once ([`Prebuilt`]).
fn opening_tier_select(customer_id: i64, department_id: i64) -> SelectStatement {
    let department = Expr::cust_with_values("(SELECT id FROM departments WHERE id = ?)", [department_id]);
    customer::Entity::find_by_id(customer_id)
        .select_only()
        .column(customer::Column::Tier)
        .column_as(department, "department_id")
        .limit(1)
        .into_query()
}

/// [`opening_tier_select`]'s values, in the order of their placeholders.
fn opening_tier_values(customer_id: i64, department_id: i64) -> Vec<sea_orm::Value> {
    vec![department_id.into(), customer_id.into(), 1u64.into()]
}

fn tier_of(c: &customer::Model) -> AppResult<Tier> {
    Ok(c.tier)
}

/// Locks the agents of the ticket's department (and of `also`, in department order), then
/// the ticket: the lock order of every transaction that may assign.
async fn lock_with_agents(txn: &Txn, id: i64, also: Option<i64>, scope: &TicketScope) -> AppResult<row::Model> {
    let seen = ticket_rows::read(txn, id).await?;
    check_scope(scope, &seen)?;
    let dept = seen.department_id;
    let mut depts = vec![dept];
    depts.extend(also.filter(|d| *d != dept));
    depts.sort_unstable();
    for d in depts {
        lock_department_agents(txn, d).await?;
    }
    let t = ticket_rows::lock(txn, id).await?;
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
        let txn = self.begin().await?;
        let tier = opening_tier(&txn, new.customer_id, new.department_id).await?;
        if self.rules.auto_assign {
            // Agents before tickets: the lock order of every assigning transaction.
            lock_department_agents(&txn, new.department_id).await?;
        }
        let ticket = Ticket::open(new, tier, &self.rules.policy, now);
        let mut m = insert_row(&txn, new_row(&ticket)).await?;
        search::index_ticket(&txn, m.id, &m.subject, &m.description).await?;
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
        let txn = self.begin().await?;
        if let Some(d) = patch.department_id {
            require_department(&txn, d).await?;
        }
        let current = lock_with_agents(&txn, id, patch.department_id, scope).await?;
        check_version("ticket", etag, current.version)?;
        let tier = tier_of(&require_customer(&txn, current.customer_id).await?)?;
        let command = Command::Edit { patch: patch.clone(), tier };
        let (mut m, outcome) = self.decide(&txn, current, &command, now).await?;
        if patch.subject.is_some() || patch.description.is_some() {
            search::retitle(&txn, m.id, &m.subject, &m.description).await?;
        }
        if outcome.moved && self.rules.auto_assign {
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
        let (m, _) = self.decide(&txn, current, &Command::Move(to), now).await?;
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
        let (m, _) = self.decide(&txn, current, &Command::Close { feedback, rating }, now).await?;
        self.commit(txn).await?;
        to_domain(m)
    }

    /// Asks the domain to decide `command` on a locked ticket row, writes the outcome and its
    /// event, and drains the department's backlog if the outcome freed an agent.
    pub(crate) async fn decide(
        &self,
        txn: &Txn,
        current: row::Model,
        command: &Command,
        now: DateTime<Utc>,
    ) -> AppResult<(row::Model, Outcome)> {
        let mut batch = events::Batch::new(now);
        let decided = self.decide_into(txn, current, command, &mut batch).await?;
        batch.write(txn).await?;
        Ok(decided)
    }

    /// As [`Repo::decide`], at the batch's time, but the outcome's event is added to
    /// `batch`, for the caller to write with its own events. If the outcome frees an agent,
    /// the batch is written before the backlog is drained, so the drained tickets' events
    /// come after it.
    pub(crate) async fn decide_into(
        &self,
        txn: &Txn,
        current: row::Model,
        command: &Command,
        batch: &mut events::Batch,
    ) -> AppResult<(row::Model, Outcome)> {
        let now = batch.now();
        let before = to_domain(current.clone())?;
        let outcome = before.apply(command, &self.rules.policy, now)?;
        let Some(kind) = outcome.event else { return Ok((current, outcome)) };
        let mut am = current.clone().into_active_model();
        set_changes(&mut am, &before, &outcome.ticket);
        let m = update_row(txn, am).await?;
        batch.change(kind, Some(&current), &m, None)?;
        if outcome.frees_agent {
            batch.write(txn).await?;
            drain_backlog(txn, m.department_id, &self.rules, now).await?;
        }
        Ok((m, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_tier_sends_the_select_built_for_its_values() {
        for (customer_id, department_id) in [(7, 2), (1 << 40, 9)] {
            let values = opening_tier_values(customer_id, department_id);
            assert!(OPENING_TIER.is_rebuilt_by(values, || opening_tier_select(customer_id, department_id)));
        }
    }
}
