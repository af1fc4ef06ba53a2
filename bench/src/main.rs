//! The load generator. Today it has the `watch` scenario: N WatchQueue subscribers while
//! tickets are created at a steady rate, measuring commit-to-receive latency (the event's
//! commit-time stamp to its arrival at each subscriber) with an HDR histogram.
//!
//! `cargo run --release -p bench -- watch --subscribers 10,100,1000 --rate 200 --seconds 10`
//! The server runs in-process on its own runtime, against SQLite (default) or the MySQL
//! server of `--mysql mysql://user:pass@host:port` (a `support_bench` database is made
//! fresh for each run).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use sea_orm::{ConnectionTrait, Database};
use support_service::app::App;
use support_service::config::Settings;
use support_service::domain::SystemClock;
use support_service::domain::access::{Principal, Role};
use support_service::pb::{self, watch_queue_response::Item};
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Adds the bench's service token to every call.
#[derive(Debug, Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// A channel carrying `token`.
fn authed(channel: Channel, token: &str) -> Result<InterceptedService<Channel, Bearer>, Box<dyn std::error::Error>> {
    Ok(InterceptedService::new(channel, Bearer(format!("Bearer {token}").parse()?)))
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for Support Service")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// WatchQueue commit-to-receive latency with N subscribers at a steady write rate.
    Watch {
        /// Subscriber counts to run, one run each.
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
        subscribers: Vec<usize>,
        /// Ticket creates per second.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Seconds of writing per run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A MySQL server (no database part); SQLite when absent.
        #[arg(long)]
        mysql: Option<String>,
    },
    /// Every ReportService call against an existing (seeded) database: p50 and max.
    Reports {
        /// The database, e.g. filled by `support-service seed-demo --scale 100`.
        #[arg(long)]
        database_url: String,
        /// Calls per report.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

struct Server {
    addr: std::net::SocketAddr,
    /// A `service` token for the load generator's calls.
    token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_server(mysql: Option<&str>) -> Result<Server, Box<dyn std::error::Error>> {
    let url = match mysql {
        Some(base) => {
            let admin = Database::connect(base).await?;
            admin.execute_unprepared("DROP DATABASE IF EXISTS `support_bench`").await?;
            admin.execute_unprepared("CREATE DATABASE `support_bench`").await?;
            admin.close().await?;
            format!("{base}/support_bench")
        }
        None => {
            let file = std::env::temp_dir().join(format!("support-bench-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            format!("sqlite://{}?mode=rwc", file.display())
        }
    };
    serve(url).await
}

/// The service in-process on `url`, with a service token for the load generator.
async fn serve(url: String) -> Result<Server, Box<dyn std::error::Error>> {
    let mut settings = Settings::with_database(url);
    // No aging or pruning run in the middle of a measurement.
    settings.maintenance_interval_ms = 24 * 3_600_000;
    settings.watch_buffer = 1 << 16;
    settings.watch_heartbeat_ms = 1_000;
    settings.auto_assign = false;
    // The load generator is one principal making thousands of calls a second.
    settings.rate_limit_per_second = 0;
    settings.auth_secret = Some(format!("bench-{}-{}", std::process::id(), "k7Qz9xW2mP4vR8tY1uI6oA3sD5fG0hJ").into());
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let token = app.tokens().mint(&Principal::named(Role::Service, "bench"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = app
            .run(listener, async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Server { addr, token, stop: Some(tx), task })
}

/// One run: returns (histogram of latencies in µs, events expected, events received).
async fn watch_run(
    subscribers: usize,
    rate: u32,
    seconds: u64,
    mysql: Option<&str>,
) -> Result<(Histogram<u64>, u64, u64), Box<dyn std::error::Error>> {
    let mut server = start_server(mysql).await?;
    let uri = format!("http://{}", server.addr);
    let channel = authed(Channel::from_shared(uri.clone())?.connect().await?, &server.token)?;
    let mut departments = pb::department_service_client::DepartmentServiceClient::new(channel.clone());
    let mut customers = pb::customer_service_client::CustomerServiceClient::new(channel.clone());
    let d = departments
        .create_department(pb::CreateDepartmentRequest {
            department: Some(pb::Department {
                name: "Bench".into(),
                conversation_mode: pb::ConversationMode::Chat.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .department
        .ok_or("no department")?;
    let c = customers
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(pb::Customer {
                first_name: "Bench".into(),
                last_name: "Mark".into(),
                email: "bench@example.com".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .customer
        .ok_or("no customer")?;

    // Subscribers, 100 per connection.
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers.max(1));
    let mut channels = Vec::new();
    for _ in 0..subscribers.div_ceil(100) {
        channels.push(authed(Channel::from_shared(uri.clone())?.connect().await?, &server.token)?);
    }
    let mut readers = Vec::new();
    for i in 0..subscribers {
        let mut client = pb::ticket_service_client::TicketServiceClient::new(channels[i / 100].clone());
        let (histogram, received, ready) = (histogram.clone(), received.clone(), ready_tx.clone());
        readers.push(tokio::spawn(async move {
            let Ok(stream) = client.watch_queue(pb::WatchQueueRequest::default()).await else { return };
            let mut stream = stream.into_inner();
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            while let Ok(Some(msg)) = stream.message().await {
                match msg.item {
                    Some(Item::SnapshotEnd(_)) => {
                        let _ = ready.send(()).await;
                    }
                    Some(Item::Event(e)) => {
                        let now = chrono::Utc::now();
                        if let Some(t) = e.event_time {
                            let sent = chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap_or(now);
                            let micros = (now - sent).num_microseconds().unwrap_or(0).max(1) as u64;
                            let _ = local.record(micros);
                        }
                        received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if local.len().is_multiple_of(64) {
                            let _ = histogram.lock().map(|mut h| h.add(&local));
                            local.reset();
                        }
                    }
                    _ => {}
                }
            }
            let _ = histogram.lock().map(|mut h| h.add(&local));
        }));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await;
    }

    // Steady writes.
    let writes = u64::from(rate) * seconds;
    let every = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticker = tokio::time::interval(every);
    let permits = Arc::new(tokio::sync::Semaphore::new(64));
    let started = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..writes {
        ticker.tick().await;
        let permit = permits.clone().acquire_owned().await?;
        let mut tickets = pb::ticket_service_client::TicketServiceClient::new(channel.clone());
        let req = pb::CreateTicketRequest {
            customer_id: c.id,
            department_id: d.id,
            category: pb::TicketCategory::Other.into(),
            subject: "bench".into(),
            description: "steady write".into(),
            severity: pb::Severity::Minor.into(),
            impact: 1,
            request_id: String::new(),
        };
        calls.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let ok = tickets.create_ticket(req).await.is_ok();
            drop(permit);
            (ok, t0.elapsed().as_micros() as u64)
        }));
    }
    let mut written = 0u64;
    let mut write_latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for call in calls {
        let (ok, micros) = call.await.unwrap_or((false, 0));
        written += u64::from(ok);
        let _ = write_latency.record(micros.max(1));
    }
    eprintln!(
        "  CreateTicket latency: p50 {:.1} ms, p99 {:.1} ms",
        write_latency.value_at_quantile(0.5) as f64 / 1000.0,
        write_latency.value_at_quantile(0.99) as f64 / 1000.0
    );
    let elapsed = started.elapsed();
    eprintln!("  wrote {written} tickets in {:.1} s", elapsed.as_secs_f64());
    let expected = written * subscribers as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(std::sync::atomic::Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(15), r).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), &mut server.task).await;
    let h = histogram.lock().map_err(|_| "poisoned")?.clone();
    Ok((h, expected, received.load(std::sync::atomic::Ordering::Relaxed)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Reports { database_url, runs } => reports(database_url, runs.max(1)).await?,
        Scenario::Watch { subscribers, rate, seconds, mysql } => {
            println!("| subscribers | writes/s | events delivered | p50 ms | p90 ms | p99 ms | max ms |");
            println!("|---:|---:|---:|---:|---:|---:|---:|");
            let mut json = Vec::new();
            for n in subscribers {
                eprintln!("watch: {n} subscribers, {rate} writes/s for {seconds} s");
                let (h, expected, got) = watch_run(n, rate, seconds, mysql.as_deref()).await?;
                let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
                println!(
                    "| {n} | {rate} | {got} of {expected} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    ms(0.5),
                    ms(0.9),
                    ms(0.99),
                    h.max() as f64 / 1000.0
                );
                json.push(serde_json::json!({
                    "scenario": "watch", "subscribers": n, "rate": rate, "seconds": seconds,
                    "expected": expected, "received": got,
                    "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99), "max_ms": h.max() as f64 / 1000.0,
                }));
            }
            eprintln!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(())
}

/// Times each report `runs` times (after one warm-up call) through the generated client.
async fn reports(url: String, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut server = serve(url.clone()).await?;
    // A freshly seeded database's events are numbered by the server's sequencer on its
    // first start; time the reports once that work is done, not beside it.
    let db = Database::connect(url).await?;
    loop {
        let pending = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM queue_events WHERE sequence IS NULL",
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if pending == 0 {
            break;
        }
        eprintln!("waiting for the sequencer: {pending} events to number");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    db.close().await?;
    let channel = authed(Channel::from_shared(format!("http://{}", server.addr))?.connect().await?, &server.token)?;
    let mut client = pb::report_service_client::ReportServiceClient::new(channel);
    let month = Some(pb::ReportScope {
        start_time: Some(prost_types::Timestamp { seconds: 1_788_220_800, nanos: 0 }), // 2026-09-01
        end_time: Some(prost_types::Timestamp { seconds: 1_790_812_800, nanos: 0 }),   // 2026-10-01
        department_id: 0,
    });
    let department = Some(pb::ReportScope { department_id: 1, ..Default::default() });
    println!("| report | scope | p50 ms | max ms |");
    println!("|---|---|---:|---:|");
    for (name, scope_name, scope) in [
        ("GetResolutionTimeReport", "all", None),
        ("GetResolutionTimeReport", "department 1", department),
        ("GetAgentsPerTicketReport", "all", None),
        ("GetAgentReport", "all", None),
        ("GetAgentReport", "September", month),
        ("GetFirstResponseReport", "all", None),
        ("GetBacklogReport", "all", None),
    ] {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        for i in 0..=runs {
            let t0 = Instant::now();
            match name {
                "GetResolutionTimeReport" => {
                    client.get_resolution_time_report(pb::GetResolutionTimeReportRequest { scope }).await.map(drop)
                }
                "GetAgentsPerTicketReport" => {
                    client.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest { scope }).await.map(drop)
                }
                "GetAgentReport" => client.get_agent_report(pb::GetAgentReportRequest { scope }).await.map(drop),
                "GetFirstResponseReport" => {
                    client.get_first_response_report(pb::GetFirstResponseReportRequest { scope }).await.map(drop)
                }
                _ => client.get_backlog_report(pb::GetBacklogReportRequest { scope }).await.map(drop),
            }?;
            if i > 0 {
                h.record(t0.elapsed().as_micros().max(1) as u64)?;
            }
        }
        let ms = |v: u64| v as f64 / 1000.0;
        println!("| {name} | {scope_name} | {:.1} | {:.1} |", ms(h.value_at_quantile(0.5)), ms(h.max()));
    }
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    Ok(())
}
