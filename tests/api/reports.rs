//! ReportService on a hand-computed fixture (the same expectations on SQLite and MariaDB),
//! with department and time scopes, empty ranges and bad scopes.
//!
//! The fixture, from 2026-03-02 09:00 (T) on the manual clock, no automatic assignment:
//! - t1 (One, agent a1): customer at T+10m, a1 at T+30m, a2 at T+60m, customer at T+90m,
//!   resolved at T+120m. First to last message 4,800 s; create to resolve 7,200 s;
//!   first response 1,800 s; two agents.
//! - t2 (One, a1), created T+120m: a1 at T+180m; the customer closes it at T+240m with
//!   rating 4. First to last 0 s; create to close 7,200 s; first response 3,600 s.
//! - t3 (Two, a3), created T+240m: never answered, still OPEN, breaches its SLA.
//! - t4 (One, a2), created 2026-04-15 09:00: a2 at +15m, resolved at +60m, closed with
//!   rating 2. First to last 0 s; create to resolve 3,600 s; first response 900 s.

use chrono::{Duration, TimeZone, Utc};
use support_service::pb::{self, ConversationMode, CustomerTier, Severity, TicketStatus};
use tonic::Code;

use crate::helpers::{TestApp, spawn_with};

struct Fixture {
    d1: i64,
    d2: i64,
    a1: i64,
    a2: i64,
    t3: i64,
}

async fn fixture(app: &mut TestApp) -> Fixture {
    let d1 = app.department("One", ConversationMode::Chat).await.id;
    let d2 = app.department("Two", ConversationMode::Chat).await.id;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await.id;
    let a1 = app.agent("a1@support.example", d1).await.id;
    let a2 = app.agent("a2@support.example", d1).await.id;
    let a3 = app.agent("a3@support.example", d2).await.id;
    let minutes = |m| Duration::minutes(m);

    let t1 = app.ticket(c, d1, Severity::Major, 3).await.id;
    app.assign(t1, a1).await.expect("assign t1");
    app.clock.advance(minutes(10));
    app.say(t1, pb::SenderKind::Customer, c, "Hello?").await.expect("customer");
    app.clock.advance(minutes(20));
    app.say(t1, pb::SenderKind::Agent, a1, "Looking").await.expect("a1");
    app.clock.advance(minutes(30));
    app.say(t1, pb::SenderKind::Agent, a2, "Found it").await.expect("a2");
    app.clock.advance(minutes(30));
    app.say(t1, pb::SenderKind::Customer, c, "Thanks").await.expect("customer");
    app.clock.advance(minutes(30));
    app.set_status(t1, TicketStatus::Resolved).await.expect("resolve t1");

    let t2 = app.ticket(c, d1, Severity::Minor, 1).await.id;
    app.assign(t2, a1).await.expect("assign t2");
    app.clock.advance(minutes(60));
    app.say(t2, pb::SenderKind::Agent, a1, "Done").await.expect("a1");
    app.clock.advance(minutes(60));
    close(app, t2, 4).await;

    let t3 = app.ticket(c, d2, Severity::Major, 3).await.id;
    app.assign(t3, a3).await.expect("assign t3");

    let april = Utc.with_ymd_and_hms(2026, 4, 15, 9, 0, 0).unwrap();
    let now = support_service::domain::Clock::now(&app.clock);
    app.clock.advance(april - now);
    app.maintenance.run_once().await.expect("maintenance: aging and SLA breaches");
    let t4 = app.ticket(c, d1, Severity::Critical, 5).await.id;
    app.assign(t4, a2).await.expect("assign t4");
    app.clock.advance(minutes(15));
    app.say(t4, pb::SenderKind::Agent, a2, "On it").await.expect("a2");
    app.clock.advance(minutes(45));
    app.set_status(t4, TicketStatus::Resolved).await.expect("resolve t4");
    app.clock.advance(minutes(5));
    close(app, t4, 2).await;
    Fixture { d1, d2, a1, a2, t3 }
}

async fn close(app: &mut TestApp, id: i64, rating: i32) {
    let r = pb::CloseTicketRequest { id, feedback: pb::Feedback::Satisfied.into(), rating };
    app.tickets.close_ticket(r).await.expect("close");
}

fn stats(count: i64, min: i64, avg: (i64, i32), max: i64) -> Option<pb::DurationStats> {
    let d = |seconds, nanos| Some(prost_types::Duration { seconds, nanos });
    Some(pb::DurationStats { count, min: d(min, 0), average: d(avg.0, avg.1), max: d(max, 0) })
}

