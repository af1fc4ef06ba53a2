//! The database every table-driven scenario starts from: a fresh MariaDB database, migrated
//! by the server, with 5 CHAT departments and 10 agents each made through the API, and
//! 1,000 customers and the requested number of tickets (100,000 by default) bulk-inserted
//! with MariaDB's SEQUENCE engine (`seq_1_to_N`), which takes seconds instead of the
//! minutes 100,000 API calls would take. The rows hold only values the service writes
//! itself (valid enum names, scores matching levels), so every RPC reads them as its own.

use sea_orm::sqlx::{self, AssertSqlSafe, MySqlPool};
use support_service::pb;

use crate::Fallible;
use crate::client::Clients;

/// Departments and agents per department.
pub(crate) const DEPARTMENTS: usize = 5;
pub(crate) const AGENTS_PER_DEPARTMENT: usize = 10;
/// Customers.
pub(crate) const CUSTOMERS: i64 = 1_000;

/// The ids a workload draws from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fixture {
    /// Agents, with their department.
    pub(crate) agents: Vec<(i64, i64)>,
    /// Customer ids are `1..=CUSTOMERS`.
    pub(crate) customers: i64,
    /// Ticket ids are `1..=tickets`.
    pub(crate) tickets: i64,
    /// Tickets not CLOSED (they take messages), ascending.
    pub(crate) open_tickets: Vec<i64>,
}

/// Makes `name` a fresh, empty database on the server of `base` and returns its URL.
pub(crate) async fn fresh_database(base: &str, name: &str) -> Fallible<String> {
    let admin = MySqlPool::connect(base).await?;
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).execute(&admin).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(format!("{}/{name}", base.trim_end_matches('/')))
}

/// Makes a CHAT-mode department through the API; returns its id.
pub(crate) async fn chat_department(api: &mut Clients, name: String) -> Fallible<i64> {
    Ok(api
        .departments
        .create_department(pb::CreateDepartmentRequest {
            department: Some(pb::Department {
                name,
                description: "Load generator".into(),
                conversation_mode: pb::ConversationMode::Chat.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .department
        .ok_or("no department")?
        .id)
}

/// Fills a migrated, empty database: departments and agents through `api`, customers and
/// `tickets` tickets in bulk through `db`.
pub(crate) async fn fill(api: &mut Clients, db: &MySqlPool, tickets: i64) -> Fallible<Fixture> {
    let mut departments = Vec::new();
    let mut agents = Vec::new();
    for d in 0..DEPARTMENTS {
        let department = chat_department(api, format!("Bench {d}")).await?;
        departments.push(department);
        for a in 0..AGENTS_PER_DEPARTMENT {
            let agent = api
                .agents
                .create_agent(pb::CreateAgentRequest {
                    agent: Some(pb::Agent {
                        first_name: "Agent".into(),
                        last_name: format!("{d}-{a}"),
                        email: format!("agent-{d}-{a}@bench.example"),
                        department_id: department,
                        role: pb::AgentRole::Agent.into(),
                        availability: pb::Availability::Active.into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await?
                .into_inner()
                .agent
                .ok_or("no agent")?;
            agents.push((agent.id, department));
        }
    }
    // Ids given explicitly: a Galera node hands out AUTO_INCREMENT ids in steps of the
    // cluster's size, and the workloads draw customers and tickets from 1..=N.
    let department_of = format!(
        "ELT(1 + seq % {DEPARTMENTS}, {})",
        departments.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    );
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO customers (id, first_name, last_name, email, phone, location, tier, version, created_at, updated_at) \
         SELECT seq, 'Customer', CONCAT('No. ', seq), CONCAT('customer-', seq, '@bench.example'), '', 'Bench', \
                ELT(1 + seq % 3, 'FREE', 'PAID', 'ENTERPRISE'), 1, NOW(6), NOW(6) \
         FROM seq_1_to_{CUSTOMERS}"
    )))
    .execute(db)
    .await?;
    // Scores spread over 0..=99 with levels by score band; statuses 40 % OPEN, 20 %
    // IN_PROGRESS, 20 % RESOLVED, 20 % CLOSED; created over the last ~28 hours.
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO tickets (id, customer_id, department_id, category, subject, description, severity, impact, \
            status, priority_score, priority_level, severity_points, tier_points, impact_points, aging_points, \
            assigned_agent_id, assignment_reason, first_response_due_at, resolution_due_at, \
            first_response_breached, resolution_breached, rating, feedback, last_response, version, \
            created_at, updated_at, first_response_at, resolved_at, closed_at) \
         SELECT seq, 1 + seq % {CUSTOMERS}, {department_of}, 'OTHER', CONCAT('Bench ticket ', seq), \
            'A ticket made by the load generator.', ELT(1 + seq % 3, 'CRITICAL', 'MAJOR', 'MINOR'), 1 + seq % 5, \
            ELT(1 + seq % 5, 'OPEN', 'OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED'), \
            (seq * 37) % 100, ELT(1 + ((seq * 37) % 100) DIV 25, 'P3', 'P2', 'P1', 'P0'), \
            (seq * 37) % 40, (seq * 37) % 100 DIV 5, 0, 0, NULL, NULL, \
            NOW(6) + INTERVAL 1 HOUR, NOW(6) + INTERVAL 1 DAY, 0, 0, \
            IF(seq % 5 = 4, 1 + seq % 5, NULL), IF(seq % 5 = 4, 'SATISFIED', NULL), \
            'A ticket made by the load generator.', 1, \
            NOW(6) - INTERVAL seq SECOND, NOW(6) - INTERVAL seq SECOND, NULL, \
            IF(seq % 5 >= 3, NOW(6), NULL), IF(seq % 5 = 4, NOW(6), NULL) \
         FROM seq_1_to_{tickets}"
    )))
    .execute(db)
    .await?;
    let open_tickets: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM tickets WHERE status <> 'CLOSED' ORDER BY id").fetch_all(db).await?;
    sqlx::query("ANALYZE TABLE tickets, customers").execute(db).await?;
    Ok(Fixture { agents, customers: CUSTOMERS, tickets, open_tickets })
}
