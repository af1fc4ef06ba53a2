//! What the database did per call, for finding where a difference in its CPU comes from:
//! MariaDB's own counters (statements, prepares, bytes, handler reads), and the context
//! switches and the user and system (kernel) CPU time of each process, before and after a
//! run. Printed when `SUPPORT_BENCH_DB_STATUS` is set; the tables do not use it.

use std::collections::BTreeMap;

use sea_orm::sqlx::MySqlPool;

use crate::server::cpu_of;

/// MariaDB's global counters that tell two runs' database work apart.
const COUNTERS: [&str; 16] = [
    "Questions",
    "Com_select",
    "Com_insert",
    "Com_update",
    "Com_stmt_prepare",
    "Com_stmt_execute",
    "Com_stmt_close",
    "Com_begin",
    "Com_commit",
    "Com_rollback",
    "Bytes_received",
    "Bytes_sent",
    "Handler_read_key",
    "Handler_read_next",
    "Handler_read_rnd_next",
    "Innodb_buffer_pool_read_requests",
];

/// The counters at one moment.
#[derive(Debug, Default)]
pub(crate) struct Counters(BTreeMap<String, i64>);

/// Whether to print (`SUPPORT_BENCH_DB_STATUS` set).
pub(crate) fn wanted() -> bool {
    std::env::var_os("SUPPORT_BENCH_DB_STATUS").is_some()
}

/// MariaDB's counters, and the context switches and CPU time of the database (`db`), the
/// server (`server`) and this process.
pub(crate) async fn read(pool: &MySqlPool, db: &[String], server: u32) -> Counters {
    let rows: Vec<(String, String)> =
        sea_orm::sqlx::query_as("SHOW GLOBAL STATUS").fetch_all(pool).await.unwrap_or_default();
    let mut all: BTreeMap<String, i64> = rows
        .into_iter()
        .filter(|(k, _)| COUNTERS.contains(&k.as_str()))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    let pids = [("database", db.to_vec()), ("server", vec![server.to_string()]), ("generator", vec!["self".into()])];
    for (who, pids) in pids {
        let (voluntary, forced) = pids.iter().map(|p| switches(p)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        all.insert(format!("{who}_voluntary_switches"), voluntary);
        all.insert(format!("{who}_involuntary_switches"), forced);
        let (user, system) = pids.iter().map(|p| cpu_of(p)).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        all.insert(format!("{who}_user_us"), (user * 1e6) as i64);
        all.insert(format!("{who}_system_us"), (system * 1e6) as i64);
    }
    Counters(all)
}

/// Prints `label` and what changed from `before` to `after`, per call.
pub(crate) fn print(label: &str, before: &Counters, after: &Counters, calls: u64) {
    let mut line = format!("{label}, per call:");
    for (k, v) in &after.0 {
        let d = v - before.0.get(k).copied().unwrap_or(0);
        if d != 0 {
            line.push_str(&format!(" {k}={:.2}", d as f64 / calls.max(1) as f64));
        }
    }
    eprintln!("{line}");
}

/// The voluntary and involuntary context switches of every thread of `pid`.
fn switches(pid: &str) -> (i64, i64) {
    let mut total = (0, 0);
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
    for task in tasks {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for l in status.lines() {
            let value = |v: &str| v.trim().parse::<i64>().unwrap_or(0);
            if let Some(v) = l.strip_prefix("voluntary_ctxt_switches:") {
                total.0 += value(v);
            } else if let Some(v) = l.strip_prefix("nonvoluntary_ctxt_switches:") {
                total.1 += value(v);
            }
        }
    }
    total
}
