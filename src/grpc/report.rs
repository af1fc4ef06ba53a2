//! `support.v1.ReportService`: defined by the contract, built with the reports work.

use tonic::Request;

use super::{RpcResult, caller};
use crate::auth::policy::Call;
use crate::error::AppError;
use crate::pb::{self, report_service_server::ReportService};

/// The report service (answers UNIMPLEMENTED, to the roles that may see reports, until the reports land).
#[derive(Debug, Clone, Default)]
pub struct ReportApi;

fn not_yet<T>(method: &str) -> RpcResult<T> {
    Err(AppError::Unimplemented(format!("{method} is not built yet; it arrives with the reports work")).into())
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn get_resolution_time_report(
        &self,
        request: Request<pb::GetResolutionTimeReportRequest>,
    ) -> RpcResult<pb::GetResolutionTimeReportResponse> {
        caller(&request, Call::Report)?;
        not_yet("GetResolutionTimeReport")
    }

    async fn get_agents_per_ticket_report(
        &self,
        request: Request<pb::GetAgentsPerTicketReportRequest>,
    ) -> RpcResult<pb::GetAgentsPerTicketReportResponse> {
        caller(&request, Call::Report)?;
        not_yet("GetAgentsPerTicketReport")
    }

    async fn get_agent_report(
        &self,
        request: Request<pb::GetAgentReportRequest>,
    ) -> RpcResult<pb::GetAgentReportResponse> {
        caller(&request, Call::Report)?;
        not_yet("GetAgentReport")
    }

    async fn get_first_response_report(
        &self,
        request: Request<pb::GetFirstResponseReportRequest>,
    ) -> RpcResult<pb::GetFirstResponseReportResponse> {
        caller(&request, Call::Report)?;
        not_yet("GetFirstResponseReport")
    }

    async fn get_backlog_report(
        &self,
        request: Request<pb::GetBacklogReportRequest>,
    ) -> RpcResult<pb::GetBacklogReportResponse> {
        caller(&request, Call::Report)?;
        not_yet("GetBacklogReport")
    }
}
