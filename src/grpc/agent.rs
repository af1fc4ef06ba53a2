//! `support.v1.AgentService`.

use tonic::Request;

use super::convert::{optional, requests as req, required};
use super::{RpcResult, State, caller, convert, ok};
use crate::auth::policy;
use crate::domain::Availability;
use crate::domain::validate::{self, Checker};
use crate::error::AppError;
use crate::pb::{self, agent_service_server::AgentService};
use crate::repo::agents::AgentFilter;
use crate::repo::credentials::Account;
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// The agent service.
#[derive(Debug, Clone)]
pub struct AgentApi(pub State);

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn create_agent(&self, request: Request<pb::CreateAgentRequest>) -> RpcResult<pb::CreateAgentResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let id = convert::request_id(&r, &r.request_id);
        let new = req::new_agent(r.agent)?;
        let key = IdempotencyKey::new(&who.subject, "CreateAgent", id?, &new);
        let a = retry_conflicts(|| self.0.repo.create_agent(&new, key.as_ref(), self.0.clock.now())).await?;
        ok(pb::CreateAgentResponse { agent: Some(a.into()) })
    }

    async fn get_agent(&self, request: Request<pb::GetAgentRequest>) -> RpcResult<pb::GetAgentResponse> {
        caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        let (agent, department) = self.0.repo.get_agent_details(id).await?;
        ok(pb::GetAgentResponse { agent: Some(agent.into()), department: Some(department.into()) })
    }

    async fn list_agents(&self, request: Request<pb::ListAgentsRequest>) -> RpcResult<pb::ListAgentsResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let department_id =
            (r.department_id != 0).then(|| c.take("department_id", validate::id(r.department_id))).flatten();
        let filter = AgentFilter { department_id, availability: optional(&mut c, "availability", r.availability) };
        c.finish()?;
        let page = self.0.repo.list_agents(&filter, &req::page(r.page_size, &r.page_token)?).await?;
        ok(pb::ListAgentsResponse {
            agents: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn update_agent(&self, request: Request<pb::UpdateAgentRequest>) -> RpcResult<pb::UpdateAgentResponse> {
        caller(&request)?;
        let u = req::agent_update(request.into_inner())?;
        let a = retry_conflicts(|| self.0.repo.update_agent(u.id, &u.patch, u.etag, self.0.clock.now())).await?;
        if u.patch.role.is_some() || u.patch.department_id.is_some() {
            // Their tokens carry the role and department: this replica stops the old ones now.
            self.0.accounts.reload_standing(Account::Agent(a.id)).await?;
        }
        ok(pb::UpdateAgentResponse { agent: Some(a.into()) })
    }

    async fn set_agent_availability(
        &self,
        request: Request<pb::SetAgentAvailabilityRequest>,
    ) -> RpcResult<pb::SetAgentAvailabilityResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let id = c.take("id", validate::id(r.id));
        let availability: Option<Availability> = required(&mut c, "availability", r.availability);
        c.finish()?;
        let (Some(id), Some(availability)) = (id, availability) else {
            return Err(AppError::Internal("checked fields missing".into()).into());
        };
        policy::own_agent(&who, id)?;
        let (a, handed) =
            retry_conflicts(|| self.0.repo.set_availability(id, availability, self.0.clock.now())).await?;
        let handed_over = handed
            .into_iter()
            .map(|h| pb::HandedOverTicket {
                ticket_id: h.ticket_id,
                subject: h.subject,
                to_agent_id: h.to_agent_id.unwrap_or(0),
                assigned_agent_id: h.assigned_agent_id.unwrap_or(0),
                handover_time: Some(convert::timestamp(h.at)),
            })
            .collect();
        ok(pb::SetAgentAvailabilityResponse { agent: Some(a.into()), handed_over })
    }

    async fn get_agent_workload(
        &self,
        request: Request<pb::GetAgentWorkloadRequest>,
    ) -> RpcResult<pb::GetAgentWorkloadResponse> {
        caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        ok(self.0.repo.workload(id).await?.into())
    }
}
