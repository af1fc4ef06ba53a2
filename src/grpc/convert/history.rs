//! A ticket's history on the wire.

use super::{opt_timestamp, timestamp};
use crate::domain::history::{Change, Entry, SlaTarget};
use crate::pb::{self, ticket_history_entry::Change as Wire};

fn status(s: crate::domain::Status) -> i32 {
    pb::TicketStatus::from(s).into()
}

impl From<Change> for Wire {
    fn from(change: Change) -> Self {
        match change {
            Change::Opened { department_id, status: s } => {
                Wire::Opened(pb::TicketOpened { department_id, status: status(s) })
            }
            Change::Status { before, after } => {
                Wire::StatusChanged(pb::StatusChange { before: status(before), after: status(after) })
            }
            Change::Department { before, after } => Wire::DepartmentChanged(pb::DepartmentChange { before, after }),
            Change::Assignment { before, after, reason } => Wire::AssignmentChanged(pb::AssignmentChange {
                before_agent_id: before.unwrap_or(0),
                after_agent_id: after.unwrap_or(0),
                reason: reason.map_or(0, |r| pb::AssignmentReason::from(r).into()),
            }),
            Change::Priority { before, after } => {
                Wire::PriorityChanged(pb::PriorityChange { before: Some(before.into()), after: Some(after.into()) })
            }
            Change::SlaBreached { target, due_at } => Wire::SlaBreached(pb::SlaBreach {
                target: match target {
                    SlaTarget::FirstResponse => pb::SlaTarget::FirstResponse,
                    SlaTarget::Resolution => pb::SlaTarget::Resolution,
                }
                .into(),
                due_time: opt_timestamp(due_at),
            }),
            Change::Message { log_id, sender, sender_id, visibility } => Wire::MessageAdded(pb::MessageReference {
                log_id,
                sender_kind: pb::SenderKind::from(sender).into(),
                sender_id: sender_id.unwrap_or(0),
                visibility: pb::Visibility::from(visibility).into(),
            }),
        }
    }
}

impl From<Entry> for pb::TicketHistoryEntry {
    fn from(e: Entry) -> Self {
        pb::TicketHistoryEntry { id: e.id, time: Some(timestamp(e.at)), change: Some(e.change.into()) }
    }
}
