//! The generated tonic clients, carrying the bench's service token.

use support_service::pb;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::Fallible;

/// Adds the bench's service token to every call.
#[derive(Debug, Clone)]
pub(crate) struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// A channel that carries `token`.
pub(crate) type Authed = InterceptedService<Channel, Bearer>;

/// Connects to `uri` with `token` on every call.
pub(crate) async fn connect(uri: &str, token: &str) -> Fallible<Authed> {
    let channel = Channel::from_shared(uri.to_owned())?.connect().await?;
    Ok(InterceptedService::new(channel, Bearer(format!("Bearer {token}").parse()?)))
}

/// The clients a workload uses, on one channel.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    pub(crate) tickets: pb::ticket_service_client::TicketServiceClient<Authed>,
    pub(crate) logs: pb::log_service_client::LogServiceClient<Authed>,
    pub(crate) departments: pb::department_service_client::DepartmentServiceClient<Authed>,
    pub(crate) agents: pb::agent_service_client::AgentServiceClient<Authed>,
    pub(crate) customers: pb::customer_service_client::CustomerServiceClient<Authed>,
    pub(crate) reports: pb::report_service_client::ReportServiceClient<Authed>,
}

impl Clients {
    pub(crate) fn new(channel: Authed) -> Self {
        Self {
            tickets: pb::ticket_service_client::TicketServiceClient::new(channel.clone()),
            logs: pb::log_service_client::LogServiceClient::new(channel.clone()),
            departments: pb::department_service_client::DepartmentServiceClient::new(channel.clone()),
            agents: pb::agent_service_client::AgentServiceClient::new(channel.clone()),
            customers: pb::customer_service_client::CustomerServiceClient::new(channel.clone()),
            reports: pb::report_service_client::ReportServiceClient::new(channel),
        }
    }
}
