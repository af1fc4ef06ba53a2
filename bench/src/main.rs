//! The load generator. Every scenario runs the real service in a child process (this
//! executable's hidden `serve` subcommand, i.e. the production `App`) against a fresh
//! MariaDB database, drives it through the generated tonic clients, and, for the
//! table-driven scenarios, does the same database work directly with sqlx in the same run,
//! interleaved, so the figure that matters is service ÷ raw on one machine at one moment.
//!
//! `cargo run --release -p bench -- all --write` measures everything and rewrites the
//! generated section of BENCHMARKS.md; `cargo run --release -p bench -- SCENARIO --help`
//! shows one scenario's options.

mod bare;
mod bare_watch;
mod client;
mod dbstatus;
mod fixture;
mod floor;
mod instructions;
mod load;
mod metrics_cost;
mod raw;
mod report;
mod search;
mod server;
mod watch;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::sqlx::MySqlPool;
use support_service::pb;

use client::{Clients, connect};
use report::{Compared, CpuPerCall, FloorMeasure, Idle, Measure, Memory, Report, Targets, Watched};
use server::{Quiet, ServerProcess};
use workload::Kind;

/// The same allocator as the `support-service` binary (the server under test is this
/// executable).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Parser)]
#[command(about = "Load generator for Support Service: the service beside raw sqlx, on MariaDB")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

/// Options every scenario shares.
#[derive(Debug, Clone, Args)]
struct Common {
    /// The MariaDB/MySQL server (no database part); each scenario makes a fresh
    /// `support_bench` database there.
    #[arg(long, env = "SUPPORT_BENCH_MYSQL", default_value = "mysql://support:support@127.0.0.1:3306")]
    mysql: String,
    /// Seed of every random choice (callers draw from seed + their index).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<String>,
}

/// Options of the service-versus-raw scenarios.
#[derive(Debug, Clone, Args)]
struct Table {
    /// Concurrent callers, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    concurrency: Vec<usize>,
    /// Seconds per run (each round runs the service and raw once each).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Interleaved rounds (service, raw, raw, service, ...).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Tickets in the database before the run.
    #[arg(long, default_value_t = 100_000)]
    tickets: i64,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// CreateTicket beside the same transaction in raw sqlx.
    CreateTicket(TableArgs),
    /// GetTicket beside the same SELECT in raw sqlx.
    GetTicket(TableArgs),
    /// ListTickets (a filtered page of 50) beside the same SELECT in raw sqlx.
    ListTickets(TableArgs),
    /// AddLog (an agent's public reply) beside the same transaction in raw sqlx.
    AddLog(TableArgs),
    /// An agent's round (queue page, ticket, its messages, a reply) beside raw sqlx.
    Mixed(TableArgs),
    /// Server instructions per call under callgrind, with the top functions by inclusive cost.
    Instructions(InstructionArgs),
    /// Each scenario's server CPU a call beside a bare tonic server's doing the same work in
    /// raw sqlx, and the floor: what the service adds to the cheapest gRPC server that does
    /// its database work (prints a table; not part of `all`).
    Bare(BareArgs),
    /// WatchQueue commit-to-receive latency with N subscribers at a steady write rate.
    Watch(WatchArgs),
    /// CreateTicket throughput without and with N idle subscribers.
    Idle(IdleArgs),
    /// Server memory holding N idle subscribers.
    Memory(MemoryArgs),
    /// Every ReportService call against an existing (seeded) database: p50 and max.
    Reports {
        /// The database, e.g. filled by `support-service seed-demo --scale 100`.
        #[arg(long)]
        database_url: String,
        /// Calls per report.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// SearchTickets against an existing (seeded) database: two-word queries from the
    /// demo's vocabulary, closed-loop callers; p50, p90, p99 and max.
    Search {
        /// The database, e.g. filled by `support-service seed-demo --scale 100`.
        #[arg(long)]
        database_url: String,
        /// Concurrent callers.
        #[arg(long, default_value_t = 16)]
        callers: usize,
        /// Seconds of calling (after one unmeasured second).
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Every scenario above but `reports` and `search`, with their defaults (or `--quick` ones).
    All {
        #[command(flatten)]
        common: Common,
        /// Seconds-long runs with small counts: checks that everything runs and reports.
        #[arg(long)]
        quick: bool,
        /// Rewrite the generated section of BENCHMARKS.md.
        #[arg(long)]
        write: bool,
    },
    /// What the per-RPC metrics cost: the server's observation layer, metrics on and off.
    MetricsCost {
        /// Calls per round.
        #[arg(long, default_value_t = 200_000)]
        calls: u64,
        /// Rounds of each (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// (internal) The raw generator's calls counted under callgrind (`instructions`).
    #[command(hide = true)]
    RawCalls {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        scenario: Kind,
        #[arg(long)]
        calls: u64,
        #[arg(long)]
        callers: u64,
        /// The fixture as JSON.
        #[arg(long)]
        fixture: std::path::PathBuf,
        /// Count the database's instructions too (it runs under callgrind).
        #[arg(long)]
        count_database: bool,
    },
    /// (internal) The bare tonic server of `bare`; prints `ADDR -`, stops when stdin closes.
    #[command(hide = true)]
    ServeBare {
        #[arg(long)]
        database_url: String,
        /// The fixture as JSON.
        #[arg(long)]
        fixture: std::path::PathBuf,
    },
    /// (internal) The service under test; prints `ADDR TOKEN`, stops when stdin closes.
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        database_url: String,
        /// The sequencer polls once a second, not every 20 ms ([`server::Quiet`]).
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Debug, Clone, Args)]
struct TableArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    table: Table,
}

#[derive(Debug, Clone, Args)]
struct BareArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    table: Table,
    /// The scenarios to compare.
    #[arg(long, value_delimiter = ',', default_value = "get-ticket,create-ticket,list-tickets,add-log")]
    scenarios: Vec<Kind>,
}

