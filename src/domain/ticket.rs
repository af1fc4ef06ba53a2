//! The ticket workflow as a pure state machine. [`Ticket::open`] makes a new ticket and
//! [`Ticket::apply`] decides every change to one: the data layer loads what a decision
//! needs, asks, and writes the [`Outcome`] and its event in one transaction. Each rule is
//! stated here once:
//!
//! - CLOSED is final: a closed ticket takes no command.
//! - Messages: a public one becomes `last_response`; the conversation turn rule of the
//!   department's mode ([`workflow::check_turn`]); only the ticket's customer writes as a
//!   customer; the first public agent reply moves OPEN to IN_PROGRESS, stamps the first
//!   response and marks it breached when past due; a customer's public reply reopens a
//!   RESOLVED ticket.
//! - Edits re-score with the customer's tier; a move to another department drops the
//!   assignment.
//! - Status moves follow [`workflow::check_status_move`]; resolving stamps the time and
//!   marks a late resolution; resolving or closing frees the agent.
//! - The customer's close, from any status before CLOSED, records feedback and a rating.
//! - The priority decides the SLA due times.

use chrono::{DateTime, Utc};

use super::error::{DomainError, DomainResult};
use super::event::EventKind;
use super::priority::{Priority, PriorityInputs, PriorityPolicy};
use super::{
    AssignmentReason, ConversationMode, Feedback, NewTicket, SenderKind, Sla, Status, Ticket, TicketPatch, Tier,
    Visibility,
};
use super::{sla, workflow};

/// A message about to be added, with what the turn rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who writes.
    pub sender: SenderKind,
    /// Their id.
    pub sender_id: i64,
    /// Public or internal.
    pub visibility: Visibility,
    /// The text.
    pub body: String,
    /// The department's conversation mode.
    pub mode: ConversationMode,
    /// Who wrote the latest public message, if anyone.
    pub last_public: Option<SenderKind>,
}

/// A change asked of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add a message.
    Message(Message),
    /// Edit fields, re-scoring with the customer's current tier.
    Edit {
        /// The fields to change.
        patch: TicketPatch,
        /// The customer's tier now.
        tier: Tier,
    },
    /// A staff status move.
    Move(Status),
    /// Give the ticket to an agent (chosen by [`super::assignment`] or named by staff).
    Assign {
        /// The agent.
        agent_id: i64,
        /// Why.
        reason: AssignmentReason,
    },
    /// The customer's close.
    Close {
        /// Satisfied or not.
        feedback: Feedback,
        /// 1 to 5.
        rating: i32,
    },
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The ticket after the change (version and update time advanced when it changed).
    pub ticket: Ticket,
    /// The event of the ticket's change; None when the ticket itself did not change (an
    /// internal note).
    pub event: Option<EventKind>,
    /// The assigned agent has capacity again (the department's backlog can be drained).
    pub frees_agent: bool,
    /// The ticket moved to another department (it needs a new assignee there).
    pub moved: bool,
}

/// The SLA of a priority for a ticket opened at `created_at`, keeping its breach flags.
fn sla_for(policy: &PriorityPolicy, p: &Priority, created_at: DateTime<Utc>, was: &Sla) -> Sla {
    let (first_response_due, resolution_due) = policy.sla.due(p.level, created_at);
    Sla {
        first_response_due: Some(first_response_due),
        resolution_due: Some(resolution_due),
        first_response_breached: was.first_response_breached,
        resolution_breached: was.resolution_breached,
    }
}