fn empty() -> Option<pb::DurationStats> {
    Some(pb::DurationStats { count: 0, min: None, average: None, max: None })
}

fn scope(start: Option<(i32, u32)>, end: Option<(i32, u32)>, department_id: i64) -> Option<pb::ReportScope> {
    let at = |(y, m): (i32, u32)| {
        Some(prost_types::Timestamp { seconds: Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap().timestamp(), nanos: 0 })
    };
    Some(pb::ReportScope { start_time: start.and_then(at), end_time: end.and_then(at), department_id })
}

#[tokio::test]
async fn reports_match_the_hand_computed_fixture() {
    let mut app = spawn_with(|s| s.auto_assign = false).await;
    let f = fixture(&mut app).await;
    let r = &mut app.clients.reports;

    let res =
        r.get_resolution_time_report(pb::GetResolutionTimeReportRequest { scope: None }).await.unwrap().into_inner();
    assert_eq!(res.first_to_last_message, stats(3, 0, (1600, 0), 4800));
    assert_eq!(res.create_to_resolve, stats(3, 3600, (6000, 0), 7200));
    let months: Vec<_> = res.months.iter().map(|m| m.month.as_str()).collect();
    assert_eq!(months, vec!["2026-03", "2026-04"]);
    assert_eq!(res.months[0].first_to_last_message, stats(2, 0, (2400, 0), 4800));
    assert_eq!(res.months[0].create_to_resolve, stats(2, 7200, (7200, 0), 7200));
    assert_eq!(res.months[1].create_to_resolve, stats(1, 3600, (3600, 0), 3600));

    let buckets = r.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest { scope: None }).await.unwrap();
    let buckets: Vec<_> = buckets.into_inner().buckets.iter().map(|b| (b.agent_count, b.ticket_count)).collect();
    assert_eq!(buckets, vec![(0, 1), (1, 2), (2, 1)], "t3 none; t2, t4 one; t1 two");

    let agents = r.get_agent_report(pb::GetAgentReportRequest { scope: None }).await.unwrap().into_inner().rows;
    let row = |agent_id, tickets_handled, rating| pb::AgentReportRow {
        agent_id,
        tickets_handled,
        rating_count: 1,
        rating_min: rating,
        rating_average: f64::from(rating),
        rating_max: rating,
        ..Default::default()
    };
    assert_eq!(agents, vec![row(f.a1, 2, 4), row(f.a2, 2, 2)], "a3 wrote nothing and has no ratings");

    let first = r.get_first_response_report(pb::GetFirstResponseReportRequest { scope: None }).await.unwrap();
    assert_eq!(first.into_inner().first_response, stats(3, 900, (2100, 0), 3600));

    let backlog = r.get_backlog_report(pb::GetBacklogReportRequest { scope: None }).await.unwrap().into_inner().rows;
    let t3 = app.clients.get(f.t3).await;
    assert!(t3.sla.as_ref().is_some_and(|s| s.first_response_breached), "{t3:?}");
    let level = t3.priority.as_ref().map(|p| p.level).unwrap_or_default();
    assert_eq!(
        backlog,
        vec![pb::BacklogRow { department_id: f.d2, priority_level: level, open_count: 1, breached_count: 1 }]
    );
}

