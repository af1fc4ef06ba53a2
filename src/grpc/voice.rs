//! `support.v1.CallService`: voice calls on a ticket and their WebRTC signalling.
//!
//! Signalling rides the event log: a signal is a CALL_SIGNAL event addressed to one party,
//! and each party's JoinCall stream is a WatchQueue subscriber narrowed to its call (see
//! `QueueFilter::relay`). So a signal reaches the other party whichever replica each is
//! connected to, in order, and a server stream (not a bidirectional one) is all a party
//! needs: browsers reach it through gRPC-Web. A JoinCall stream that ends while its call
//! is live (the party went away, or its replica stopped) ends the call as FAILED; a
//! replica that dies outright stops touching the call, and the sweeper ends it.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Status};

use super::convert::{calls as conv, requests as req};
use super::{RpcResult, State, caller, ok};
use crate::domain::access::TicketScope;
use crate::domain::call::{Call, Party, Side};
use crate::domain::event::{EventKind, QueueFilter};
use crate::error::AppError;
use crate::events::watch::{self, WatchItem, WatchRequest};
use crate::pb::{self, call_service_server::CallService};
use crate::repo::retry_conflicts;

/// The call service.
#[derive(Debug, Clone)]
pub struct CallApi(pub State);

/// A party's relay.
pub type RelayStream = Pin<Box<dyn Stream<Item = Result<pb::JoinCallResponse, Status>> + Send>>;

fn call(c: Call) -> Option<pb::Call> {
    Some(c.into())
}

#[tonic::async_trait]
impl CallService for CallApi {
    async fn start_call(&self, request: Request<pb::StartCallRequest>) -> RpcResult<pb::StartCallResponse> {
        let who = caller(&request)?;
        let ticket_id = req::resource_id("ticket_id", request.into_inner().ticket_id)?;
        let Some(me) = Party::of(&who) else {
            return Err(AppError::PermissionDenied(
                "only the ticket's customer or an agent can place a call; sign in as one".into(),
            )
            .into());
        };
        let s = &self.0;
        let scope = who.ticket_scope();
        let c = retry_conflicts(|| s.repo.start_call(ticket_id, me, &scope, s.calls.ring, s.clock.now())).await?;
        ok(pb::StartCallResponse { call: call(c) })
    }

