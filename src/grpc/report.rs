//! `support.v1.ReportService`: defined by the contract, built with the reports work.

use tonic::Request;

use super::RpcResult;
use crate::error::AppError;
use crate::pb::{self, report_service_server::ReportService};

/// The report service (answers UNIMPLEMENTED until the reports land).
#[derive(Debug, Clone, Default)]
pub struct ReportApi;

fn not_yet<T>(method: &str) -> RpcResult<T> {
    Err(AppError::Unimplemented(format!("{method} is not built yet; it arrives with the reports work")).into())
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn get_resolution_time_report(
        &self,
        _request: Request<pb::GetResolutionTimeReportRequest>,
    ) -> RpcResult<pb::GetResolutionTimeReportResponse> {
        not_yet("GetResolutionTimeReport")
    }

    async fn get_agents_per_ticket_report(
        &self,
        _request: Request<pb::GetAgentsPerTicketReportRequest>,
    ) -> RpcResult<pb::GetAgentsPerTicketReportResponse> {
        not_yet("GetAgentsPerTicketReport")
    }

    async fn get_agent_report(
        &self,
        _request: Request<pb::GetAgentReportRequest>,
    ) -> RpcResult<pb::GetAgentReportResponse> {
        not_yet("GetAgentReport")
    }

    async fn get_first_response_report(
        &self,
        _request: Request<pb::GetFirstResponseReportRequest>,
    ) -> RpcResult<pb::GetFirstResponseReportResponse> {
        not_yet("GetFirstResponseReport")
    }

    async fn get_backlog_report(
        &self,
        _request: Request<pb::GetBacklogReportRequest>,
    ) -> RpcResult<pb::GetBacklogReportResponse> {
        not_yet("GetBacklogReport")
    }
}
