//! The raw baseline: each scenario's database work written directly with sqlx, the way a
//! careful hand-written implementation would do it: the service's own statements (the
//! same SQL text, binds and prepared-statement cache), in the same transactions, on a pool
//! of the same size with the same READ COMMITTED isolation. What it leaves out is only
//! what carries no information (re-reading a row just written; see BENCHMARKS.md), and
//! everything the service does around the database: gRPC, validation, authorization,
//! mapping to and from protobuf, and its background sequencer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand_chacha::ChaCha8Rng;
use sea_orm::sqlx::mysql::{MySqlPoolOptions, MySqlRow};
use sea_orm::sqlx::{self, Executor, MySql, MySqlPool, Row, Transaction};
use serde::Serialize;

use support_service::pb;

use crate::Fallible;
use crate::fixture::Fixture;
use crate::load::Op;
use crate::workload::{Draw, Kind, PAGE, pick, severity_name};

/// A pool like the service's: same size, READ COMMITTED on every connection.
pub(crate) async fn pool(url: &str) -> Fallible<MySqlPool> {
    let size = support_service::config::Settings::with_database("sqlite::memory:").db_max_connections;
    Ok(MySqlPoolOptions::new()
        .max_connections(size)
        // As the service's pool: a connection is pinged before use only after a second
        // unused (sqlx pings each one it gets back anyway).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= std::time::Duration::from_secs(1) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .after_connect(|conn, _meta| {
            Box::pin(
                async move { conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await.map(drop) },
            )
        })
        .connect(url)
        .await?)
}

const TICKET_COLUMNS: &str = "`tickets`.`id`, `tickets`.`customer_id`, `tickets`.`department_id`, \
    `tickets`.`category`, `tickets`.`subject`, `tickets`.`description`, `tickets`.`severity`, `tickets`.`impact`, \
    `tickets`.`status`, `tickets`.`priority_score`, `tickets`.`priority_level`, `tickets`.`severity_points`, \
    `tickets`.`tier_points`, `tickets`.`impact_points`, `tickets`.`aging_points`, `tickets`.`assigned_agent_id`, \
    `tickets`.`assignment_reason`, `tickets`.`first_response_due_at`, `tickets`.`resolution_due_at`, \
    `tickets`.`first_response_breached`, `tickets`.`resolution_breached`, `tickets`.`rating`, `tickets`.`feedback`, \
    `tickets`.`last_response`, `tickets`.`version`, `tickets`.`created_at`, `tickets`.`updated_at`, \
    `tickets`.`first_response_at`, `tickets`.`resolved_at`, `tickets`.`closed_at`";

/// A ticket row, as the service's entity holds it (and serialises it into events).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ticket {
    id: i64,
    customer_id: i64,
    department_id: i64,
    category: String,
    subject: String,
    description: String,
    severity: String,
    impact: i32,
    status: String,
    priority_score: i32,
    priority_level: String,
    severity_points: i32,
    tier_points: i32,
    impact_points: i32,
    aging_points: i32,
    assigned_agent_id: Option<i64>,
    assignment_reason: Option<String>,
    first_response_due_at: Option<DateTime<Utc>>,
    resolution_due_at: Option<DateTime<Utc>>,
    first_response_breached: bool,
    resolution_breached: bool,
    rating: Option<i32>,
    feedback: Option<String>,
    last_response: String,
    version: i64,
    pub(crate) created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
}

