//! Agents, their availability and workload.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::credentials::{Account, bump_generation, insert_identity, move_identity};
use super::entity::{agent as row, department, ticket};
use super::idempotency::IdempotencyKey;
use super::{Repo, check_version, found, paging};
use crate::domain::{
    Agent, AgentPatch, Availability, Department, Handover, NewAgent, Page, PageRequest, Status, Workload,
};
use crate::error::{AppError, AppResult};

const TAKEN: &str = "an agent with this email already exists";

pub(crate) fn to_domain(m: row::Model) -> AppResult<Agent> {
    Ok(Agent {
        id: m.id,
        role: m.role,
        availability: m.availability,
        first_name: m.first_name,
        last_name: m.last_name,
        email: m.email,
        phone: m.phone,
        department_id: m.department_id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Which agents a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentFilter {
    /// Only this department's.
    pub department_id: Option<i64>,
    /// Only with this availability.
    pub availability: Option<Availability>,
}

/// Fails with NOT_FOUND unless the department exists.
pub(crate) async fn require_department(conn: &impl ConnectionTrait, id: i64) -> AppResult<department::Model> {
    found(department::Entity::find_by_id(id).one(conn).await?, "department", id)
}

impl Repo {
    /// Creates an agent in an existing department.
    #[tracing::instrument(skip_all)]
    pub async fn create_agent(
        &self,
        new: &NewAgent,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> AppResult<Agent> {
        if let Some(id) = self.replayed(key).await? {
            return self.get_agent(id).await;
        }
        let txn = self.begin().await?;
        require_department(&txn, new.department_id).await?;
        let am = row::ActiveModel {
            first_name: Set(new.first_name.clone()),
            last_name: Set(new.last_name.clone()),
            email: Set(new.email.clone()),
            phone: Set(new.phone.clone()),
            department_id: Set(new.department_id),
            role: Set(new.role),
            availability: Set(new.availability),
            last_assigned_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = row::Entity::insert(am)
            .exec(&txn)
            .await
            .map_err(|e| AppError::unique_violation(e, "agent.email", TAKEN))?
            .last_insert_id;
        insert_identity(&txn, &new.email, Account::Agent(id), "agent.email", now).await?;
        let id = self.commit_idempotent(txn, key, id, now).await?;
        self.get_agent(id).await
    }

    /// One agent.
    #[tracing::instrument(skip_all, fields(agent_id = id))]
    pub async fn get_agent(&self, id: i64) -> AppResult<Agent> {
        to_domain(found(row::Entity::find_by_id(id).one(&self.db).await?, "agent", id)?)
    }

    /// One agent with their department.
    #[tracing::instrument(skip_all, fields(agent_id = id))]
    pub async fn get_agent_details(&self, id: i64) -> AppResult<(Agent, Department)> {
        let agent = found(row::Entity::find_by_id(id).one(&self.db).await?, "agent", id)?;
        let dept = require_department(&self.db, agent.department_id).await?;
        Ok((to_domain(agent)?, super::departments::to_domain(dept)?))
    }

    /// A filtered page of agents by id.
    pub async fn list_agents(&self, filter: &AgentFilter, page: &PageRequest) -> AppResult<Page<Agent>> {
        let fp = paging::fingerprint(filter);
        let mut q = row::Entity::find().order_by_asc(row::Column::Id).limit(page.size + 1);
        if let Some(d) = filter.department_id {
            q = q.filter(row::Column::DepartmentId.eq(d));
        }
        if let Some(a) = filter.availability {
            q = q.filter(row::Column::Availability.eq(a));
        }
        if let Some(t) = &page.token {
            q = q.filter(row::Column::Id.gt(paging::int(&paging::decode(t, &fp)?, 0)?));
        }
        let rows = q.all(&self.db).await?;
        let (rows, next_token) = paging::page(rows, page.size, |r| vec![Value::from(r.id)], &fp);
        Ok(Page { items: rows.into_iter().map(to_domain).collect::<AppResult<_>>()?, next_token })
    }

    /// Applies a patch under optimistic concurrency.
    #[tracing::instrument(skip_all, fields(agent_id = id))]
    pub async fn update_agent(
        &self,
        id: i64,
        patch: &AgentPatch,
        etag: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<Agent> {
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "agent", id)?;
        check_version("agent", etag, current.version)?;
        if let Some(d) = patch.department_id {
            require_department(&txn, d).await?;
        }
        let version = current.version + 1;
        let (current_department, current_role) = (current.department_id, current.role);
        let mut am = current.into_active_model();
        if let Some(v) = &patch.first_name {
            am.first_name = Set(v.clone());
        }
        if let Some(v) = &patch.last_name {
            am.last_name = Set(v.clone());
        }
        if let Some(v) = &patch.email {
            am.email = Set(v.clone());
        }
        if let Some(v) = &patch.phone {
            am.phone = Set(v.clone());
        }
        if let Some(v) = patch.department_id {
            am.department_id = Set(v);
        }
        if let Some(v) = patch.role {
            am.role = Set(v);
        }
        am.version = Set(version);
        am.updated_at = Set(now);
        let moved = patch.department_id.is_some_and(|d| d != current_department);
        let demoted = patch.role.is_some_and(|r| r != current_role);
        let m = am.update(&txn).await.map_err(|e| AppError::unique_violation(e, "agent.email", TAKEN))?;
        if let Some(email) = &patch.email {
            move_identity(&txn, Account::Agent(id), email, "agent.email", now).await?;
        }
        // The agent's tokens carry the role and department: old ones must stop working.
        if moved || demoted {
            bump_generation(&txn, Account::Agent(id)).await?;
        }
        self.commit(txn).await?;
        to_domain(m)
    }

    /// Puts an agent on or off shift. Going OFF returns the agent's not-yet-answered (OPEN)
    /// tickets to the department and hands them to agents with room; coming back ACTIVE
    /// drains the department's backlog.
    #[tracing::instrument(skip_all, fields(agent_id = id))]
    pub async fn set_availability(
        &self,
        id: i64,
        availability: Availability,
        now: DateTime<Utc>,
    ) -> AppResult<(Agent, Vec<Handover>)> {
        let txn = self.begin().await?;
        let dept = found(row::Entity::find_by_id(id).one(&txn).await?, "agent", id)?.department_id;
        let agents = super::assignment::lock_department_agents(&txn, dept).await?;
        let Some(current) = agents.into_iter().find(|a| a.id == id) else {
            return Err(AppError::Aborted("the agent moved to another department meanwhile; retry".into()));
        };
        if current.availability == availability {
            txn.commit().await?;
            return Ok((to_domain(current)?, Vec::new()));
        }
        let version = current.version + 1;
        let mut am = current.into_active_model();
        am.availability = Set(availability);
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await?;
        match availability {
            Availability::Off => {
                super::calls::fail_agent_calls(&txn, id, "the agent went OFF", now).await?;
                super::assignment::release_agent(&txn, id, dept, &self.rules, now).await?
            }
            Availability::Active => super::assignment::drain_backlog(&txn, dept, &self.rules, now).await?,
        };
        // Back: what was handed over meanwhile, as it stands after the backlog drained.
        let handovers = match availability {
            Availability::Active => super::assignment::take_handovers(&txn, id).await?,
            Availability::Off => Vec::new(),
        };
        self.commit(txn).await?;
        Ok((to_domain(m)?, handovers))
    }

    /// Counts an agent's assigned tickets by status in one grouped query.
    #[tracing::instrument(skip_all, fields(agent_id = id))]
    pub async fn workload(&self, id: i64) -> AppResult<Workload> {
        found(row::Entity::find_by_id(id).one(&self.db).await?, "agent", id)?;
        let rows: Vec<(Status, i64)> = ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Status)
            .column_as(ticket::Column::Id.count(), "n")
            .filter(ticket::Column::AssignedAgentId.eq(id))
            .group_by(ticket::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let counts = Status::ALL
            .iter()
            .map(|s| (*s, rows.iter().find(|(status, _)| status == s).map_or(0, |(_, n)| *n)))
            .collect();
        Ok(Workload { agent_id: id, counts })
    }
}
