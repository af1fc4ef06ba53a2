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
//!
//! When the database itself runs under callgrind (`scripts/bench-database-instructions.sh`
//! starts a `mariadbd` so), its counters are zeroed and dumped with the caller's, so the
//! work each call asks of MariaDB is counted through the service and from raw sqlx alike.

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
use crate::server::{Quiet, ServerProcess};
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

/// The program name `callgrind_control` finds the database by when it runs under callgrind.
pub(crate) const DATABASE: &str = "mariadbd";

/// Where the database under callgrind writes its dumps (`DATABASE.PID.out.N`), if it runs so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Database<'a> {
    pub(crate) dumps: Option<&'a Path>,
}

/// The processes whose counters a window zeroes and dumps: `pid`'s, and the database's if
/// it is counted too.
fn targets(pid: u32, database: bool) -> Vec<String> {
    let mut targets = vec![pid.to_string()];
    targets.extend(database.then(|| DATABASE.to_owned()));
    targets
}

impl Database<'_> {
    /// The database's counts of the window just counted, its two dumps then moved into
    /// `keep` as `NAME.database.N` (or removed); none if it does not run under callgrind.
    fn counts(self, keep: &Path, name: &str, calls: u64, elapsed: Duration) -> Fallible<Option<Counts>> {
        let Some(dir) = self.dumps else { return Ok(None) };
        let dumps = dumps(dir, DATABASE)?;
        let counted = counts_of(&dumps, &format!("the database ({name})"), calls, elapsed);
        for (n, dump) in dumps.iter().enumerate() {
            let kept = keep.join(format!("{name}.database.{}", n + 1));
            if std::fs::rename(dump, &kept).is_err() {
                let _ = std::fs::remove_file(dump);
            }
        }
        counted.map(Some)
    }
}

