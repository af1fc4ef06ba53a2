//! `support.v1.LogService`.

use tonic::Request;

use super::convert::{requests as req, required, ticket_requests as treq};
use super::{RpcResult, State, caller, convert, ok};
use crate::auth::policy;
use crate::domain::access::TicketScope;
use crate::domain::call::Party;
use crate::domain::event::Typing;
use crate::domain::validate::{self, Checker};
use crate::domain::{DeliveryStatus, SenderKind};
use crate::error::AppError;
use crate::observe::rpc::ticket as on_ticket;
use crate::pb::{self, log_service_server::LogService};
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// Whether a caller who sees `scope` is the reader of messages from `sender`: customers
/// read agents' messages, agents the customer's. (Which agent: the list is scoped to
/// tickets they see; supervisors and services read without receiving.)
fn reads(scope: &TicketScope, sender: SenderKind) -> bool {
    matches!(
        (scope, sender),
        (TicketScope::Customer(_), SenderKind::Agent) | (TicketScope::Agent { .. }, SenderKind::Customer)
    )
}

/// The message service.
#[derive(Debug, Clone)]
pub struct LogApi(pub State);

#[tonic::async_trait]
impl LogService for LogApi {
    async fn add_log(&self, request: Request<pb::AddLogRequest>) -> RpcResult<pb::AddLogResponse> {
        on_ticket(request.get_ref().ticket_id);
        let who = caller(&request)?;
        let mut r = request.into_inner();
        if let Some((kind, id)) = policy::me(&who) {
            if r.sender_kind == 0 {
                r.sender_kind = pb::SenderKind::from(kind).into();
            }
            if r.sender_id == 0 {
                r.sender_id = id;
            }
        }
        let id = convert::request_id(&r, &r.request_id)?;
        let new = treq::new_log(r, &self.0.limits)?;
        policy::check_sender(&who, new.sender_kind, new.sender_id, new.visibility)?;
        let key = IdempotencyKey::new(&who.subject, "AddLog", id, &new);
        let scope = who.ticket_scope();
        let log = retry_conflicts(|| self.0.repo.add_log(&new, key.as_ref(), &scope, self.0.clock.now())).await?;
        ok(pb::AddLogResponse { log: Some(log.into()) })
    }

    async fn list_logs(&self, request: Request<pb::ListLogsRequest>) -> RpcResult<pb::ListLogsResponse> {
        on_ticket(request.get_ref().ticket_id);
        let who = caller(&request)?;
        let r = request.into_inner();
        let ticket_id = req::resource_id("ticket_id", r.ticket_id)?;
        let page = req::page(r.page_size, &r.page_token)?;
        let scope = who.ticket_scope();
        let page = self.0.repo.list_logs(ticket_id, r.include_internal, &page, &scope).await?;
        // Listed by their reader: the other party's messages are RECEIVED.
        let received = page.items.iter().filter(|l| l.delivery_status == DeliveryStatus::Sent);
        let ids: Vec<i64> = received.filter(|l| reads(&scope, l.sender_kind)).map(|l| l.id).collect();
        if !ids.is_empty() {
            let now = self.0.clock.now();
            retry_conflicts(|| self.0.repo.advance_delivery(ticket_id, &ids, DeliveryStatus::Received, now)).await?;
        }
        ok(pb::ListLogsResponse {
            logs: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn mark_read(&self, request: Request<pb::MarkReadRequest>) -> RpcResult<pb::MarkReadResponse> {
        on_ticket(request.get_ref().ticket_id);
        let who = caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let ticket_id = c.take("ticket_id", validate::id(r.ticket_id));
        let up_to = (r.up_to_log_id != 0).then(|| c.take("up_to_log_id", validate::id(r.up_to_log_id))).flatten();
        let reader = required::<SenderKind>(&mut c, "reader_kind", r.reader_kind);
        if reader == Some(SenderKind::System) {
            c.fail("reader_kind", "must be CUSTOMER or AGENT");
        }
        c.finish()?;
        let (Some(ticket_id), Some(reader)) = (ticket_id, reader) else {
            return Err(AppError::Internal("checked fields missing".into()).into());
        };
        let reader = policy::reader(&who, reader)?;
        let scope = who.ticket_scope();
        let now = self.0.clock.now();
        let marked_count =
            retry_conflicts(|| self.0.repo.mark_read(ticket_id, up_to, reader, &scope, now)).await? as i64;
        ok(pb::MarkReadResponse { marked_count })
    }

    async fn send_typing(&self, request: Request<pb::SendTypingRequest>) -> RpcResult<pb::SendTypingResponse> {
        let who = caller(&request)?;
        let ticket_id = req::resource_id("ticket_id", request.into_inner().ticket_id)?;
        let Some(me) = Party::of(&who) else {
            return Err(AppError::PermissionDenied("only the ticket's customer or an agent types on it".into()).into());
        };
        let s = &self.0;
        let t = s.repo.get_ticket(ticket_id).await?;
        who.ticket_scope().check(t.id, t.customer_id, t.department_id, t.assigned_agent_id).map_err(AppError::from)?;
        if !s.typing.admit(&who.subject, ticket_id) {
            return ok(pb::SendTypingResponse { relayed: false });
        }
        let sender_name = match me.kind {
            SenderKind::Agent => s.repo.get_agent(me.id).await.map(|a| format!("{} {}", a.first_name, a.last_name))?,
            _ => String::new(),
        };
        let typing = Typing {
            ticket_id,
            customer_id: t.customer_id,
            department_id: t.department_id,
            agent_id: t.assigned_agent_id,
            from: me.kind,
            sender_id: me.id,
            sender_name,
        };
        s.typing.publish(typing, true);
        ok(pb::SendTypingResponse { relayed: true })
    }

    async fn relay_typing(&self, request: Request<pb::RelayTypingRequest>) -> RpcResult<pb::RelayTypingResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let Some(t) = r.typing else { return Err(AppError::invalid("typing", "is required").into()) };
        let mut c = Checker::new();
        let from = required::<SenderKind>(&mut c, "typing.sender_kind", t.sender_kind);
        c.finish()?;
        let typing = Typing {
            ticket_id: t.ticket_id,
            customer_id: t.customer_id,
            department_id: t.department_id,
            agent_id: (t.assigned_agent_id > 0).then_some(t.assigned_agent_id),
            from: from.unwrap_or(SenderKind::Customer),
            sender_id: t.sender_id,
            sender_name: t.sender_name,
        };
        if r.origin != self.0.typing.id() {
            self.0.typing.publish(typing, false);
        }
        ok(pb::RelayTypingResponse {})
    }

    async fn get_attachment(&self, request: Request<pb::GetAttachmentRequest>) -> RpcResult<pb::GetAttachmentResponse> {
        let who = caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        let (a, content) = self.0.repo.get_attachment(id, &who.ticket_scope()).await?;
        ok(pb::GetAttachmentResponse {
            attachment: Some(pb::Attachment {
                id: a.id,
                file_name: a.file_name,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
            }),
            content,
        })
    }
}
