//! A ticket's history: what changed, when, and who may see it. Each change to a ticket
//! is compared with the ticket before it ([`changes`]), and what differs becomes entries
//! kept as long as the ticket (the event log keeps only 72 hours).
//!
//! Aging alone moves a ticket's score every few hours; the history records a priority
//! change when the level moves or when an input (severity, tier, impact) does, not each
//! aging step inside one level.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{DomainError, DomainResult};
use super::priority::Priority;
use super::{AssignmentReason, SenderKind, Sla, Status, Ticket, Visibility};

/// Which service-level target was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlaTarget {
    /// The first public agent reply.
    FirstResponse,
    /// Resolution.
    Resolution,
}

/// One change in a ticket's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Change {
    /// The customer opened the ticket.
    Opened {
        /// The department it was opened in.
        department_id: i64,
        /// Its first status.
        status: Status,
    },
    /// The workflow moved.
    Status {
        /// The status before.
        before: Status,
        /// The status after.
        after: Status,
    },
    /// The ticket moved to another department.
    Department {
        /// The department before.
        before: i64,
        /// The department after.
        after: i64,
    },
    /// The assigned agent changed.
    Assignment {
        /// The agent before, if any.
        before: Option<i64>,
        /// The agent after, if any.
        after: Option<i64>,
        /// Why the agent got it.
        reason: Option<AssignmentReason>,
    },
    /// The priority level or an input of the score changed.
    Priority {
        /// The priority before.
        before: Priority,
        /// The priority after.
        after: Priority,
    },
    /// A service-level target was missed.
    SlaBreached {
        /// Which target.
        target: SlaTarget,
        /// When it was due.
        due_at: Option<DateTime<Utc>>,
    },
    /// A message was added (a reference: the text stays in the message).
    Message {
        /// The message's id.
        log_id: i64,
        /// Who wrote it.
        sender: SenderKind,
        /// The writer's id, if a person.
        sender_id: Option<i64>,
        /// Who may read it.
        visibility: Visibility,
    },
}

impl Change {
    /// Whether the ticket's customer may see this entry: the opening, status moves and
    /// public messages. Assignments, priorities, SLA breaches, department moves and
    /// internal notes are staff's.
    pub fn public(&self) -> bool {
        match self {
            Change::Opened { .. } | Change::Status { .. } => true,
            Change::Message { visibility, .. } => *visibility == Visibility::Public,
            Change::Department { .. } | Change::Assignment { .. } | Change::Priority { .. } => false,
            Change::SlaBreached { .. } => false,
        }
    }

    /// The kind's stored name, as in the stored form's `kind` member.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Opened { .. } => "OPENED",
            Change::Status { .. } => "STATUS",
            Change::Department { .. } => "DEPARTMENT",
            Change::Assignment { .. } => "ASSIGNMENT",
            Change::Priority { .. } => "PRIORITY",
            Change::SlaBreached { .. } => "SLA_BREACHED",
            Change::Message { .. } => "MESSAGE",
        }
    }

    /// The entry's stored form.
    pub fn encode(&self) -> DomainResult<String> {
        serde_json::to_string(self).map_err(|e| DomainError::Bug(format!("encoding a history entry: {e}")))
    }

    /// An entry from its stored form.
    pub fn decode(text: &str) -> DomainResult<Self> {
        serde_json::from_str(text).map_err(|e| DomainError::Bug(format!("a stored history entry does not decode: {e}")))
    }
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its place in the ticket's history (increasing).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub change: Change,
}

/// What the history compares of a ticket before and after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Workflow status.
    pub status: Status,
    /// The owning department.
    pub department_id: i64,
    /// The assigned agent.
    pub assigned_agent_id: Option<i64>,
    /// Why the agent got it.
    pub assignment_reason: Option<AssignmentReason>,
    /// Score, level and breakdown.
    pub priority: Priority,
    /// Targets and breaches.
    pub sla: Sla,
}

impl From<&Ticket> for Facts {
    fn from(t: &Ticket) -> Self {
        Facts {
            status: t.status,
            department_id: t.department_id,
            assigned_agent_id: t.assigned_agent_id,
            assignment_reason: t.assignment_reason,
            priority: t.priority,
            sla: t.sla,
        }
    }
}

