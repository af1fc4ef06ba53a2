//! ReportService requests to a validated scope, and report values to the wire.

use chrono::{DateTime, Utc};

use super::timestamp_to_domain;
use crate::domain::report::{
    AgentFigures, BacklogRow, DurationStats, MonthlyResolution, ReportScope, ResolutionReport,
};
use crate::domain::validate::{self as v, Checker};
use crate::error::AppResult;
use crate::pb;

/// A report's scope: valid times, start before end, a positive department if any.
pub fn scope(s: Option<pb::ReportScope>) -> AppResult<ReportScope> {
    let s = s.unwrap_or_default();
    let mut c = Checker::new();
    let time = |c: &mut Checker, field: &str, t: Option<prost_types::Timestamp>| -> Option<DateTime<Utc>> {
        t.and_then(|t| c.take(field, timestamp_to_domain(&t)))
    };
    let start = time(&mut c, "scope.start_time", s.start_time);
    let end = time(&mut c, "scope.end_time", s.end_time);
    if let (Some(a), Some(b)) = (start, end)
        && a >= b
    {
        c.fail("scope.end_time", "must be after scope.start_time");
    }
    let department_id = (s.department_id != 0).then(|| c.take("scope.department_id", v::id(s.department_id))).flatten();
    c.finish()?;
    Ok(ReportScope { start, end, department_id })
}

impl From<DurationStats> for pb::DurationStats {
    fn from(s: DurationStats) -> Self {
        let secs = |v: i64| Some(prost_types::Duration { seconds: v, nanos: 0 });
        let empty = s.count == 0;
        pb::DurationStats {
            count: s.count,
            min: if empty { None } else { secs(s.min_secs) },
            average: s
                .average()
                .map(|d| prost_types::Duration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }),
            max: if empty { None } else { secs(s.max_secs) },
        }
    }
}

impl From<MonthlyResolution> for pb::MonthlyDurationStats {
    fn from(m: MonthlyResolution) -> Self {
        pb::MonthlyDurationStats {
            month: m.month,
            first_to_last_message: Some(m.first_to_last_message.into()),
            create_to_resolve: Some(m.create_to_resolve.into()),
        }
    }
}

impl From<ResolutionReport> for pb::GetResolutionTimeReportResponse {
    fn from(r: ResolutionReport) -> Self {
        pb::GetResolutionTimeReportResponse {
            first_to_last_message: Some(r.first_to_last_message.into()),
            create_to_resolve: Some(r.create_to_resolve.into()),
            months: r.months.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<AgentFigures> for pb::AgentReportRow {
    fn from(a: AgentFigures) -> Self {
        pb::AgentReportRow {
            agent_id: a.agent_id,
            tickets_handled: a.tickets_handled,
            rating_count: a.rating_count,
            rating_min: a.rating_min,
            rating_average: a.rating_average(),
            rating_max: a.rating_max,
            calls_made: a.calls_made,
            calls_answered: a.calls_answered,
            talk_seconds: a.talk_seconds,
        }
    }
}

impl From<BacklogRow> for pb::BacklogRow {
    fn from(b: BacklogRow) -> Self {
        pb::BacklogRow {
            department_id: b.department_id,
            priority_level: pb::PriorityLevel::from(b.level).into(),
            open_count: b.open,
            breached_count: b.breached,
        }
    }
}
