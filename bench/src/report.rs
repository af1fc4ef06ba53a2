//! Results: Markdown tables for people, JSON for tools, and the section of BENCHMARKS.md
//! that `bench all --write` regenerates.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::Fallible;
use crate::load::Sample;

/// Latency and throughput of one side of a comparison.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measure {
    pub(crate) ops: u64,
    pub(crate) errors: u64,
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
}

fn ms(v: u64) -> f64 {
    (v as f64 / 10.0).round() / 100.0
}

/// Percentiles of a µs histogram, in ms with two decimals.
pub(crate) fn quantiles(h: &Histogram<u64>) -> [f64; 5] {
    [
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max()),
    ]
}

impl Measure {
    pub(crate) fn of(s: &Sample) -> Self {
        let [p50_ms, p90_ms, p99_ms, p999_ms, max_ms] = quantiles(&s.latency);
        Self {
            ops: s.ops,
            errors: s.errors,
            per_second: (s.throughput() * 10.0).round() / 10.0,
            p50_ms,
            p90_ms,
            p99_ms,
            p999_ms,
            max_ms,
        }
    }
}

/// A scenario through the service beside the same work done raw.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Compared {
    pub(crate) scenario: String,
    pub(crate) concurrency: usize,
    pub(crate) service: Measure,
    pub(crate) raw: Measure,
    /// Service throughput ÷ raw throughput (for information: on one machine it is mostly
    /// raw's CPU per call ÷ the service's).
    pub(crate) ratio: f64,
    /// The ratio per interleaved round (service ÷ raw of that round).
    pub(crate) round_ratios: Vec<f64>,
    pub(crate) targets: Targets,
    /// Where each side's CPU went, per call: the median of the rounds, field by field.
    pub(crate) cpu: CpuPerCall,
    /// The same, round by round.
    pub(crate) round_cpu: Vec<CpuPerCall>,
    pub(crate) server_peak_rss_mib: f64,
}

/// A scenario's targets (issue 21); None where it has none.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Targets {
    /// At most this many µs of server CPU per call above raw's generator.
    pub(crate) overhead_us: Option<f64>,
    /// At most this database CPU per call, service ÷ raw.
    pub(crate) database_ratio: Option<f64>,
}

/// CPU time per call, in µs, of each process on the machine while a side ran: the load
/// generator (its gRPC clients or its sqlx pool), the server, the database server. Raw
/// ran twice: as fast as its callers went, and paced to the service's throughput.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct CpuPerCall {
    pub(crate) service_generator: f64,
    pub(crate) service_server: f64,
    pub(crate) service_database: f64,
    pub(crate) raw_generator: f64,
    pub(crate) raw_database: f64,
    pub(crate) paced_generator: f64,
    pub(crate) paced_database: f64,
}

impl CpuPerCall {
    /// What the service adds beyond the database work: the server's CPU per call less
    /// raw's generator (which does the same database calls with sqlx and nothing else).
    pub(crate) fn overhead(&self) -> f64 {
        self.service_server - self.raw_generator
    }

    /// The database's CPU per call through the service ÷ raw at the service's rate: the
    /// database's CPU per statement depends on its load, so the same work is compared at
    /// the same rate.
    pub(crate) fn database_ratio(&self) -> f64 {
        self.service_database / self.paced_database.max(1e-9)
    }

    /// The same ratio against raw at its own (higher) rate, for information.
    pub(crate) fn database_ratio_unpaced(&self) -> f64 {
        self.service_database / self.raw_database.max(1e-9)
    }

    /// The median of each field over `rounds`.
    pub(crate) fn median(rounds: &[CpuPerCall]) -> CpuPerCall {
        let m = |f: fn(&CpuPerCall) -> f64| median(rounds.iter().map(f).collect());
        CpuPerCall {
            service_generator: m(|c| c.service_generator),
            service_server: m(|c| c.service_server),
            service_database: m(|c| c.service_database),
            raw_generator: m(|c| c.raw_generator),
            raw_database: m(|c| c.raw_database),
            paced_generator: m(|c| c.paced_generator),
            paced_database: m(|c| c.paced_database),
        }
    }
}

/// The median (the lower middle of an even count; 0 for none).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
}

/// The floor: a health check through the same server stack, at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FloorMeasure {
    pub(crate) concurrency: usize,
    pub(crate) calls: Measure,
    /// Server CPU per call, µs (median of the rounds).
    pub(crate) server_us: f64,
    /// Load generator CPU per call, µs (median of the rounds).
    pub(crate) generator_us: f64,
    pub(crate) round_server_us: Vec<f64>,
}

