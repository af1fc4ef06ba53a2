//! Voice calls on a ticket, between its customer and an agent: who may call whom, the moves
//! of a call from ringing to its end, who may see it, and the signals a party may relay.
//!
//! ```text
//! RINGING --accept--> ACTIVE --hang up--> ENDED (ACCEPTED)
//!    |                   '--relay lost, agent OFF--> ENDED (FAILED)
//!    |--decline, or the callee hangs up--> ENDED (DECLINED)
//!    |--rang out, or the caller hangs up--> ENDED (MISSED)
//!    '--relay lost, agent OFF--> ENDED (FAILED)
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::access::{Principal, Role};
use super::error::{DomainError, DomainResult};
use super::types::{Availability, SenderKind, Status, stored_enum};
use super::validate::Checker;

stored_enum!(
    /// Where a call stands.
    CallState {
        /// The callee is being rung.
        Ringing => "RINGING",
        /// Accepted: the parties are talking.
        Active => "ACTIVE",
        /// Over.
        Ended => "ENDED",
    }
);

stored_enum!(
    /// How a call ended.
    CallOutcome {
        /// Accepted, then hung up.
        Accepted => "ACCEPTED",
        /// The callee declined.
        Declined => "DECLINED",
        /// Nobody answered in time, or the caller gave up.
        Missed => "MISSED",
        /// A relay was lost or the agent went OFF.
        Failed => "FAILED",
    }
);

/// The most signals one call relays (offers, answers and candidates of both parties): a
/// WebRTC call needs a few dozen.
pub const MAX_SIGNALS: i32 = 500;
/// The longest SDP description, in bytes.
pub const MAX_SDP_BYTES: usize = 16_384;
/// The longest ICE candidate line, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1_024;
/// The longest media stream tag, in bytes.
pub const MAX_MID_BYTES: usize = 64;
/// The highest media description index.
pub const MAX_M_LINE_INDEX: i32 = 64;

/// One end of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Party {
    /// CUSTOMER or AGENT.
    pub kind: SenderKind,
    /// The customer's or agent's id.
    pub id: i64,
}

impl Party {
    /// A customer.
    pub fn customer(id: i64) -> Self {
        Self { kind: SenderKind::Customer, id }
    }

    /// An agent.
    pub fn agent(id: i64) -> Self {
        Self { kind: SenderKind::Agent, id }
    }

    /// The party a principal can be: a customer, or an agent (supervisors included).
    pub fn of(who: &Principal) -> Option<Self> {
        match (who.role, who.customer_id, who.agent_id) {
            (Role::Customer, Some(c), _) => Some(Self::customer(c)),
            (Role::Agent | Role::Supervisor, _, Some(a)) => Some(Self::agent(a)),
            _ => None,
        }
    }
}

/// Which end of a call someone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Placed the call.
    Caller,
    /// Was rung.
    Callee,
}

impl Side {
    /// The word for logs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Caller => "caller",
            Side::Callee => "callee",
        }
    }
}

/// A call (serialised in the events that carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// The ticket's department when the call was placed.
    pub department_id: i64,
    /// Who called.
    pub caller: Party,
    /// Who was called.
    pub callee: Party,
    /// The caller's first and last name.
    pub caller_name: String,
    /// The callee's first and last name.
    pub callee_name: String,
    /// Where it stands.
    pub state: CallState,
    /// How it ended.
    pub outcome: Option<CallOutcome>,
    /// Why it ended, in words.
    pub end_reason: Option<String>,
    /// Signals relayed so far.
    pub signals: i32,
    /// When ringing began.
    pub created_at: DateTime<Utc>,
    /// When ringing times out.
    pub ring_deadline: DateTime<Utc>,
    /// When the callee accepted.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The latest event sequence when it was placed: every event of the call comes after.
    pub after_sequence: i64,
}

impl Call {
    /// True while ringing or active.
    pub fn is_live(&self) -> bool {
        self.state != CallState::Ended
    }

    /// Talk time in whole seconds: answer to end (or to `now` while active).
    pub fn duration_seconds(&self, now: DateTime<Utc>) -> i64 {
        match self.answered_at {
            Some(a) => (self.ended_at.unwrap_or(now) - a).num_seconds().max(0),
            None => 0,
        }
    }

    /// Which end `p` is, if either.
    pub fn side_of(&self, p: Party) -> Option<Side> {
        if p == self.caller {
            Some(Side::Caller)
        } else if p == self.callee {
            Some(Side::Callee)
        } else {
            None
        }
    }

