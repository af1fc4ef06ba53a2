//! Queue events and the filter a WatchQueue subscriber asks for.

pub mod payload;

use chrono::{DateTime, Utc};

use super::access::TicketScope;
use super::call::{Call, CallViewer, Party, Signal};
use super::model::{Log, Ticket};
use super::types::{DeliveryStatus, Level, SenderKind, Status, Visibility};

crate::domain::types::stored_enum!(
    /// What happened to a ticket.
    EventKind {
        /// Opened.
        TicketCreated => "TICKET_CREATED",
        /// Fields changed.
        TicketUpdated => "TICKET_UPDATED",
        /// The score changed (including by aging).
        PriorityChanged => "PRIORITY_CHANGED",
        /// Assigned to an agent.
        Assigned => "ASSIGNED",
        /// The status changed.
        StatusChanged => "STATUS_CHANGED",
        /// An SLA target was missed.
        SlaBreached => "SLA_BREACHED",
        /// A message was added.
        MessageAdded => "MESSAGE_ADDED",
        /// A message's delivery status moved (RECEIVED, READ).
        MessageUpdated => "MESSAGE_UPDATED",
        /// A call rang, was answered or ended.
        CallUpdated => "CALL_UPDATED",
        /// A WebRTC signal for one party of a call (relayed by JoinCall only).
        CallSignal => "CALL_SIGNAL",
    }
);

/// Where a ticket stands, as far as a queue filter cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The ticket.
    pub ticket_id: i64,
    /// Its status.
    pub status: Status,
    /// Its department.
    pub department_id: i64,
    /// Its agent.
    pub agent_id: Option<i64>,
    /// Its level.
    pub level: Level,
}

impl Placement {
    /// The placement of a ticket.
    pub fn of(t: &Ticket) -> Self {
        Self {
            ticket_id: t.id,
            status: t.status,
            department_id: t.department_id,
            agent_id: t.assigned_agent_id,
            level: t.priority.level,
        }
    }
}

/// One committed change, as subscribers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEvent {
    /// The row id in the log (internal; used to line a snapshot up with the log).
    pub id: i64,
    /// The global, gap-free sequence.
    pub sequence: i64,
    /// What happened.
    pub kind: EventKind,
    /// When it was written.
    pub time: DateTime<Utc>,
    /// The ticket after the change.
    pub ticket: Ticket,
    /// The message, for MESSAGE_ADDED.
    pub log: Option<Log>,
    /// Where the ticket stood before the change (None for a new ticket).
    pub before: Option<Placement>,
    /// The call, for CALL_UPDATED.
    pub call: Option<Call>,
    /// The signal, for CALL_SIGNAL.
    pub signal: Option<Signal>,
}

/// What a subscriber watches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only this department.
    pub department_id: Option<i64>,
    /// Only this agent's tickets.
    pub agent_id: Option<i64>,
    /// Only this level or more urgent.
    pub min_level: Option<Level>,
    /// Only this ticket.
    pub ticket_id: Option<i64>,
    /// Also MESSAGE_ADDED events.
    pub include_messages: bool,
    /// Also CALL_UPDATED events, of the calls this viewer may see.
    pub calls: Option<CallViewer>,
    /// A call's relay (JoinCall): only that call's changes and the signals to this party.
    pub relay: Option<(i64, Party)>,
}

/// What to do with an event for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Not for this subscriber.
    Skip,
    /// Send it.
    Send,
    /// Send it marked `removed`: the ticket left the subscriber's view.
    Remove,
}

impl QueueFilter {
    /// True when an open ticket placed so belongs in the view.
    pub fn matches(&self, p: &Placement) -> bool {
        p.status != Status::Closed
            && self.department_id.is_none_or(|d| d == p.department_id)
            && self.agent_id.is_none_or(|a| Some(a) == p.agent_id)
            && self.min_level.is_none_or(|min| p.level <= min)
            && self.ticket_id.is_none_or(|t| t == p.ticket_id)
    }