/// Counts the calls of each of `kinds` on a database of `tickets` tickets.
/// The dumps are kept in `keep` (for `callgrind_annotate` by hand), or removed.
pub(crate) async fn count(
    mysql: &str,
    kinds: &[Counted],
    calls: Calls,
    tickets: i64,
    keep: Option<&Path>,
    database: Database<'_>,
) -> Fallible<Vec<Instructions>> {
    let dir = match keep {
        Some(dir) => dir.to_path_buf(),
        None => std::env::temp_dir().join(format!("support-bench-callgrind-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    for &counted in kinds {
        out.push(one(mysql, counted, calls, tickets, &dir, database).await?);
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(out)
}

async fn one(
    mysql: &str,
    counted: Counted,
    calls: Calls,
    tickets: i64,
    dir: &Path,
    database: Database<'_>,
) -> Fallible<Instructions> {
    let name = counted.name();
    let url = fixture::fresh_database(mysql, "support_bench").await?;
    remove_dumps(dir, name)?;
    if let Some(database_dir) = database.dumps {
        remove_dumps(database_dir, DATABASE)?;
    }
    eprintln!("{name}: starting the server under callgrind");
    // With the database counted, the sequencer's empty polls are kept out of its count.
    let quiet = if database.dumps.is_some() { Quiet::Yes } else { Quiet::No };
    let server = ServerProcess::start_wrapped(&url, &callgrind(dir, name), quiet)?;
    let channel = connect(&server.uri, &server.token).await?;
    let mut api = Clients::new(channel.clone());
    let pool = raw::pool(&url).await?;
    let fixture = Arc::new(fixture::fill(&mut api, &pool, tickets).await?);
    let targets = targets(server.pid(), database.dumps.is_some());
    let elapsed = match counted {
        Counted::Floor => calls_counted(Floor(HealthClient::new(channel)), calls, &targets).await?,
        Counted::Scenario(kind) => {
            calls_counted(Api { kind, clients: api, fixture: fixture.clone() }, calls, &targets).await?
        }
    };
    pool.close().await;
    server.stop()?;
    let server = counts(dir, name, calls.calls, elapsed)?;
    let server_database = database.counts(dir, name, calls.calls, elapsed)?;
    let (raw_generator, raw_database) = match counted {
        Counted::Floor => (None, None),
        Counted::Scenario(kind) => {
            let (generator, database) = raw_counts(&url, kind, calls, &fixture, dir, database).await?;
            (Some(generator), database)
        }
    };
    Ok(Instructions {
        scenario: name.into(),
        calls: calls.calls,
        callers: calls.callers,
        server,
        raw_generator,
        database: server_database,
        raw_database,
    })
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

/// The process's counts from its two dumps in `dir` (idle, then the calls that took `elapsed`).
fn counts(dir: &Path, name: &str, calls: u64, elapsed: Duration) -> Fallible<Counts> {
    counts_of(&dumps(dir, name)?, name, calls, elapsed)
}

/// [`counts`] from the two dumps.
fn counts_of(dumps: &[PathBuf], name: &str, calls: u64, elapsed: Duration) -> Fallible<Counts> {
    let [idle_dump, dump] = dumps else {
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
/// same database once the server has stopped. With it, the database's count of them.
async fn raw_counts(
    url: &str,
    kind: Kind,
    calls: Calls,
    fixture: &Fixture,
    dir: &Path,
    database: Database<'_>,
) -> Fallible<(Counts, Option<Counts>)> {
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
        .args(database.dumps.map(|_| "--count-database"))
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
    let elapsed = Duration::from_secs_f64(elapsed);
    Ok((counts(dir, &name, calls.calls, elapsed)?, database.counts(dir, &name, calls.calls, elapsed)?))
}

/// (The child of [`raw_counts`], under callgrind.) Makes `calls` calls of `kind` in raw
/// sqlx, counting them as the server's are counted (and the database's with them, if
/// `count_database`); prints the seconds they took.
pub(crate) async fn raw_calls(
    url: &str,
    kind: Kind,
    calls: Calls,
    fixture: &Path,
    count_database: bool,
) -> Fallible<()> {
    let fixture: Fixture = serde_json::from_slice(&std::fs::read(fixture)?)?;
    let pool = raw::pool(url).await?;
    let op = Raw { kind, pool: pool.clone(), fixture: Arc::new(fixture) };
    let elapsed = calls_counted(op, calls, &targets(std::process::id(), count_database)).await?;
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

/// Warms up, counts the idle `targets` (the caller's process, and the database if it runs
/// under callgrind) for [`IDLE`] (the first dump), then the calls of `op` (the second);
/// how long the second count ran. Counted caller `i` draws from the seed `7 + i`, so the
/// server and the raw generator make the same calls.
async fn calls_counted<O: Op>(op: O, calls: Calls, targets: &[String]) -> Fallible<Duration> {
    let callers = calls.callers.clamp(1, calls.calls.max(1));
    let rngs = |seed: u64| (0..callers).map(|i| ChaCha8Rng::seed_from_u64(seed + i)).collect::<Vec<_>>();
    // Warm-up, uncounted: connections, statement caches, lazily built tables. As many
    // callers at once as are counted, so that every connection the counted calls use is
    // open and has its statements prepared; the warm-up's callers draw from seeds of
    // their own.
    call_concurrently(&op, calls.calls.min(50).max(4 * callers), rngs(1_007)).await?;
    // Let background work that the warm-up caused finish before counting starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    control(&["-z"], targets)?;
    control(&["--instr=on"], targets)?;
    tokio::time::sleep(IDLE).await;
    control(&["--dump="], targets)?;
    let started = std::time::Instant::now();
    call_concurrently(&op, calls.calls, rngs(7)).await?;
    // The events of the last calls are numbered and fanned out by background tasks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    control(&["--dump="], targets)?;
    let elapsed = started.elapsed();
    control(&["--instr=off"], targets)?;
    Ok(elapsed)
}

/// Makes `calls` calls of `op`, shared out among callers that call at once, one for each
/// generator in `rngs`.
async fn call_concurrently<O: Op>(op: &O, calls: u64, rngs: Vec<ChaCha8Rng>) -> Fallible<()> {
    let callers = rngs.len() as u64;
    let mut running = tokio::task::JoinSet::new();
    for (i, mut rng) in (0..callers).zip(rngs) {
        let share = calls / callers + u64::from(i < calls % callers);
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
    Ok(())
}

/// `callgrind_control ACTION TARGETS...`: one command, so every target acts at once. The
/// actions are written `--dump=` and `--instr=on`: `-d` and `-i` would take a program name
/// after them as their argument.
fn control(action: &[&str], targets: &[String]) -> Fallible<()> {
    let status =
        Command::new("callgrind_control").args(action).args(targets).stdout(std::process::Stdio::null()).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("callgrind_control {action:?} {targets:?} failed: {status}").into())
    }
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
