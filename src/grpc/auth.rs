//! `support.v1.AuthService`.

use tonic::Request;

use super::convert::auth_requests as areq;
use super::{RpcResult, State, caller, ok};
use crate::auth::policy::Call;
use crate::pb::{self, auth_service_server::AuthService};

/// The auth service.
#[derive(Debug, Clone)]
pub struct AuthApi(pub State);

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> RpcResult<pb::RegisterResponse> {
        let peer = request.remote_addr().map(|a| a.ip());
        let (new, password) = areq::registration(request.into_inner())?;
        let (customer_id, tokens) = self.0.accounts.register(new, password, peer).await?;
        ok(pb::RegisterResponse { customer_id, tokens: Some(tokens.into()) })
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> RpcResult<pb::LoginResponse> {
        let peer = request.remote_addr().map(|a| a.ip());
        let (email, password) = areq::login(request.into_inner())?;
        let tokens = self.0.accounts.login(&email, password, peer).await?;
        ok(pb::LoginResponse { tokens: Some(tokens.into()) })
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> RpcResult<pb::RefreshResponse> {
        let tokens = self.0.accounts.refresh(areq::refresh_token(request.get_ref())?).await?;
        ok(pb::RefreshResponse { tokens: Some(tokens.into()) })
    }

    async fn set_agent_password(
        &self,
        request: Request<pb::SetAgentPasswordRequest>,
    ) -> RpcResult<pb::SetAgentPasswordResponse> {
        caller(&request, Call::SetAgentPassword)?;
        let (agent_id, password) = areq::agent_password(request.into_inner())?;
        self.0.accounts.set_agent_password(agent_id, password).await?;
        ok(pb::SetAgentPasswordResponse {})
    }
}
