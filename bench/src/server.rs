//! The service under test, in its own process: the bench re-runs its own executable with
//! the hidden `serve` subcommand, which builds the real `App` (the same code as
//! `support-service serve`), so the server's CPU time and memory are its own and can be
//! read from `/proc`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support_service::app::App;
use support_service::config::Settings;
use support_service::domain::SystemClock;
use support_service::domain::access::{Principal, Role};
use tokio::net::TcpListener;

use crate::Fallible;

/// The settings every bench server runs with.
pub(crate) fn bench_settings(url: String) -> Settings {
    let mut settings = Settings::with_database(url);
    // No aging or pruning in the middle of a measurement.
    settings.maintenance_interval_ms = 24 * 3_600_000;
    // 1,000 subscribers on two cores fall behind at 200 events/s: let them catch up
    // rather than be cut off. Otherwise the production defaults.
    settings.watch_buffer = 1 << 16;
    settings.auto_assign = false;
    // The load generator is one principal making thousands of calls a second.
    settings.rate_limit_per_second = 0;
    settings.auth_secret = Some(format!("bench-{}-{}", std::process::id(), "k7Qz9xW2mP4vR8tY1uI6oA3sD5fG0hJ").into());
    settings
}

/// How often a quiet server's sequencer polls for events to number, in ms (20 by default).
const QUIET_SEQUENCER_INTERVAL_MS: u64 = 1_000;

/// Whether the server's sequencer polls the database less often. The poll looks for
/// events written through other replicas (this replica's writes wake the sequencer
/// themselves), 50 statements a second that no call asks for. When the database's own
/// instructions are counted (`bench instructions --database-dumps`) they would be a fifth
/// of a GetTicket's count, and subtracting them at the idle rate is only as exact as that
/// rate is steady under load, which it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quiet {
    No,
    Yes,
}

/// The child's side: serve `url` on an ephemeral port, print `ADDR TOKEN` on stdout, and
/// stop when stdin closes (the bench exited or dropped its handle).
pub(crate) async fn serve_child(url: String, quiet: Quiet) -> Fallible<()> {
    support_service::telemetry::init(support_service::config::LogFormat::Text);
    let mut settings = bench_settings(url);
    if quiet == Quiet::Yes {
        settings.sequencer_interval_ms = QUIET_SEQUENCER_INTERVAL_MS;
    }
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let token = app.tokens().mint(&Principal::named(Role::Service, "bench"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{} {token}", listener.local_addr()?);
    app.run(listener, stdin_closed()).await?;
    Ok(())
}

/// Ends when this process's stdin closes: how the bench stops a server child (it exited,
/// or dropped its handle).
pub(crate) async fn stdin_closed() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {}
    })
    .await;
}

/// A running server process.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    /// `http://ADDR`.
    pub(crate) uri: String,
    /// A `service` token for the load generator's calls.
    pub(crate) token: String,
}

/// CPU time and memory of a process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    /// User plus system CPU time, in seconds.
    pub(crate) cpu_secs: f64,
    /// Peak resident set since the last [`ServerProcess::reset_peak`], in bytes.
    pub(crate) peak_rss: u64,
    /// Resident set now, in bytes.
    pub(crate) rss: u64,
}

/// The user and the system (kernel) CPU seconds of `pid`, all its threads, from
/// `/proc/PID/stat` (`self` for this process; in clock ticks of 10 ms).
pub(crate) fn cpu_of(pid: &str) -> (f64, f64) {
    let ticks = 100.0; // USER_HZ on Linux
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses and may hold spaces).
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let utime: f64 = rest.get(11)?.parse().ok()?;
            let stime: f64 = rest.get(12)?.parse().ok()?;
            Some((utime / ticks, stime / ticks))
        })
        .unwrap_or_default()
}

/// Reads `/proc/PID/stat` and `/proc/PID/status` (`self` for this process).
pub(crate) fn usage_of(pid: &str) -> Usage {
    let (user, system) = cpu_of(pid);
    let cpu_secs = user + system;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Usage { cpu_secs, peak_rss: kib("VmHWM:"), rss: kib("VmRSS:") }
}

/// CPU seconds used so far by this process (the load generator), the server and the
/// local database server, for the per-call CPU breakdown.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuClock {
    pub(crate) generator: f64,
    pub(crate) server: f64,
    pub(crate) database: f64,
}