impl Ticket {
    /// A new ticket (id 0 until stored): OPEN, scored, with its SLA due times; its
    /// description is its `last_response` and the customer's first turn.
    pub fn open(new: &NewTicket, tier: Tier, policy: &PriorityPolicy, now: DateTime<Utc>) -> Ticket {
        let inputs = PriorityInputs { severity: new.severity, tier, impact: new.impact, opened_at: now };
        let priority = policy.score(&inputs, now);
        let sla = sla_for(policy, &priority, now, &Sla::default());
        Ticket {
            id: 0,
            customer_id: new.customer_id,
            department_id: new.department_id,
            category: new.category,
            subject: new.subject.clone(),
            description: new.description.clone(),
            severity: new.severity,
            impact: new.impact,
            status: Status::Open,
            priority,
            assigned_agent_id: None,
            assignment_reason: None,
            sla,
            rating: None,
            feedback: None,
            last_response: new.description.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
        }
    }

    /// The ticket re-scored for its customer's new `tier` (priority, SLA due times, version),
    /// or None when neither the score nor the tier's points change.
    pub fn rescored(&self, tier: Tier, policy: &PriorityPolicy, now: DateTime<Utc>) -> Option<Ticket> {
        let inputs = PriorityInputs { severity: self.severity, tier, impact: self.impact, opened_at: self.created_at };
        let priority = policy.score(&inputs, now);
        if priority.score == self.priority.score && priority.tier_points == self.priority.tier_points {
            return None;
        }
        let mut next = self.clone();
        next.sla = sla_for(policy, &priority, self.created_at, &self.sla);
        next.priority = priority;
        next.version = self.version + 1;
        next.updated_at = now;
        Some(next)
    }

    /// Decides `command` at `now`: the ticket after it, or the rule it breaks.
    pub fn apply(&self, command: &Command, policy: &PriorityPolicy, now: DateTime<Utc>) -> DomainResult<Outcome> {
        if self.status == Status::Closed {
            return Err(DomainError::Precondition(format!(
                "the ticket is CLOSED, which is final; {}",
                match command {
                    Command::Message(_) => "open a new ticket",
                    Command::Edit { .. } => "it cannot be edited",
                    Command::Move(_) | Command::Close { .. } => "it cannot move",
                    Command::Assign { .. } => "it cannot be assigned",
                }
            )));
        }
        let mut next = self.clone();
        let (event, moved) = match command {
            Command::Message(m) => (self.message(&mut next, m, now)?, false),
            Command::Edit { patch, tier } => self.edit(&mut next, patch, *tier, policy, now),
            Command::Move(to) => {
                workflow::check_status_move(self.status, *to)?;
                (Some(self.move_to(&mut next, *to, now)), false)
            }
            Command::Assign { agent_id, reason } => {
                next.assigned_agent_id = Some(*agent_id);
                next.assignment_reason = Some(*reason);
                (Some(EventKind::Assigned), false)
            }
            Command::Close { feedback, rating } => {
                next.feedback = Some(*feedback);
                next.rating = Some(*rating);
                (Some(self.move_to(&mut next, Status::Closed, now)), false)
            }
        };
        if event.is_some() {
            next.version = self.version + 1;
            next.updated_at = now;
        }
        let frees_agent = self.assigned_agent_id.is_some()
            && next.status != self.status
            && matches!(next.status, Status::Resolved | Status::Closed);
        Ok(Outcome { ticket: next, event, frees_agent, moved })
    }

    fn message(&self, next: &mut Ticket, m: &Message, now: DateTime<Utc>) -> DomainResult<Option<EventKind>> {
        if m.sender == SenderKind::Customer && m.sender_id != self.customer_id {
            return Err(DomainError::Precondition(format!(
                "customer {} did not open ticket {}; only its customer or an agent may write on it",
                m.sender_id, self.id
            )));
        }
        workflow::check_turn(m.mode, m.sender, m.visibility, m.last_public)?;
        if m.visibility != Visibility::Public {
            return Ok(None);
        }
        next.last_response = m.body.clone();
        match (m.sender, self.status) {
            (SenderKind::Agent, status) if self.first_response_at.is_none() => {
                if status == Status::Open {
                    next.status = Status::InProgress;
                }
                next.first_response_at = Some(now);
                if sla::late(self.sla.first_response_due, Some(now), now) {
                    next.sla.first_response_breached = true;
                }
            }
            (SenderKind::Agent, Status::Open) | (SenderKind::Customer, Status::Resolved) => {
                next.status = Status::InProgress;
            }
            _ => {}
        }
        Ok(Some(if next.status != self.status { EventKind::StatusChanged } else { EventKind::TicketUpdated }))
    }

