//! Each scenario's floor with its database work: the cheapest gRPC server that does the
//! same work. A bare tonic server (this executable's `serve-bare`) answers
//! `grpc.health.v1.Health/Check` by doing one call of raw's scenario (raw sqlx, the same
//! statements and transactions as the raw baseline, on a pool like the service's), drawn
//! from the seed its request names (`service` is `SCENARIO:SEED`); the reads, GetTicket
//! and ListTickets, it answers as the API does, with the same requests and the ticket
//! resources built from raw's rows ([`BareTickets`]). It has tonic's HTTP/2 stack and
//! the socket to MariaDB, and nothing of the service: no authentication, observation,
//! sea-orm, handler or background work. A scenario's server CPU a call less the bare
//! server's is what the service adds to a gRPC server that does the same database work;
//! the overhead table's "server − raw generator" also counts what any gRPC server pays to
//! wait on a second socket.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support_service::grpc::coalesce::Coalesce;
use support_service::pb;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::client::{Clients, connect};
use crate::fixture::{self, Fixture};
use crate::floor::Floor;
use crate::load::{self, Op};
use crate::raw::Raw;
use crate::server::{self, ServerProcess};
use crate::workload::{self, Kind, PAGE};
use crate::{Fallible, bare_watch, raw};

/// The bare server's only service: raw's calls, one a check.
struct Bare {
    pool: sea_orm::sqlx::MySqlPool,
    fixture: Arc<Fixture>,
}

#[tonic::async_trait]
impl Health for Bare {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        let (kind, seed) = service
            .split_once(':')
            .and_then(|(kind, seed)| Some((<Kind as clap::ValueEnum>::from_str(kind, false).ok()?, seed.parse().ok()?)))
            .ok_or_else(|| Status::invalid_argument("service: SCENARIO:SEED"))?;
        let mut raw = Raw { kind, pool: self.pool.clone(), fixture: self.fixture.clone() };
        raw.call(&mut ChaCha8Rng::seed_from_u64(seed)).await.map_err(Status::unavailable)?;
        Ok(Response::new(HealthCheckResponse { status: ServingStatus::Serving as i32 }))
    }

    type WatchStream = Pin<Box<dyn futures::Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(&self, _request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("the bare server only checks"))
    }
}

/// The bare server's GetTicket and ListTickets: raw's SELECT, answered with the API's
/// resources through tonic's own prost codec, so that a read's floor carries its answer
/// (50 tickets for a page) as the service's does, less the page token (about 100 bytes).
/// Its CreateTicket and WatchQueue are WatchQueue's floor ([`crate::bare_watch`]). The
/// bench calls them with the same requests it sends the service; every other method is
/// UNIMPLEMENTED.
#[derive(Clone)]
struct BareTickets {
    raw: Raw,
    live: Arc<bare_watch::Live>,
}

impl tonic::server::NamedService for BareTickets {
    const NAME: &'static str = pb::ticket_service_server::SERVICE_NAME;
}

impl tower::Service<http::Request<tonic::body::Body>> for BareTickets {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let (raw, live) = (self.raw.clone(), self.live.clone());
        Box::pin(async move {
            use tonic::server::Grpc;
            use tonic_prost::ProstCodec;
            Ok(match request.uri().path().rsplit('/').next() {
                Some("GetTicket") => {
                    let get = tower::service_fn(move |r: Request<pb::GetTicketRequest>| {
                        let raw = raw.clone();
                        async move {
                            let ticket = raw.get(r.into_inner().id).await.map_err(Status::unavailable)?;
                            Ok(Response::new(pb::GetTicketResponse { ticket: Some(ticket.into_pb()) }))
                        }
                    });
                    Grpc::new(ProstCodec::default()).unary(get, request).await
                }
                Some("ListTickets") => {
                    let list = tower::service_fn(move |r: Request<pb::ListTicketsRequest>| {
                        let raw = raw.clone();
                        async move {
                            let page = raw.page(r.into_inner().department_id).await.map_err(Status::unavailable)?;
                            let tickets = page.into_iter().take(PAGE as usize).map(raw::Ticket::into_pb).collect();
                            Ok(Response::new(pb::ListTicketsResponse { tickets, next_page_token: String::new() }))
                        }
                    });
                    Grpc::new(ProstCodec::default()).unary(list, request).await
                }
                Some("CreateTicket") => {
                    let create = tower::service_fn(move |r| bare_watch::create_ticket(raw.clone(), live.clone(), r));
                    Grpc::new(ProstCodec::default()).unary(create, request).await
                }
                Some("WatchQueue") => {
                    let watch = tower::service_fn(move |r| bare_watch::watch_queue(live.clone(), r));
                    Grpc::new(bare_watch::codec()).server_streaming(watch, request).await
                }
                _ => Status::unimplemented(
                    "the bare server answers only GetTicket, ListTickets, CreateTicket and WatchQueue",
                )
                .into_http(),
            })
        })
    }
}

