//! `support.v1.TicketService`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Status};

use super::convert::{requests as req, required, ticket_requests as treq};
use super::frame::WatchFrame;
use super::{RpcResult, State, caller, convert, ok};
use crate::auth::{policy, table};
use crate::domain::access::Role;
use crate::domain::call::CallViewer;
use crate::domain::validate::{self, Checker};
use crate::domain::{self, workflow};
use crate::error::AppError;
use crate::events;
use crate::observe::rpc::ticket as on_ticket;
use crate::pb::{self, ticket_service_server::TicketService};
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// The ticket service.
#[derive(Debug, Clone)]
pub struct TicketApi(pub State);

/// The stream of WatchQueue.
pub type QueueStream = Pin<Box<dyn Stream<Item = Result<WatchFrame, Status>> + Send>>;

fn ticket(t: domain::Ticket) -> Option<pb::Ticket> {
    Some(t.into())
}

/// The RPC that makes a move, as GetAllowedTransitions names it (`service/method`).
fn method_of(via: workflow::Via) -> String {
    let method = match via {
        workflow::Via::StatusUpdate => "UpdateTicketStatus",
        workflow::Via::Close => "CloseTicket",
    };
    format!("{}/{method}", pb::ticket_service_server::SERVICE_NAME)
}

#[tonic::async_trait]
impl TicketService for TicketApi {
    async fn create_ticket(&self, request: Request<pb::CreateTicketRequest>) -> RpcResult<pb::CreateTicketResponse> {
        let who = caller(&request)?;
        let mut r = request.into_inner();
        if let (Role::Customer, Some(own), 0) = (who.role, who.customer_id, r.customer_id) {
            r.customer_id = own;
        }
        policy::own_customer(&who, r.customer_id)?;
        let new = treq::new_ticket(&r)?;
        let key = IdempotencyKey::new(&who.subject, "CreateTicket", convert::request_id(&r, &r.request_id)?, &new);
        let t = retry_conflicts(|| self.0.repo.create_ticket(&new, key.as_ref(), self.0.clock.now())).await?;
        on_ticket(t.id);
        ok(pb::CreateTicketResponse { ticket: ticket(t) })
    }

    async fn get_ticket(&self, request: Request<pb::GetTicketRequest>) -> RpcResult<pb::GetTicketResponse> {
        on_ticket(request.get_ref().id);
        let who = caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        let t = self.0.repo.get_ticket(id).await?;
        who.ticket_scope().check(t.id, t.customer_id, t.department_id, t.assigned_agent_id)?;
        ok(pb::GetTicketResponse { ticket: ticket(t) })
    }