#[derive(Debug, Clone, Args)]
struct InstructionArgs {
    #[command(flatten)]
    common: Common,
    /// The scenarios to count.
    #[arg(long, value_delimiter = ',', default_value = "get-ticket,create-ticket,list-tickets,add-log")]
    scenarios: Vec<Kind>,
    /// Calls counted per scenario (after an uncounted warm-up).
    #[arg(long, default_value_t = 1000)]
    calls: u64,
    /// Callers making them at once (with one, every write has a numbering round of its own).
    #[arg(long, default_value_t = 1)]
    callers: u64,
    /// Tickets in the database before the calls.
    #[arg(long, default_value_t = 100_000)]
    tickets: i64,
    /// Keep callgrind's dumps in this directory (`callgrind_annotate` reads them).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
    /// The database (`--mysql`) runs under callgrind and writes its dumps into this
    /// directory: count its instructions per call too, through the service and from raw
    /// sqlx (`scripts/bench-database-instructions.sh` starts such a database).
    #[arg(long)]
    database_dumps: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct WatchArgs {
    #[command(flatten)]
    common: Common,
    /// Subscriber counts, one run each; every subscriber watches the whole queue.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    subscribers: Vec<usize>,
    /// Ticket creates per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds of writing per run.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
}

#[derive(Debug, Clone, Args)]
struct IdleArgs {
    #[command(flatten)]
    common: Common,
    /// Idle subscribers (watching a department nobody writes to).
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Concurrent CreateTicket callers.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Interleaved rounds (without, with, with, without, ...).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(Debug, Clone, Args)]
struct MemoryArgs {
    #[command(flatten)]
    common: Common,
    /// Idle subscribers to hold.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Seconds to hold them (while 20 tickets a second go to another department).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

/// Worker threads of this process's runtime: `SUPPORT_BENCH_THREADS`, one by default. The
/// server it starts inherits the setting, so both sides of every comparison, the server
/// and raw's generator, run as the Kubernetes manifest runs a replica that requests less
/// than one CPU: the server here has well under one of the machine's two cores (its CPU
/// in the tables). With a worker per core, each side's threads woke each other, about
/// 1.5 times a socket write (BENCHMARKS.md, issue 21, item 45).
fn worker_threads() -> Fallible<usize> {
    match std::env::var("SUPPORT_BENCH_THREADS") {
        Err(_) => Ok(1),
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| format!("SUPPORT_BENCH_THREADS={v:?}: expected 1 to 64 worker threads").into()),
    }
}

fn main() -> Fallible<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(worker_threads()?).enable_all().build()?;
    runtime.block_on(async move {
        let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
        let command = format!("cargo run --release -p bench -- {command}");
        match cli.scenario {
            Scenario::Serve { database_url, quiet } => {
                server::serve_child(database_url, if quiet { Quiet::Yes } else { Quiet::No }).await
            }
            Scenario::ServeBare { database_url, fixture } => bare::serve_child(database_url, &fixture).await,
            Scenario::Bare(a) => {
                let t = &a.table;
                let seed = a.common.seed;
                bare::compare(&a.common.mysql, &a.scenarios, &t.concurrency, t.seconds, t.rounds, t.tickets, seed).await
            }
            Scenario::RawCalls { database_url, scenario, calls, callers, fixture, count_database } => {
                let calls = instructions::Calls { calls, callers };
                instructions::raw_calls(&database_url, scenario, calls, &fixture, count_database).await
            }
            Scenario::Reports { database_url, runs } => reports(database_url, runs.max(1)).await,
            Scenario::Search { database_url, callers, seconds } => search(database_url, callers.max(1), seconds).await,
            Scenario::CreateTicket(a) => one(command, &a.common, Job::Compare(&a, Kind::CreateTicket)).await,
            Scenario::GetTicket(a) => one(command, &a.common, Job::Compare(&a, Kind::GetTicket)).await,
            Scenario::ListTickets(a) => one(command, &a.common, Job::Compare(&a, Kind::ListTickets)).await,
            Scenario::AddLog(a) => one(command, &a.common, Job::Compare(&a, Kind::AddLog)).await,
            Scenario::Mixed(a) => one(command, &a.common, Job::Compare(&a, Kind::Mixed)).await,
            Scenario::Instructions(a) => one(command, &a.common, Job::Instructions(&a)).await,
            Scenario::Watch(a) => one(command, &a.common, Job::Watch(&a)).await,
            Scenario::Idle(a) => one(command, &a.common, Job::Idle(&a)).await,
            Scenario::Memory(a) => one(command, &a.common, Job::Memory(&a)).await,
            Scenario::All { common, quick, write } => all(command, common, quick, write).await,
            Scenario::MetricsCost { calls, rounds } => {
                metrics_cost::run(calls.max(1), rounds.max(1)).await;
                Ok(())
            }
        }
    })
}