    async fn answer_call(&self, request: Request<pb::AnswerCallRequest>) -> RpcResult<pb::AnswerCallResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let id = req::resource_id("call_id", r.call_id)?;
        let s = &self.0;
        let c = retry_conflicts(|| s.repo.answer_call(id, &who, r.accept, s.clock.now())).await?;
        ok(pb::AnswerCallResponse { call: call(c) })
    }

    async fn end_call(&self, request: Request<pb::EndCallRequest>) -> RpcResult<pb::EndCallResponse> {
        let who = caller(&request)?;
        let id = req::resource_id("call_id", request.into_inner().call_id)?;
        let s = &self.0;
        let c = retry_conflicts(|| s.repo.end_call(id, &who, s.clock.now())).await?;
        ok(pb::EndCallResponse { call: call(c) })
    }

    async fn get_ice_servers(
        &self,
        request: Request<pb::GetIceServersRequest>,
    ) -> RpcResult<pb::GetIceServersResponse> {
        let who = caller(&request)?;
        let ice = self.0.ice.servers(&who.subject, self.0.clock.now());
        ok(pb::GetIceServersResponse {
            ice_servers: ice
                .servers
                .into_iter()
                .map(|s| pb::IceServer { urls: s.urls, username: s.username, credential: s.credential })
                .collect(),
            expire_time: ice.expire.map(super::convert::timestamp),
        })
    }

    async fn get_call(&self, request: Request<pb::GetCallRequest>) -> RpcResult<pb::GetCallResponse> {
        let who = caller(&request)?;
        let id = req::resource_id("call_id", request.into_inner().call_id)?;
        ok(pb::GetCallResponse { call: call(self.0.repo.get_call(id, &who).await?) })
    }

    async fn list_calls(&self, request: Request<pb::ListCallsRequest>) -> RpcResult<pb::ListCallsResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let ticket_id = req::resource_id("ticket_id", r.ticket_id)?;
        let page = req::page(r.page_size, &r.page_token)?;
        let page = self.0.repo.list_calls(ticket_id, &who, &page).await?;
        ok(pb::ListCallsResponse {
            calls: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn send_call_signal(
        &self,
        request: Request<pb::SendCallSignalRequest>,
    ) -> RpcResult<pb::SendCallSignalResponse> {
        let who = caller(&request)?;
        let (id, payload) = conv::signal(request.into_inner())?;
        let s = &self.0;
        retry_conflicts(|| s.repo.send_signal(id, &who, payload.clone(), s.clock.now())).await?;
        ok(pb::SendCallSignalResponse {})
    }

    type JoinCallStream = RelayStream;

    async fn join_call(&self, request: Request<pb::JoinCallRequest>) -> RpcResult<Self::JoinCallStream> {
        let who = caller(&request)?;
        let id = req::resource_id("call_id", request.into_inner().call_id)?;
        let s = self.0.clone();
        let current = s.repo.get_call(id, &who).await?;
        let side = current.side_of_caller(&who).map_err(AppError::from)?;
        let permit = s.streams.acquire(&who.subject)?;
        let me = current.party(side);
        let live = current.is_live();
        if live {
            s.repo.touch_call(id, side, s.clock.now()).await?;
        }
        // Everything of the call since it was placed: signals sent before this party
        // joined (the caller's offer while ringing) come first.
        let filter = QueueFilter { relay: Some((id, me)), ..Default::default() };
        let request = WatchRequest { filter, resume_after: Some(current.after_sequence) };
        let events = watch::start(s.events.clone(), s.repo.clone(), s.clock.clone(), request, TicketScope::All, None);
        let mut lost = Relay { state: s.clone(), id, side, live };
        // Calls only move forward (RINGING, ACTIVE, ENDED): an event the first item
        // already reflects is not sent again.
        let mut shown = current.state;
        let tracked = s.tasks.token();
        let relay = async_stream::try_stream! {
            let _held = (permit, tracked);
            yield pb::JoinCallResponse { item: Some(pb::join_call_response::Item::Call(current.into())) };
            if !lost.live {
                return;
            }
            futures::pin_mut!(events);
            while let Some(item) = events.next().await {
                match item.map_err(Status::from)? {
                    WatchItem::Event(e, _) if e.kind == EventKind::CallSignal => {
                        if let Some(sig) = e.signal.clone() {
                            yield pb::JoinCallResponse { item: Some(pb::join_call_response::Item::Signal(sig.into())) };
                        }
                    }
                    WatchItem::Event(e, _) => {
                        let Some(c) = e.call.clone() else { continue };
                        if c.state <= shown {
                            continue;
                        }
                        shown = c.state;
                        let ended = !c.is_live();
                        yield pb::JoinCallResponse { item: Some(pb::join_call_response::Item::Call(c.into())) };
                        if ended {
                            lost.disarm();
                            return;
                        }
                    }
                    WatchItem::Heartbeat(sequence) => {
                        lost.state.repo.touch_call(id, side, lost.state.clock.now()).await.map_err(Status::from)?;
                        yield pb::JoinCallResponse {
                            item: Some(pb::join_call_response::Item::Heartbeat(pb::Heartbeat { sequence })),
                        };
                    }
                    WatchItem::SnapshotTicket(_) | WatchItem::SnapshotEnd(_) | WatchItem::Typing(_) => {}
                }
            }
        };
        ok(Box::pin(relay))
    }
}

/// A party's relay while its call is live: dropped before the call ended (the stream was
/// lost or failed), it ends the call as FAILED.
struct Relay {
    state: State,
    id: i64,
    side: Side,
    live: bool,
}

impl Relay {
    /// The call ended: nothing to fail.
    fn disarm(&mut self) {
        self.live = false;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.live {
            return;
        }
        let (repo, clock, id) = (self.state.repo.clone(), self.state.clock.clone(), self.id);
        let reason = format!("the {}'s relay was lost", self.side.as_str());
        self.state.tasks.spawn(async move {
            match retry_conflicts(|| repo.fail_call(id, &reason, clock.now())).await {
                Ok(Some(_)) => tracing::info!(call_id = id, %reason, "call failed"),
                Ok(None) => {}
                Err(e) => tracing::warn!(call_id = id, error = %crate::error::chain(&e), "a lost relay's call could not be ended; the sweeper will"),
            }
        });
    }
}
