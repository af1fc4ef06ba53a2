//! Instruction counts per call: the server runs under `valgrind --tool=callgrind` with
//! instrumentation off; the bench fills the database and warms the server up, zeroes the
//! counters and turns them on (`callgrind_control`), makes a fixed number of calls from
//! one caller or several at once, dumps, and divides. Instructions, unlike seconds, repeat
//! exactly for the same binary and requests whatever else the machine does, so a change's
//! effect shows even when it is smaller than the noise of the timed tables. Background
//! work that runs meanwhile (the sequencer numbering each call's event, the tailer)
//! counts, as it should; timers that tick by the clock (heartbeats) add a little that
//! does not scale with calls. With one caller every write has a numbering round of its
//! own; with several, as in the timed tables, a round numbers the events of the calls in
//! flight, so that count is the one to compare with them (it repeats less exactly: how
//! many calls a round serves depends on timing).
//!
//! The raw generator's making the same calls in raw sqlx is counted the same way, so the
//! service's overhead (server − raw generator, as in the timed tables) has a count too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tonic_health::pb::health_client::HealthClient;

use crate::client::{Clients, connect};
use crate::fixture::Fixture;
use crate::floor::Floor;
use crate::load::Op;
use crate::raw::Raw;
use crate::report::{Counts, Instructions, TopFunction};
use crate::server::ServerProcess;
use crate::workload::{Api, Kind};
use crate::{Fallible, fixture, raw};

/// How many functions of each profile the report lists.
const TOP: usize = 25;

/// How many calls are counted, and by how many callers at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calls {
    pub(crate) calls: u64,
    pub(crate) callers: u64,
}