/// One scenario's measurement.
#[derive(Debug)]
enum Job<'a> {
    Compare(&'a TableArgs, Kind),
    Instructions(&'a InstructionArgs),
    Watch(&'a WatchArgs),
    Idle(&'a IdleArgs),
    Memory(&'a MemoryArgs),
}

/// Runs one scenario into a fresh report and prints it.
async fn one(command: String, common: &Common, job: Job<'_>) -> Fallible<()> {
    let mut report = new_report(command, common).await?;
    match job {
        Job::Compare(a, kind) => compare(&mut report, a, kind).await?,
        Job::Instructions(a) => instruction_counts(&mut report, a).await?,
        Job::Watch(a) => watch_latency(&mut report, a).await?,
        Job::Idle(a) => idle_cost(&mut report, a).await?,
        Job::Memory(a) => idle_memory(&mut report, a).await?,
    }
    finish(&report, common)
}

fn finish(report: &Report, common: &Common) -> Fallible<()> {
    println!("{}", report.markdown());
    if let Some(path) = &common.json {
        std::fs::write(path, serde_json::to_string_pretty(report)?)?;
    }
    Ok(())
}

async fn new_report(command: String, common: &Common) -> Fallible<Report> {
    Ok(Report {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        command,
        machine: machine(),
        database: database(&common.mysql).await?,
        ..Default::default()
    })
}

/// CPU model, cores and memory, from /proc.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let gib = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{} cores ({}), {gib:.0} GiB, {}", cores, model.unwrap_or("unknown CPU"), std::env::consts::ARCH)
}

/// The server's version and the settings that move write throughput.
async fn database(base: &str) -> Fallible<String> {
    let pool = MySqlPool::connect(base).await?;
    let row: (String, i64, i64, i64, i64, i64) = sea_orm::sqlx::query_as(
        "SELECT VERSION(), CAST(@@innodb_flush_log_at_trx_commit AS SIGNED), \
         CAST(@@innodb_buffer_pool_size AS SIGNED), CAST(@@log_bin AS SIGNED), CAST(@@sync_binlog AS SIGNED), \
         CAST(@@max_connections AS SIGNED)",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    let pool_size = support_service::config::Settings::with_database("sqlite::memory:").db_max_connections;
    Ok(format!(
        "MariaDB {} on 127.0.0.1 (innodb_flush_log_at_trx_commit={}, innodb_buffer_pool_size={} MiB, log_bin={}, \
         sync_binlog={}, max_connections={}); service and raw pools {pool_size} connections each, READ COMMITTED",
        row.0,
        row.1,
        row.2 / (1 << 20),
        row.3,
        row.4,
        row.5
    ))
}

fn progress(label: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:40} {pos:>8} ops {per_sec:>12} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(label);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A fresh database with a server on it.
async fn fresh_server(common: &Common) -> Fallible<(ServerProcess, String)> {
    let url = fixture::fresh_database(&common.mysql, "support_bench").await?;
    let server = ServerProcess::start(&url)?;
    Ok((server, url))
}

/// A scenario through the service and raw, interleaved, at each concurrency; the floor
/// (a health check on the same server) first, once per concurrency and report.
async fn compare(report: &mut Report, a: &TableArgs, kind: Kind) -> Fallible<()> {
    let (server, url) = fresh_server(&a.common).await?;
    let channel = connect(&server.uri, &server.token).await?;
    let mut api = Clients::new(channel.clone());
    let pool = raw::pool(&url).await?;
    eprintln!("{}: filling the database ({} tickets)", kind.name(), a.table.tickets);
    let fixture = Arc::new(fixture::fill(&mut api, &pool, a.table.tickets).await?);
    // The fill may leave MariaDB flushing and purging; measured meanwhile, that work would
    // count against whichever side runs first (the paced raw run always comes last).
    let settled = server::database_settled().await;
    eprintln!("{}: the database settled in {:.0} s", kind.name(), settled.as_secs_f64());
    let run = Duration::from_secs_f64(a.table.seconds);
    let rounds = a.table.rounds.max(1);
    let db = server::database_pids();
    let floor_beside = floor_beside()?;
    for &concurrency in &a.table.concurrency {
        if !report.floor.iter().any(|f| f.concurrency == concurrency) {
            let floor = floor::Floor(tonic_health::pb::health_client::HealthClient::new(channel.clone()));
            report.floor.push(measure_floor(&server, &db, floor, concurrency, run, rounds, a.common.seed).await);
        }
        let service_op = workload::Api { kind, clients: api.clone(), fixture: fixture.clone() };
        let raw_op = raw::Raw { kind, pool: pool.clone(), fixture: fixture.clone() };
        // Warm both up (connections, statement caches, buffer pool), unmeasured.
        let warm = run.min(Duration::from_secs(1));
        let hidden = ProgressBar::hidden();
        load::run(service_op.clone(), concurrency, warm, a.common.seed, &hidden).await;
        load::run(raw_op.clone(), concurrency, warm, a.common.seed, &hidden).await;
        server.reset_peak();
        let (mut service, mut direct, mut paced) =
            (load::Sample::empty(), load::Sample::empty(), load::Sample::empty());
        let mut round_ratios = Vec::new();
        // Each round's CPU per call of each process, for every side.
        let mut round_cpu = Vec::new();
        for round in 0..rounds {
            let seed = a.common.seed.wrapping_add(1_000 * (round as u64 + 1));
            let label = |side: &str| format!("{} ×{concurrency} {side} (round {})", kind.name(), round + 1);
            // Raw twice: as fast as its callers go (its throughput, for information), and
            // paced to the service's throughput this round. The database's CPU per
            // statement falls as its load rises (at 16 callers raw runs it twice as hard as
            // the service does), so the same work is compared at the same rate.
            let mut sides = [Side::Service, Side::Raw, Side::Paced];
            if round % 2 == 1 {
                sides.swap(0, 1);
            }
            let [mut s_round, mut r_round, mut p_round] = [(); 3].map(|()| load::Sample::empty());
            let [mut s_cpu, mut r_cpu, mut p_cpu] = [server::CpuClock::default(); 3];
            for side in sides {
                let label = label(side.name());
                let bar = progress(label.clone());
                let status =
                    if dbstatus::wanted() { Some(dbstatus::read(&pool, &db, server.pid()).await) } else { None };
                let before = server.cpu_clock(&db);
                let calls = match side {
                    Side::Service => {
                        s_round = load::run(service_op.clone(), concurrency, run, seed, &bar).await;
                        s_cpu = before.until(server.cpu_clock(&db));
                        s_round.ops
                    }
                    Side::Raw => {
                        r_round = load::run(raw_op.clone(), concurrency, run, seed, &bar).await;
                        r_cpu = before.until(server.cpu_clock(&db));
                        r_round.ops
                    }
                    Side::Paced => {
                        let rate = Some(s_round.throughput());
                        let beside = floor_beside.map(|rate| {
                            let floor =
                                floor::Floor(tonic_health::pb::health_client::HealthClient::new(channel.clone()));
                            let hidden = ProgressBar::hidden();
                            tokio::spawn(async move {
                                load::paced(floor, concurrency, run, seed, &hidden, Some(rate)).await
                            })
                        });
                        p_round = load::paced(raw_op.clone(), concurrency, run, seed, &bar, rate).await;
                        if let Some(beside) = beside {
                            beside.await?;
                        }
                        p_cpu = before.until(server.cpu_clock(&db));
                        p_round.ops
                    }
                };
                bar.finish_and_clear();
                if let Some(before) = status {
                    dbstatus::print(&label, &before, &dbstatus::read(&pool, &db, server.pid()).await, calls);
                }
            }
            round_ratios.push(((s_round.throughput() / r_round.throughput().max(1e-9)) * 100.0).round() / 100.0);
            round_cpu.push(CpuPerCall {
                service_generator: per_op(s_cpu.generator, s_round.ops),
                service_server: per_op(s_cpu.server, s_round.ops),
                service_database: per_op(s_cpu.database, s_round.ops),
                raw_generator: per_op(r_cpu.generator, r_round.ops),
                raw_database: per_op(r_cpu.database, r_round.ops),
                paced_generator: per_op(p_cpu.generator, p_round.ops),
                paced_database: per_op(p_cpu.database, p_round.ops),
            });
            service.merge(&s_round);
            direct.merge(&r_round);
            paced.merge(&p_round);
        }
        for (side, s) in [("service", &service), ("raw", &direct), ("raw at the service's rate", &paced)] {
            if s.errors > 0 {
                report.failures.push(format!(
                    "{} ×{concurrency}: {} {side} calls failed, e.g. {:?}",
                    kind.name(),
                    s.errors,
                    s.first_errors
                ));
            }
        }
        let ratio = service.throughput() / direct.throughput().max(1e-9);
        report.compared.push(Compared {
            scenario: kind.name().into(),
            concurrency,
            service: Measure::of(&service),
            raw: Measure::of(&direct),
            ratio: (ratio * 100.0).round() / 100.0,
            round_ratios,
            targets: targets(kind),
            cpu: CpuPerCall::median(&round_cpu),
            round_cpu,
            server_peak_rss_mib: mib(server.usage().peak_rss),
        });
    }
    pool.close().await;
    server.stop()
}

/// A side of a comparison round.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// Through the service.
    Service,
    /// Raw sqlx, as fast as its callers go.
    Raw,
    /// Raw sqlx, paced to the service's throughput in the same round.
    Paced,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Service => "service",
            Side::Raw => "raw",
            Side::Paced => "raw at the service's rate",
        }
    }
}

/// The targets of issue 21: the server's CPU per call above raw sqlx's (µs), and the
/// database's CPU per call through the service ÷ raw.
fn targets(kind: Kind) -> Targets {
    let (overhead_us, database_ratio) = match kind {
        Kind::GetTicket => (Some(40.0), Some(1.05)),
        Kind::ListTickets => (Some(80.0), Some(1.05)),
        Kind::CreateTicket | Kind::AddLog => (Some(60.0), Some(1.12)),
        Kind::Mixed => (None, None),
    };
    Targets { overhead_us, database_ratio }
}

/// The floor at `concurrency`: health checks for `rounds` runs of `run`, the median round.
async fn measure_floor(
    server: &ServerProcess,
    db: &[String],
    op: floor::Floor,
    concurrency: usize,
    run: Duration,
    rounds: usize,
    seed: u64,
) -> FloorMeasure {
    let hidden = ProgressBar::hidden();
    load::run(op.clone(), concurrency, run.min(Duration::from_secs(1)), seed, &hidden).await;
    let mut all = load::Sample::empty();
    let mut cpu = Vec::new();
    for round in 0..rounds {
        let bar = progress(format!("floor ×{concurrency} (round {})", round + 1));
        let before = server.cpu_clock(db);
        let s = load::run(op.clone(), concurrency, run, seed, &bar).await;
        let used = before.until(server.cpu_clock(db));
        bar.finish_and_clear();
        cpu.push((per_op(used.server, s.ops), per_op(used.generator, s.ops)));
        all.merge(&s);
    }
    FloorMeasure {
        concurrency,
        calls: Measure::of(&all),
        server_us: report::median(cpu.iter().map(|c| c.0).collect()),
        generator_us: report::median(cpu.iter().map(|c| c.1).collect()),
        round_server_us: cpu.iter().map(|c| c.0).collect(),
    }
}

/// Instruction counts per call (callgrind).
async fn instruction_counts(report: &mut Report, a: &InstructionArgs) -> Fallible<()> {
    let mut counted = vec![instructions::Counted::Floor];
    counted.extend(a.scenarios.iter().map(|&kind| instructions::Counted::Scenario(kind)));
    let calls = instructions::Calls { calls: a.calls.max(1), callers: a.callers.clamp(1, 256) };
    let database = instructions::Database { dumps: a.database_dumps.as_deref() };
    let counted =
        instructions::count(&a.common.mysql, &counted, calls, a.tickets.max(1_000), a.keep.as_deref(), database)
            .await?;
    report.instructions.extend(counted);
    Ok(())
}

/// Health checks a second that keep the server busy while raw runs at the service's rate
/// (`SUPPORT_BENCH_PACED_BESIDE`, for finding out whether the database's CPU per call
/// moves with what else the machine runs; item 31 of BENCHMARKS.md). The checks never
/// reach the database; their callers' CPU counts as raw's generator's, so the overhead
/// table is not read with it.
fn floor_beside() -> Fallible<Option<f64>> {
    match std::env::var("SUPPORT_BENCH_PACED_BESIDE") {
        Err(_) => Ok(None),
        Ok(rate) => match rate.parse::<f64>() {
            Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(Some(rate)),
            _ => Err(format!("SUPPORT_BENCH_PACED_BESIDE must be health checks a second, not {rate:?}").into()),
        },
    }
}

/// CPU seconds spread over `ops` calls, in whole microseconds per call.
fn per_op(cpu_secs: f64, ops: u64) -> f64 {
    (cpu_secs * 1e6 / ops.max(1) as f64).round()
}

fn mib(bytes: u64) -> f64 {
    (bytes as f64 / (1 << 20) as f64 * 10.0).round() / 10.0
}

/// A department and a customer for the watch scenarios, through the API.
async fn watch_setup(api: &mut Clients) -> Fallible<(i64, i64, i64)> {
    let busy = fixture::chat_department(api, "Bench".into()).await?;
    let quiet = fixture::chat_department(api, "Quiet".into()).await?;
    let customer = api
        .customers
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
        .ok_or("no customer")?
        .id;
    Ok((busy, quiet, customer))
}

/// Commit-to-receive latency: subscribers to the whole queue while tickets are created,
/// through the service and then, on the same database, through the bare server
/// ([`bare_watch`]), WatchQueue's floor.
async fn watch_latency(report: &mut Report, a: &WatchArgs) -> Fallible<()> {
    for &n in &a.subscribers {
        let (server, url) = fresh_server(&a.common).await?;
        let mut api = Clients::new(connect(&server.uri, &server.token).await?);
        let (busy, _, customer) = watch_setup(&mut api).await?;
        eprintln!("watch: {n} subscribers, {} writes/s for {} s", a.rate, a.seconds);
        let setup = WatchSetup { subscribers: n, customer, department: busy, args: a };
        let measured = watch_once(report, &server, &api, ("service", Some(20.0)), &setup).await?;
        report.watch.push(measured);
        server.stop()?;
        // The bare server's CreateTicket and WatchQueue take no fixture.
        let fixture = fixture::Fixture { agents: Vec::new(), customers: 0, tickets: 0, open_tickets: Vec::new() };
        let bare = ServerProcess::start_bare(&url, &fixture)?;
        eprintln!("watch: {n} subscribers, {} writes/s for {} s, the bare server", a.rate, a.seconds);
        let api = Clients::new(connect(&bare.uri, &bare.token).await?);
        let measured = watch_once(report, &bare, &api, ("bare tonic (floor)", None), &setup).await?;
        report.watch.push(measured);
        bare.stop()?;
    }
    Ok(())
}

/// What one WatchQueue latency run needs besides its server.
struct WatchSetup<'a> {
    subscribers: usize,
    customer: i64,
    department: i64,
    args: &'a WatchArgs,
}