    /// The party at `side`.
    pub fn party(&self, side: Side) -> Party {
        match side {
            Side::Caller => self.caller,
            Side::Callee => self.callee,
        }
    }

    /// The other end from `side`.
    pub fn other(&self, side: Side) -> Party {
        match side {
            Side::Caller => self.callee,
            Side::Callee => self.caller,
        }
    }

    /// The agent of the call.
    pub fn agent(&self) -> Party {
        if self.caller.kind == SenderKind::Agent { self.caller } else { self.callee }
    }

    /// The caller's side, or PERMISSION_DENIED for anyone but the two parties.
    pub fn side_of_caller(&self, who: &Principal) -> DomainResult<Side> {
        Party::of(who)
            .and_then(|p| self.side_of(p))
            .ok_or_else(|| DomainError::Forbidden(format!("only the two parties of call {} may do this", self.id)))
    }

    /// The ticket's record of the call: who called whom, the outcome, when and how long.
    pub fn record(&self) -> String {
        let outcome = self.outcome.map_or("LIVE", CallOutcome::as_str);
        let duration = self.ended_at.map_or(0, |e| self.answered_at.map_or(0, |a| (e - a).num_seconds().max(0)));
        format!(
            "Call from {} ({}) to {} ({}): {outcome}; started {}, lasted {}.",
            self.caller_name,
            self.caller.kind.as_str().to_lowercase(),
            self.callee_name,
            self.callee.kind.as_str().to_lowercase(),
            self.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            clock_time(duration),
        )
    }
}

/// `h:mm:ss` or `m:ss`.
fn clock_time(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// Who may see a call besides its parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallViewer {
    /// One party: its own calls.
    Party(Party),
    /// A supervisor: their department's calls and their own.
    Supervisor {
        /// The supervisor as a party.
        me: Party,
        /// Their department.
        department_id: i64,
    },
    /// Admins and services: every call.
    Everyone,
    /// Anyone else: none.
    Nobody,
}

impl CallViewer {
    /// What `who` may see of calls.
    pub fn of(who: &Principal) -> Self {
        match (who.role, Party::of(who), who.department_id) {
            (Role::Admin | Role::Service, ..) => CallViewer::Everyone,
            (Role::Supervisor, Some(me), Some(department_id)) => CallViewer::Supervisor { me, department_id },
            (_, Some(p), _) => CallViewer::Party(p),
            _ => CallViewer::Nobody,
        }
    }

    /// May this viewer see `call`?
    pub fn sees(&self, call: &Call) -> bool {
        match *self {
            CallViewer::Everyone => true,
            CallViewer::Supervisor { me, department_id } => {
                call.department_id == department_id || call.side_of(me).is_some()
            }
            CallViewer::Party(p) => call.side_of(p).is_some(),
            CallViewer::Nobody => false,
        }
    }
}

/// What the placement of a call needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The ticket's status.
    pub status: Status,
    /// The ticket's customer.
    pub customer_id: i64,
    /// The ticket's assigned agent.
    pub agent_id: Option<i64>,
    /// Whether the department takes calls from customers.
    pub customer_calls: bool,
}

/// Whom `caller` rings on a ticket placed so; `availability` tells whether an agent is
/// ACTIVE (the caller if an agent, else the callee).
pub fn callee(
    ticket_id: i64,
    caller: Party,
    t: &Placement,
    availability: impl Fn(i64) -> Option<Availability>,
) -> DomainResult<Party> {
    if t.status == Status::Closed {
        return Err(DomainError::Precondition(format!("ticket {ticket_id} is CLOSED; reopen it to call")));
    }
    match caller.kind {
        SenderKind::Agent => {
            if availability(caller.id) != Some(Availability::Active) {
                return Err(DomainError::Precondition(format!(
                    "agent {} is OFF; set yourself ACTIVE before calling",
                    caller.id
                )));
            }
            Ok(Party::customer(t.customer_id))
        }
        SenderKind::Customer => {
            if caller.id != t.customer_id {
                return Err(DomainError::Forbidden("only the ticket's customer may call its agent".into()));
            }
            if !t.customer_calls {
                return Err(DomainError::Precondition(format!(
                    "the department of ticket {ticket_id} does not take calls from customers"
                )));
            }
            let Some(agent) = t.agent_id else {
                return Err(DomainError::Precondition(format!("ticket {ticket_id} has no agent to call yet")));
            };
            if availability(agent) != Some(Availability::Active) {
                return Err(DomainError::Precondition(format!("agent {agent} is OFF and cannot be called")));
            }
            Ok(Party::agent(agent))
        }
        SenderKind::System => Err(DomainError::Forbidden("the service places no calls".into())),
    }
}