impl CpuClock {
    /// The CPU seconds used between `self` and `later`.
    pub(crate) fn until(self, later: CpuClock) -> CpuClock {
        CpuClock {
            generator: later.generator - self.generator,
            server: later.server - self.server,
            database: later.database - self.database,
        }
    }
}

/// The process ids of the MariaDB or MySQL servers on this machine: every node of a
/// cluster on loopback counts (an idle server adds next to nothing).
pub(crate) fn database_pids() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
        })
        .collect()
}

/// Waits, up to a minute, until the local database servers are quiet (under 5 % of a core
/// over a second) and returns how long that took. What an earlier scenario left MariaDB to
/// do (flushing its pages, dropping a database of 100,000 tickets) otherwise lands in the
/// next measurement: WatchQueue's p99 with 10 subscribers once measured 35 ms right after
/// the instruction counts, and 4 ms alone.
pub(crate) async fn database_settled() -> Duration {
    let started = Instant::now();
    let pids = database_pids();
    let cpu = || pids.iter().map(|pid| usage_of(pid).cpu_secs).sum::<f64>();
    while started.elapsed() < Duration::from_secs(60) {
        let before = cpu();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if cpu() - before < 0.05 {
            break;
        }
    }
    started.elapsed()
}

impl ServerProcess {
    /// CPU seconds so far of the load generator, the server and the database (`db`, pids).
    pub(crate) fn cpu_clock(&self, db: &[String]) -> CpuClock {
        CpuClock {
            generator: usage_of("self").cpu_secs,
            server: self.usage().cpu_secs,
            database: db.iter().map(|pid| usage_of(pid).cpu_secs).sum(),
        }
    }

    /// Starts a server on `url` (migrated by the server itself) and waits until it listens.
    pub(crate) fn start(url: &str) -> Fallible<Self> {
        Self::start_wrapped(url, &[], Quiet::No)
    }

    /// [`ServerProcess::start`] under a wrapper command (`valgrind --tool=callgrind ...`),
    /// which runs the server in its own process (the same pid).
    pub(crate) fn start_wrapped(url: &str, wrapper: &[String], quiet: Quiet) -> Fallible<Self> {
        Self::spawn(url, wrapper, "serve", if quiet == Quiet::Yes { &["--quiet"] } else { &[] })
    }

    /// A bare tonic server on `url` doing raw's calls with `fixture` ([`crate::bare`]),
    /// handed over in a file removed once the server has read it.
    pub(crate) fn start_bare(url: &str, fixture: &crate::fixture::Fixture) -> Fallible<Self> {
        let file = std::env::temp_dir().join(format!("support-bench-bare-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec(fixture)?)?;
        let started = match file.to_str() {
            Some(path) => Self::spawn(url, &[], "serve-bare", &["--fixture", path]),
            None => Err("the fixture's path is not UTF-8".into()),
        };
        let _ = std::fs::remove_file(&file);
        started
    }

    /// Runs this executable's `subcommand` on `url` (under `wrapper`, if any) and waits
    /// until it prints `ADDR TOKEN`.
    fn spawn(url: &str, wrapper: &[String], subcommand: &str, options: &[&str]) -> Fallible<Self> {
        let exe = std::env::current_exe()?;
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        if let Ok(threads) = std::env::var("SUPPORT_BENCH_SERVER_THREADS") {
            // The server's worker threads alone (it inherits SUPPORT_BENCH_THREADS otherwise).
            command.env("SUPPORT_BENCH_THREADS", threads);
        }
        command.args([subcommand, "--database-url", url]).args(options);
        let mut child = command
            // The server's log filter: warnings, unless SUPPORT_BENCH_SERVER_LOG says otherwise.
            .env("RUST_LOG", std::env::var("SUPPORT_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (Some(addr), Some(token)) = (parts.next(), parts.next()) else {
            let _ = child.kill();
            return Err(format!("the server did not start (said {line:?})").into());
        };
        Ok(Self { uri: format!("http://{addr}"), token: token.to_owned(), child })
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time and memory so far.
    pub(crate) fn usage(&self) -> Usage {
        usage_of(&self.child.id().to_string())
    }

    /// Resets the peak resident set (VmHWM) to the current one.
    pub(crate) fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    /// Stops the server: closing its stdin starts a graceful shutdown.
    pub(crate) fn stop(mut self) -> Fallible<()> {
        drop(self.child.stdin.take());
        for _ in 0..200 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