    /// Whether and how to deliver an event to a subscriber who sees `scope`. Stateless:
    /// whether the ticket was in the view is read off the placement before the change, so
    /// it works the same after a resume. A ticket that leaves the caller's scope (moved to
    /// another department) is sent once more marked removed; internal notes never reach
    /// customers.
    pub fn delivery(&self, e: &QueueEvent, scope: &TicketScope) -> Delivery {
        if let Some(relay) = self.relay {
            return Self::relayed(e, relay);
        }
        let customer = e.ticket.customer_id;
        let sees = |p: &Placement| self.matches(p) && scope.admits(customer, p.department_id, p.agent_id);
        let after = sees(&Placement::of(&e.ticket));
        match (e.kind, &e.call, self.calls) {
            (EventKind::CallSignal, ..) => return Delivery::Skip,
            (EventKind::CallUpdated, Some(call), Some(viewer)) if after && viewer.sees(call) => return Delivery::Send,
            (EventKind::CallUpdated, ..) => return Delivery::Skip,
            _ => {}
        }
        if matches!(e.kind, EventKind::MessageAdded | EventKind::MessageUpdated) {
            let visible = e.log.as_ref().is_some_and(|l| l.visibility == Visibility::Public || scope.sees_internal());
            return if self.include_messages && after && visible { Delivery::Send } else { Delivery::Skip };
        }
        if after {
            Delivery::Send
        } else if e.before.is_some_and(|b| sees(&b)) {
            Delivery::Remove
        } else {
            Delivery::Skip
        }
    }
}

/// Someone typing on a ticket: never stored, sent only to the ticket's other party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typing {
    /// The ticket.
    pub ticket_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// Its department.
    pub department_id: i64,
    /// Its assigned agent.
    pub agent_id: Option<i64>,
    /// Who types: CUSTOMER or AGENT.
    pub from: SenderKind,
    /// Their id.
    pub sender_id: i64,
    /// An agent's display name.
    pub sender_name: String,
}

impl QueueFilter {
    /// Whether a subscriber who sees `scope` can get any typing indicator at all: a customer
    /// or an agent (a party to tickets) watching with messages, not a call's relay.
    pub fn takes_typing(&self, scope: &TicketScope) -> bool {
        matches!(scope, TicketScope::Customer(_) | TicketScope::Agent { .. })
            && self.include_messages
            && self.relay.is_none()
    }

    /// Whether a subscriber who sees `scope` gets `t`: with messages, on a ticket its
    /// filter takes, and only as the other party (the customer for an agent typing, the
    /// assigned agent for the customer).
    pub fn wants_typing(&self, t: &Typing, scope: &TicketScope) -> bool {
        let other = match (*scope, t.from) {
            (TicketScope::Customer(c), SenderKind::Agent) => c == t.customer_id,
            (TicketScope::Agent { agent_id, .. }, SenderKind::Customer) => t.agent_id == Some(agent_id),
            _ => false,
        };
        other
            && self.takes_typing(scope)
            && self.ticket_id.is_none_or(|id| id == t.ticket_id)
            && self.department_id.is_none_or(|d| d == t.department_id)
            && self.agent_id.is_none_or(|a| Some(a) == t.agent_id)
    }
}

/// Whether delivering message event `e` to a subscriber who sees `scope` delivers it to
/// its reader, the other party: the ticket's customer for an agent's public message, the
/// ticket's assigned agent for the customer's. Such a delivery marks it RECEIVED.
pub fn reaches_reader(e: &QueueEvent, scope: &TicketScope) -> bool {
    let Some(log) =
        e.log.as_ref().filter(|l| e.kind == EventKind::MessageAdded && l.delivery_status == DeliveryStatus::Sent)
    else {
        return false;
    };
    match (*scope, log.sender_kind) {
        (TicketScope::Customer(c), SenderKind::Agent) => {
            c == e.ticket.customer_id && log.visibility == Visibility::Public
        }
        (TicketScope::Agent { agent_id, .. }, SenderKind::Customer) => e.ticket.assigned_agent_id == Some(agent_id),
        _ => false,
    }
}

impl QueueFilter {
    /// A relay gets its call's changes and the signals addressed to its party.
    fn relayed(e: &QueueEvent, (call_id, me): (i64, Party)) -> Delivery {
        let mine = match e.kind {
            EventKind::CallUpdated => e.call.as_ref().is_some_and(|c| c.id == call_id),
            EventKind::CallSignal => e.signal.as_ref().is_some_and(|s| s.call_id == call_id && s.to == me),
            _ => false,
        };
        if mine { Delivery::Send } else { Delivery::Skip }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(status: Status, department_id: i64, level: Level) -> Placement {
        Placement { ticket_id: 1, status, department_id, agent_id: None, level }
    }

    #[test]
    fn filters_match_open_tickets_in_scope() {
        let f = QueueFilter { department_id: Some(2), min_level: Some(Level::P1), ..Default::default() };
        assert!(f.matches(&placed(Status::Open, 2, Level::P0)));
        assert!(f.matches(&placed(Status::Resolved, 2, Level::P1)));
        assert!(!f.matches(&placed(Status::Open, 2, Level::P2)), "below the minimum level");
        assert!(!f.matches(&placed(Status::Open, 3, Level::P0)), "another department");
        assert!(!f.matches(&placed(Status::Closed, 2, Level::P0)), "closed tickets leave every view");
    }
}