/// Instructions per call, counted by callgrind: the server's and, for a scenario, the raw
/// generator's making the same calls in raw sqlx.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Instructions {
    pub(crate) scenario: String,
    /// Calls counted (after a warm-up that is not).
    pub(crate) calls: u64,
    /// Callers making them at once.
    pub(crate) callers: u64,
    pub(crate) server: Counts,
    /// The same calls made by the raw generator (none for the floor).
    pub(crate) raw_generator: Option<Counts>,
    /// The database's count of the server's calls, when it runs under callgrind too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) database: Option<Counts>,
    /// The database's count of the raw generator's calls, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) raw_database: Option<Counts>,
}

/// One process's count of a run of calls.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Counts {
    /// Instructions per call (Ir ÷ calls).
    pub(crate) per_call: f64,
    /// Instructions per second of the idle process (its timers and polls).
    pub(crate) idle_per_second: f64,
    /// Per call, less what the idle process would have spent meanwhile.
    pub(crate) less_idle: f64,
    /// memcpy's own share of all instructions (callgrind counts a byte moved by
    /// `rep movsb` as one instruction, so large moves weigh more here than in time).
    pub(crate) memcpy_percent: f64,
    /// The functions with the highest inclusive cost: name, instructions per call, share.
    pub(crate) top: Vec<TopFunction>,
}

/// One line of callgrind's inclusive profile.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TopFunction {
    pub(crate) function: String,
    pub(crate) per_call: f64,
    pub(crate) percent: f64,
    /// The function's own instructions, as a share of all.
    pub(crate) self_percent: f64,
}

/// The watch scenario.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Watched {
    /// The service, or the bare server (WatchQueue's floor).
    pub(crate) server: &'static str,
    pub(crate) subscribers: usize,
    pub(crate) writes_per_second: u32,
    pub(crate) expected: u64,
    pub(crate) received: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) write_p50_ms: f64,
    pub(crate) write_p99_ms: f64,
    pub(crate) server_cpu_percent: f64,
    /// This process: the subscribers decoding what they receive, and the writer.
    pub(crate) subscribers_cpu_percent: f64,
    /// MariaDB's process: the writer's transactions and the sequencer's numbering.
    pub(crate) database_cpu_percent: f64,
    pub(crate) server_peak_rss_mib: f64,
    pub(crate) target_p99_ms: Option<f64>,
}

/// Writers' throughput without and with idle subscribers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Idle {
    pub(crate) subscribers: usize,
    pub(crate) concurrency: usize,
    pub(crate) without_per_second: f64,
    pub(crate) with_per_second: f64,
    /// 1 − with ÷ without, in percent.
    pub(crate) cost_percent: f64,
    pub(crate) target_percent: f64,
}

/// Server memory holding idle subscribers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Memory {
    pub(crate) subscribers: usize,
    pub(crate) rss_before_mib: f64,
    pub(crate) peak_rss_mib: f64,
    pub(crate) per_subscriber_kib: f64,
    pub(crate) target_mib: f64,
}

/// Everything one invocation measured.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) date: String,
    pub(crate) command: String,
    pub(crate) machine: String,
    pub(crate) database: String,
    pub(crate) floor: Vec<FloorMeasure>,
    pub(crate) compared: Vec<Compared>,
    pub(crate) instructions: Vec<Instructions>,
    pub(crate) watch: Vec<Watched>,
    pub(crate) idle: Vec<Idle>,
    pub(crate) memory: Vec<Memory>,
    /// Scenarios that failed, with the error.
    pub(crate) failures: Vec<String>,
}

/// A profile's top functions, folded under `summary`.
/// A table's heading, its column names and their alignment row, after a blank line.
fn table_head(line: &mut impl FnMut(String), title: &str, columns: &str, alignment: &str) {
    line(String::new());
    line(format!("#### {title}"));
    line(String::new());
    line(columns.into());
    line(alignment.into());
}