impl Ticket {
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get(0)?,
            customer_id: r.try_get(1)?,
            department_id: r.try_get(2)?,
            category: r.try_get(3)?,
            subject: r.try_get(4)?,
            description: r.try_get(5)?,
            severity: r.try_get(6)?,
            impact: r.try_get(7)?,
            status: r.try_get(8)?,
            priority_score: r.try_get(9)?,
            priority_level: r.try_get(10)?,
            severity_points: r.try_get(11)?,
            tier_points: r.try_get(12)?,
            impact_points: r.try_get(13)?,
            aging_points: r.try_get(14)?,
            assigned_agent_id: r.try_get(15)?,
            assignment_reason: r.try_get(16)?,
            first_response_due_at: r.try_get(17)?,
            resolution_due_at: r.try_get(18)?,
            first_response_breached: r.try_get(19)?,
            resolution_breached: r.try_get(20)?,
            rating: r.try_get(21)?,
            feedback: r.try_get(22)?,
            last_response: r.try_get(23)?,
            version: r.try_get(24)?,
            created_at: r.try_get(25)?,
            updated_at: r.try_get(26)?,
            first_response_at: r.try_get(27)?,
            resolved_at: r.try_get(28)?,
            closed_at: r.try_get(29)?,
        })
    }

    /// The ticket as the API's resource, for the bare server's answers: its enums from
    /// the names the table stores, as the service's own conversion gives them.
    pub(crate) fn into_pb(self) -> pb::Ticket {
        use support_service::grpc::convert::{opt_timestamp, timestamp};
        pb::Ticket {
            id: self.id,
            customer_id: self.customer_id,
            department_id: self.department_id,
            category: named("TICKET_CATEGORY_", &self.category, |s| {
                pb::TicketCategory::from_str_name(s).map(Into::into)
            }),
            subject: self.subject,
            description: self.description,
            severity: named("SEVERITY_", &self.severity, |s| pb::Severity::from_str_name(s).map(Into::into)),
            impact: self.impact,
            status: named("TICKET_STATUS_", &self.status, |s| pb::TicketStatus::from_str_name(s).map(Into::into)),
            priority: Some(pb::Priority {
                score: self.priority_score,
                level: named("PRIORITY_LEVEL_", &self.priority_level, |s| {
                    pb::PriorityLevel::from_str_name(s).map(Into::into)
                }),
                breakdown: Some(pb::PriorityBreakdown {
                    severity_points: self.severity_points,
                    tier_points: self.tier_points,
                    impact_points: self.impact_points,
                    aging_points: self.aging_points,
                }),
            }),
            assigned_agent_id: self.assigned_agent_id,
            assignment_reason: self.assignment_reason.map_or(0, |r| {
                named("ASSIGNMENT_REASON_", &r, |s| pb::AssignmentReason::from_str_name(s).map(Into::into))
            }),
            sla: Some(pb::Sla {
                first_response_due_time: opt_timestamp(self.first_response_due_at),
                resolution_due_time: opt_timestamp(self.resolution_due_at),
                first_response_breached: self.first_response_breached,
                resolution_breached: self.resolution_breached,
            }),
            rating: self.rating,
            feedback: self
                .feedback
                .map_or(0, |f| named("FEEDBACK_", &f, |s| pb::Feedback::from_str_name(s).map(Into::into))),
            last_response: self.last_response,
            create_time: Some(timestamp(self.created_at)),
            update_time: Some(timestamp(self.updated_at)),
            first_response_time: opt_timestamp(self.first_response_at),
            resolve_time: opt_timestamp(self.resolved_at),
            close_time: opt_timestamp(self.closed_at),
            etag: self.version.to_string(),
        }
    }
}

/// The value of the enum whose name is `prefix` + `name` (as `parse` reads names), or 0;
/// without allocating, as a careful server would.
fn named(prefix: &str, name: &str, parse: fn(&str) -> Option<i32>) -> i32 {
    let mut full = [0u8; 64];
    let len = prefix.len() + name.len();
    if len > full.len() {
        return 0;
    }
    full[..prefix.len()].copy_from_slice(prefix.as_bytes());
    full[prefix.len()..len].copy_from_slice(name.as_bytes());
    std::str::from_utf8(&full[..len]).ok().and_then(parse).unwrap_or(0)
}

/// The raw side of a scenario.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) kind: Kind,
    pub(crate) pool: MySqlPool,
    pub(crate) fixture: Arc<Fixture>,
}

fn err(e: sqlx::Error) -> String {
    e.to_string()
}

type Txn = Transaction<'static, MySql>;

async fn department_mode(txn: &mut Txn, id: i64) -> Result<String, sqlx::Error> {
    let row = sqlx::query(
        "SELECT `departments`.`id`, `departments`.`name`, `departments`.`description`, \
         `departments`.`conversation_mode`, `departments`.`version`, `departments`.`created_at`, \
         `departments`.`updated_at` FROM `departments` WHERE `departments`.`id` = ? LIMIT ?",
    )
    .bind(id)
    .bind(1_u64)
    .fetch_one(&mut **txn)
    .await?;
    row.try_get(3)
}

