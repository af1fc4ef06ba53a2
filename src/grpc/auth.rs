//! `support.v1.AuthService`.

use tonic::Request;

use super::convert::{auth_requests as areq, timestamp};
use super::{RpcResult, State, caller, ok};
use crate::auth::policy;
use crate::pb::{self, auth_service_server::AuthService};
use crate::repo::credentials::Account;

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
        let tokens = self.0.accounts.refresh(areq::refresh_token(&request.get_ref().refresh_token)?).await?;
        ok(pb::RefreshResponse { tokens: Some(tokens.into()) })
    }

    async fn set_agent_password(
        &self,
        request: Request<pb::SetAgentPasswordRequest>,
    ) -> RpcResult<pb::SetAgentPasswordResponse> {
        caller(&request)?;
        let (agent_id, password) = areq::agent_password(request.into_inner())?;
        self.0.accounts.set_agent_password(agent_id, password).await?;
        ok(pb::SetAgentPasswordResponse {})
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> RpcResult<pb::ChangePasswordResponse> {
        let who = caller(&request)?;
        let (current, new) = areq::change_password(request.into_inner())?;
        let tokens = self.0.accounts.change_password(&who, current, new).await?;
        ok(pb::ChangePasswordResponse { tokens: Some(tokens.into()) })
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> RpcResult<pb::LogoutResponse> {
        self.0.accounts.logout(areq::refresh_token(&request.get_ref().refresh_token)?).await?;
        ok(pb::LogoutResponse {})
    }

    async fn issue_set_password_token(
        &self,
        request: Request<pb::IssueSetPasswordTokenRequest>,
    ) -> RpcResult<pb::IssueSetPasswordTokenResponse> {
        let who = caller(&request)?;
        let account = areq::account(request.into_inner().account)?;
        policy::set_password_for(&who, matches!(account, Account::Agent(_)))?;
        let t = self.0.accounts.issue_set_password(account).await?;
        ok(pb::IssueSetPasswordTokenResponse { token: t.token, expire_time: Some(timestamp(t.expires_at)) })
    }

    async fn set_password_with_token(
        &self,
        request: Request<pb::SetPasswordWithTokenRequest>,
    ) -> RpcResult<pb::SetPasswordWithTokenResponse> {
        let (token, password) = areq::set_password_with_token(request.into_inner())?;
        let tokens = self.0.accounts.set_password_with_token(&token, password).await?;
        ok(pb::SetPasswordWithTokenResponse { tokens: Some(tokens.into()) })
    }

    async fn set_account_enabled(
        &self,
        request: Request<pb::SetAccountEnabledRequest>,
    ) -> RpcResult<pb::SetAccountEnabledResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let account = areq::account(r.account)?;
        self.0.accounts.set_enabled(account, r.enabled).await?;
        ok(pb::SetAccountEnabledResponse {})
    }
}