#[tokio::test]
async fn reports_honour_department_and_time_scopes_and_empty_ranges() {
    let mut app = spawn_with(|s| s.auto_assign = false).await;
    let f = fixture(&mut app).await;
    let r = &mut app.clients.reports;

    // March only: t1, t2 and t3.
    let march = scope(Some((2026, 3)), Some((2026, 4)), 0);
    let res = r.get_resolution_time_report(pb::GetResolutionTimeReportRequest { scope: march }).await.unwrap();
    let res = res.into_inner();
    assert_eq!(res.months.len(), 1);
    assert_eq!(res.create_to_resolve, stats(2, 7200, (7200, 0), 7200));
    let first = r.get_first_response_report(pb::GetFirstResponseReportRequest { scope: march }).await.unwrap();
    assert_eq!(first.into_inner().first_response, stats(2, 1800, (2700, 0), 3600));

    // Department Two: only the unanswered t3.
    let two = scope(None, None, f.d2);
    let res = r.get_resolution_time_report(pb::GetResolutionTimeReportRequest { scope: two }).await.unwrap();
    let res = res.into_inner();
    assert_eq!((res.first_to_last_message, res.create_to_resolve, res.months.len()), (empty(), empty(), 0));
    let buckets = r.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest { scope: two }).await.unwrap();
    assert_eq!(buckets.into_inner().buckets, vec![pb::AgentsPerTicketBucket { agent_count: 0, ticket_count: 1 }]);
    // Department One: no backlog.
    let one = scope(None, None, f.d1);
    assert!(
        r.get_backlog_report(pb::GetBacklogReportRequest { scope: one }).await.unwrap().into_inner().rows.is_empty()
    );

    // A range with no tickets: every report empty, nothing fails.
    let nothing = scope(Some((2025, 1)), Some((2025, 2)), 0);
    let res = r.get_resolution_time_report(pb::GetResolutionTimeReportRequest { scope: nothing }).await.unwrap();
    assert_eq!(res.into_inner().create_to_resolve, empty());
    let b = r.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest { scope: nothing }).await.unwrap();
    assert!(b.into_inner().buckets.is_empty());
    assert!(
        r.get_agent_report(pb::GetAgentReportRequest { scope: nothing }).await.unwrap().into_inner().rows.is_empty()
    );
    let first = r.get_first_response_report(pb::GetFirstResponseReportRequest { scope: nothing }).await.unwrap();
    assert_eq!(first.into_inner().first_response, empty());

    // A backwards range and a negative department name their fields.
    let bad = scope(Some((2026, 4)), Some((2026, 3)), -1);
    let e = r.get_backlog_report(pb::GetBacklogReportRequest { scope: bad }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(crate::helpers::bad_fields(&e), vec!["scope.end_time", "scope.department_id"]);
}

/// The demo dataset at the seed's scale, written into SQLite and into MariaDB from one
/// seed: the plan's figures, and every report identical on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_dataset_has_the_seed_scale_and_identical_reports_on_both_backends() {
    use support_service::config::Settings;
    use support_service::demo::{self, DemoPlan};

    let plan = DemoPlan { scale: 1, seed: 7, jobs: 4 };
    let sqlite = crate::helpers::TestDb::sqlite_file(
        std::env::temp_dir().join(format!("support_demo_{}.db", uuid::Uuid::new_v4().simple())),
    );
    let mariadb = crate::helpers::TestDb::create_mysql(&crate::helpers::mysql_base()).await;
    let mut reports = Vec::new();
    for db in [sqlite, mariadb] {
        let url = db.url.clone();
        let mut settings = Settings::with_database(url.clone());
        settings.auto_assign = false;
        let repo = support_service::app::connect_and_migrate(&settings).await.unwrap();
        let summary = demo::seed(&repo, plan, |_| {}).await.expect("seed the demo");
        assert_eq!((summary.agents, summary.customers, summary.tickets, summary.messages), (34, 123, 377, 6_341));
        let again = demo::seed(&repo, plan, |_| {}).await.unwrap_err();
        assert!(matches!(again, support_service::error::AppError::FailedPrecondition(_)), "{again:?}");
        repo.close().await.unwrap();

        let mut app = crate::helpers::spawn_on(db, url, |s| s.maintenance_interval_ms = 3_600_000).await;
        let departments = app.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap();
        let modes: std::collections::BTreeSet<i32> =
            departments.into_inner().departments.iter().map(|d| d.conversation_mode).collect();
        assert_eq!(modes.len(), 2, "both conversation modes");
        let r = &mut app.clients.reports;
        let resolution = r.get_resolution_time_report(pb::GetResolutionTimeReportRequest::default()).await.unwrap();
        let resolution = resolution.into_inner();
        assert!(resolution.months.len() >= 6, "six months of history: {:?}", resolution.months.len());
        let buckets =
            r.get_agents_per_ticket_report(pb::GetAgentsPerTicketReportRequest::default()).await.unwrap().into_inner();
        assert_eq!(buckets.buckets.iter().map(|b| b.ticket_count).sum::<i64>(), 377);
        assert!(buckets.buckets.iter().any(|b| b.agent_count >= 2), "some tickets had several agents");
        let agents = r.get_agent_report(pb::GetAgentReportRequest::default()).await.unwrap().into_inner();
        assert_eq!(agents.rows.iter().map(|a| a.rating_count).sum::<i64>(), summary.closed as i64);
        let first = r.get_first_response_report(pb::GetFirstResponseReportRequest::default()).await.unwrap();
        let backlog = r.get_backlog_report(pb::GetBacklogReportRequest::default()).await.unwrap();
        reports.push(format!(
            "{resolution:?}\n{buckets:?}\n{agents:?}\n{:?}\n{:?}",
            first.into_inner(),
            backlog.into_inner()
        ));
    }
    assert_eq!(reports[0], reports[1], "SQLite and MariaDB agree on every report");
}