/// One run: `setup.subscribers` subscribers to `server` while tickets are created through
/// `api`, its row named `label`, with the p99's target if it has one (the floor has none);
/// a delivery that does not match the writes exactly is a failure in `report`.
async fn watch_once(
    report: &mut Report,
    server: &ServerProcess,
    api: &Clients,
    (label, target_p99_ms): (&'static str, Option<f64>),
    setup: &WatchSetup<'_>,
) -> Fallible<Watched> {
    let (n, a) = (setup.subscribers, setup.args);
    // Warm the server's pool and statement caches first, with a burst that opens as many
    // connections as the writes may hold: the bare server's pool starts empty, and its
    // first writes' connects were most of its p99 with 10 subscribers.
    watch::steady_writes(api, setup.customer, setup.department, 1000, 0.1).await?;
    let subs = watch::Subscribers::open(&server.uri, &server.token, n, pb::WatchQueueRequest::default()).await?;
    let settled = server::database_settled().await;
    if settled > Duration::from_secs(2) {
        eprintln!("watch: waited {:.0} s for the database to settle", settled.as_secs_f64());
    }
    server.reset_peak();
    let db = server::database_pids();
    let before = server.cpu_clock(&db);
    let started = Instant::now();
    let (written, writes) = watch::steady_writes(api, setup.customer, setup.department, a.rate, a.seconds).await?;
    let expected = written * n as u64;
    let received = subs.wait_for(expected, Duration::from_secs(30)).await;
    let cpu = before.until(server.cpu_clock(&db));
    let elapsed = started.elapsed().as_secs_f64();
    let percent = |secs: f64| (secs / elapsed * 100.0).round();
    let peak = server.usage().peak_rss;
    let latency = subs.close().await;
    // More is as wrong as fewer: an event delivered twice, or a write that failed
    // (printed above) yet committed.
    if received != expected {
        report.failures.push(format!("watch {n} ({label}): {received} of {expected} events delivered"));
    }
    let [p50_ms, p90_ms, p99_ms, p999_ms, max_ms] = report::quantiles(&latency);
    let [w50, _, w99, _, _] = report::quantiles(&writes);
    Ok(Watched {
        server: label,
        subscribers: n,
        writes_per_second: a.rate,
        expected,
        received,
        p50_ms,
        p90_ms,
        p99_ms,
        p999_ms,
        max_ms,
        write_p50_ms: w50,
        write_p99_ms: w99,
        server_cpu_percent: percent(cpu.server),
        subscribers_cpu_percent: percent(cpu.generator),
        database_cpu_percent: percent(cpu.database),
        server_peak_rss_mib: mib(peak),
        target_p99_ms,
    })
}

/// CreateTicket throughput without and with idle subscribers, interleaved.
async fn idle_cost(report: &mut Report, a: &IdleArgs) -> Fallible<()> {
    let (server, url) = fresh_server(&a.common).await?;
    let mut api = Clients::new(connect(&server.uri, &server.token).await?);
    let pool = raw::pool(&url).await?;
    let fixture = Arc::new(fixture::fill(&mut api, &pool, 1_000).await?);
    pool.close().await;
    let (_, quiet, _) = watch_setup(&mut api).await?;
    let op = workload::Api { kind: Kind::CreateTicket, clients: api.clone(), fixture };
    let run = Duration::from_secs_f64(a.seconds);
    load::run(op.clone(), a.concurrency, run.min(Duration::from_secs(1)), a.common.seed, &ProgressBar::hidden()).await;
    let (mut without, mut with) = (load::Sample::empty(), load::Sample::empty());
    for round in 0..a.rounds.max(1) {
        let mut sides = [false, true];
        if round % 2 == 1 {
            sides.reverse();
        }
        for subscribed in sides {
            let seed = a.common.seed.wrapping_add(1_000 * (round as u64 + 1));
            let idle = if subscribed {
                let request = pb::WatchQueueRequest { department_id: quiet, ..Default::default() };
                Some(watch::Subscribers::open(&server.uri, &server.token, a.subscribers, request).await?)
            } else {
                None
            };
            let side = if subscribed { "with" } else { "without" };
            let bar = progress(format!("create-ticket {side} {} idle (round {})", a.subscribers, round + 1));
            let s = load::run(op.clone(), a.concurrency, run, seed, &bar).await;
            bar.finish_and_clear();
            if let Some(idle) = idle {
                idle.close().await;
                with.merge(&s);
            } else {
                without.merge(&s);
            }
        }
    }
    let (w0, w1) = (without.throughput(), with.throughput());
    report.idle.push(Idle {
        subscribers: a.subscribers,
        concurrency: a.concurrency,
        without_per_second: w0.round(),
        with_per_second: w1.round(),
        cost_percent: ((1.0 - w1 / w0.max(1e-9)) * 1000.0).round() / 10.0,
        target_percent: 10.0,
    });
    server.stop()
}

/// The server's peak RSS holding idle subscribers.
async fn idle_memory(report: &mut Report, a: &MemoryArgs) -> Fallible<()> {
    let (server, _) = fresh_server(&a.common).await?;
    let mut api = Clients::new(connect(&server.uri, &server.token).await?);
    let (busy, quiet, customer) = watch_setup(&mut api).await?;
    // Warm the server's pools and caches with a few writes before the baseline.
    watch::steady_writes(&api, customer, busy, 50, 1.0).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.usage().rss;
    server.reset_peak();
    eprintln!("memory: opening {} idle subscribers", a.subscribers);
    let request = pb::WatchQueueRequest { department_id: quiet, ..Default::default() };
    let subs = watch::Subscribers::open(&server.uri, &server.token, a.subscribers, request).await?;
    watch::steady_writes(&api, customer, busy, 20, a.seconds).await?;
    let peak = server.usage().peak_rss.max(server.usage().rss);
    subs.close().await;
    report.memory.push(Memory {
        subscribers: a.subscribers,
        rss_before_mib: mib(before),
        peak_rss_mib: mib(peak),
        per_subscriber_kib: ((peak.saturating_sub(before)) as f64 / 1024.0 / a.subscribers.max(1) as f64 * 10.0)
            .round()
            / 10.0,
        target_mib: 256.0,
    });
    server.stop()
}

/// Every scenario, one report. A scenario that fails is recorded in the report and the
/// rest still run; the command fails at the end if any did.
async fn all(command: String, common: Common, quick: bool, write: bool) -> Fallible<()> {
    let mut report = new_report(command, &common).await?;
    let table = if quick {
        Table { concurrency: vec![4], seconds: 0.5, rounds: 1, tickets: 2_000 }
    } else {
        Table { concurrency: vec![16, 64], seconds: 5.0, rounds: 3, tickets: 100_000 }
    };
    let mut jobs = Vec::new();
    for kind in [Kind::CreateTicket, Kind::GetTicket, Kind::ListTickets, Kind::AddLog, Kind::Mixed] {
        jobs.push(Owned::Compare(TableArgs { common: common.clone(), table: table.clone() }, kind));
    }
    jobs.push(Owned::Instructions(InstructionArgs {
        common: common.clone(),
        // Quick: the floor and one scenario, a few calls (a server under valgrind starts slowly).
        scenarios: if quick {
            vec![Kind::GetTicket]
        } else {
            vec![Kind::GetTicket, Kind::CreateTicket, Kind::ListTickets, Kind::AddLog]
        },
        calls: if quick { 5 } else { 1000 },
        // Quick: two callers, so the concurrent count is exercised too.
        callers: if quick { 2 } else { 1 },
        tickets: table.tickets,
        keep: None,
        database_dumps: None,
    }));
    if !quick {
        // The writes again as the timed tables make them: a numbering round serves the
        // calls in flight, not one each.
        jobs.push(Owned::Instructions(InstructionArgs {
            common: common.clone(),
            scenarios: vec![Kind::CreateTicket, Kind::AddLog],
            calls: 1000,
            callers: 16,
            tickets: table.tickets,
            keep: None,
            database_dumps: None,
        }));
    }
    let (subscribers, rate, seconds) = if quick { (vec![2], 20, 1.0) } else { (vec![10, 100, 1000], 200, 10.0) };
    jobs.push(Owned::Watch(WatchArgs { common: common.clone(), subscribers, rate, seconds }));
    jobs.push(Owned::Idle(if quick {
        IdleArgs { common: common.clone(), subscribers: 10, concurrency: 4, seconds: 0.5, rounds: 1 }
    } else {
        IdleArgs { common: common.clone(), subscribers: 1000, concurrency: 16, seconds: 5.0, rounds: 3 }
    }));
    jobs.push(Owned::Memory(MemoryArgs {
        common: common.clone(),
        subscribers: if quick { 10 } else { 10_000 },
        seconds: if quick { 1.0 } else { 5.0 },
    }));
    for job in &jobs {
        let (name, outcome) = match job {
            Owned::Compare(a, kind) => (kind.name(), compare(&mut report, a, *kind).await),
            Owned::Instructions(a) => ("instructions", instruction_counts(&mut report, a).await),
            Owned::Watch(a) => ("watch", watch_latency(&mut report, a).await),
            Owned::Idle(a) => ("idle", idle_cost(&mut report, a).await),
            Owned::Memory(a) => ("memory", idle_memory(&mut report, a).await),
        };
        if let Err(e) = outcome {
            eprintln!("{name} failed: {e}");
            report.failures.push(format!("{name}: {e}"));
        }
        // What is measured so far, in case a later scenario takes the machine down.
        eprintln!("{}", report.markdown());
    }
    finish(&report, &common)?;
    if write {
        report.write_into("BENCHMARKS.md")?;
        eprintln!("wrote BENCHMARKS.md");
    }
    if report.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} scenario(s) failed: {:?}", report.failures.len(), report.failures).into())
    }
}

