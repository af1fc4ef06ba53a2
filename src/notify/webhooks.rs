//! The webhook deliverer. While this replica is the event sequencer (one per cluster, under
//! its lease), it runs a task for each active subscription that is due: the task reads the
//! log after the subscription's cursor and delivers each wanted event in order, moving the
//! cursor in the transaction that records the delivery. A failure stops that subscription
//! until its backoff has passed (the in-order guarantee); other subscriptions go on, and no
//! API call ever waits for an endpoint. A crash between the POST and its record means the
//! event is sent again: at least once, never lost.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use reqwest::{Client, Url, redirect::Policy};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::guard::{GuardedResolver, refused};
use super::{WebhookSettings, body, sign};
use crate::auth::sealing::Sealer;
use crate::domain::event::QueueEvent;
use crate::domain::webhook::{Attempt, Delivery, DeliveryState, Webhook, message_id};
use crate::error::{AppError, AppResult, chain};
use crate::observe::metrics::{NotifyMetrics, OutcomeLabels};
use crate::pb;
use crate::repo::Repo;
use crate::repo::webhooks::AttemptRecord;

/// Subscriptions delivered to at once.
const IN_FLIGHT: usize = 64;
/// Events read from the log at a time.
const BATCH: u64 = 100;

/// Delivers events to webhook subscriptions.
#[derive(Debug)]
pub struct Deliverer {
    repo: Repo,
    client: Client,
    settings: WebhookSettings,
    /// Seals the secrets as they are stored and opens them to sign.
    sealer: Sealer,
    metrics: NotifyMetrics,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Whether a subscription's delivery goes on after an event.
enum Next {
    Continue(i64),
    Stop,
}

impl Deliverer {
    /// A deliverer with its HTTP client: no redirects, the attempt's timeout, and the
    /// guard's resolver on every connection. Retries are timed by the system clock (not the
    /// service's injectable one): they are about the endpoint, not the tickets.
    pub fn new(repo: Repo, settings: WebhookSettings, sealer: Sealer, metrics: NotifyMetrics) -> Result<Self, String> {
        let client = Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(Arc::new(settings.allow.clone()))))
            .user_agent(concat!("support-service/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the webhook HTTP client: {e}"))?;
        Ok(Self { repo, client, settings, sealer, metrics, hosts: Mutex::default() })
    }

    /// What seals a subscription's secret for storing, and opens a stored one.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The addresses and schemes subscriptions may use.
    pub fn allow(&self) -> &super::guard::AllowList {
        &self.settings.allow
    }

    /// Delivers while `leader` says this replica is the sequencer, waking on new events
    /// (`latest`), finished subscriptions, and every `poll`; until `stop`.
    pub async fn run(
        self: Arc<Self>,
        mut leader: watch::Receiver<bool>,
        mut latest: watch::Receiver<i64>,
        stop: CancellationToken,
    ) {
        let mut tasks = JoinSet::new();
        let mut busy: HashMap<tokio::task::Id, i64> = HashMap::new();
        // No subscription was due at the last look: new events alone wake nobody, and a
        // new or recovering subscription waits for the next poll. Otherwise every numbered
        // batch (a hundred a second under load) read the subscriptions again.
        let mut quiet = false;
        let mut unopened = HashSet::new();
        loop {
            if *leader.borrow_and_update() {
                match self.repo.due_webhooks(Utc::now()).await {
                    Ok(due) => {
                        quiet = due.is_empty() && busy.is_empty();
                        let running: HashSet<i64> = busy.values().copied().collect();
                        for (hook, stored) in due {
                            if busy.len() >= IN_FLIGHT {
                                break;
                            }
                            if running.contains(&hook.id) {
                                continue;
                            }
                            let secret = match self.sealer.open(&stored) {
                                Ok(secret) => secret,
                                Err(e) => {
                                    // Once a process, not at every poll: the key is missing
                                    // until the configuration changes.
                                    if unopened.insert(hook.id) {
                                        tracing::error!(webhook = hook.id, error = %e, "webhooks: a subscription's secret does not open; it is not delivered");
                                    }
                                    continue;
                                }
                            };
                            let (me, id, still) = (self.clone(), hook.id, leader.clone());
                            let handle = tasks.spawn(async move { me.drain(hook, secret, still).await });
                            busy.insert(handle.id(), id);
                        }
                    }
                    Err(e) => tracing::warn!(error = %chain(&e), "webhooks: reading the due subscriptions failed"),
                }
            } else {
                quiet = true;
            }
            tokio::select! {
                Some(done) = tasks.join_next_with_id() => {
                    let id = match done { Ok((id, ())) => id, Err(e) => e.id() };
                    busy.remove(&id);
                }
                _ = latest.changed(), if !quiet => {}
                _ = leader.changed() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.cancelled() => break,
            }
        }
        tasks.shutdown().await;
    }

    /// Delivers `hook`'s events in order from its cursor until it is caught up, an event
    /// fails, the cursor moves under it (a replay), or this replica stops being the
    /// sequencer (`leader`): the new one's deliverer carries on, and two never interleave
    /// one subscription's events for longer than the attempt in flight.
    async fn drain(&self, hook: Webhook, secret: String, leader: watch::Receiver<bool>) {
        let mut cursor = hook.cursor;
        loop {
            let events = match self.repo.events_after(cursor, BATCH).await {
                Ok(events) if events.is_empty() => return,
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(webhook_id = hook.id, error = %chain(&e), "webhooks: reading the log failed");
                    return;
                }
            };
            if events[0].sequence > cursor + 1 {
                let reason = format!(
                    "events {} to {} were pruned from the log before delivery; replay from a later sequence",
                    cursor + 1,
                    events[0].sequence - 1
                );
                self.give_up(&hook, cursor, events[0].sequence, &reason).await;
                return;
            }
            let mut skipped = None;
            for event in events {
                if !*leader.borrow() {
                    return;
                }
                if !hook.wants(&event) {
                    skipped = Some(event.sequence);
                    continue;
                }
                if let Some(to) = skipped.take() {
                    if !self.advance(&hook, cursor, to).await {
                        return;
                    }
                    cursor = to;
                }
                match self.deliver(&hook, &secret, &event, cursor).await {
                    Next::Continue(c) => cursor = c,
                    Next::Stop => return,
                }
            }
            if let Some(to) = skipped {
                if !self.advance(&hook, cursor, to).await {
                    return;
                }
                cursor = to;
            }
        }
    }

    async fn advance(&self, hook: &Webhook, from: i64, to: i64) -> bool {
        match self.repo.advance_webhook(hook.id, from, to).await {
            Ok(moved) => moved,
            Err(e) => {
                tracing::warn!(webhook_id = hook.id, error = %chain(&e), "webhooks: moving the cursor failed");
                false
            }
        }
    }

    /// One in-order attempt of `event`, recorded.
    async fn deliver(&self, hook: &Webhook, secret: &str, event: &QueueEvent, cursor: i64) -> Next {
        let attempt = self.send(hook, secret, event).await;
        let outcome = match &attempt {
            Attempt::Delivered(_) => "delivered",
            Attempt::Gone => "gone",
            Attempt::Failed { .. } => "failed",
        };
        self.metrics.webhook_attempts.get_or_create(&OutcomeLabels { outcome }).inc();
        let now = Utc::now();
        let mut record = AttemptRecord {
            webhook_id: hook.id,
            sequence: event.sequence,
            state: DeliveryState::Succeeded,
            status: 0,
            error: String::new(),
            next_attempt_at: None,
            manual: false,
        };
        let mut disable = None;
        match attempt {
            Attempt::Delivered(status) => record.status = i32::from(status),
            Attempt::Gone => {
                (record.state, record.status, record.error) = (DeliveryState::Failed, 410, "410 Gone".into());
                disable = Some("the endpoint answered 410 Gone".to_owned());
            }
            Attempt::Failed { status, error } => {
                let pending = self.repo.pending_delivery(hook.id, event.sequence).await.ok().flatten();
                let since = pending.as_ref().map_or(now, |d| d.created_at);
                let attempts = pending.map_or(1, |d| d.attempts + 1);
                (record.status, record.error) = (status.map_or(0, i32::from), error.clone());
                if self.settings.retry.exhausted(since, now) {
                    record.state = DeliveryState::Failed;
                    disable = Some(format!("event {} kept failing since {since}: {error}", event.sequence));
                } else {
                    let wait = self.settings.retry.backoff(attempts, rand::random_range(0.5..1.5));
                    record.state = DeliveryState::Retrying;
                    record.next_attempt_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                }
            }
        }
        if let Some(reason) = &disable {
            self.metrics.webhooks_disabled.inc();
            tracing::warn!(webhook_id = hook.id, sequence = event.sequence, reason, "webhook disabled");
        }
        match self.repo.record_attempt(&record, cursor, disable.as_deref(), now).await {
            Ok(_) if record.state == DeliveryState::Succeeded => Next::Continue(event.sequence),
            Ok(_) => Next::Stop,
            Err(e) => {
                tracing::warn!(webhook_id = hook.id, error = %chain(&e), "webhooks: recording a delivery failed");
                Next::Stop
            }
        }
    }

    async fn give_up(&self, hook: &Webhook, cursor: i64, sequence: i64, reason: &str) {
        let record = AttemptRecord {
            webhook_id: hook.id,
            sequence,
            state: DeliveryState::Failed,
            status: 0,
            error: reason.to_owned(),
            next_attempt_at: None,
            manual: false,
        };
        if let Err(e) = self.repo.record_attempt(&record, cursor, Some(reason), Utc::now()).await {
            tracing::warn!(webhook_id = hook.id, error = %chain(&e), "webhooks: disabling failed");
        }
    }

    /// POSTs `event` to `hook`, signed, within the timeout and the host's concurrency.
    pub async fn send(&self, hook: &Webhook, secret: &str, event: &QueueEvent) -> Attempt {
        let failed = |error: String| Attempt::Failed { status: None, error };
        let wire = pb::WatchQueueResponse::event(event, false);
        let Some(pb::watch_queue_response::Item::Event(wire)) = wire.item else {
            return failed("the event has no wire form".into());
        };
        let body = match body::json(&wire) {
            Ok(body) => body,
            Err(e) => return failed(e.to_string()),
        };
        let url = match Url::parse(&hook.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("the URL does not parse: {e}")),
        };
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_ascii_lowercase();
        // Names are checked by the resolver on each connection; literal addresses here.
        if let Ok(ip) = host.parse::<std::net::IpAddr>()
            && !self.settings.allow.allows(&host, ip)
        {
            return failed(refused(&host, ip));
        }
        let Some(permits) = self.host_permits(host) else { return failed("the host table is poisoned".into()) };
        let Ok(_permit) = permits.acquire_owned().await else { return failed("shutting down".into()) };
        let id = message_id(event.sequence);
        let timestamp = Utc::now().timestamp();
        let signature = sign::signature(secret, &id, timestamp, &body);
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) => Attempt::from_status(answer.status().as_u16()),
            Err(e) if e.is_timeout() => failed(format!("no answer within {} ms", self.settings.timeout.as_millis())),
            Err(e) => failed(chain(&e)),
        }
    }

    /// The semaphore bounding attempts in flight to `host`.
    fn host_permits(&self, host: String) -> Option<Arc<Semaphore>> {
        let mut hosts = self.hosts.lock().ok()?;
        let per_host = self.settings.per_host.max(1);
        Some(hosts.entry(host).or_insert_with(|| Arc::new(Semaphore::new(per_host))).clone())
    }

    /// Delivers event `sequence` to subscription `webhook_id` once more, now, outside its
    /// order (its cursor does not move), and records it as a manual delivery.
    pub async fn redeliver(&self, webhook_id: i64, sequence: i64) -> AppResult<Delivery> {
        let (hook, stored) = self.repo.webhook_with_secret(webhook_id).await?;
        let secret = self.sealer.open(&stored).map_err(AppError::Internal)?;
        let event =
            self.repo.events_after(sequence - 1, 1).await?.into_iter().next().filter(|e| e.sequence == sequence);
        let event = event.ok_or_else(|| {
            AppError::OutOfRange(format!("event {sequence} is not in the log (pruned, or not written yet)"))
        })?;
        let (state, status, error) = match self.send(&hook, &secret, &event).await {
            Attempt::Delivered(s) => (DeliveryState::Succeeded, i32::from(s), String::new()),
            Attempt::Gone => (DeliveryState::Failed, 410, "410 Gone".to_owned()),
            Attempt::Failed { status, error } => (DeliveryState::Failed, status.map_or(0, i32::from), error),
        };
        let record = AttemptRecord { webhook_id, sequence, state, status, error, next_attempt_at: None, manual: true };
        self.repo.record_attempt(&record, hook.cursor, None, Utc::now()).await
    }
}
