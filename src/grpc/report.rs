//! `support.v1.ReportService`: the dashboard, computed in the database, for supervisors,
//! admins and services.

use tonic::Request;

use super::convert::reports::scope;
use super::{RpcResult, State, caller, ok};
use crate::pb::{self, report_service_server::ReportService};

/// The report service.
#[derive(Debug, Clone)]
pub struct ReportApi(pub State);

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn get_resolution_time_report(
        &self,
        request: Request<pb::GetResolutionTimeReportRequest>,
    ) -> RpcResult<pb::GetResolutionTimeReportResponse> {
        caller(&request)?;
        let scope = scope(request.into_inner().scope)?;
        ok(self.0.repo.resolution_report(&scope).await?.into())
    }

    async fn get_agents_per_ticket_report(
        &self,
        request: Request<pb::GetAgentsPerTicketReportRequest>,
    ) -> RpcResult<pb::GetAgentsPerTicketReportResponse> {
        caller(&request)?;
        let scope = scope(request.into_inner().scope)?;
        let buckets = self.0.repo.agents_per_ticket(&scope).await?;
        ok(pb::GetAgentsPerTicketReportResponse {
            buckets: buckets
                .into_iter()
                .map(|(agent_count, ticket_count)| pb::AgentsPerTicketBucket { agent_count, ticket_count })
                .collect(),
        })
    }

    async fn get_agent_report(
        &self,
        request: Request<pb::GetAgentReportRequest>,
    ) -> RpcResult<pb::GetAgentReportResponse> {
        caller(&request)?;
        let scope = scope(request.into_inner().scope)?;
        let rows = self.0.repo.agent_figures(&scope).await?;
        ok(pb::GetAgentReportResponse { rows: rows.into_iter().map(Into::into).collect() })
    }

    async fn get_first_response_report(
        &self,
        request: Request<pb::GetFirstResponseReportRequest>,
    ) -> RpcResult<pb::GetFirstResponseReportResponse> {
        caller(&request)?;
        let scope = scope(request.into_inner().scope)?;
        let stats = self.0.repo.first_response_report(&scope).await?;
        ok(pb::GetFirstResponseReportResponse { first_response: Some(stats.into()) })
    }

    async fn get_backlog_report(
        &self,
        request: Request<pb::GetBacklogReportRequest>,
    ) -> RpcResult<pb::GetBacklogReportResponse> {
        caller(&request)?;
        let scope = scope(request.into_inner().scope)?;
        let rows = self.0.repo.backlog_report(&scope).await?;
        ok(pb::GetBacklogReportResponse { rows: rows.into_iter().map(Into::into).collect() })
    }
}