    fn edit(
        &self,
        next: &mut Ticket,
        patch: &TicketPatch,
        tier: Tier,
        policy: &PriorityPolicy,
        now: DateTime<Utc>,
    ) -> (Option<EventKind>, bool) {
        if let Some(v) = &patch.subject {
            next.subject = v.clone();
        }
        if let Some(v) = &patch.description {
            next.description = v.clone();
        }
        if let Some(v) = patch.category {
            next.category = v;
        }
        next.severity = patch.severity.unwrap_or(self.severity);
        next.impact = patch.impact.unwrap_or(self.impact);
        let moved = patch.department_id.is_some_and(|d| d != self.department_id);
        if let (Some(d), true) = (patch.department_id, moved) {
            next.department_id = d;
            next.assigned_agent_id = None;
            next.assignment_reason = None;
        }
        let inputs = PriorityInputs { severity: next.severity, tier, impact: next.impact, opened_at: self.created_at };
        next.priority = policy.score(&inputs, now);
        next.sla = sla_for(policy, &next.priority, self.created_at, &self.sla);
        let kind = if next.priority.score != self.priority.score {
            EventKind::PriorityChanged
        } else {
            EventKind::TicketUpdated
        };
        (Some(kind), moved)
    }

    /// Moves to `to` (already checked), stamping what the move stamps.
    fn move_to(&self, next: &mut Ticket, to: Status, now: DateTime<Utc>) -> EventKind {
        next.status = to;
        match to {
            Status::Resolved => {
                next.resolved_at = Some(now);
                if sla::late(self.sla.resolution_due, Some(now), now) {
                    next.sla.resolution_breached = true;
                }
            }
            Status::Closed => next.closed_at = Some(now),
            Status::Open | Status::InProgress => {}
        }
        EventKind::StatusChanged
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::Severity;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }

    fn ticket() -> Ticket {
        let mut t = Ticket::open(&NewTicket::sample(), Tier::Paid, &PriorityPolicy::default(), at(9));
        t.id = 1;
        t.assigned_agent_id = Some(4);
        t
    }

    fn say(sender: SenderKind, id: i64, mode: ConversationMode, last: Option<SenderKind>) -> Command {
        Command::Message(Message {
            sender,
            sender_id: id,
            visibility: Visibility::Public,
            body: format!("{sender} says hi"),
            mode,
            last_public: last,
        })
    }

    fn apply(t: &Ticket, c: &Command, h: u32) -> DomainResult<Outcome> {
        t.apply(c, &PriorityPolicy::default(), at(h))
    }

    #[test]
    fn a_new_ticket_is_open_scored_and_due() {
        let t = ticket();
        assert_eq!((t.status, t.priority.score, t.version), (Status::Open, 9, 1));
        assert!(t.sla.first_response_due.is_some_and(|d| d > at(9)));
        assert_eq!(t.last_response, t.description);
    }

    #[test]
    fn the_first_agent_reply_starts_the_work_and_a_late_one_is_breached() {
        let t = ticket();
        let o = apply(&t, &say(SenderKind::Agent, 4, ConversationMode::Ticket, None), 10).unwrap();
        assert_eq!(
            (o.ticket.status, o.event, o.ticket.version),
            (Status::InProgress, Some(EventKind::StatusChanged), 2)
        );
        assert_eq!(o.ticket.first_response_at, Some(at(10)));
        assert!(!o.ticket.sla.first_response_breached);
        let late = apply(&t, &say(SenderKind::Agent, 4, ConversationMode::Ticket, None), 23).unwrap();
        assert!(late.ticket.sla.first_response_breached);
    }

