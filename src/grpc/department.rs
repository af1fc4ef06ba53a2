//! `support.v1.DepartmentService`.

use tonic::Request;

use super::convert::requests as req;
use super::{RpcResult, State, caller, convert, ok};
use crate::pb::{self, department_service_server::DepartmentService};
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// The department service.
#[derive(Debug, Clone)]
pub struct DepartmentApi(pub State);

#[tonic::async_trait]
impl DepartmentService for DepartmentApi {
    async fn create_department(
        &self,
        request: Request<pb::CreateDepartmentRequest>,
    ) -> RpcResult<pb::CreateDepartmentResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let id = convert::request_id(&r, &r.request_id);
        let new = req::new_department(r.department)?;
        let key = IdempotencyKey::new(&who.subject, "CreateDepartment", id?, &new);
        let d = retry_conflicts(|| self.0.repo.create_department(&new, key.as_ref(), self.0.clock.now())).await?;
        ok(pb::CreateDepartmentResponse { department: Some(d.into()) })
    }

    async fn get_department(&self, request: Request<pb::GetDepartmentRequest>) -> RpcResult<pb::GetDepartmentResponse> {
        caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        let d = self.0.repo.get_department(id).await?;
        ok(pb::GetDepartmentResponse { department: Some(d.into()) })
    }

    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> RpcResult<pb::ListDepartmentsResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let page = self.0.repo.list_departments(&req::page(r.page_size, &r.page_token)?).await?;
        ok(pb::ListDepartmentsResponse {
            departments: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn update_department(
        &self,
        request: Request<pb::UpdateDepartmentRequest>,
    ) -> RpcResult<pb::UpdateDepartmentResponse> {
        caller(&request)?;
        let u = req::department_update(request.into_inner())?;
        let d = retry_conflicts(|| self.0.repo.update_department(u.id, &u.patch, u.etag, self.0.clock.now())).await?;
        ok(pb::UpdateDepartmentResponse { department: Some(d.into()) })
    }
}
