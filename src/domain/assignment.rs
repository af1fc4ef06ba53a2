//! Who gets a ticket: the choice among a department's agents, given their loads.

use chrono::{DateTime, Utc};

use super::Availability;
use super::error::{DomainError, DomainResult};

/// An ACTIVE agent of the ticket's department, with what the choice weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The agent.
    pub agent_id: i64,
    /// Open (OPEN or IN_PROGRESS) tickets assigned to them.
    pub open: u32,
    /// When they were last given a ticket; None if never.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// The least-loaded candidate below `capacity` (0: no limit); ties go to the one idle
/// longest (never assigned first, then the oldest last assignment), then the lowest id.
pub fn choose(candidates: &[Candidate], capacity: u32) -> Option<i64> {
    candidates
        .iter()
        .filter(|c| capacity == 0 || c.open < capacity)
        .min_by_key(|c| (c.open, c.last_assigned_at.is_some(), c.last_assigned_at, c.agent_id))
        .map(|c| c.agent_id)
}

/// A named agent for a ticket of `department_id`: `agent` is that agent's department and
/// availability, None when there is no such agent. Only an ACTIVE agent of the ticket's
/// department takes it.
pub fn check_named(agent_id: i64, agent: Option<(i64, Availability)>, department_id: i64) -> DomainResult<()> {
    match agent {
        None => Err(DomainError::Precondition(format!(
            "agent {agent_id} does not exist; assign to an agent of department {department_id}"
        ))),
        Some((d, _)) if d != department_id => Err(DomainError::Precondition(format!(
            "agent {agent_id} works in department {d}, not the ticket's department {department_id}"
        ))),
        Some((_, Availability::Off)) => {
            Err(DomainError::Precondition(format!("agent {agent_id} is OFF and takes no new work")))
        }
        Some((_, Availability::Active)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn c(agent_id: i64, open: u32, hour: Option<u32>) -> Candidate {
        Candidate { agent_id, open, last_assigned_at: hour.map(|h| Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()) }
    }

    #[test]
    fn the_least_loaded_then_the_idle_longest_then_the_lowest_id() {
        assert_eq!(choose(&[c(1, 3, Some(9)), c(2, 1, Some(10)), c(3, 2, None)], 0), Some(2));
        assert_eq!(choose(&[c(1, 1, Some(9)), c(2, 1, Some(8))], 0), Some(2), "idle longer");
        assert_eq!(choose(&[c(1, 1, Some(9)), c(2, 1, None)], 0), Some(2), "never assigned first");
        assert_eq!(choose(&[c(5, 1, None), c(4, 1, None)], 0), Some(4));
        assert_eq!(choose(&[c(1, 20, None), c(2, 25, None)], 20), None, "everyone at capacity");
        assert_eq!(choose(&[], 0), None);
    }

    #[test]
    fn a_named_agent_must_be_an_active_agent_of_the_department() {
        assert!(check_named(3, Some((2, Availability::Active)), 2).is_ok());
        for (agent, why) in [
            (None, "does not exist"),
            (Some((1, Availability::Active)), "department 1"),
            (Some((2, Availability::Off)), "OFF"),
        ] {
            let Err(DomainError::Precondition(m)) = check_named(3, agent, 2) else { panic!("{agent:?} accepted") };
            assert!(m.contains(why), "{m}");
        }
    }
}
