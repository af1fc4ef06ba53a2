//! `support.v1.AuthService`: defined by the contract, built with the access-control work.

use tonic::Request;

use super::RpcResult;
use crate::error::AppError;
use crate::pb::{self, auth_service_server::AuthService};

/// The auth service (answers UNIMPLEMENTED until access control lands).
#[derive(Debug, Clone, Default)]
pub struct AuthApi;

fn not_yet<T>(method: &str) -> RpcResult<T> {
    Err(AppError::Unimplemented(format!("{method} is not built yet; it arrives with the access-control work")).into())
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn register(&self, _request: Request<pb::RegisterRequest>) -> RpcResult<pb::RegisterResponse> {
        not_yet("Register")
    }

    async fn login(&self, _request: Request<pb::LoginRequest>) -> RpcResult<pb::LoginResponse> {
        not_yet("Login")
    }

    async fn refresh(&self, _request: Request<pb::RefreshRequest>) -> RpcResult<pb::RefreshResponse> {
        not_yet("Refresh")
    }
}
