//! Ticket rows: to and from the domain, the scope condition, and writes without a
//! read-back. A leaf: every module that touches tickets uses it, and it uses none of them.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait,
    TryIntoModel,
};

use super::direct::Direct;
use super::entity::ticket as row;
use super::found;
use super::prebuilt::{Prebuilt, PrebuiltInsert};
use super::txn::Txn;
use crate::domain::access::TicketScope;
use crate::domain::priority::Priority;
use crate::domain::*;
use crate::error::{AppError, AppResult};

/// The ticket `select` finds, if any, decoded by position ([`row::ByPosition`]).
pub(crate) async fn one(
    select: sea_orm::Select<row::Entity>,
    conn: &impl sea_orm::ConnectionTrait,
) -> Result<Option<row::Model>, sea_orm::DbErr> {
    Ok(select.into_model::<row::ByPosition>().one(conn).await?.map(|r| r.0))
}

/// The ticket `id`, or NOT_FOUND naming it.
pub(crate) async fn read(conn: &impl Direct, id: i64) -> AppResult<row::Model> {
    found(by_id(conn, id, Lock::No).await?, "ticket", id)
}

/// The ticket `id`, locked until the transaction ends, or NOT_FOUND naming it.
pub(crate) async fn lock(txn: &Txn, id: i64) -> AppResult<row::Model> {
    found(by_id(txn, id, Lock::Exclusive).await?, "ticket", id)
}

#[derive(Clone, Copy)]
enum Lock {
    No,
    Exclusive,
}

/// The ticket `id`, read with a statement built once ([`Prebuilt`]).
async fn by_id(conn: &impl Direct, id: i64, lock: Lock) -> Result<Option<row::Model>, sea_orm::DbErr> {
    let row = BY_ID[lock as usize].one(conn, by_id_values(id), || by_id_select(id, lock)).await?;
    row.map(|r| row::ByPosition::from_query_result(&r, "").map(|r| r.0)).transpose()
}

static BY_ID: [Prebuilt; 2] = [Prebuilt::new(), Prebuilt::new()];

/// [`by_id_select`]'s values, in the order of their placeholders.
fn by_id_values(id: i64) -> Vec<sea_orm::Value> {
    vec![id.into(), 1u64.into()]
}

/// What `Select::one` sends for the ticket `id`: its SELECT with LIMIT 1.
fn by_id_select(id: i64, lock: Lock) -> sea_orm::sea_query::SelectStatement {
    let mut select = row::Entity::find_by_id(id).limit(1);
    if let Lock::Exclusive = lock {
        select = select.lock_exclusive();
    }
    select.into_query()
}

/// Ticket rows, decoded by position ([`row::ByPosition`]).
pub(crate) fn decode_all(rows: &[sea_orm::QueryResult]) -> Result<Vec<row::Model>, sea_orm::DbErr> {
    rows.iter().map(|r| row::ByPosition::from_query_result(r, "").map(|r| r.0)).collect()
}

/// What the history compares (see [`crate::domain::history::changes`]), without copying
/// the ticket's texts.
pub(crate) fn history_facts(m: &row::Model) -> crate::domain::history::Facts {
    crate::domain::history::Facts {
        status: m.status,
        department_id: m.department_id,
        assigned_agent_id: m.assigned_agent_id,
        assignment_reason: m.assignment_reason,
        priority: priority(m),
        sla: sla(m),
    }
}

fn sla(m: &row::Model) -> Sla {
    Sla {
        first_response_due: m.first_response_due_at,
        resolution_due: m.resolution_due_at,
        first_response_breached: m.first_response_breached,
        resolution_breached: m.resolution_breached,
    }
}

fn priority(m: &row::Model) -> Priority {
    Priority {
        score: m.priority_score,
        level: m.priority_level,
        severity_points: m.severity_points,
        tier_points: m.tier_points,
        impact_points: m.impact_points,
        aging_points: m.aging_points,
    }
}