/// A change to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// The callee accepts.
    Accept,
    /// The callee declines.
    Decline,
    /// A party hangs up.
    HangUp(Side),
    /// Ringing timed out.
    RangOut,
    /// A relay was lost, or the agent went OFF.
    Fail(String),
}

/// Where a call goes on a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The new state.
    pub state: CallState,
    /// How it ended, if it did.
    pub outcome: Option<CallOutcome>,
    /// Why, in words.
    pub reason: Option<String>,
}

/// The call after `m` at `now`, or why `m` is not allowed. `by` is who asks, for the moves
/// a party makes.
pub fn apply(call: &Call, m: &Move, by: Option<Side>, now: DateTime<Utc>) -> DomainResult<Outcome> {
    let ended = |outcome: CallOutcome, reason: String| Outcome {
        state: CallState::Ended,
        outcome: Some(outcome),
        reason: Some(reason),
    };
    if !call.is_live() {
        return Err(DomainError::Precondition(format!(
            "call {} has already ended ({})",
            call.id,
            call.outcome.map_or("", CallOutcome::as_str)
        )));
    }
    match m {
        Move::Accept | Move::Decline => {
            if by != Some(Side::Callee) {
                return Err(DomainError::Forbidden(format!("only the callee of call {} may answer it", call.id)));
            }
            if call.state != CallState::Ringing {
                return Err(DomainError::Precondition(format!("call {} was already answered", call.id)));
            }
            if now >= call.ring_deadline {
                return Err(DomainError::Precondition(format!("call {} rang out before it was answered", call.id)));
            }
            Ok(if *m == Move::Accept {
                Outcome { state: CallState::Active, outcome: None, reason: None }
            } else {
                ended(CallOutcome::Declined, "the callee declined".into())
            })
        }
        Move::HangUp(side) => Ok(match (call.state, side) {
            (CallState::Ringing, Side::Caller) => {
                ended(CallOutcome::Missed, "the caller hung up before an answer".into())
            }
            (CallState::Ringing, Side::Callee) => ended(CallOutcome::Declined, "the callee declined".into()),
            _ => ended(CallOutcome::Accepted, format!("the {} hung up", side.as_str())),
        }),
        Move::RangOut => {
            if call.state != CallState::Ringing || now < call.ring_deadline {
                return Err(DomainError::Precondition(format!("call {} is not ringing out", call.id)));
            }
            Ok(ended(CallOutcome::Missed, "nobody answered".into()))
        }
        Move::Fail(reason) => Ok(ended(CallOutcome::Failed, reason.clone())),
    }
}

/// What an SDP description is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SdpType {
    /// The caller's offer.
    Offer,
    /// The callee's answer.
    Answer,
}

/// A WebRTC signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalPayload {
    /// An offer or answer.
    Description {
        /// Offer or answer.
        kind: SdpType,
        /// The SDP.
        sdp: String,
    },
    /// An ICE candidate.
    Candidate {
        /// The candidate line (empty: end of candidates).
        candidate: String,
        /// The media stream tag.
        sdp_mid: String,
        /// The media description index.
        sdp_m_line_index: i32,
    },
}

/// A signal on its way from one party to the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The call.
    pub call_id: i64,
    /// Who sent it.
    pub from: Party,
    /// Who gets it.
    pub to: Party,
    /// What it says.
    pub payload: SignalPayload,
}

impl SignalPayload {
    /// Checks sizes, recording violations under `description` or `candidate`.
    pub fn check(&self, c: &mut Checker) {
        match self {
            SignalPayload::Description { sdp, .. } => {
                if sdp.is_empty() || sdp.len() > MAX_SDP_BYTES {
                    c.fail("description.sdp", format!("must be 1-{MAX_SDP_BYTES} bytes, not {}", sdp.len()));
                }
            }
            SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                if candidate.len() > MAX_CANDIDATE_BYTES {
                    c.fail("candidate.candidate", format!("must be at most {MAX_CANDIDATE_BYTES} bytes"));
                }
                if sdp_mid.len() > MAX_MID_BYTES {
                    c.fail("candidate.sdp_mid", format!("must be at most {MAX_MID_BYTES} bytes"));
                }
                if !(0..=MAX_M_LINE_INDEX).contains(sdp_m_line_index) {
                    c.fail("candidate.sdp_m_line_index", format!("must be 0-{MAX_M_LINE_INDEX}"));
                }
            }
        }
    }
}

