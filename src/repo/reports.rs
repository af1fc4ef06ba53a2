//! The reports, computed in the database: one aggregate query each, written once for
//! both backends with two small dialect helpers (seconds since the epoch and the month of
//! a timestamp). Durations are whole seconds and sums are exact integers, so MySQL and
//! SQLite give identical results; averages are derived from the sums.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement, Value};

use super::Repo;
use crate::domain::report::{
    AgentFigures, BacklogRow, DurationStats, MonthlyResolution, ReportScope, ResolutionReport,
};
use crate::domain::{SenderKind, Status};
use crate::error::{AppError, AppResult};

/// SQL fragments that differ between the backends.
#[derive(Debug, Clone, Copy)]
struct Dialect(DatabaseBackend);

impl Dialect {
    /// Whole seconds since the epoch of a DATETIME expression (truncated, as both agree).
    fn secs(self, expr: &str) -> String {
        match self.0 {
            DatabaseBackend::MySql => format!("TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {expr})"),
            _ => format!("CAST(strftime('%s', {expr}) AS INTEGER)"),
        }
    }

    /// "YYYY-MM" of a DATETIME expression.
    fn month(self, expr: &str) -> String {
        match self.0 {
            DatabaseBackend::MySql => format!("DATE_FORMAT({expr}, '%Y-%m')"),
            _ => format!("strftime('%Y-%m', {expr})"),
        }
    }

    /// An integer aggregate as a 64-bit integer (MySQL's SUM is DECIMAL).
    fn int(self, expr: &str) -> String {
        match self.0 {
            DatabaseBackend::MySql => format!("CAST({expr} AS SIGNED)"),
            _ => format!("CAST({expr} AS INTEGER)"),
        }
    }

    /// `COUNT, MIN, MAX, SUM` of a seconds column, as the four columns of [`DurationStats`].
    fn stats(self, col: &str) -> String {
        format!("COUNT({col}), MIN({col}), MAX({col}), {}", self.int(&format!("SUM({col})")))
    }
}

/// The `WHERE` conditions of a scope on tickets aliased `t`, and their values.
fn scope_sql(scope: &ReportScope) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    if let Some(start) = scope.start {
        sql.push_str(" AND t.created_at >= ?");
        values.push(start.into());
    }
    if let Some(end) = scope.end {
        sql.push_str(" AND t.created_at < ?");
        values.push(end.into());
    }
    if let Some(d) = scope.department_id {
        sql.push_str(" AND t.department_id = ?");
        values.push(d.into());
    }
    (sql, values)
}

fn col<T: sea_orm::TryGetable>(row: &QueryResult, i: usize) -> AppResult<T> {
    row.try_get_by_index(i).map_err(|e| AppError::Internal(format!("report column {i}: {e}")))
}

/// Four columns from `i` on as stats (absent values of an empty set are 0).
fn stats_at(row: &QueryResult, i: usize) -> AppResult<DurationStats> {
    Ok(DurationStats {
        count: col::<i64>(row, i)?,
        min_secs: col::<Option<i64>>(row, i + 1)?.unwrap_or(0),
        max_secs: col::<Option<i64>>(row, i + 2)?.unwrap_or(0),
        total_secs: col::<Option<i64>>(row, i + 3)?.unwrap_or(0),
    })
}

impl Repo {
    async fn rows(&self, sql: String, values: Vec<Value>) -> AppResult<Vec<QueryResult>> {
        let backend = self.db.get_database_backend();
        Ok(self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?)
    }

    fn dialect(&self) -> Dialect {
        Dialect(self.db.get_database_backend())
    }