    async fn list_tickets(&self, request: Request<pb::ListTicketsRequest>) -> RpcResult<pb::ListTicketsResponse> {
        let who = caller(&request)?;
        let (filter, order, page) = treq::ticket_query(&request.into_inner(), &self.0.limits)?;
        let page = self.0.repo.list_tickets(&filter, order, &page, &who.ticket_scope()).await?;
        ok(pb::ListTicketsResponse {
            tickets: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn search_tickets(&self, request: Request<pb::SearchTicketsRequest>) -> RpcResult<pb::SearchTicketsResponse> {
        let who = caller(&request)?;
        let (search, page) = treq::ticket_search(request.get_ref(), &self.0.limits)?;
        let page = self.0.repo.search_tickets(&search, &page, &who.ticket_scope()).await?;
        ok(pb::SearchTicketsResponse {
            results: page.items.into_iter().map(search_result).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn get_ticket_history(
        &self,
        request: Request<pb::GetTicketHistoryRequest>,
    ) -> RpcResult<pb::GetTicketHistoryResponse> {
        on_ticket(request.get_ref().ticket_id);
        let who = caller(&request)?;
        let r = request.into_inner();
        let ticket_id = req::resource_id("ticket_id", r.ticket_id)?;
        let page = req::page(r.page_size, &r.page_token)?;
        let page = self.0.repo.ticket_history(ticket_id, &page, &who.ticket_scope()).await?;
        ok(pb::GetTicketHistoryResponse {
            entries: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn update_ticket(&self, request: Request<pb::UpdateTicketRequest>) -> RpcResult<pb::UpdateTicketResponse> {
        if let Some(t) = &request.get_ref().ticket {
            on_ticket(t.id);
        }
        let who = caller(&request)?;
        let u = treq::ticket_update(request.into_inner())?;
        let scope = who.ticket_scope();
        let t =
            retry_conflicts(|| self.0.repo.update_ticket(u.id, &u.patch, u.etag, &scope, self.0.clock.now())).await?;
        ok(pb::UpdateTicketResponse { ticket: ticket(t) })
    }

    async fn update_ticket_status(
        &self,
        request: Request<pb::UpdateTicketStatusRequest>,
    ) -> RpcResult<pb::UpdateTicketStatusResponse> {
        on_ticket(request.get_ref().id);
        let who = caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let id = c.take("id", validate::id(r.id));
        let to = required::<domain::Status>(&mut c, "status", r.status);
        let etag = c.take("etag", validate::etag(&r.etag)).flatten();
        c.finish()?;
        let (Some(id), Some(to)) = (id, to) else {
            return Err(AppError::Internal("checked fields missing".into()).into());
        };
        let scope = who.ticket_scope();
        let t = retry_conflicts(|| self.0.repo.update_status(id, to, etag, &scope, self.0.clock.now())).await?;
        ok(pb::UpdateTicketStatusResponse { ticket: ticket(t) })
    }

    async fn assign_ticket(&self, request: Request<pb::AssignTicketRequest>) -> RpcResult<pb::AssignTicketResponse> {
        on_ticket(request.get_ref().id);
        let who = caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let id = c.take("id", validate::id(r.id));
        let agent_id = (r.agent_id != 0).then(|| c.take("agent_id", validate::id(r.agent_id))).flatten();
        c.finish()?;
        let (id, scope) = (id.unwrap_or_default(), who.ticket_scope());
        let t = retry_conflicts(|| self.0.repo.assign_ticket(id, agent_id, &who.subject, &scope, self.0.clock.now()))
            .await?;
        ok(pb::AssignTicketResponse { ticket: ticket(t) })
    }

    async fn close_ticket(&self, request: Request<pb::CloseTicketRequest>) -> RpcResult<pb::CloseTicketResponse> {
        on_ticket(request.get_ref().id);
        let who = caller(&request)?;
        let r = request.into_inner();
        let mut c = Checker::new();
        let id = c.take("id", validate::id(r.id));
        let feedback = required::<domain::Feedback>(&mut c, "feedback", r.feedback);
        let rating = c.take("rating", validate::rating(r.rating));
        c.finish()?;
        let (Some(id), Some(feedback), Some(rating)) = (id, feedback, rating) else {
            return Err(AppError::Internal("checked fields missing".into()).into());
        };
        let scope = who.ticket_scope();
        let t = retry_conflicts(|| self.0.repo.close_ticket(id, feedback, rating, &scope, self.0.clock.now())).await?;
        ok(pb::CloseTicketResponse { ticket: ticket(t) })
    }

    async fn get_allowed_transitions(
        &self,
        request: Request<pb::GetAllowedTransitionsRequest>,
    ) -> RpcResult<pb::GetAllowedTransitionsResponse> {
        on_ticket(request.get_ref().id);
        let who = caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        let t = self.0.repo.get_ticket(id).await?;
        who.ticket_scope().check(t.id, t.customer_id, t.department_id, t.assigned_agent_id)?;
        ok(pb::GetAllowedTransitionsResponse {
            current_status: pb::TicketStatus::from(t.status).into(),
            transitions: workflow::allowed_transitions(t.status)
                .into_iter()
                .map(|(s, via)| (s, method_of(via)))
                .filter(|(_, method)| table::may_call(who.role, &format!("/{method}")))
                .map(|(s, method)| pb::AllowedTransition { status: pb::TicketStatus::from(s).into(), method })
                .collect(),
        })
    }

    type WatchQueueStream = QueueStream;

    async fn watch_queue(&self, request: Request<pb::WatchQueueRequest>) -> RpcResult<Self::WatchQueueStream> {
        on_ticket(request.get_ref().ticket_id);
        let who = caller(&request)?;
        let watch = treq::watch_request(request.get_ref(), CallViewer::of(&who))?;
        let s = &self.0;
        // Internal services (a fan-out gateway, the bench) hold many streams by design.
        let permit = if who.role == Role::Service { None } else { Some(s.streams.acquire(&who.subject)?) };
        let scope = who.ticket_scope();
        let (hub, repo, clock) = (s.events.clone(), s.repo.clone(), s.clock.clone());
        let stream = events::watch::start(hub, repo, clock, watch, scope, Some(&s.typing));
        // The permit and the tracker's token live as long as the stream: shutdown waits
        // for the stream to end.
        let tracked = s.tasks.token();
        ok(Box::pin(stream.map(move |item| {
            let _held = (&permit, &tracked);
            item.map(Into::into).map_err(Status::from)
        })))
    }
}

/// A search hit on the wire: highlights in code points, as the snippet counts them.
fn search_result(hit: crate::repo::search::SearchHit) -> pb::TicketSearchResult {
    let range = |(start, end): (usize, usize)| pb::TextRange { start: start as i32, end: end as i32 };
    pb::TicketSearchResult {
        ticket: ticket(hit.ticket),
        snippet: hit.snippet.text,
        highlights: hit.snippet.highlights.into_iter().map(range).collect(),
        relevance: hit.relevance,
    }
}