/// The child's side: serve on an ephemeral port with `TCP_NODELAY` and flush consolidation,
/// as the service does; print `ADDR -` (no token) on stdout; stop when stdin closes.
pub(crate) async fn serve_child(url: String, fixture: &Path) -> Fallible<()> {
    let fixture: Arc<Fixture> = Arc::new(serde_json::from_slice(&std::fs::read(fixture)?)?);
    let pool = raw::pool(&url).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{} -", listener.local_addr()?);
    // The service's flush consolidation too: without it, HTTP/2 writes each WatchQueue
    // frame almost on its own ([`Coalesce`]).
    let incoming =
        tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)).map(|c| c.map(Coalesce::new));
    // Its reads take their arguments from the request, so its `kind` is not used.
    let raw = Raw { kind: Kind::GetTicket, pool: pool.clone(), fixture: fixture.clone() };
    let tickets = BareTickets { raw, live: bare_watch::Live::new() };
    tonic::transport::Server::builder()
        .add_service(HealthServer::new(Bare { pool, fixture }))
        .add_service(tickets)
        .serve_with_incoming_shutdown(incoming, server::stdin_closed())
        .await?;
    Ok(())
}

/// One call of a scenario to the bare server.
#[derive(Clone)]
enum BareCall {
    /// A write or the mixed round: a check asking for one call of `kind`, drawn from a
    /// seed of the caller's own draws.
    Check { client: HealthClient<tonic::transport::Channel>, kind: Kind },
    /// A read: the API's own request, as the service gets it ([`BareTickets`]).
    Read(Box<workload::Api>),
}

impl Op for BareCall {
    async fn call(&mut self, rng: &mut ChaCha8Rng) -> Result<(), String> {
        match self {
            BareCall::Check { client, kind } => {
                let service = format!("{}:{}", kind.name(), rng.random::<u64>());
                client
                    .check(HealthCheckRequest { service })
                    .await
                    .map(drop)
                    .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
            }
            BareCall::Read(api) => api.call(rng).await,
        }
    }
}

/// What was measured in one round at one concurrency: µs of CPU a call.
struct Round {
    /// The service's server.
    service: f64,
    /// The bare server.
    bare: f64,
    /// This process making raw's calls itself, as the tables' raw generator.
    raw: f64,
    /// The service's server answering health checks.
    floor: f64,
}

/// Each of `kinds` through the service, the same work through the bare server, and the
/// floor (a health check through the service), interleaved, `rounds` times at each
/// concurrency, on a fresh database each; prints a Markdown table of server CPU a call.
pub(crate) async fn compare(
    mysql: &str,
    kinds: &[Kind],
    concurrency: &[usize],
    seconds: f64,
    rounds: usize,
    tickets: i64,
    seed: u64,
) -> Fallible<()> {
    println!(
        "| scenario | callers | round | the service's server | bare server | raw generator | service − bare | bare − raw generator | floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &kind in kinds {
        one(mysql, kind, concurrency, Duration::from_secs_f64(seconds), rounds.max(1), tickets, seed).await?;
    }
    Ok(())
}