    /// Resolution times of RESOLVED and CLOSED tickets: first to last message, and creation
    /// to resolution (or close), overall and per creation month.
    #[tracing::instrument(skip_all)]
    pub async fn resolution_report(&self, scope: &ReportScope) -> AppResult<ResolutionReport> {
        let d = self.dialect();
        let (filter, values) = scope_sql(scope);
        // Each ticket's first and last message from logs(ticket_id, created_at) alone (a
        // loose index scan on MySQL), joined to the tickets in scope, then by month.
        let sql = format!(
            "WITH first_last AS ( \
               SELECT ticket_id, MIN(created_at) AS first_at, MAX(created_at) AS last_at \
               FROM logs GROUP BY ticket_id \
             ), spans AS ( \
               SELECT {} AS month, {} - {} AS messages, {} - {} AS resolve \
               FROM tickets t LEFT JOIN first_last fl ON fl.ticket_id = t.id \
               WHERE t.status IN ('{resolved}', '{closed}'){filter} \
             ) SELECT month, {}, {} FROM spans GROUP BY month ORDER BY month",
            d.month("t.created_at"),
            d.secs("fl.last_at"),
            d.secs("fl.first_at"),
            d.secs("COALESCE(t.resolved_at, t.closed_at)"),
            d.secs("t.created_at"),
            d.stats("messages"),
            d.stats("resolve"),
            resolved = Status::Resolved,
            closed = Status::Closed,
        );
        let mut report = ResolutionReport::default();
        for row in self.rows(sql, values).await? {
            let m = MonthlyResolution {
                month: col(&row, 0)?,
                first_to_last_message: stats_at(&row, 1)?,
                create_to_resolve: stats_at(&row, 5)?,
            };
            report.first_to_last_message.merge(&m.first_to_last_message);
            report.create_to_resolve.merge(&m.create_to_resolve);
            report.months.push(m);
        }
        Ok(report)
    }

    /// How many tickets had 0, 1, 2… distinct agents writing on them, ascending.
    #[tracing::instrument(skip_all)]
    pub async fn agents_per_ticket(&self, scope: &ReportScope) -> AppResult<Vec<(i32, i64)>> {
        let (filter, values) = scope_sql(scope);
        let sql = format!(
            "SELECT agents, COUNT(*) FROM ( \
               SELECT t.id, COUNT(DISTINCT l.sender_id) AS agents \
               FROM tickets t LEFT JOIN logs l ON l.ticket_id = t.id AND l.sender_kind = '{agent}' \
               WHERE 1 = 1{filter} GROUP BY t.id \
             ) per_ticket GROUP BY agents ORDER BY agents",
            agent = SenderKind::Agent,
        );
        self.rows(sql, values).await?.iter().map(|row| Ok((col::<i64>(row, 0)? as i32, col::<i64>(row, 1)?))).collect()
    }