/// What changed from `before` (none: the ticket was just opened) to `after`, in the
/// order a reader expects: where it is, who has it, how urgent, what was missed.
pub fn changes(before: Option<&Facts>, after: &Facts) -> Vec<Change> {
    let Some(before) = before else {
        let mut opened = vec![Change::Opened { department_id: after.department_id, status: after.status }];
        if after.assigned_agent_id.is_some() {
            opened.push(assignment(None, after));
        }
        return opened;
    };
    let mut out = Vec::new();
    if before.status != after.status {
        out.push(Change::Status { before: before.status, after: after.status });
    }
    if before.department_id != after.department_id {
        out.push(Change::Department { before: before.department_id, after: after.department_id });
    }
    if before.assigned_agent_id != after.assigned_agent_id {
        out.push(assignment(before.assigned_agent_id, after));
    }
    let (b, a) = (&before.priority, &after.priority);
    let inputs = |p: &Priority| (p.severity_points, p.tier_points, p.impact_points);
    if b.level != a.level || inputs(b) != inputs(a) {
        out.push(Change::Priority { before: *b, after: *a });
    }
    if !before.sla.first_response_breached && after.sla.first_response_breached {
        out.push(Change::SlaBreached { target: SlaTarget::FirstResponse, due_at: after.sla.first_response_due });
    }
    if !before.sla.resolution_breached && after.sla.resolution_breached {
        out.push(Change::SlaBreached { target: SlaTarget::Resolution, due_at: after.sla.resolution_due });
    }
    out
}

fn assignment(before: Option<i64>, after: &Facts) -> Change {
    Change::Assignment {
        before,
        after: after.assigned_agent_id,
        reason: after.assigned_agent_id.and(after.assignment_reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, Level, Severity};

    fn ticket() -> Facts {
        Facts::from(&full_ticket())
    }

    fn full_ticket() -> Ticket {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let priority = Priority {
            score: 8,
            level: Level::P2,
            severity_points: 3,
            tier_points: 1,
            impact_points: 4,
            aging_points: 0,
        };
        Ticket {
            id: 7,
            customer_id: 3,
            department_id: 2,
            category: Category::Other,
            subject: "s".into(),
            description: "d".into(),
            severity: Severity::Major,
            impact: 4,
            status: Status::Open,
            priority,
            assigned_agent_id: None,
            assignment_reason: None,
            sla: Sla {
                first_response_due: Some(at),
                resolution_due: Some(at),
                first_response_breached: false,
                resolution_breached: false,
            },
            rating: None,
            feedback: None,
            last_response: String::new(),
            version: 1,
            created_at: at,
            updated_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
        }
    }

    #[test]
    fn opening_records_the_department_and_any_first_agent() {
        let mut t = ticket();
        assert_eq!(changes(None, &t), vec![Change::Opened { department_id: 2, status: Status::Open }]);
        t.assigned_agent_id = Some(5);
        t.assignment_reason = Some(AssignmentReason::AutoLeastLoaded);
        let all = changes(None, &t);
        assert_eq!(
            all[1],
            Change::Assignment { before: None, after: Some(5), reason: Some(AssignmentReason::AutoLeastLoaded) }
        );
    }

    #[test]
    fn each_difference_is_one_entry() {
        let before = ticket();
        let mut after = before;
        after.status = Status::InProgress;
        after.assigned_agent_id = Some(9);
        after.assignment_reason = Some(AssignmentReason::Manual);
        after.sla.first_response_breached = true;
        let all = changes(Some(&before), &after);
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(all[0], Change::Status { before: Status::Open, after: Status::InProgress });
        assert!(matches!(all[2], Change::SlaBreached { target: SlaTarget::FirstResponse, .. }));
        assert!(changes(Some(&after), &after).is_empty());
    }

    #[test]
    fn aging_inside_a_level_is_not_a_priority_change_but_a_new_level_is() {
        let before = ticket();
        let mut after = before;
        after.priority.aging_points = 1;
        after.priority.score = 9;
        assert!(changes(Some(&before), &after).is_empty());
        after.priority.aging_points = 3;
        after.priority.score = 11;
        after.priority.level = Level::P1;
        assert!(matches!(changes(Some(&before), &after)[..], [Change::Priority { .. }]));
    }

    #[test]
    fn customers_see_only_public_entries_and_entries_round_trip() {
        let note = Change::Message {
            log_id: 1,
            sender: SenderKind::Agent,
            sender_id: Some(4),
            visibility: Visibility::Internal,
        };
        assert!(!note.public());
        assert!(Change::Status { before: Status::Open, after: Status::Resolved }.public());
        let stored = note.encode().unwrap();
        assert!(stored.starts_with(&format!(r#"{{"kind":"{}""#, note.kind())), "{stored}");
        assert!(stored.contains(r#""kind":"MESSAGE""#) && stored.contains(r#""visibility":"INTERNAL""#), "{stored}");
        assert_eq!(Change::decode(&stored).unwrap(), note);
        assert!(Change::decode(r#"{"kind":"LOST"}"#).is_err());
    }
}
