//! `support.v1.CustomerService`.

use tonic::Request;

use super::convert::{optional, requests as req};
use super::{RpcResult, State, caller, convert, ok};
use crate::auth::policy;
use crate::domain::access::Role;
use crate::domain::validate::{self, Checker};
use crate::error::AppError;
use crate::pb::{self, customer_service_server::CustomerService};
use crate::repo::customers::CustomerFilter;
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// The customer service.
#[derive(Debug, Clone)]
pub struct CustomerApi(pub State);

#[tonic::async_trait]
impl CustomerService for CustomerApi {
    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> RpcResult<pb::CreateCustomerResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let id = convert::request_id(&r, &r.request_id);
        let new = req::new_customer(r.customer)?;
        let key = IdempotencyKey::new(&who.subject, "CreateCustomer", id?, &new);
        let c = retry_conflicts(|| self.0.repo.create_customer(&new, key.as_ref(), self.0.clock.now())).await?;
        ok(pb::CreateCustomerResponse { customer: Some(c.into()) })
    }

    async fn get_customer(&self, request: Request<pb::GetCustomerRequest>) -> RpcResult<pb::GetCustomerResponse> {
        let who = caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        policy::own_customer(&who, id)?;
        let c = self.0.repo.get_customer(id).await?;
        ok(pb::GetCustomerResponse { customer: Some(c.into()) })
    }

    async fn list_customers(&self, request: Request<pb::ListCustomersRequest>) -> RpcResult<pb::ListCustomersResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let email = (!r.email.is_empty()).then(|| c.take("email", validate::email(&r.email))).flatten();
        let only_id = if who.role == Role::Customer { who.customer_id } else { None };
        let filter = CustomerFilter { email, tier: optional(&mut c, "tier", r.tier), only_id };
        c.finish()?;
        let page = self.0.repo.list_customers(&filter, &req::page(r.page_size, &r.page_token)?).await?;
        ok(pb::ListCustomersResponse {
            customers: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> RpcResult<pb::UpdateCustomerResponse> {
        let who = caller(&request)?;
        let u = req::customer_update(request.into_inner())?;
        policy::own_customer(&who, u.id)?;
        policy::customer_patch(&who, &u.patch)?;
        if who.role == Role::Agent && !self.0.repo.customer_within(u.id, &who.ticket_scope()).await? {
            return Err(AppError::PermissionDenied(format!(
                "customer {} has no ticket in your department; ask a supervisor",
                u.id
            ))
            .into());
        }
        let c = retry_conflicts(|| self.0.repo.update_customer(u.id, &u.patch, u.etag, self.0.clock.now())).await?;
        ok(pb::UpdateCustomerResponse { customer: Some(c.into()) })
    }
}
