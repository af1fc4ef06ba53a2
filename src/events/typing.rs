//! Typing indicators: ephemeral, never stored. A replica passes each one to its own
//! WatchQueue subscribers (a broadcast channel) and to every other live replica, which
//! does the same; so the other party gets it whichever replica its stream is on.
//!
//! Replicas find each other in the `replicas` table: each writes its advertised address
//! there every few seconds (`SUPPORT_ADVERTISE_ADDR`, or the address it listens on when
//! that is a specific one) and reads the others seen lately. The indicator itself goes
//! replica to replica (`LogService/RelayTyping`, with a service token of the cluster's own
//! signing key), never through the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::domain::event::Typing;
use crate::pb;
use crate::pb::log_service_client::LogServiceClient;
use crate::repo::Repo;

/// One indicator per sender and ticket passes in this time; the rest are dropped.
pub const EVERY: Duration = Duration::from_secs(2);
/// How often a replica writes its row and reads the others.
const REFRESH: Duration = Duration::from_secs(5);
/// A replica not seen for this long is gone.
const GONE: Duration = Duration::from_secs(20);
/// How long a relay to another replica may take.
const RELAY_TIMEOUT: Duration = Duration::from_secs(1);
/// Senders remembered by the rate limit before the old ones are forgotten.
const REMEMBERED: usize = 10_000;

/// Another replica and a client to it.
#[derive(Debug, Clone)]
struct Peer {
    address: String,
    client: LogServiceClient<tonic::transport::Channel>,
}

/// The process's typing indicators.
#[derive(Debug, Clone)]
pub struct TypingHub {
    local: broadcast::Sender<Arc<Typing>>,
    /// This replica's id in `replicas`.
    me: String,
    peers: Arc<RwLock<Vec<Peer>>>,
    /// When each (sender, ticket) last passed.
    recent: Arc<Mutex<HashMap<(String, i64), Instant>>>,
    /// Mints the service token relays carry.
    tokens: Arc<crate::auth::token::Tokens>,
}

impl TypingHub {
    /// A hub whose relays carry service tokens from `tokens`.
    pub fn new(tokens: Arc<crate::auth::token::Tokens>) -> Self {
        Self {
            local: broadcast::channel(1024).0,
            me: format!("{:016x}", rand::random::<u64>()),
            peers: Arc::default(),
            recent: Arc::default(),
            tokens,
        }
    }

    /// This replica's id.
    pub fn id(&self) -> &str {
        &self.me
    }

    /// Indicators from now on, for one subscriber. A subscriber that lags loses some: they
    /// are hints, and the next one follows within seconds.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Typing>> {
        self.local.subscribe()
    }

    /// Whether `sender` may pass an indicator on `ticket_id` now (one per [`EVERY`]).
    pub fn admit(&self, sender: &str, ticket_id: i64) -> bool {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= REMEMBERED {
            recent.retain(|_, at| now.duration_since(*at) < EVERY);
        }
        match recent.get(&(sender.to_owned(), ticket_id)) {
            Some(at) if now.duration_since(*at) < EVERY => false,
            _ => {
                recent.insert((sender.to_owned(), ticket_id), now);
                true
            }
        }
    }

    /// Passes `t` to this replica's subscribers and, if it started here, to every other
    /// replica (in the background: the caller never waits for them).
    pub fn publish(&self, t: Typing, from_here: bool) {
        if from_here {
            let peers = self.peers.read().unwrap_or_else(|e| e.into_inner()).clone();
            for peer in peers {
                let request = self.relay_request(&t, &peer);
                tokio::spawn(async move {
                    let mut client = peer.client;
                    match tokio::time::timeout(RELAY_TIMEOUT, client.relay_typing(request)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::debug!(peer = %peer.address, error = %e, "typing relay refused"),
                        Err(_) => tracing::debug!(peer = %peer.address, "typing relay timed out"),
                    }
                });
            }
        }
        // No subscriber is not an error.
        let _ = self.local.send(Arc::new(t));
    }

    fn relay_request(&self, t: &Typing, _peer: &Peer) -> tonic::Request<pb::RelayTypingRequest> {
        let mut request =
            tonic::Request::new(pb::RelayTypingRequest { typing: Some(wire(t)), origin: self.me.clone() });
        let me = crate::domain::access::Principal::named(crate::domain::access::Role::Service, "replica");
        if let Ok(token) = self.tokens.mint(&me)
            && let Ok(value) = format!("Bearer {token}").parse()
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Keeps this replica's row in `replicas` (when it has an address others can reach)
    /// and the list of the others, until `stop`.
    pub async fn run(self, repo: Repo, advertise: Option<String>, stop: CancellationToken) {
        loop {
            let now = chrono::Utc::now();
            if let Some(address) = &advertise
                && let Err(e) = repo.announce_replica(&self.me, address, now).await
            {
                tracing::warn!(error = %crate::error::chain(&e), "announcing this replica failed; retrying");
            }
            match repo.replicas_seen_since(now - chrono::Duration::from_std(GONE).unwrap_or_default()).await {
                Ok(found) => self.update_peers(found),
                Err(e) => tracing::warn!(error = %crate::error::chain(&e), "reading the replicas failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(REFRESH) => {}
                _ = stop.cancelled() => break,
            }
        }
        if advertise.is_some() {
            let _ = repo.forget_replica(&self.me).await;
        }
    }

    fn update_peers(&self, found: Vec<(String, String)>) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Vec::new();
        for (id, address) in found.into_iter().filter(|(id, _)| *id != self.me) {
            let _ = id;
            if let Some(known) = peers.iter().find(|p| p.address == address) {
                next.push(known.clone());
                continue;
            }
            match tonic::transport::Endpoint::from_shared(format!("http://{address}")) {
                Ok(endpoint) => {
                    let channel = endpoint.connect_timeout(RELAY_TIMEOUT).connect_lazy();
                    next.push(Peer { address, client: LogServiceClient::new(channel) });
                }
                Err(e) => tracing::warn!(%address, error = %e, "a replica's address is not usable"),
            }
        }
        *peers = next;
    }
}

/// An indicator on the wire.
pub fn wire(t: &Typing) -> pb::TypingIndicator {
    pb::TypingIndicator {
        ticket_id: t.ticket_id,
        sender_kind: pb::SenderKind::from(t.from).into(),
        sender_id: t.sender_id,
        sender_name: t.sender_name.clone(),
        customer_id: t.customer_id,
        assigned_agent_id: t.agent_id.unwrap_or(0),
        department_id: t.department_id,
    }
}