fn top_functions(line: &mut impl FnMut(String), summary: &str, counts: &Counts) {
    line(String::new());
    line(format!("<details><summary>{summary}</summary>"));
    line(String::new());
    line("| function | instructions per call (inclusive) | share | own share |".into());
    line("|---|---:|---:|---:|".into());
    for t in &counts.top {
        line(format!(
            "| `{}` | {:.0} | {:.1} % | {:.1} % |",
            t.function.replace('|', "\\|"),
            t.per_call,
            t.percent,
            t.self_percent
        ));
    }
    line(String::new());
    line("</details>".into());
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

impl Report {
    /// The Markdown tables of whatever was measured.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("Measured {} with `{}`.", self.date, self.command));
        line(String::new());
        line(format!("- Machine: {}", self.machine));
        line(format!("- Database: {}", self.database));
        self.cost_tables(&mut line);
        self.instruction_table(&mut line);
        if !self.compared.is_empty() {
            table_head(
                &mut line,
                "Throughput, for information (ops/s; latency p50 / p90 / p99 / p99.9 in ms)",
                "| scenario | callers | service ops/s | raw ops/s | ratio | rounds | service latency | raw latency |",
                "|---|---:|---:|---:|---:|---|---|---|",
            );
            for c in &self.compared {
                let lat = |m: &Measure| format!("{} / {} / {} / {}", m.p50_ms, m.p90_ms, m.p99_ms, m.p999_ms);
                let rounds = c.round_ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ");
                line(format!(
                    "| {} | {} | {:.0} | {:.0} | {:.2} | {} | {} | {} |",
                    c.scenario,
                    c.concurrency,
                    c.service.per_second,
                    c.raw.per_second,
                    c.ratio,
                    rounds,
                    lat(&c.service),
                    lat(&c.raw),
                ));
            }
            table_head(
                &mut line,
                "Where the CPU goes (µs of CPU per call, by process; median of the rounds)",
                "| scenario | callers | service: generator | server | database | total | raw: generator | database | total | service − raw |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            );
            for c in &self.compared {
                let p = &c.cpu;
                let service = p.service_generator + p.service_server + p.service_database;
                let raw = p.raw_generator + p.raw_database;
                line(format!(
                    "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
                    c.scenario,
                    c.concurrency,
                    p.service_generator,
                    p.service_server,
                    p.service_database,
                    service,
                    p.raw_generator,
                    p.raw_database,
                    raw,
                    service - raw
                ));
            }
        }
        if !self.watch.is_empty() {
            table_head(
                &mut line,
                "WatchQueue: commit-to-receive latency (ms)",
                "| server | subscribers | writes/s | events delivered | p50 | p90 | p99 | p99.9 | max | CreateTicket p50 / p99 | CPU: server | subscribers and writer | database | server peak RSS | target p99 | met |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
            );
            for w in &self.watch {
                let (target, met) = match w.target_p99_ms {
                    Some(t) => (format!("≤ {t}"), met(w.p99_ms <= t).to_string()),
                    None => ("–".to_owned(), "–".to_owned()),
                };
                line(format!(
                    "| {} | {} | {} | {} of {} | {} | {} | {} | {} | {} | {} / {} | {:.0} % | {:.0} % | {:.0} % | {:.0} MiB | {} | {} |",
                    w.server,
                    w.subscribers,
                    w.writes_per_second,
                    w.received,
                    w.expected,
                    w.p50_ms,
                    w.p90_ms,
                    w.p99_ms,
                    w.p999_ms,
                    w.max_ms,
                    w.write_p50_ms,
                    w.write_p99_ms,
                    w.server_cpu_percent,
                    w.subscribers_cpu_percent,
                    w.database_cpu_percent,
                    w.server_peak_rss_mib,
                    target,
                    met
                ));
            }
        }
        if !self.idle.is_empty() {
            table_head(
                &mut line,
                "Idle subscribers: what they cost CreateTicket callers",
                "| idle subscribers | callers | ops/s without | ops/s with | cost | target | met |",
                "|---:|---:|---:|---:|---:|---:|---|",
            );
            for i in &self.idle {
                line(format!(
                    "| {} | {} | {:.0} | {:.0} | {:.1} % | ≤ {:.0} % | {} |",
                    i.subscribers,
                    i.concurrency,
                    i.without_per_second,
                    i.with_per_second,
                    i.cost_percent,
                    i.target_percent,
                    met(i.cost_percent <= i.target_percent)
                ));
            }
        }
        if !self.memory.is_empty() {
            table_head(
                &mut line,
                "Idle subscribers: server memory",
                "| idle subscribers | RSS before | peak RSS | per subscriber | target | met |",
                "|---:|---:|---:|---:|---:|---|",
            );
            for m in &self.memory {
                line(format!(
                    "| {} | {:.0} MiB | {:.0} MiB | {:.1} KiB | ≤ {:.0} MiB | {} |",
                    m.subscribers,
                    m.rss_before_mib,
                    m.peak_rss_mib,
                    m.per_subscriber_kib,
                    m.target_mib,
                    met(m.peak_rss_mib <= m.target_mib)
                ));
            }
        }
        if !self.failures.is_empty() {
            line(String::new());
            line("#### Failed scenarios".into());
            line(String::new());
            for f in &self.failures {
                line(format!("- {f}"));
            }
        }
        out
    }

    /// The floor, the service's overhead per call and the database's CPU ratio.
    fn cost_tables(&self, line: &mut impl FnMut(String)) {
        if !self.floor.is_empty() {
            table_head(
                line,
                "The floor: a health check through the same server stack (µs of CPU per call; median of the rounds)",
                "| callers | calls/s | p50 / p99 ms | server | rounds | generator |",
                "|---:|---:|---|---:|---|---:|",
            );
            for f in &self.floor {
                let rounds = f.round_server_us.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");
                line(format!(
                    "| {} | {:.0} | {} / {} | {:.0} | {} | {:.0} |",
                    f.concurrency,
                    f.calls.per_second,
                    f.calls.p50_ms,
                    f.calls.p99_ms,
                    f.server_us,
                    rounds,
                    f.generator_us
                ));
            }
        }
        if self.compared.is_empty() {
            return;
        }
        let target = |t: Option<f64>, sign: &str, digits: usize| {
            t.map_or_else(|| "–".to_owned(), |t| format!("{sign} {t:.digits$}"))
        };
        let verdict = |t: Option<f64>, ok: bool| if t.is_some() { met(ok) } else { "–" };
        table_head(
            line,
            "Service overhead per call: server CPU − raw generator CPU (µs; median of the rounds)",
            "| scenario | callers | server | raw generator | overhead | rounds | target | met | floor | server − floor | raw generator at the service's rate |",
            "|---|---:|---:|---:|---:|---|---:|---|---:|---:|---:|",
        );
        for c in &self.compared {
            let floor = self.floor.iter().find(|f| f.concurrency == c.concurrency).map_or(0.0, |f| f.server_us);
            let rounds = c.round_cpu.iter().map(|r| format!("{:.0}", r.overhead())).collect::<Vec<_>>().join(", ");
            let overhead = median(c.round_cpu.iter().map(CpuPerCall::overhead).collect());
            line(format!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {:.0} | {:.0} | {:.0} |",
                c.scenario,
                c.concurrency,
                c.cpu.service_server,
                c.cpu.raw_generator,
                overhead,
                rounds,
                target(c.targets.overhead_us, "≤", 0),
                verdict(c.targets.overhead_us, c.targets.overhead_us.is_some_and(|t| overhead <= t)),
                floor,
                c.cpu.service_server - floor,
                c.cpu.paced_generator,
            ));
        }
        line(String::new());
        line(
            "#### Database CPU per call: through the service ÷ raw at the service's rate (µs; median of the rounds)"
                .into(),
        );
        line(String::new());
        line(
            "| scenario | callers | service | raw at the service's rate | ratio | rounds | target | met | raw at its own rate | ratio to it |"
                .into(),
        );
        line("|---|---:|---:|---:|---:|---|---:|---|---:|---:|".into());
        for c in &self.compared {
            let rounds =
                c.round_cpu.iter().map(|r| format!("{:.2}", r.database_ratio())).collect::<Vec<_>>().join(", ");
            let ratio = median(c.round_cpu.iter().map(CpuPerCall::database_ratio).collect());
            let unpaced = median(c.round_cpu.iter().map(CpuPerCall::database_ratio_unpaced).collect());
            line(format!(
                "| {} | {} | {:.0} | {:.0} | {:.2} | {} | {} | {} | {:.0} | {:.2} |",
                c.scenario,
                c.concurrency,
                c.cpu.service_database,
                c.cpu.paced_database,
                ratio,
                rounds,
                target(c.targets.database_ratio, "≤", 2),
                verdict(c.targets.database_ratio, c.targets.database_ratio.is_some_and(|t| ratio <= t + 0.005)),
                c.cpu.raw_database,
                unpaced,
            ));
        }
    }

    /// Instructions per call, and where they go.
    fn instruction_table(&self, line: &mut impl FnMut(String)) {
        if self.instructions.is_empty() {
            return;
        }
        table_head(
            line,
            "Instructions per call of the server (callgrind)",
            "| scenario | callers | calls counted | per call | per call, less the idle server's | idle server per second | memcpy's share |",
            "|---|---:|---:|---:|---:|---:|---:|",
        );
        for i in &self.instructions {
            let c = &i.server;
            line(format!(
                "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.1} % |",
                i.scenario, i.callers, i.calls, c.per_call, c.less_idle, c.idle_per_second, c.memcpy_percent
            ));
        }
        // The floor counted with as many callers.
        let floor = |callers: u64| {
            self.instructions.iter().find(|i| i.raw_generator.is_none() && i.callers == callers).map(|i| &i.server)
        };
        if self.instructions.iter().any(|i| i.raw_generator.is_some()) {
            table_head(
                line,
                "Instructions per call: the server beside the raw generator (callgrind; less each one's idle count)",
                "| scenario | callers | server | raw generator | overhead (server − raw) | overhead less the floor | of which memcpy | server's memcpy | raw's memcpy |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            );
            let memcpy = |c: &Counts| c.per_call * c.memcpy_percent / 100.0;
            for i in &self.instructions {
                let Some(raw) = &i.raw_generator else { continue };
                let overhead = i.server.less_idle - raw.less_idle;
                let (above, moved) = floor(i.callers).map_or(("–".to_owned(), "–".to_owned()), |f| {
                    let moved = memcpy(&i.server) - memcpy(raw) - memcpy(f);
                    (format!("{:.0}", overhead - f.less_idle), format!("{moved:.0}"))
                });
                line(format!(
                    "| {} | {} | {:.0} | {:.0} | {:.0} | {above} | {moved} | {:.0} | {:.0} |",
                    i.scenario,
                    i.callers,
                    i.server.less_idle,
                    raw.less_idle,
                    overhead,
                    memcpy(&i.server),
                    memcpy(raw)
                ));
            }
        }
        self.database_instruction_table(line);
        for i in &self.instructions {
            let callers = match i.callers {
                1 => "one caller".to_owned(),
                n => format!("{n} callers"),
            };
            top_functions(
                line,
                &format!("{}, {callers}: the server's top functions by inclusive cost", i.scenario),
                &i.server,
            );
            if let Some(raw) = &i.raw_generator {
                top_functions(
                    line,
                    &format!("{}, {callers}: the raw generator's top functions by inclusive cost", i.scenario),
                    raw,
                );
            }
            for (whose, counts) in [("the service's", &i.database), ("raw's", &i.raw_database)] {
                if let Some(counts) = counts {
                    top_functions(
                        line,
                        &format!("{}, {callers}: the database's top functions for {whose} calls", i.scenario),
                        counts,
                    );
                }
            }
        }
    }

    /// The database's instructions per call through the service beside raw's, when it was
    /// counted (`bench instructions --database-dumps`).
    fn database_instruction_table(&self, line: &mut impl FnMut(String)) {
        if self.instructions.iter().all(|i| i.database.is_none()) {
            return;
        }
        table_head(
            line,
            "Instructions per call of the database: through the service beside raw (callgrind; less each one's idle count)",
            "| scenario | callers | through the service | raw | service ÷ raw | idle per second: service's, raw's |",
            "|---|---:|---:|---:|---:|---|",
        );
        for i in &self.instructions {
            let Some(service) = &i.database else { continue };
            let (raw, ratio, raw_idle) = match &i.raw_database {
                Some(raw) => (
                    format!("{:.0}", raw.less_idle),
                    format!("{:.3}", service.less_idle / raw.less_idle.max(1.0)),
                    format!("{:.0}", raw.idle_per_second),
                ),
                None => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
            };
            line(format!(
                "| {} | {} | {:.0} | {raw} | {ratio} | {:.0}, {raw_idle} |",
                i.scenario, i.callers, service.less_idle, service.idle_per_second
            ));
        }
    }

    /// Replaces the generated section of `path` (between the markers) with this report
    /// and its JSON.
    pub(crate) fn write_into(&self, path: &str) -> Fallible<()> {
        const BEGIN: &str = "<!-- bench:begin (written by `bench all --write`; edits are overwritten) -->";
        const END: &str = "<!-- bench:end -->";
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let section = format!(
            "{BEGIN}\n{}\n<details><summary>JSON</summary>\n\n```json\n{}\n```\n\n</details>\n{END}",
            self.markdown(),
            serde_json::to_string_pretty(self)?
        );
        let doc = match (doc.find(BEGIN), doc.find(END)) {
            (Some(b), Some(e)) if e > b => format!("{}{section}{}", &doc[..b], &doc[e + END.len()..]),
            _ => format!("{doc}\n{section}\n"),
        };
        std::fs::write(path, doc)?;
        Ok(())
    }
}