/// Counts the calls of each of `kinds` on a database of `tickets` tickets.
/// The dumps are kept in `keep` (for `callgrind_annotate` by hand), or removed.
pub(crate) async fn count(
    mysql: &str,
    kinds: &[Counted],
    calls: Calls,
    tickets: i64,
    keep: Option<&Path>,
) -> Fallible<Vec<Instructions>> {
    let dir = match keep {
        Some(dir) => dir.to_path_buf(),
        None => std::env::temp_dir().join(format!("support-bench-callgrind-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    for &counted in kinds {
        out.push(one(mysql, counted, calls, tickets, &dir).await?);
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(out)
}

async fn one(mysql: &str, counted: Counted, calls: Calls, tickets: i64, dir: &Path) -> Fallible<Instructions> {
    let name = counted.name();
    let url = fixture::fresh_database(mysql, "support_bench").await?;
    remove_dumps(dir, name)?;
    eprintln!("{name}: starting the server under callgrind");
    let server = ServerProcess::start_wrapped(&url, &callgrind(dir, name))?;
    let channel = connect(&server.uri, &server.token).await?;
    let mut api = Clients::new(channel.clone());
    let pool = raw::pool(&url).await?;
    let fixture = Arc::new(fixture::fill(&mut api, &pool, tickets).await?);
    let pid = server.pid().to_string();
    let elapsed = match counted {
        Counted::Floor => calls_counted(Floor(HealthClient::new(channel)), calls, &pid).await?,
        Counted::Scenario(kind) => {
            calls_counted(Api { kind, clients: api, fixture: fixture.clone() }, calls, &pid).await?
        }
    };
    pool.close().await;
    server.stop()?;
    let server = counts(dir, name, calls.calls, elapsed)?;
    let raw_generator = match counted {
        Counted::Floor => None,
        Counted::Scenario(kind) => Some(raw_counts(&url, kind, calls, &fixture, dir).await?),
    };
    Ok(Instructions { scenario: name.into(), calls: calls.calls, callers: calls.callers, server, raw_generator })
}

/// `valgrind`'s command line for a process counted by hand, its dumps named after `name`.
fn callgrind(dir: &Path, name: &str) -> [String; 4] {
    [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--instr-atstart=no".to_owned(),
        format!("--callgrind-out-file={}", dir.join(format!("{name}.%p.out")).display()),
    ]
}

fn remove_dumps(dir: &Path, name: &str) -> Fallible<()> {
    for old in std::fs::read_dir(dir)?.flatten() {
        if old.file_name().to_string_lossy().starts_with(&format!("{name}.")) {
            let _ = std::fs::remove_file(old.path());
        }
    }
    Ok(())
}

/// The process's counts from its two dumps (idle, then the calls that took `elapsed`).
fn counts(dir: &Path, name: &str, calls: u64, elapsed: Duration) -> Fallible<Counts> {
    let dumps = dumps(dir, name)?;
    let [idle_dump, dump] = dumps.as_slice() else {
        return Err(format!("callgrind wrote {} dumps for {name}, not 2", dumps.len()).into());
    };
    let idle_per_second = totals(idle_dump)? as f64 / IDLE.as_secs_f64();
    let total = totals(dump)?;
    let idle = idle_per_second * elapsed.as_secs_f64();
    let top = annotate(dump, total, calls)?;
    Ok(Counts {
        per_call: (total as f64 / calls as f64).round(),
        idle_per_second: idle_per_second.round(),
        less_idle: ((total as f64 - idle).max(0.0) / calls as f64).round(),
        memcpy_percent: top.iter().find(|t| t.function.contains("memcpy")).map_or(0.0, |t| t.self_percent),
        top,
    })
}

/// The raw generator's count of the same calls: this executable under callgrind
/// (`bench raw-calls`, [`raw_calls`]) makes them in raw sqlx, with the same draws, on the
/// same database once the server has stopped.
async fn raw_counts(url: &str, kind: Kind, calls: Calls, fixture: &Fixture, dir: &Path) -> Fallible<Counts> {
    let name = format!("raw-{}", kind.name());
    remove_dumps(dir, &name)?;
    let fixture_file = dir.join(format!("{name}.fixture.json"));
    std::fs::write(&fixture_file, serde_json::to_vec(fixture)?)?;
    eprintln!("{}: the raw generator under callgrind", kind.name());
    let [valgrind, options @ ..] = callgrind(dir, &name);
    // Blocking: nothing else runs in the bench meanwhile.
    let output = Command::new(valgrind)
        .args(options)
        .arg(std::env::current_exe()?)
        .args(["raw-calls", "--database-url", url, "--scenario", kind.name()])
        .args(["--calls", &calls.calls.to_string(), "--callers", &calls.callers.to_string()])
        .arg("--fixture")
        .arg(&fixture_file)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let _ = std::fs::remove_file(&fixture_file);
    if !output.status.success() {
        return Err(format!("bench raw-calls under callgrind failed: {}", output.status).into());
    }
    let elapsed: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("bench raw-calls printed no elapsed seconds: {e}"))?;
    counts(dir, &name, calls.calls, Duration::from_secs_f64(elapsed))
}

/// (The child of [`raw_counts`], under callgrind.) Makes `calls` calls of `kind` in raw
/// sqlx, counting them as the server's are counted; prints the seconds they took.
pub(crate) async fn raw_calls(url: &str, kind: Kind, calls: Calls, fixture: &Path) -> Fallible<()> {
    let fixture: Fixture = serde_json::from_slice(&std::fs::read(fixture)?)?;
    let pool = raw::pool(url).await?;
    let op = Raw { kind, pool: pool.clone(), fixture: Arc::new(fixture) };
    let elapsed = calls_counted(op, calls, &std::process::id().to_string()).await?;
    pool.close().await;
    println!("{}", elapsed.as_secs_f64());
    Ok(())
}

/// How long the idle server is counted before the calls, for the rate its timers cost.
const IDLE: Duration = Duration::from_secs(2);

/// What is counted: the floor (a health check) or a scenario's calls.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counted {
    Floor,
    Scenario(Kind),
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Counted::Floor => "floor",
            Counted::Scenario(kind) => kind.name(),
        }
    }
}