/// Waits until the server's sequencer has numbered every event of a freshly seeded
/// database (its first start does that work): measure once it is done, not beside it.
async fn settled(url: String) -> Fallible<()> {
    let db = sea_orm::Database::connect(url).await?;
    loop {
        use sea_orm::ConnectionTrait;
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
    Ok(())
}

/// SearchTickets latency on an existing database.
async fn search(url: String, callers: usize, seconds: f64) -> Fallible<()> {
    let server = ServerProcess::start(&url)?;
    settled(url).await?;
    let clients = Clients::new(connect(&server.uri, &server.token).await?);
    search::run(&clients, callers, 1.0).await?;
    let before = server.usage();
    let started = Instant::now();
    let r = search::run(&clients, callers, seconds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.usage().cpu_secs - before.cpu_secs;
    let ms = |q: f64| r.latency.value_at_quantile(q) as f64 / 1000.0;
    let calls = r.latency.len();
    println!("| callers | calls/s | p50 ms | p90 ms | p99 ms | max ms | results per call | server CPU µs/call |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {callers} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
        calls as f64 / elapsed,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        r.latency.max() as f64 / 1000.0,
        r.results as f64 / calls.max(1) as f64,
        cpu * 1e6 / calls.max(1) as f64,
    );
    server.stop()
}

/// A scenario of `all`, with its options.
#[derive(Debug)]
enum Owned {
    Compare(TableArgs, Kind),
    Instructions(InstructionArgs),
    Watch(WatchArgs),
    Idle(IdleArgs),
    Memory(MemoryArgs),
}

/// Times each report `runs` times (after one warm-up call) through the generated client.
async fn reports(url: String, runs: usize) -> Fallible<()> {
    let server = ServerProcess::start(&url)?;
    settled(url).await?;
    let mut client = Clients::new(connect(&server.uri, &server.token).await?).reports;
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
    server.stop()
}
