//! SearchTickets against an existing (seeded) database: callers in closed loops for a fixed
//! time, each sending two-word queries from the demo's vocabulary in turn (common words
//! that match thousands of tickets and rarer ones), as the service token (every ticket in
//! scope) or as one department's agent.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use support_service::pb;

use crate::Fallible;
use crate::client::Clients;

/// Two-word queries: words of the demo's subjects, messages and notes.
const QUERIES: &[&str] = &[
    "password reset",
    "order number",
    "parcel arrived",
    "charged twice",
    "wrong item",
    "refund issued",
    "same error",
    "duplicate capture",
    "invoice question",
    "app crashes",
];

/// What the callers measured.
#[derive(Debug)]
pub(crate) struct Searched {
    /// Latency of each call, µs.
    pub(crate) latency: Histogram<u64>,
    /// Results returned (first pages of 20), over all calls.
    pub(crate) results: u64,
}

/// Runs `callers` closed loops for `seconds` through `clients`.
pub(crate) async fn run(clients: &Clients, callers: usize, seconds: f64) -> Fallible<Searched> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(callers);
    for caller in 0..callers {
        let mut tickets = clients.tickets.clone();
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut results = 0;
            let mut i = caller;
            while Instant::now() < deadline {
                let query = QUERIES[i % QUERIES.len()].to_owned();
                i += 1;
                let t0 = Instant::now();
                let r = tickets.search_tickets(pb::SearchTicketsRequest { query, ..Default::default() }).await?;
                latency.record(t0.elapsed().as_micros().max(1) as u64)?;
                results += r.into_inner().results.len() as u64;
            }
            Fallible::Ok((latency, results))
        }));
    }
    let mut all = Searched { latency: Histogram::new_with_bounds(1, 60_000_000, 3)?, results: 0 };
    for t in tasks {
        let (latency, results) = t.await??;
        all.latency.add(latency)?;
        all.results += results;
    }
    Ok(all)
}