/// Warms up, counts the idle server for [`IDLE`] (the first dump), then the calls of `op`
/// (the second); how long the second count ran. Caller `i` draws from the seed `7 + i`,
/// so the server and the raw generator make the same calls.
async fn calls_counted<O: Op>(op: O, calls: Calls, pid: &str) -> Fallible<Duration> {
    let callers = calls.callers.clamp(1, calls.calls.max(1));
    let mut rngs: Vec<_> = (0..callers).map(|i| ChaCha8Rng::seed_from_u64(7 + i)).collect();
    // Warm-up, uncounted: connections, statement caches, lazily built tables.
    let mut warming = op.clone();
    for _ in 0..calls.calls.min(50) {
        warming.call(&mut rngs[0]).await?;
    }
    // Let background work that the warm-up caused finish before counting starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    control(&["-z", pid])?;
    control(&["-i", "on", pid])?;
    tokio::time::sleep(IDLE).await;
    control(&["-d", pid])?;
    let started = std::time::Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for (i, mut rng) in (0..callers).zip(rngs) {
        let share = calls.calls / callers + u64::from(i < calls.calls % callers);
        let mut op = op.clone();
        running.spawn(async move {
            for _ in 0..share {
                op.call(&mut rng).await?;
            }
            Ok::<_, String>(())
        });
    }
    while let Some(caller) = running.join_next().await {
        caller??;
    }
    // The events of the last calls are numbered and fanned out by background tasks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    control(&["-d", pid])?;
    let elapsed = started.elapsed();
    control(&["-i", "off", pid])?;
    Ok(elapsed)
}

fn control(args: &[&str]) -> Fallible<()> {
    let status = Command::new("callgrind_control").args(args).stdout(std::process::Stdio::null()).status()?;
    if status.success() { Ok(()) } else { Err(format!("callgrind_control {args:?} failed: {status}").into()) }
}

/// The dumps `callgrind_control -d` wrote (`NAME.PID.out.N`, numbered after the file
/// name), in order.
fn dumps(dir: &Path, name: &str) -> Fallible<Vec<PathBuf>> {
    let mut dumps = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let file = p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            file.starts_with(&format!("{name}.")) && !file.ends_with(".out")
        })
        .collect::<Vec<_>>();
    dumps.sort_by_key(|p| p.extension().and_then(|e| e.to_str()?.parse::<u32>().ok()).unwrap_or(0));
    Ok(dumps)
}

/// The dump's total instruction count (its `totals:` or `summary:` line).
fn totals(dump: &Path) -> Fallible<u64> {
    let text = std::fs::read_to_string(dump)?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", dump.display()).into())
}

/// The top functions by inclusive cost, from `callgrind_annotate --inclusive=yes`, each
/// with its own (exclusive) share.
fn annotate(dump: &Path, total: u64, calls: u64) -> Fallible<Vec<TopFunction>> {
    let own = profile(dump, false, total, calls, usize::MAX)?;
    let mut top = profile(dump, true, total, calls, TOP)?;
    for t in &mut top {
        t.self_percent = own.iter().find(|o| o.function == t.function).map_or(0.0, |o| o.percent);
    }
    // memcpy is a function of its own at the top of the exclusive profile: callgrind counts
    // each byte `rep movsb` moves as an instruction, so its share is shown apart.
    if let Some(m) = own.iter().find(|o| o.function.contains("memcpy"))
        && !top.iter().any(|t| t.function == m.function)
    {
        top.push(TopFunction { self_percent: m.percent, ..m.clone() });
    }
    Ok(top)
}

/// `callgrind_annotate`'s lines (inclusive or exclusive), the first `limit`.
fn profile(dump: &Path, inclusive: bool, total: u64, calls: u64, limit: usize) -> Fallible<Vec<TopFunction>> {
    let output = Command::new("callgrind_annotate")
        .arg(format!("--inclusive={}", if inclusive { "yes" } else { "no" }))
        .arg("--threshold=100")
        .arg(dump)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut top = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some((count, rest)) = line.split_once(' ') else { continue };
        let Ok(count) = count.replace(',', "").parse::<u64>() else { continue };
        // "(12.34%)  file:function [object]"
        let rest = rest.trim_start();
        let rest = rest.strip_prefix('(').and_then(|r| r.split_once(')')).map_or(rest, |(_, r)| r).trim();
        if rest.contains("PROGRAM TOTALS") || rest.is_empty() {
            continue;
        }
        let function = rest.split_once(':').map_or(rest, |(_, f)| f);
        let function = function.rsplit_once(" [").map_or(function, |(f, _)| f).trim();
        let function: String = function.chars().take(140).collect();
        top.push(TopFunction {
            function,
            per_call: (count as f64 / calls as f64).round(),
            percent: (count as f64 * 1000.0 / total.max(1) as f64).round() / 10.0,
            self_percent: 0.0,
        });
        if top.len() == limit {
            break;
        }
    }
    Ok(top)
}