async fn insert_event(
    txn: &mut Txn,
    kind: &str,
    before: Option<&Ticket>,
    after: &Ticket,
    log_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let json = serde_json::to_string(after).map_err(|e| e.to_string())?;
    sqlx::query(
        "INSERT INTO `queue_events` (`sequence`, `kind`, `ticket_id`, `log_id`, `ticket`, `before_status`, \
         `before_department_id`, `before_agent_id`, `before_level`, `created_at`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(None::<i64>)
    .bind(kind)
    .bind(after.id)
    .bind(log_id)
    .bind(json)
    .bind(before.map(|b| b.status.clone()))
    .bind(before.map(|b| b.department_id))
    .bind(before.and_then(|b| b.assigned_agent_id))
    .bind(before.map(|b| b.priority_level.clone()))
    .bind(now)
    .execute(&mut **txn)
    .await
    .map_err(err)?;
    Ok(())
}

impl Raw {
    /// Raw's CreateTicket transaction; the ticket it inserted.
    pub(crate) async fn create(&self, d: &Draw) -> Result<Ticket, String> {
        let now = Utc::now();
        let mut txn = self.pool.begin().await.map_err(err)?;
        let customer = sqlx::query(
            "SELECT `customers`.`id`, `customers`.`first_name`, `customers`.`last_name`, `customers`.`email`, \
             `customers`.`phone`, `customers`.`location`, `customers`.`tier`, `customers`.`version`, \
             `customers`.`created_at`, `customers`.`updated_at` FROM `customers` WHERE `customers`.`id` = ? LIMIT ?",
        )
        .bind(d.customer)
        .bind(1_u64)
        .fetch_one(&mut *txn)
        .await
        .map_err(err)?;
        let tier: String = customer.try_get(6).map_err(err)?;
        department_mode(&mut txn, d.department).await.map_err(err)?;
        // The scoring is the service's business; a fixed score stands in for it here.
        let tier_points = if tier == "ENTERPRISE" { 30 } else { 10 };
        let mut t = Ticket {
            id: 0,
            customer_id: d.customer,
            department_id: d.department,
            category: "OTHER".into(),
            subject: format!("Bench {}", d.nonce),
            description: "A ticket made by the load generator.".into(),
            severity: severity_name(d.severity).into(),
            impact: d.impact,
            status: "OPEN".into(),
            priority_score: 40 + tier_points,
            priority_level: "P2".into(),
            severity_points: 20,
            tier_points,
            impact_points: d.impact,
            aging_points: 0,
            assigned_agent_id: None,
            assignment_reason: None,
            first_response_due_at: Some(now + chrono::Duration::hours(4)),
            resolution_due_at: Some(now + chrono::Duration::hours(24)),
            first_response_breached: false,
            resolution_breached: false,
            rating: None,
            feedback: None,
            last_response: "A ticket made by the load generator.".into(),
            version: 1,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
        };
        let done = sqlx::query(
            "INSERT INTO `tickets` (`customer_id`, `department_id`, `category`, `subject`, `description`, \
             `severity`, `impact`, `status`, `priority_score`, `priority_level`, `severity_points`, `tier_points`, \
             `impact_points`, `aging_points`, `assigned_agent_id`, `assignment_reason`, `first_response_due_at`, \
             `resolution_due_at`, `first_response_breached`, `resolution_breached`, `rating`, `feedback`, \
             `last_response`, `version`, `created_at`, `updated_at`, `first_response_at`, `resolved_at`, \
             `closed_at`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.customer_id)
        .bind(t.department_id)
        .bind(&t.category)
        .bind(&t.subject)
        .bind(&t.description)
        .bind(&t.severity)
        .bind(t.impact)
        .bind(&t.status)
        .bind(t.priority_score)
        .bind(&t.priority_level)
        .bind(t.severity_points)
        .bind(t.tier_points)
        .bind(t.impact_points)
        .bind(t.aging_points)
        .bind(t.assigned_agent_id)
        .bind(&t.assignment_reason)
        .bind(t.first_response_due_at)
        .bind(t.resolution_due_at)
        .bind(t.first_response_breached)
        .bind(t.resolution_breached)
        .bind(t.rating)
        .bind(&t.feedback)
        .bind(&t.last_response)
        .bind(t.version)
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(t.first_response_at)
        .bind(t.resolved_at)
        .bind(t.closed_at)
        .execute(&mut *txn)
        .await
        .map_err(err)?;
        t.id = done.last_insert_id() as i64;
        // Its search document (the feature's own work, as in the service).
        sqlx::query("INSERT INTO ticket_search (ticket_id, title, public_text, internal_text) VALUES (?, ?, '', '')")
            .bind(t.id)
            .bind(format!("{}\n{}", t.subject, t.description))
            .execute(&mut *txn)
            .await
            .map_err(err)?;
        insert_event(&mut txn, "TICKET_CREATED", None, &t, None, now).await?;
        let opened = format!(r#"{{"kind":"OPENED","department_id":{},"status":"OPEN"}}"#, t.department_id);
        insert_history(&mut txn, t.id, now, &[("OPENED", opened)]).await?;
        txn.commit().await.map_err(err)?;
        Ok(t)
    }

    pub(crate) async fn get(&self, id: i64) -> Result<Ticket, String> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM `tickets` WHERE `tickets`.`id` = ? LIMIT ?");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(1_u64).fetch_one(&self.pool).await.map_err(err)?;
        Ticket::from_row(&row).map_err(err)
    }

    async fn list(&self, department: i64) -> Result<Vec<i64>, String> {
        Ok(self.page(department).await?.iter().take(PAGE as usize).map(|t| t.id).collect())
    }

    /// One department's OPEN and IN_PROGRESS tickets by priority: a page and one more,
    /// as the service reads them.
    pub(crate) async fn page(&self, department: i64) -> Result<Vec<Ticket>, String> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM `tickets` WHERE `tickets`.`status` IN (?, ?) AND `tickets`.`department_id` = ? \
             ORDER BY `tickets`.`priority_score` DESC, `tickets`.`created_at` ASC, `tickets`.`id` ASC LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind("OPEN")
            .bind("IN_PROGRESS")
            .bind(department)
            .bind(PAGE as u64 + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(Ticket::from_row).collect::<Result<Vec<_>, _>>().map_err(err)
    }

    async fn list_logs(&self, ticket: i64) -> Result<(), String> {
        self.get(ticket).await?;
        let rows = sqlx::query(
            "SELECT `logs`.`id`, `logs`.`ticket_id`, `logs`.`sender_kind`, `logs`.`sender_id`, `logs`.`body`, \
             `logs`.`visibility`, `logs`.`delivery_status`, `logs`.`created_at` FROM `logs` \
             WHERE `logs`.`ticket_id` = ? ORDER BY `logs`.`id` ASC LIMIT ?",
        )
        .bind(ticket)
        .bind(PAGE as u64 + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            let (id, _body, _at): (i64, String, DateTime<Utc>) =
                (r.try_get(0).map_err(err)?, r.try_get(4).map_err(err)?, r.try_get(7).map_err(err)?);
            ids.push(id);
        }
        if ids.is_empty() {
            return Ok(());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT `attachments`.`id`, `attachments`.`log_id`, `attachments`.`file_name`, \
             `attachments`.`content_type`, `attachments`.`size_bytes`, `attachments`.`sha256` FROM `attachments` \
             WHERE `attachments`.`log_id` IN ({marks}) ORDER BY `attachments`.`id` ASC"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.pool).await.map_err(err)?;
        Ok(())
    }

    async fn reply(&self, ticket: i64, agent: i64, nonce: u32) -> Result<(), String> {
        let now = Utc::now();
        let body = format!("Reply {nonce} from the load generator.");
        let mut txn = self.pool.begin().await.map_err(err)?;
        let sql = format!("SELECT {TICKET_COLUMNS} FROM `tickets` WHERE `tickets`.`id` = ? LIMIT ? FOR UPDATE");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ticket).bind(1_u64).fetch_one(&mut *txn).await.map_err(err)?;
        let before = Ticket::from_row(&row).map_err(err)?;
        if before.status == "CLOSED" {
            return Err("closed".into());
        }
        department_mode(&mut txn, before.department_id).await.map_err(err)?;
        let _last_public: Option<String> = sqlx::query_scalar(
            "SELECT `logs`.`sender_kind` FROM `logs` WHERE `logs`.`ticket_id` = ? AND `logs`.`visibility` = ? \
             AND `logs`.`sender_kind` <> ? ORDER BY `logs`.`id` DESC LIMIT ?",
        )
        .bind(ticket)
        .bind("PUBLIC")
        .bind("SYSTEM")
        .bind(1_u64)
        .fetch_optional(&mut *txn)
        .await
        .map_err(err)?;
        sqlx::query(
            "SELECT `agents`.`id`, `agents`.`first_name`, `agents`.`last_name`, `agents`.`email`, `agents`.`phone`, \
             `agents`.`department_id`, `agents`.`role`, `agents`.`availability`, `agents`.`last_assigned_at`, \
             `agents`.`version`, `agents`.`created_at`, `agents`.`updated_at` FROM `agents` WHERE `agents`.`id` = ? LIMIT ?",
        )
        .bind(agent)
        .bind(1_u64)
        .fetch_one(&mut *txn)
        .await
        .map_err(err)?;
        let log_id = sqlx::query(
            "INSERT INTO `logs` (`ticket_id`, `sender_kind`, `sender_id`, `body`, `visibility`, `delivery_status`, \
             `created_at`) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ticket)
        .bind("AGENT")
        .bind(agent)
        .bind(&body)
        .bind("PUBLIC")
        .bind("SENT")
        .bind(now)
        .execute(&mut *txn)
        .await
        .map_err(err)?
        .last_insert_id() as i64;
        sqlx::query("UPDATE ticket_search SET public_text = CONCAT(public_text, ?, '\\n') WHERE ticket_id = ?")
            .bind(&body)
            .bind(ticket)
            .execute(&mut *txn)
            .await
            .map_err(err)?;
        // The first agent reply moves OPEN to IN_PROGRESS and stamps the first response.
        let mut after = before.clone();
        after.last_response = body.clone();
        after.version += 1;
        after.updated_at = now;
        let first = before.first_response_at.is_none();
        if first {
            after.first_response_at = Some(now);
        }
        if before.status == "OPEN" {
            after.status = "IN_PROGRESS".into();
        }
        let mut set = vec!["`last_response` = ?", "`version` = ?", "`updated_at` = ?"];
        if after.status != before.status {
            set.insert(0, "`status` = ?");
        }
        if first {
            set.push("`first_response_at` = ?");
        }
        let sql = format!("UPDATE `tickets` SET {} WHERE `tickets`.`id` = ?", set.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if after.status != before.status {
            q = q.bind(after.status.clone());
        }
        q = q.bind(&after.last_response).bind(after.version).bind(now);
        if first {
            q = q.bind(now);
        }
        q.bind(ticket).execute(&mut *txn).await.map_err(err)?;
        let kind = if after.status != before.status { "STATUS_CHANGED" } else { "TICKET_UPDATED" };
        insert_event(&mut txn, kind, Some(&before), &after, None, now).await?;
        insert_event(&mut txn, "MESSAGE_ADDED", Some(&after), &after, Some(log_id), now).await?;
        let mut entries = Vec::new();
        if after.status != before.status {
            entries.push((
                "STATUS",
                format!(r#"{{"kind":"STATUS","before":"{}","after":"{}"}}"#, before.status, after.status),
            ));
        }
        entries.push((
            "MESSAGE",
            format!(
                r#"{{"kind":"MESSAGE","log_id":{log_id},"sender":"AGENT","sender_id":{agent},"visibility":"PUBLIC"}}"#
            ),
        ));
        insert_history(&mut txn, ticket, now, &entries).await?;
        txn.commit().await.map_err(err)
    }
}

/// The ticket's history entries (kind, detail JSON), in one statement.
async fn insert_history(
    txn: &mut Txn,
    ticket: i64,
    now: DateTime<Utc>,
    entries: &[(&str, String)],
) -> Result<(), String> {
    let rows = vec!["(?, ?, ?, ?, ?)"; entries.len()].join(", ");
    let sql =
        format!("INSERT INTO `ticket_history` (`ticket_id`, `created_at`, `public`, `kind`, `detail`) VALUES {rows}");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (kind, detail) in entries {
        q = q.bind(ticket).bind(now).bind(true).bind(*kind).bind(detail);
    }
    q.execute(&mut **txn).await.map_err(err)?;
    Ok(())
}

impl Op for Raw {
    async fn call(&mut self, rng: &mut ChaCha8Rng) -> Result<(), String> {
        let d = Draw::new(rng, &self.fixture);
        match self.kind {
            Kind::CreateTicket => self.create(&d).await.map(drop),
            Kind::GetTicket => self.get(d.ticket).await.map(drop),
            Kind::ListTickets => self.list(d.department).await.map(drop),
            Kind::AddLog => self.reply(d.open_ticket, d.agent, d.nonce).await,
            Kind::Mixed => {
                let queue = self.list(d.department).await?;
                let ticket = pick(&queue, &d);
                self.get(ticket).await?;
                self.list_logs(ticket).await?;
                self.reply(ticket, d.agent, d.nonce).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_name_is_read_as_the_apis_enum() {
        let severity = |s: &str| pb::Severity::from_str_name(s).map(Into::into);
        assert_eq!(named("SEVERITY_", "MAJOR", severity), pb::Severity::Major as i32);
        let status = |s: &str| pb::TicketStatus::from_str_name(s).map(Into::into);
        assert_eq!(named("TICKET_STATUS_", "IN_PROGRESS", status), pb::TicketStatus::InProgress as i32);
        assert_eq!(named("SEVERITY_", "NO_SUCH", severity), 0);
        assert_eq!(named("SEVERITY_", &"X".repeat(80), severity), 0);
    }
}
