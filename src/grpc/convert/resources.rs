//! Domain resources on the wire.

use super::{opt_timestamp, timestamp};
use crate::domain;
use crate::domain::event::QueueEvent;
use crate::events::watch::WatchItem;
use crate::pb;

fn etag(version: i64) -> String {
    version.to_string()
}

impl From<domain::Department> for pb::Department {
    fn from(d: domain::Department) -> Self {
        pb::Department {
            id: d.id,
            name: d.name,
            description: d.description,
            conversation_mode: pb::ConversationMode::from(d.mode).into(),
            create_time: Some(timestamp(d.created_at)),
            update_time: Some(timestamp(d.updated_at)),
            etag: etag(d.version),
            customer_calls: d.customer_calls,
        }
    }
}

impl From<domain::Customer> for pb::Customer {
    fn from(c: domain::Customer) -> Self {
        pb::Customer {
            id: c.id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            location: c.location,
            tier: pb::CustomerTier::from(c.tier).into(),
            email_opt_out: c.email_opt_out,
            create_time: Some(timestamp(c.created_at)),
            update_time: Some(timestamp(c.updated_at)),
            etag: etag(c.version),
        }
    }
}

impl From<domain::Agent> for pb::Agent {
    fn from(a: domain::Agent) -> Self {
        pb::Agent {
            id: a.id,
            first_name: a.first_name,
            last_name: a.last_name,
            email: a.email,
            phone: a.phone,
            department_id: a.department_id,
            role: pb::AgentRole::from(a.role).into(),
            availability: pb::Availability::from(a.availability).into(),
            create_time: Some(timestamp(a.created_at)),
            update_time: Some(timestamp(a.updated_at)),
            etag: etag(a.version),
        }
    }
}

impl From<domain::priority::Priority> for pb::Priority {
    fn from(p: domain::priority::Priority) -> Self {
        pb::Priority {
            score: p.score,
            level: pb::PriorityLevel::from(p.level).into(),
            breakdown: Some(pb::PriorityBreakdown {
                severity_points: p.severity_points,
                tier_points: p.tier_points,
                impact_points: p.impact_points,
                aging_points: p.aging_points,
            }),
        }
    }
}

impl From<domain::Ticket> for pb::Ticket {
    fn from(t: domain::Ticket) -> Self {
        pb::Ticket {
            id: t.id,
            customer_id: t.customer_id,
            department_id: t.department_id,
            category: pb::TicketCategory::from(t.category).into(),
            subject: t.subject,
            description: t.description,
            severity: pb::Severity::from(t.severity).into(),
            impact: t.impact,
            status: pb::TicketStatus::from(t.status).into(),
            priority: Some(t.priority.into()),
            assigned_agent_id: t.assigned_agent_id,
            assignment_reason: t.assignment_reason.map_or(0, |r| pb::AssignmentReason::from(r).into()),
            sla: Some(pb::Sla {
                first_response_due_time: opt_timestamp(t.sla.first_response_due),
                resolution_due_time: opt_timestamp(t.sla.resolution_due),
                first_response_breached: t.sla.first_response_breached,
                resolution_breached: t.sla.resolution_breached,
            }),
            rating: t.rating,
            feedback: t.feedback.map_or(0, |f| pb::Feedback::from(f).into()),
            last_response: t.last_response,
            create_time: Some(timestamp(t.created_at)),
            update_time: Some(timestamp(t.updated_at)),
            first_response_time: opt_timestamp(t.first_response_at),
            resolve_time: opt_timestamp(t.resolved_at),
            close_time: opt_timestamp(t.closed_at),
            etag: etag(t.version),
        }
    }
}

impl From<domain::Log> for pb::Log {
    fn from(l: domain::Log) -> Self {
        pb::Log {
            id: l.id,
            ticket_id: l.ticket_id,
            sender_kind: pb::SenderKind::from(l.sender_kind).into(),
            sender_id: l.sender_id.unwrap_or(0),
            sender_name: l.sender_name,
            body: l.body,
            visibility: pb::Visibility::from(l.visibility).into(),
            delivery_status: pb::DeliveryStatus::from(l.delivery_status).into(),
            attachments: l
                .attachments
                .into_iter()
                .map(|a| pb::Attachment {
                    id: a.id,
                    file_name: a.file_name,
                    content_type: a.content_type,
                    size_bytes: a.size_bytes,
                    sha256: a.sha256,
                })
                .collect(),
            create_time: Some(timestamp(l.created_at)),
        }
    }
}

impl From<domain::Workload> for pb::GetAgentWorkloadResponse {
    fn from(w: domain::Workload) -> Self {
        let open_total = w.counts.iter().filter(|(s, _)| s.is_open()).map(|(_, n)| n).sum();
        let total = w.counts.iter().map(|(_, n)| n).sum();
        pb::GetAgentWorkloadResponse {
            agent_id: w.agent_id,
            counts: w
                .counts
                .into_iter()
                .map(|(s, count)| pb::StatusCount { status: pb::TicketStatus::from(s).into(), count })
                .collect(),
            open_total,
            total,
        }
    }
}

impl pb::WatchQueueResponse {
    /// A queue event as one subscriber sees it.
    pub fn event(e: &QueueEvent, removed: bool) -> Self {
        Self {
            item: Some(pb::watch_queue_response::Item::Event(pb::QueueEvent {
                sequence: e.sequence,
                kind: pb::QueueEventKind::from(e.kind).into(),
                event_time: Some(timestamp(e.time)),
                ticket: Some(e.ticket.clone().into()),
                log: e.log.clone().map(Into::into),
                removed,
                call: e.call.clone().map(Into::into),
            })),
        }
    }
}

impl From<WatchItem> for pb::WatchQueueResponse {
    fn from(item: WatchItem) -> Self {
        use pb::watch_queue_response::Item;
        let item = match item {
            WatchItem::SnapshotTicket(t) => Item::SnapshotTicket((*t).into()),
            WatchItem::SnapshotEnd(sequence) => Item::SnapshotEnd(pb::SnapshotEnd { sequence }),
            WatchItem::Heartbeat(sequence) => Item::Heartbeat(pb::Heartbeat { sequence }),
            WatchItem::Typing(t) => Item::Typing(crate::events::typing::wire(&t)),
            WatchItem::Event(e, removed) => return Self::event(&e, removed),
        };
        pb::WatchQueueResponse { item: Some(item) }
    }
}
