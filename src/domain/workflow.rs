//! The ticket status machine: `OPEN -> IN_PROGRESS -> RESOLVED -> CLOSED`.
//!
//! Staff move tickets with UpdateTicketStatus along the chain; a RESOLVED ticket can be
//! reopened to IN_PROGRESS or closed. The customer closes from any status before CLOSED
//! with CloseTicket (feedback and rating). CLOSED is final for everyone.

use super::error::{DomainError, DomainResult};
use super::{ConversationMode, SenderKind, Status, Visibility};

/// How a move is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A staff move along the chain (UpdateTicketStatus).
    StatusUpdate,
    /// The customer's close with feedback and rating (CloseTicket).
    Close,
}

/// The statuses UpdateTicketStatus accepts from `from`.
pub fn status_moves(from: Status) -> &'static [Status] {
    match from {
        Status::Open => &[Status::InProgress],
        Status::InProgress => &[Status::Resolved],
        Status::Resolved => &[Status::InProgress, Status::Closed],
        Status::Closed => &[],
    }
}

/// Every move the server accepts from `from`, with how it is made.
pub fn allowed_transitions(from: Status) -> Vec<(Status, Via)> {
    let mut moves: Vec<(Status, Via)> =
        status_moves(from).iter().filter(|s| **s != Status::Closed).map(|s| (*s, Via::StatusUpdate)).collect();
    if from.is_open() {
        moves.push((Status::Closed, Via::Close));
    }
    moves
}

/// Checks a staff move; the refusal names the allowed moves.
pub fn check_status_move(from: Status, to: Status) -> DomainResult<()> {
    if status_moves(from).contains(&to) {
        return Ok(());
    }
    let allowed = status_moves(from).iter().map(|s| s.as_str()).collect::<Vec<_>>();
    Err(DomainError::Precondition(format!(
        "cannot move ticket from {from} to {to}; allowed from {from}: {}",
        allowed.join(", ")
    )))
}

/// Checks whose turn it is. In a TICKET-mode department the ticket's description is the
/// customer's first turn, and the customer may post one public message after each public
/// agent message, never two in a row. Agents may always write; internal notes are not
/// turns. `last_public` is the sender of the latest public message, if any.
pub fn check_turn(
    mode: ConversationMode,
    sender: SenderKind,
    visibility: Visibility,
    last_public: Option<SenderKind>,
) -> DomainResult<()> {
    let customer_public = sender == SenderKind::Customer && visibility == Visibility::Public;
    if mode == ConversationMode::Chat || !customer_public {
        return Ok(());
    }
    match last_public {
        Some(SenderKind::Agent) => Ok(()),
        _ => Err(DomainError::Precondition(
            "it is the agent's turn: in this TICKET-mode department the customer may post one message after each \
             agent reply; wait for the agent to answer"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_mode_takes_turns_and_chat_does_not() {
        use ConversationMode::*;
        let (c, a) = (SenderKind::Customer, SenderKind::Agent);
        assert!(check_turn(Ticket, c, Visibility::Public, None).is_err(), "the description was the first turn");
        assert!(check_turn(Ticket, c, Visibility::Public, Some(a)).is_ok());
        assert!(check_turn(Ticket, c, Visibility::Public, Some(c)).is_err());
        assert!(check_turn(Ticket, a, Visibility::Public, Some(a)).is_ok(), "agents may always write");
        assert!(check_turn(Ticket, a, Visibility::Internal, None).is_ok());
        assert!(check_turn(Chat, c, Visibility::Public, Some(c)).is_ok());
    }

    #[test]
    fn the_chain_and_its_refusals() {
        assert!(check_status_move(Status::Open, Status::InProgress).is_ok());
        assert!(check_status_move(Status::InProgress, Status::Resolved).is_ok());
        assert!(check_status_move(Status::Resolved, Status::InProgress).is_ok());
        assert!(check_status_move(Status::Resolved, Status::Closed).is_ok());
        let err = check_status_move(Status::Open, Status::Resolved).unwrap_err().to_string();
        assert!(err.contains("IN_PROGRESS"), "{err}");
        assert!(check_status_move(Status::Closed, Status::Open).is_err());
    }

    #[test]
    fn allowed_transitions_agree_with_the_checks() {
        for from in Status::ALL {
            for (to, via) in allowed_transitions(*from) {
                if via == Via::StatusUpdate {
                    assert!(check_status_move(*from, to).is_ok());
                } else {
                    assert!(from.is_open(), "the customer closes an open ticket");
                }
            }
        }
        assert!(allowed_transitions(Status::Closed).is_empty());
    }
}