    /// Per agent: distinct tickets written on, and the ratings of closed tickets assigned
    /// to them. One row per agent with either, by id.
    #[tracing::instrument(skip_all)]
    pub async fn agent_figures(&self, scope: &ReportScope) -> AppResult<Vec<AgentFigures>> {
        let d = self.dialect();
        let (filter, values) = scope_sql(scope);
        // Unscoped, the index on logs(sender_kind, sender_id, ticket_id) answers alone;
        // scoped, the tickets in scope drive the join.
        let agent = SenderKind::Agent;
        let handled = if filter.is_empty() {
            format!(
                "SELECT sender_id, COUNT(DISTINCT ticket_id) FROM logs \
                 WHERE sender_kind = '{agent}' AND sender_id IS NOT NULL GROUP BY sender_id"
            )
        } else {
            format!(
                "SELECT l.sender_id, COUNT(DISTINCT l.ticket_id) FROM tickets t \
                 JOIN logs l ON l.ticket_id = t.id AND l.sender_kind = '{agent}' \
                 WHERE l.sender_id IS NOT NULL{filter} GROUP BY l.sender_id"
            )
        };
        let rated = format!(
            "SELECT t.assigned_agent_id, COUNT(t.rating), MIN(t.rating), {}, MAX(t.rating) FROM tickets t \
             WHERE t.rating IS NOT NULL AND t.assigned_agent_id IS NOT NULL{filter} GROUP BY t.assigned_agent_id",
            d.int("SUM(t.rating)")
        );
        let mut rows: BTreeMap<i64, AgentFigures> = BTreeMap::new();
        for row in self.rows(handled, values.clone()).await? {
            let id = col::<i64>(&row, 0)?;
            rows.entry(id).or_insert(AgentFigures { agent_id: id, ..Default::default() }).tickets_handled =
                col(&row, 1)?;
        }
        // Calls: placed, answered, and talk time, per agent at either end, one pass.
        let talk = format!("{} - {}", d.secs("c.ended_at"), d.secs("c.answered_at"));
        let calls = format!(
            "SELECT p.agent_id, {}, {}, {} FROM ( \
               SELECT c.caller_id AS agent_id, 1 AS made, 0 AS answered, \
                 CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL THEN {talk} ELSE 0 END AS talk \
               FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.caller_kind = '{agent}'{filter} \
               UNION ALL \
               SELECT c.callee_id, 0, CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END, \
                 CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL THEN {talk} ELSE 0 END \
               FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.callee_kind = '{agent}'{filter} \
             ) p GROUP BY p.agent_id",
            d.int("SUM(p.made)"),
            d.int("SUM(p.answered)"),
            d.int("SUM(p.talk)")
        );
        let mut twice = values.clone();
        twice.extend(values.clone());
        for row in self.rows(calls, twice).await? {
            let id = col::<i64>(&row, 0)?;
            let r = rows.entry(id).or_insert(AgentFigures { agent_id: id, ..Default::default() });
            r.calls_made = col::<Option<i64>>(&row, 1)?.unwrap_or(0);
            r.calls_answered = col::<Option<i64>>(&row, 2)?.unwrap_or(0);
            r.talk_seconds = col::<Option<i64>>(&row, 3)?.unwrap_or(0);
        }
        for row in self.rows(rated, values).await? {
            let id = col::<i64>(&row, 0)?;
            let r = rows.entry(id).or_insert(AgentFigures { agent_id: id, ..Default::default() });
            r.rating_count = col(&row, 1)?;
            r.rating_min = col::<i64>(&row, 2)? as i32;
            r.rating_sum = col(&row, 3)?;
            r.rating_max = col::<i64>(&row, 4)? as i32;
        }
        Ok(rows.into_values().collect())
    }

    /// Time from creation to the first public agent reply.
    #[tracing::instrument(skip_all)]
    pub async fn first_response_report(&self, scope: &ReportScope) -> AppResult<DurationStats> {
        let d = self.dialect();
        let (filter, values) = scope_sql(scope);
        let sql = format!(
            "SELECT {} FROM (SELECT {} - {} AS wait FROM tickets t \
             WHERE t.first_response_at IS NOT NULL{filter}) per_ticket",
            d.stats("wait"),
            d.secs("t.first_response_at"),
            d.secs("t.created_at"),
        );
        match self.rows(sql, values).await?.first() {
            Some(row) => stats_at(row, 0),
            None => Ok(DurationStats::default()),
        }
    }

    /// Open (OPEN or IN_PROGRESS) tickets by department and level, with SLA breaches.
    #[tracing::instrument(skip_all)]
    pub async fn backlog_report(&self, scope: &ReportScope) -> AppResult<Vec<BacklogRow>> {
        let d = self.dialect();
        let (filter, values) = scope_sql(scope);
        let sql = format!(
            "SELECT t.department_id, t.priority_level, COUNT(*), {} FROM tickets t \
             WHERE t.status IN ('{open}', '{in_progress}'){filter} \
             GROUP BY t.department_id, t.priority_level ORDER BY t.department_id, t.priority_level",
            d.int("SUM(CASE WHEN t.first_response_breached = 1 OR t.resolution_breached = 1 THEN 1 ELSE 0 END)"),
            open = Status::Open,
            in_progress = Status::InProgress,
        );
        self.rows(sql, values)
            .await?
            .iter()
            .map(|row| {
                Ok(BacklogRow {
                    department_id: col(row, 0)?,
                    level: col(row, 1)?,
                    open: col(row, 2)?,
                    breached: col(row, 3)?,
                })
            })
            .collect()
    }
}
