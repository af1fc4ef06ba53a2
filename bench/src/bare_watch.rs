//! WatchQueue's floor: the bare server of [`crate::bare`] also answers CreateTicket with
//! raw's transaction and, once it commits, sends the created ticket as a WatchQueue event
//! to every open WatchQueue stream, encoded once. It has no event log, sequencer, tailer,
//! filter, access check, heartbeat or observation: a commit reaches the streams with no
//! database read between, the least any server can do that sends each subscriber its own
//! gRPC stream over tonic. It sends as the service does: the service's codec and frames
//! ([`WatchFrame`], encoded once for every stream, into a small buffer a stream), and its
//! flush consolidation ([`crate::bare::serve_child`]). Without the consolidation it used
//! more of the server's CPU than the service (78 to 91 % of a core against 67 to 71 %,
//! 1,000 subscribers), and its p99 was no lower. `bench watch` runs it beside the
//! service, with the same subscribers and the same writes, so its latency is the floor
//! of the service's on this machine.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use support_service::grpc::codec::StrictProstCodec;
use support_service::grpc::convert::timestamp;
use support_service::grpc::frame::WatchFrame;
use support_service::pb;
use tokio::sync::broadcast;
use tonic::{Request, Response, Status};

use crate::raw::{self, Raw};
use crate::workload::Draw;

/// Events a stream may fall behind before it is ended, as the service's default buffer.
const BUFFER: usize = 65_536;

/// The created tickets, numbered in the order they committed, to every stream.
#[derive(Debug)]
pub(crate) struct Live {
    tx: broadcast::Sender<WatchFrame>,
    /// The last sequence sent; held while sending, so streams get them in order.
    sequence: Mutex<i64>,
}

impl Live {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self { tx: broadcast::channel(BUFFER).0, sequence: Mutex::new(0) })
    }

    /// Sends `ticket` as the event of its creation, stamped with its creation time (the
    /// service stamps its events with the time of the change, before its transaction).
    fn publish(&self, ticket: &raw::Ticket) {
        let mut sequence = self.sequence.lock().unwrap_or_else(|p| p.into_inner());
        *sequence += 1;
        let event = pb::QueueEvent {
            sequence: *sequence,
            kind: pb::QueueEventKind::TicketCreated.into(),
            event_time: Some(timestamp(ticket.created_at)),
            ticket: Some(ticket.clone().into_pb()),
            log: None,
            removed: false,
            call: None,
        };
        let response = pb::WatchQueueResponse { item: Some(pb::watch_queue_response::Item::Event(event)) };
        // No stream open is fine.
        let _ = self.tx.send(response.into());
    }

    /// A stream: the end of an (empty) snapshot, then every ticket created from now on.
    fn stream(&self) -> BoxStream<'static, Result<WatchFrame, Status>> {
        let rx = self.tx.subscribe();
        let sequence = *self.sequence.lock().unwrap_or_else(|p| p.into_inner());
        let end = pb::WatchQueueResponse {
            item: Some(pb::watch_queue_response::Item::SnapshotEnd(pb::SnapshotEnd { sequence })),
        };
        let events = futures::stream::unfold(Some(rx), |rx| async move {
            let mut rx = rx?;
            match rx.recv().await {
                Ok(frame) => Some((Ok(frame), Some(rx))),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Some((Err(Status::resource_exhausted(format!("fell {n} events behind"))), None))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        });
        futures::stream::once(async move { Ok(end.into()) }).chain(events).boxed()
    }
}

/// CreateTicket: raw's transaction for the request's customer, department, severity and
/// impact, then the event to every stream.
pub(crate) async fn create_ticket(
    raw: Raw,
    live: Arc<Live>,
    request: Request<pb::CreateTicketRequest>,
) -> Result<Response<pb::CreateTicketResponse>, Status> {
    let r = request.into_inner();
    let draw = Draw {
        customer: r.customer_id,
        department: r.department_id,
        agent: 0,
        ticket: 0,
        open_ticket: 0,
        severity: r.severity,
        impact: r.impact,
        nonce: 0,
    };
    let ticket = raw.create(&draw).await.map_err(Status::unavailable)?;
    live.publish(&ticket);
    Ok(Response::new(pb::CreateTicketResponse { ticket: Some(ticket.into_pb()) }))
}

/// WatchQueue: every request gets every event, whatever it asks.
pub(crate) async fn watch_queue(
    live: Arc<Live>,
    _request: Request<pb::WatchQueueRequest>,
) -> Result<Response<BoxStream<'static, Result<WatchFrame, Status>>>, Status> {
    Ok(Response::new(live.stream()))
}

/// The service's codec for WatchQueue: frames out, requests in.
pub(crate) fn codec() -> StrictProstCodec<WatchFrame, pb::WatchQueueRequest> {
    StrictProstCodec::default()
}