async fn one(
    mysql: &str,
    kind: Kind,
    concurrency: &[usize],
    run: Duration,
    rounds: usize,
    tickets: i64,
    seed: u64,
) -> Fallible<()> {
    let url = fixture::fresh_database(mysql, "support_bench").await?;
    let service = ServerProcess::start(&url)?;
    let channel = connect(&service.uri, &service.token).await?;
    let mut api = Clients::new(channel.clone());
    let pool = raw::pool(&url).await?;
    eprintln!("bare {}: filling the database ({tickets} tickets)", kind.name());
    let fixture = fixture::fill(&mut api, &pool, tickets).await?;
    server::database_settled().await;
    let bare = ServerProcess::start_bare(&url, &fixture)?;
    let bare_channel = tonic::transport::Channel::from_shared(bare.uri.clone())?.connect().await?;
    let fixture = Arc::new(fixture);
    let raw_op = Raw { kind, pool: pool.clone(), fixture: fixture.clone() };
    let bare_op = match kind {
        Kind::GetTicket | Kind::ListTickets => {
            let clients = Clients::new(connect(&bare.uri, &service.token).await?);
            BareCall::Read(Box::new(workload::Api { kind, clients, fixture: fixture.clone() }))
        }
        _ => BareCall::Check { client: HealthClient::new(bare_channel), kind },
    };
    let service_op = workload::Api { kind, clients: api, fixture };
    let floor_op = Floor(HealthClient::new(channel));
    let hidden = ProgressBar::hidden();
    let cpu = |process: &ServerProcess| process.usage().cpu_secs;
    let per_call = |secs: f64, calls: u64| (secs * 1e6 / calls.max(1) as f64).round();
    for &callers in concurrency {
        // Warm both up (connections, statement caches), unmeasured.
        load::run(service_op.clone(), callers, run.min(Duration::from_secs(1)), seed, &hidden).await;
        load::run(bare_op.clone(), callers, run.min(Duration::from_secs(1)), seed, &hidden).await;
        load::run(raw_op.clone(), callers, run.min(Duration::from_secs(1)), seed, &hidden).await;
        let mut measured = Vec::new();
        for round in 0..rounds {
            let seed = seed.wrapping_add(1_000 * (round as u64 + 1));
            let before = cpu(&service);
            let calls = load::run(service_op.clone(), callers, run, seed, &hidden).await.ops;
            let service_us = per_call(cpu(&service) - before, calls);
            let before = cpu(&bare);
            let calls = load::run(bare_op.clone(), callers, run, seed, &hidden).await.ops;
            let bare_us = per_call(cpu(&bare) - before, calls);
            let before = server::usage_of("self").cpu_secs;
            let calls = load::run(raw_op.clone(), callers, run, seed, &hidden).await.ops;
            let raw_us = per_call(server::usage_of("self").cpu_secs - before, calls);
            let before = cpu(&service);
            let calls = load::run(floor_op.clone(), callers, run, seed, &hidden).await.ops;
            let floor_us = per_call(cpu(&service) - before, calls);
            measured.push(Round { service: service_us, bare: bare_us, raw: raw_us, floor: floor_us });
            row(kind, callers, &(round + 1).to_string(), measured.last().ok_or("no round")?);
        }
        let median = |f: fn(&Round) -> f64| crate::report::median(measured.iter().map(f).collect());
        let median = Round {
            service: median(|r| r.service),
            bare: median(|r| r.bare),
            raw: median(|r| r.raw),
            floor: median(|r| r.floor),
        };
        row(kind, callers, "median", &median);
    }
    pool.close().await;
    bare.stop()?;
    service.stop()?;
    Ok(())
}

fn row(kind: Kind, callers: usize, round: &str, r: &Round) {
    println!(
        "| {} | {callers} | {round} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
        kind.name(),
        r.service,
        r.bare,
        r.raw,
        r.service - r.bare,
        r.bare - r.raw,
        r.floor
    );
}