/// Whether `side` may send `payload` on `call` now: only while live; the callee only after
/// accepting; offers only from the caller and answers only from the callee; at most
/// [`MAX_SIGNALS`] per call.
pub fn may_signal(call: &Call, side: Side, payload: &SignalPayload) -> DomainResult<()> {
    if !call.is_live() {
        return Err(DomainError::Precondition(format!("call {} has ended", call.id)));
    }
    if side == Side::Callee && call.state == CallState::Ringing {
        return Err(DomainError::Precondition(format!("accept call {} before signalling", call.id)));
    }
    if let SignalPayload::Description { kind, .. } = payload {
        let expected = if side == Side::Caller { SdpType::Offer } else { SdpType::Answer };
        if *kind != expected {
            return Err(DomainError::Precondition(format!(
                "the {} sends the {}",
                side.as_str(),
                if expected == SdpType::Offer { "OFFER" } else { "ANSWER" }
            )));
        }
    }
    if call.signals >= MAX_SIGNALS {
        return Err(DomainError::Precondition(format!("call {} has relayed its {MAX_SIGNALS} signals", call.id)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(state: CallState) -> Call {
        let t = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        Call {
            id: 1,
            ticket_id: 2,
            department_id: 3,
            caller: Party::agent(4),
            callee: Party::customer(5),
            caller_name: "Ada Lovelace".into(),
            callee_name: "Alan Turing".into(),
            state,
            outcome: None,
            end_reason: None,
            signals: 0,
            created_at: t,
            ring_deadline: t + chrono::Duration::seconds(30),
            answered_at: None,
            ended_at: None,
            after_sequence: 0,
        }
    }

    #[test]
    fn only_the_callee_answers_a_ringing_call_in_time() {
        let c = call(CallState::Ringing);
        let now = c.created_at + chrono::Duration::seconds(5);
        assert_eq!(apply(&c, &Move::Accept, Some(Side::Callee), now).map(|o| o.state), Ok(CallState::Active));
        assert!(matches!(apply(&c, &Move::Accept, Some(Side::Caller), now), Err(DomainError::Forbidden(_))));
        assert!(matches!(apply(&c, &Move::Accept, None, now), Err(DomainError::Forbidden(_))));
        let late = c.ring_deadline;
        assert!(matches!(apply(&c, &Move::Accept, Some(Side::Callee), late), Err(DomainError::Precondition(_))));
        assert_eq!(apply(&c, &Move::RangOut, None, late).map(|o| o.outcome), Ok(Some(CallOutcome::Missed)));
        assert!(apply(&c, &Move::RangOut, None, now).is_err(), "not before the deadline");
    }

    #[test]
    fn hanging_up_depends_on_the_state_and_the_side() {
        let t = call(CallState::Ringing).created_at;
        let outcome = |state, side| apply(&call(state), &Move::HangUp(side), Some(side), t).map(|o| o.outcome);
        assert_eq!(outcome(CallState::Ringing, Side::Caller), Ok(Some(CallOutcome::Missed)));
        assert_eq!(outcome(CallState::Ringing, Side::Callee), Ok(Some(CallOutcome::Declined)));
        assert_eq!(outcome(CallState::Active, Side::Callee), Ok(Some(CallOutcome::Accepted)));
        assert!(outcome(CallState::Ended, Side::Caller).is_err());
    }

    #[test]
    fn signals_follow_the_roles() {
        let offer = SignalPayload::Description { kind: SdpType::Offer, sdp: "v=0".into() };
        let answer = SignalPayload::Description { kind: SdpType::Answer, sdp: "v=0".into() };
        let ringing = call(CallState::Ringing);
        assert!(may_signal(&ringing, Side::Caller, &offer).is_ok(), "the caller may offer while ringing");
        assert!(may_signal(&ringing, Side::Callee, &answer).is_err(), "the callee accepts first");
        let active = call(CallState::Active);
        assert!(may_signal(&active, Side::Callee, &answer).is_ok());
        assert!(may_signal(&active, Side::Callee, &offer).is_err());
        assert!(may_signal(&Call { signals: MAX_SIGNALS, ..active }, Side::Caller, &offer).is_err());
    }

    #[test]
    fn the_record_names_both_parties_and_the_talk_time() {
        let mut c = call(CallState::Ended);
        c.outcome = Some(CallOutcome::Accepted);
        c.answered_at = Some(c.created_at + chrono::Duration::seconds(3));
        c.ended_at = Some(c.created_at + chrono::Duration::seconds(128));
        let r = c.record();
        assert!(r.starts_with("Call from Ada Lovelace (agent) to Alan Turing (customer): ACCEPTED"), "{r}");
        assert!(r.ends_with("lasted 2:05."), "{r}");
    }
}
