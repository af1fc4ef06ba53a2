//! The stored form of the ticket an event carries: a format of its own, versioned, so that
//! events written by one release decode in the next (the log keeps 72 hours of them), and
//! a change to the tables never changes it.
//!
//! - Version 1, the first: a JSON object of the ticket's fields with enum values by their
//!   stored names. Written by releases before the version tag existed without a `"v"`
//!   member (it was the `tickets` row serialised), and since with `"v": 1`.
//!
//! A new version adds a struct and an arm to [`decode`]; writers move to it once every
//! replica decodes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::priority::Priority;
use crate::domain::{AssignmentReason, Category, Feedback, Level, Severity, Sla, Status, Ticket};

/// The version [`encode`] writes.
pub const CURRENT: u32 = 1;

/// Version 1 of a stored ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketV1 {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Department.
    pub department_id: i64,
    /// Category, by stored name.
    pub category: String,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: String,
    /// Severity, by stored name.
    pub severity: String,
    /// Impact.
    pub impact: i32,
    /// Status, by stored name.
    pub status: String,
    /// Priority score.
    pub priority_score: i32,
    /// Priority level, by stored name.
    pub priority_level: String,
    /// Breakdown: severity.
    pub severity_points: i32,
    /// Breakdown: tier.
    pub tier_points: i32,
    /// Breakdown: impact.
    pub impact_points: i32,
    /// Breakdown: aging.
    pub aging_points: i32,
    /// Assigned agent.
    pub assigned_agent_id: Option<i64>,
    /// Assignment reason, by stored name.
    pub assignment_reason: Option<String>,
    /// SLA: first response due.
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// SLA: resolution due.
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// SLA: first response breached.
    pub first_response_breached: bool,
    /// SLA: resolution breached.
    pub resolution_breached: bool,
    /// Rating.
    pub rating: Option<i32>,
    /// Feedback, by stored name.
    pub feedback: Option<String>,
    /// Latest public message.
    pub last_response: String,
    /// Version (etag).
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// First response.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    v: u32,
    #[serde(flatten)]
    ticket: &'a T,
}

#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    v: Option<u32>,
}

/// The stored text of a ticket, in the current version.
pub fn encode(ticket: &TicketV1) -> DomainResult<String> {
    serde_json::to_string(&Tagged { v: CURRENT, ticket })
        .map_err(|e| DomainError::Bug(format!("encoding an event's ticket: {e}")))
}

/// The ticket of a stored text, in any version this release knows.
pub fn decode(text: &str) -> DomainResult<Ticket> {
    let bad = |e: &dyn std::fmt::Display| DomainError::Bug(format!("an event's stored ticket does not decode: {e}"));
    let version: Version = serde_json::from_str(text).map_err(|e| bad(&e))?;
    match version.v.unwrap_or(1) {
        1 => serde_json::from_str::<TicketV1>(text).map_err(|e| bad(&e))?.try_into(),
        v => Err(DomainError::Bug(format!("an event's stored ticket is in version {v}, newer than this release"))),
    }
}

fn parse<T>(what: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> DomainResult<T> {
    parse(value).ok_or_else(|| DomainError::Bug(format!("an event's stored ticket has {what} {value:?}")))
}

impl TryFrom<TicketV1> for Ticket {
    type Error = DomainError;

    fn try_from(t: TicketV1) -> DomainResult<Ticket> {
        Ok(Ticket {
            id: t.id,
            customer_id: t.customer_id,
            department_id: t.department_id,
            category: parse("category", &t.category, Category::parse)?,
            severity: parse("severity", &t.severity, Severity::parse)?,
            status: parse("status", &t.status, Status::parse)?,
            priority: Priority {
                score: t.priority_score,
                level: parse("priority level", &t.priority_level, Level::parse)?,
                severity_points: t.severity_points,
                tier_points: t.tier_points,
                impact_points: t.impact_points,
                aging_points: t.aging_points,
            },
            assignment_reason: t
                .assignment_reason
                .as_deref()
                .map(|r| parse("assignment reason", r, AssignmentReason::parse))
                .transpose()?,
            feedback: t.feedback.as_deref().map(|f| parse("feedback", f, Feedback::parse)).transpose()?,
            sla: Sla {
                first_response_due: t.first_response_due_at,
                resolution_due: t.resolution_due_at,
                first_response_breached: t.first_response_breached,
                resolution_breached: t.resolution_breached,
            },
            subject: t.subject,
            description: t.description,
            impact: t.impact,
            assigned_agent_id: t.assigned_agent_id,
            rating: t.rating,
            last_response: t.last_response,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            closed_at: t.closed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as the previous release wrote it: the `tickets` row, serialised, untagged.
    const WRITTEN_BEFORE_VERSIONS: &str = r#"{"id":3,"customer_id":7,"department_id":2,"category":"BUG_REPORT","subject":"Checkout fails","description":"The pay button answers 500.","severity":"MAJOR","impact":3,"status":"IN_PROGRESS","priority_score":9,"priority_level":"P2","severity_points":3,"tier_points":3,"impact_points":3,"aging_points":0,"assigned_agent_id":4,"assignment_reason":"AUTO_LEAST_LOADED","first_response_due_at":"2026-03-02T13:00:00Z","resolution_due_at":"2026-03-03T09:00:00Z","first_response_breached":false,"resolution_breached":false,"rating":null,"feedback":null,"last_response":"Looking into it.","version":3,"created_at":"2026-03-02T09:00:00Z","updated_at":"2026-03-02T09:05:00Z","first_response_at":"2026-03-02T09:05:00Z","resolved_at":null,"closed_at":null}"#;

    #[test]
    fn a_payload_of_the_previous_release_decodes() {
        let t = decode(WRITTEN_BEFORE_VERSIONS).expect("the old format decodes");
        assert_eq!((t.id, t.status, t.priority.level), (3, Status::InProgress, Level::P2));
        assert_eq!(t.assignment_reason, Some(AssignmentReason::AutoLeastLoaded));
        assert_eq!(t.last_response, "Looking into it.");
    }

    #[test]
    fn the_current_version_round_trips_and_a_newer_one_is_refused() {
        let v1: TicketV1 = serde_json::from_str(WRITTEN_BEFORE_VERSIONS).unwrap();
        let text = encode(&v1).unwrap();
        assert!(text.starts_with(r#"{"v":1,"#), "{text}");
        assert_eq!(decode(&text).unwrap(), decode(WRITTEN_BEFORE_VERSIONS).unwrap());
        let newer = text.replacen(r#""v":1"#, r#""v":9"#, 1);
        assert!(matches!(decode(&newer), Err(DomainError::Bug(m)) if m.contains("version 9")));
    }
}
