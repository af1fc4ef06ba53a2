//! WatchQueue scenarios: commit-to-receive latency with N subscribers at a steady write
//! rate, and what idle subscribers (streams open, nothing for them) cost the server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use support_service::pb::{self, watch_queue_response::Item};

use crate::Fallible;
use crate::client::{Authed, Clients, connect};
use crate::load::histogram;

/// Subscribers per HTTP/2 connection (as a client library multiplexes streams).
const PER_CONNECTION: usize = 100;

/// Open WatchQueue streams, each recording commit-to-receive latency of what it gets.
pub(crate) struct Subscribers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Each subscriber's latencies of the events it received, µs.
    latency: Vec<Arc<Mutex<Histogram<u64>>>>,
    /// Events received, over all subscribers.
    pub(crate) received: Arc<AtomicU64>,
}

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscribers").field("count", &self.tasks.len()).finish()
    }
}

impl Subscribers {
    /// Opens `n` subscriptions with `request` and waits until each has its snapshot.
    pub(crate) async fn open(uri: &str, token: &str, n: usize, request: pb::WatchQueueRequest) -> Fallible<Self> {
        let mut latency = Vec::with_capacity(n);
        let received = Arc::new(AtomicU64::new(0));
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<bool>(n.max(1));
        let mut channels: Vec<Authed> = Vec::new();
        for _ in 0..n.div_ceil(PER_CONNECTION) {
            channels.push(connect(uri, token).await?);
        }
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let mut client = pb::ticket_service_client::TicketServiceClient::new(channels[i / PER_CONNECTION].clone());
            let mine = Arc::new(Mutex::new(histogram()));
            latency.push(mine.clone());
            let (received, ready, request) = (received.clone(), ready_tx.clone(), request);
            tasks.push(tokio::spawn(async move {
                let mut stream = match client.watch_queue(request).await {
                    Ok(s) => s.into_inner(),
                    Err(_) => {
                        let _ = ready.send(false).await;
                        return;
                    }
                };
                while let Ok(Some(msg)) = stream.message().await {
                    match msg.item {
                        Some(Item::SnapshotEnd(_)) => {
                            let _ = ready.send(true).await;
                        }
                        Some(Item::Event(e)) => {
                            let now = chrono::Utc::now();
                            if let Some(t) = e.event_time {
                                let sent = chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap_or(now);
                                let micros = (now - sent).num_microseconds().unwrap_or(0).max(1) as u64;
                                let _ = mine.lock().map(|mut h| h.record(micros));
                            }
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            }));
        }
        drop(ready_tx);
        let mut ready = 0;
        while ready < n {
            match tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await {
                Ok(Some(true)) => ready += 1,
                Ok(Some(false)) | Ok(None) => return Err("a subscription failed to open".into()),
                Err(_) => return Err(format!("only {ready} of {n} subscriptions opened (none for 60 s)").into()),
            }
        }
        Ok(Self { tasks, latency, received })
    }

    /// Waits (up to `patience`) until `expected` events arrived; returns how many did.
    pub(crate) async fn wait_for(&self, expected: u64, patience: Duration) -> u64 {
        let deadline = Instant::now() + patience;
        while self.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received.load(Ordering::Relaxed)
    }

    /// Closes every stream.
    pub(crate) async fn close(self) -> Histogram<u64> {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        let mut all = histogram();
        for h in &self.latency {
            if let Ok(h) = h.lock() {
                let _ = all.add(&*h);
            }
        }
        all
    }
}

/// Creates tickets at `rate` per second for `seconds` (up to 64 in flight); returns the
/// number written and the CreateTicket latency.
pub(crate) async fn steady_writes(
    api: &Clients,
    customer: i64,
    department: i64,
    rate: u32,
    seconds: f64,
) -> Fallible<(u64, Histogram<u64>)> {
    let writes = (f64::from(rate) * seconds).round() as u64;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    let permits = Arc::new(tokio::sync::Semaphore::new(64));
    let mut calls = Vec::new();
    for i in 0..writes {
        ticker.tick().await;
        let permit = permits.clone().acquire_owned().await?;
        let mut tickets = api.tickets.clone();
        let req = pb::CreateTicketRequest {
            customer_id: customer,
            department_id: department,
            category: pb::TicketCategory::Other.into(),
            subject: format!("Steady write {i}"),
            description: "A ticket made by the load generator.".into(),
            severity: pb::Severity::Minor.into(),
            impact: 1,
            request_id: String::new(),
        };
        calls.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let done = tickets.create_ticket(req).await.map(drop);
            drop(permit);
            (done, t0.elapsed().as_micros() as u64)
        }));
    }
    let mut written = 0;
    let mut latency = histogram();
    let mut failed = 0;
    for call in calls {
        match call.await {
            Ok((Ok(()), micros)) => {
                written += 1;
                let _ = latency.record(micros.max(1));
            }
            Ok((Err(status), _)) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("watch: a steady write failed: {:?} {}", status.code(), status.message());
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("watch: a steady write's task failed: {e}");
            }
        }
    }
    if failed > 0 {
        eprintln!("watch: {failed} of {writes} steady writes failed");
    }
    Ok((written, latency))
}
