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
    /// Service throughput ÷ raw throughput.
    pub(crate) ratio: f64,
    /// The ratio per interleaved round (service ÷ raw of that round).
    pub(crate) round_ratios: Vec<f64>,
    pub(crate) target: f64,
    pub(crate) server_cpu_us_per_op: f64,
    pub(crate) server_peak_rss_mib: f64,
    /// Where each side's CPU went, per call.
    pub(crate) cpu: CpuPerCall,
}

/// CPU time per call, in µs, of each process on the machine while a side ran: the load
/// generator (its gRPC clients or its sqlx pool), the server, the database server.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CpuPerCall {
    pub(crate) service_generator: f64,
    pub(crate) service_server: f64,
    pub(crate) service_database: f64,
    pub(crate) raw_generator: f64,
    pub(crate) raw_database: f64,
}

/// The watch scenario.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Watched {
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
    pub(crate) server_peak_rss_mib: f64,
    pub(crate) target_p99_ms: f64,
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
    pub(crate) compared: Vec<Compared>,
    pub(crate) watch: Vec<Watched>,
    pub(crate) idle: Vec<Idle>,
    pub(crate) memory: Vec<Memory>,
    /// Scenarios that failed, with the error.
    pub(crate) failures: Vec<String>,
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
        if !self.compared.is_empty() {
            line(String::new());
            line("#### Service ÷ raw (throughput ratio; latency p50 / p90 / p99 / p99.9 in ms)".into());
            line(String::new());
            line(
                "| scenario | callers | service ops/s | raw ops/s | ratio | rounds | target | met | service latency | raw latency | server CPU µs/op |"
                    .into(),
            );
            line("|---|---:|---:|---:|---:|---|---:|---|---|---|---:|".into());
            for c in &self.compared {
                let lat = |m: &Measure| format!("{} / {} / {} / {}", m.p50_ms, m.p90_ms, m.p99_ms, m.p999_ms);
                let rounds = c.round_ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ");
                line(format!(
                    "| {} | {} | {:.0} | {:.0} | {:.2} | {} | ≥ {:.2} | {} | {} | {} | {:.0} |",
                    c.scenario,
                    c.concurrency,
                    c.service.per_second,
                    c.raw.per_second,
                    c.ratio,
                    rounds,
                    c.target,
                    met(c.ratio >= c.target),
                    lat(&c.service),
                    lat(&c.raw),
                    c.server_cpu_us_per_op
                ));
            }
        }
        if !self.compared.is_empty() {
            line(String::new());
            line("#### Where the CPU goes (µs of CPU per call, by process)".into());
            line(String::new());
            line(
                "| scenario | callers | service: generator | server | database | total | raw: generator | database | total | service − raw |"
                    .into(),
            );
            line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into());
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
            line(String::new());
            line("#### WatchQueue: commit-to-receive latency (ms)".into());
            line(String::new());
            line("| subscribers | writes/s | events delivered | p50 | p90 | p99 | p99.9 | max | CreateTicket p50 / p99 | server CPU | server peak RSS | p99 ≤ 50 |".into());
            line("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|".into());
            for w in &self.watch {
                line(format!(
                    "| {} | {} | {} of {} | {} | {} | {} | {} | {} | {} / {} | {:.0} % | {:.0} MiB | {} |",
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
                    w.server_peak_rss_mib,
                    met(w.p99_ms <= w.target_p99_ms)
                ));
            }
        }
        if !self.idle.is_empty() {
            line(String::new());
            line("#### Idle subscribers: what they cost CreateTicket callers".into());
            line(String::new());
            line("| idle subscribers | callers | ops/s without | ops/s with | cost | target | met |".into());
            line("|---:|---:|---:|---:|---:|---:|---|".into());
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
            line(String::new());
            line("#### Idle subscribers: server memory".into());
            line(String::new());
            line("| idle subscribers | RSS before | peak RSS | per subscriber | target | met |".into());
            line("|---:|---:|---:|---:|---:|---|".into());
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
