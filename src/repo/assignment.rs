//! Assignment of tickets to agents: to a named agent, or to the least-loaded ACTIVE agent
//! of the ticket's department (ties go to the agent idle longest, then the lowest id).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, IntoActiveModel, QueryFilter, QuerySelect, Statement, TransactionTrait,
};

use super::entity::{agent, ticket};
use super::{Repo, stored, tickets};
use crate::domain::{AssignmentReason, Availability, Status, Ticket};
use crate::error::{AppError, AppResult};

#[derive(Debug, FromQueryResult)]
struct Candidate {
    id: i64,
}

/// The least-loaded ACTIVE agent of a department, counting OPEN and IN_PROGRESS tickets.
/// The department's active agents are locked first, so concurrent picks take turns.
async fn least_loaded(txn: &DatabaseTransaction, department_id: i64) -> AppResult<Option<i64>> {
    agent::Entity::find()
        .filter(agent::Column::DepartmentId.eq(department_id))
        .filter(agent::Column::Availability.eq(Availability::Active.as_str()))
        .lock_exclusive()
        .all(txn)
        .await?;
    let sql = "SELECT a.id AS id FROM agents a \
               LEFT JOIN tickets t ON t.assigned_agent_id = a.id AND t.status IN (?, ?) \
               WHERE a.department_id = ? AND a.availability = ? \
               GROUP BY a.id, a.last_assigned_at \
               ORDER BY COUNT(t.id) ASC, CASE WHEN a.last_assigned_at IS NULL THEN 0 ELSE 1 END ASC, \
                        a.last_assigned_at ASC, a.id ASC \
               LIMIT 1";
    let stmt = Statement::from_sql_and_values(
        txn.get_database_backend(),
        sql,
        [
            Status::Open.as_str().into(),
            Status::InProgress.as_str().into(),
            department_id.into(),
            Availability::Active.as_str().into(),
        ],
    );
    Ok(Candidate::find_by_statement(stmt).one(txn).await?.map(|c| c.id))
}

impl Repo {
    /// Assigns a ticket to `agent_id`, or to the least-loaded active agent of its department.
    #[tracing::instrument(skip_all, fields(ticket_id, agent_id))]
    pub async fn assign_ticket(&self, ticket_id: i64, agent_id: Option<i64>, now: DateTime<Utc>) -> AppResult<Ticket> {
        let txn = self.db.begin().await?;
        let t =
            super::found(ticket::Entity::find_by_id(ticket_id).lock_exclusive().one(&txn).await?, "ticket", ticket_id)?;
        if stored(Status::parse, "tickets.status", &t.status)? == Status::Closed {
            return Err(AppError::FailedPrecondition(
                "the ticket is CLOSED, which is final; it cannot be assigned".into(),
            ));
        }
        let (agent_id, reason) = match agent_id {
            Some(id) => {
                let a = agent::Entity::find_by_id(id).lock_exclusive().one(&txn).await?.ok_or_else(|| {
                    AppError::FailedPrecondition(format!(
                        "agent {id} does not exist; assign to an agent of department {}",
                        t.department_id
                    ))
                })?;
                if a.department_id != t.department_id {
                    return Err(AppError::FailedPrecondition(format!(
                        "agent {id} works in department {}, not the ticket's department {}",
                        a.department_id, t.department_id
                    )));
                }
                if a.availability != Availability::Active.as_str() {
                    return Err(AppError::FailedPrecondition(format!("agent {id} is OFF and takes no new work")));
                }
                (id, AssignmentReason::Manual)
            }
            None => {
                let id = least_loaded(&txn, t.department_id).await?.ok_or_else(|| {
                    AppError::FailedPrecondition(format!(
                        "department {} has no ACTIVE agent to assign to",
                        t.department_id
                    ))
                })?;
                (id, AssignmentReason::AutoLeastLoaded)
            }
        };
        let version = t.version + 1;
        let mut am = t.into_active_model();
        am.assigned_agent_id = Set(Some(agent_id));
        am.assignment_reason = Set(Some(reason.as_str().to_owned()));
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await?;
        agent::Entity::update_many()
            .col_expr(agent::Column::LastAssignedAt, sea_orm::sea_query::Expr::value(now))
            .filter(agent::Column::Id.eq(agent_id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        tickets::to_domain(m)
    }
}
