//! `support.v1.ReplyService`: quick replies, drafts and suggestions.

use tonic::Request;

use super::convert::{replies as conv, requests as req};
use super::{RpcResult, State, caller, convert, ok};
use crate::auth::policy;
use crate::domain::reply;
use crate::error::AppError;
use crate::pb::{self, reply_service_server::ReplyService};
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// The reply service.
#[derive(Debug, Clone)]
pub struct ReplyApi(pub State);

#[tonic::async_trait]
impl ReplyService for ReplyApi {
    async fn create_quick_reply(
        &self,
        request: Request<pb::CreateQuickReplyRequest>,
    ) -> RpcResult<pb::CreateQuickReplyResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let id = convert::request_id(&r, &r.request_id);
        let new = conv::new_quick_reply(r.quick_reply)?;
        policy::own_department(&who, new.department_id)?;
        let key = IdempotencyKey::new(&who.subject, "CreateQuickReply", id?, &new);
        let q = retry_conflicts(|| self.0.repo.create_quick_reply(&new, key.as_ref(), self.0.clock.now())).await?;
        ok(pb::CreateQuickReplyResponse { quick_reply: Some(q.into()) })
    }

    async fn get_quick_reply(
        &self,
        request: Request<pb::GetQuickReplyRequest>,
    ) -> RpcResult<pb::GetQuickReplyResponse> {
        let who = caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        let q = self.0.repo.get_quick_reply(id).await?;
        policy::own_department(&who, q.department_id)?;
        ok(pb::GetQuickReplyResponse { quick_reply: Some(q.into()) })
    }

    async fn list_quick_replies(
        &self,
        request: Request<pb::ListQuickRepliesRequest>,
    ) -> RpcResult<pb::ListQuickRepliesResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let department = match (r.department_id, who.department_id) {
            (0, Some(own)) => own,
            (0, None) => return Err(AppError::invalid("department_id", "is required: the department to list").into()),
            (d, _) => req::resource_id("department_id", d)?,
        };
        policy::own_department(&who, department)?;
        let page = self.0.repo.list_quick_replies(department, &req::page(r.page_size, &r.page_token)?).await?;
        ok(pb::ListQuickRepliesResponse {
            quick_replies: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn update_quick_reply(
        &self,
        request: Request<pb::UpdateQuickReplyRequest>,
    ) -> RpcResult<pb::UpdateQuickReplyResponse> {
        let who = caller(&request)?;
        let u = conv::quick_reply_update(request.into_inner())?;
        policy::own_department(&who, self.0.repo.get_quick_reply(u.id).await?.department_id)?;
        let q = retry_conflicts(|| self.0.repo.update_quick_reply(u.id, &u.patch, u.etag, self.0.clock.now())).await?;
        ok(pb::UpdateQuickReplyResponse { quick_reply: Some(q.into()) })
    }

    async fn delete_quick_reply(
        &self,
        request: Request<pb::DeleteQuickReplyRequest>,
    ) -> RpcResult<pb::DeleteQuickReplyResponse> {
        let who = caller(&request)?;
        let (id, etag) = conv::quick_reply_delete(request.get_ref())?;
        policy::own_department(&who, self.0.repo.get_quick_reply(id).await?.department_id)?;
        retry_conflicts(|| self.0.repo.delete_quick_reply(id, etag)).await?;
        ok(pb::DeleteQuickReplyResponse {})
    }

    async fn draft_reply(&self, request: Request<pb::DraftReplyRequest>) -> RpcResult<pb::DraftReplyResponse> {
        let who = caller(&request)?;
        let (ticket, quick_reply) = conv::draft(request.get_ref())?;
        let scope = who.ticket_scope();
        let (q, context) = self.0.repo.draft_context(ticket, quick_reply, who.agent_id, &scope).await?;
        ok(pb::DraftReplyResponse { body: reply::fill(&q.body, &context) })
    }

    async fn suggest_replies(
        &self,
        request: Request<pb::SuggestRepliesRequest>,
    ) -> RpcResult<pb::SuggestRepliesResponse> {
        let who = caller(&request)?;
        let ticket = req::resource_id("ticket_id", request.get_ref().ticket_id)?;
        let past = self.0.repo.past_replies(ticket, &who.ticket_scope()).await?;
        ok(pb::SuggestRepliesResponse { suggestions: reply::suggest(past).into_iter().map(Into::into).collect() })
    }
}