    #[test]
    fn turns_internal_notes_and_strangers() {
        let t = ticket();
        let err = apply(&t, &say(SenderKind::Customer, 7, ConversationMode::Ticket, None), 10).unwrap_err();
        assert!(matches!(err, DomainError::Precondition(m) if m.contains("agent's turn")));
        assert!(apply(&t, &say(SenderKind::Customer, 7, ConversationMode::Chat, None), 10).is_ok());
        assert!(apply(&t, &say(SenderKind::Customer, 8, ConversationMode::Chat, None), 10).is_err());
        let note = Command::Message(Message {
            sender: SenderKind::Agent,
            sender_id: 4,
            visibility: Visibility::Internal,
            body: "note".into(),
            mode: ConversationMode::Ticket,
            last_public: None,
        });
        let o = apply(&t, &note, 10).unwrap();
        assert_eq!((o.event, o.ticket.clone()), (None, t), "a note changes nothing on the ticket");
    }

    #[test]
    fn a_customer_reply_reopens_a_resolved_ticket_and_closed_is_final() {
        let mut t = ticket();
        t.status = Status::Resolved;
        let o = apply(&t, &say(SenderKind::Customer, 7, ConversationMode::Chat, None), 10).unwrap();
        assert_eq!(o.ticket.status, Status::InProgress);
        let closed = apply(&t, &Command::Close { feedback: Feedback::Satisfied, rating: 5 }, 11).unwrap();
        assert_eq!((closed.ticket.status, closed.ticket.rating, closed.frees_agent), (Status::Closed, Some(5), true));
        for c in [
            say(SenderKind::Agent, 4, ConversationMode::Chat, None),
            Command::Move(Status::InProgress),
            Command::Close { feedback: Feedback::Satisfied, rating: 5 },
            Command::Edit { patch: TicketPatch::default(), tier: Tier::Free },
            Command::Assign { agent_id: 4, reason: AssignmentReason::Manual },
        ] {
            let err = apply(&closed.ticket, &c, 12).unwrap_err();
            assert!(matches!(err, DomainError::Precondition(m) if m.contains("CLOSED, which is final")), "{c:?}");
        }
    }

    #[test]
    fn moves_follow_the_chain_and_resolving_late_is_breached() {
        let t = ticket();
        assert!(apply(&t, &Command::Move(Status::Resolved), 10).is_err(), "OPEN cannot jump to RESOLVED");
        let working = apply(&t, &Command::Move(Status::InProgress), 10).unwrap().ticket;
        let resolved = apply(&working, &Command::Move(Status::Resolved), 10).unwrap();
        assert_eq!((resolved.ticket.resolved_at, resolved.frees_agent), (Some(at(10)), true));
        assert!(!resolved.ticket.sla.resolution_breached);
        let days_later = working.apply(
            &Command::Move(Status::Resolved),
            &PriorityPolicy::default(),
            at(9) + chrono::Duration::days(3),
        );
        assert!(days_later.unwrap().ticket.sla.resolution_breached);
    }

    #[test]
    fn an_edit_rescores_and_a_move_drops_the_assignment() {
        let t = ticket();
        let patch = TicketPatch { severity: Some(Severity::Critical), department_id: Some(3), ..Default::default() };
        let o = apply(&t, &Command::Edit { patch, tier: Tier::Enterprise }, 10).unwrap();
        assert_eq!((o.ticket.priority.score, o.event, o.moved), (13, Some(EventKind::PriorityChanged), true));
        assert_eq!((o.ticket.department_id, o.ticket.assigned_agent_id), (3, None));
        let same = apply(&t, &Command::Edit { patch: TicketPatch::default(), tier: Tier::Paid }, 10).unwrap();
        assert_eq!((same.event, same.moved), (Some(EventKind::TicketUpdated), false));
    }
}