pub(crate) fn to_domain(m: row::Model) -> AppResult<Ticket> {
    Ok(Ticket {
        id: m.id,
        customer_id: m.customer_id,
        department_id: m.department_id,
        category: m.category,
        severity: m.severity,
        status: m.status,
        priority: priority(&m),
        assignment_reason: m.assignment_reason,
        feedback: m.feedback,
        sla: sla(&m),
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
pub(crate) async fn insert_row(txn: &Txn, mut am: row::ActiveModel) -> AppResult<row::Model> {
    let id = INSERT.exec_one(txn, am.clone()).await?;
    am.id = Set(id);
    Ok(am.try_into_model()?)
}

static INSERT: PrebuiltInsert = PrebuiltInsert::new();

/// Writes the changed columns of a ticket the caller holds locked and returns the row as
/// stored, without the read-back of `ActiveModel::update` (see [`insert_row`]).
pub(crate) async fn update_row(txn: &Txn, am: row::ActiveModel) -> AppResult<row::Model> {
    let Some(id) = am.id.clone().take() else {
        return Err(AppError::Internal("a ticket update without the ticket's id".into()));
    };
    row::Entity::update_many().set(am.clone()).filter(row::Column::Id.eq(id)).exec(txn).await?;
    Ok(am.try_into_model()?)
}

/// A new ticket's row (its id given by the database).
pub(crate) fn new_row(t: &Ticket) -> row::ActiveModel {
    let mut am = row::ActiveModel {
        customer_id: Set(t.customer_id),
        department_id: Set(t.department_id),
        category: Set(t.category),
        subject: Set(t.subject.clone()),
        description: Set(t.description.clone()),
        severity: Set(t.severity),
        impact: Set(t.impact),
        status: Set(t.status),
        assigned_agent_id: Set(t.assigned_agent_id),
        assignment_reason: Set(t.assignment_reason),
        rating: Set(t.rating),
        feedback: Set(t.feedback),
        last_response: Set(t.last_response.clone()),
        version: Set(t.version),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
        first_response_at: Set(t.first_response_at),
        resolved_at: Set(t.resolved_at),
        closed_at: Set(t.closed_at),
        ..Default::default()
    };
    set_decided(&mut am, t);
    am
}

/// The priority and SLA columns of a decided ticket.
fn set_decided(am: &mut row::ActiveModel, t: &Ticket) {
    am.priority_score = Set(t.priority.score);
    am.priority_level = Set(t.priority.level);
    am.severity_points = Set(t.priority.severity_points);
    am.tier_points = Set(t.priority.tier_points);
    am.impact_points = Set(t.priority.impact_points);
    am.aging_points = Set(t.priority.aging_points);
    am.first_response_due_at = Set(t.sla.first_response_due);
    am.resolution_due_at = Set(t.sla.resolution_due);
    am.first_response_breached = Set(t.sla.first_response_breached);
    am.resolution_breached = Set(t.sla.resolution_breached);
}

/// Sets, on the row of `before`, the columns that `after` changed: the UPDATE writes only
/// what the decision changed.
pub(crate) fn set_changes(am: &mut row::ActiveModel, before: &Ticket, after: &Ticket) {
    macro_rules! changed {
        ($field:ident, $column:ident) => {
            if before.$field != after.$field {
                am.$column = Set(after.$field.clone());
            }
        };
        ($field:ident, $column:ident, $map:expr) => {
            if before.$field != after.$field {
                am.$column = Set($map(&after.$field));
            }
        };
    }
    changed!(subject, subject);
    changed!(description, description);
    changed!(category, category);
    changed!(severity, severity);
    changed!(impact, impact);
    changed!(department_id, department_id);
    changed!(status, status);
    changed!(assigned_agent_id, assigned_agent_id);
    changed!(assignment_reason, assignment_reason);
    changed!(rating, rating);
    changed!(feedback, feedback);
    changed!(last_response, last_response);
    changed!(version, version);
    changed!(updated_at, updated_at);
    changed!(first_response_at, first_response_at);
    changed!(resolved_at, resolved_at);
    changed!(closed_at, closed_at);
    if before.priority != after.priority || before.sla != after.sla {
        set_decided(am, after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_ticket_is_inserted_with_the_statement_built_for_its_row() {
        use crate::domain::{AssignmentReason, NewTicket, Tier, priority::PriorityPolicy};
        let open = Ticket::open(&NewTicket::sample(), Tier::Paid, &PriorityPolicy::default(), chrono::Utc::now());
        let assigned = Ticket {
            assigned_agent_id: Some(4),
            assignment_reason: Some(AssignmentReason::AutoLeastLoaded),
            ..open.clone()
        };
        for t in [open, assigned] {
            assert!(INSERT.is_rebuilt_by(&[new_row(&t)]));
        }
    }

    #[test]
    fn a_read_by_id_sends_the_select_built_for_its_id() {
        for lock in [Lock::No, Lock::Exclusive] {
            for id in [7, 1 << 40] {
                assert!(BY_ID[lock as usize].is_rebuilt_by(by_id_values(id), || by_id_select(id, lock)));
            }
        }
    }
}
