//! The one place that decides whether a subscriber may see a ticket or an event. Every
//! snapshot ticket and every event passes through it. Today every caller is trusted
//! with everything; the access-control work narrows it by role.

use crate::domain::Ticket;
use crate::domain::event::QueueEvent;

/// What a subscriber is allowed to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything: the only scope until callers are authenticated.
    Everything,
}

impl Scope {
    /// May the subscriber see this ticket?
    pub fn admits_ticket(&self, _ticket: &Ticket) -> bool {
        match self {
            Scope::Everything => true,
        }
    }

    /// May the subscriber see this event?
    pub fn admits(&self, event: &QueueEvent) -> bool {
        self.admits_ticket(&event.ticket)
    }
}
