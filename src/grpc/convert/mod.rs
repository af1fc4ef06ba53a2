//! Conversion between the wire (`pb`) and the domain, in one place: enums and times
//! here, resources in [`resources`], validated requests in [`requests`].

pub mod auth_requests;
pub mod calls;
mod history;
pub mod replies;
pub mod reports;
pub mod requests;
pub mod resources;
pub mod ticket_requests;
pub mod webhooks;

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use crate::domain::{self, validate::Checker};
use crate::error::AppResult;
use crate::pb;
use crate::repo::idempotency::RequestId;

/// A domain enum that travels as a proto enum.
pub trait WireEnum: Sized + Copy + 'static {
    /// Every domain value.
    const ALL: &'static [Self];
    /// The domain value of a wire number; None for UNSPECIFIED or unknown numbers.
    fn from_wire(v: i32) -> Option<Self>;
    /// The stored name, used in messages.
    fn name(self) -> &'static str;
}

/// Maps a domain enum to and from its proto enum, variant by variant (same names).
macro_rules! wire_enum {
    ($dom:path, $pb:path, [$($v:ident),+ $(,)?]) => {
        const _: () = {
            use $dom as D;
            use $pb as P;
            impl From<D> for P {
                fn from(d: D) -> Self {
                    match d { $(D::$v => P::$v),+ }
                }
            }
            impl WireEnum for D {
                const ALL: &'static [Self] = D::ALL;
                fn from_wire(v: i32) -> Option<Self> {
                    match P::try_from(v).ok()? {
                        $(P::$v => Some(D::$v),)+
                        _ => None,
                    }
                }
                fn name(self) -> &'static str {
                    self.as_str()
                }
            }
        };
    };
}

wire_enum!(domain::ConversationMode, pb::ConversationMode, [Ticket, Chat]);
wire_enum!(domain::Tier, pb::CustomerTier, [Free, Paid, Enterprise]);
wire_enum!(domain::AgentRole, pb::AgentRole, [Agent, Supervisor]);
wire_enum!(domain::Availability, pb::Availability, [Active, Off]);
wire_enum!(
    domain::Category,
    pb::TicketCategory,
    [AccountAccess, BugReport, OrderCancellation, OverchargedTransaction, UndeliveredGoods, WrongOrder, Other]
);
wire_enum!(domain::Severity, pb::Severity, [Critical, Major, Minor]);
wire_enum!(domain::Status, pb::TicketStatus, [Open, InProgress, Resolved, Closed]);
wire_enum!(domain::Level, pb::PriorityLevel, [P0, P1, P2, P3]);
wire_enum!(domain::SenderKind, pb::SenderKind, [Customer, Agent, System]);
wire_enum!(domain::Visibility, pb::Visibility, [Public, Internal]);
wire_enum!(domain::DeliveryStatus, pb::DeliveryStatus, [Sent, Received, Read]);
wire_enum!(domain::Feedback, pb::Feedback, [Satisfied, NotSatisfied]);
wire_enum!(domain::AssignmentReason, pb::AssignmentReason, [Manual, AutoLeastLoaded, BacklogDrain, Handover]);
wire_enum!(domain::call::CallState, pb::CallState, [Ringing, Active, Ended]);
wire_enum!(domain::call::CallOutcome, pb::CallOutcome, [Accepted, Declined, Missed, Failed]);
// By hand: CALL_SIGNAL events are relayed by JoinCall only and have no queue event kind.
impl From<domain::event::EventKind> for pb::QueueEventKind {
    fn from(d: domain::event::EventKind) -> Self {
        use domain::event::EventKind as D;
        match d {
            D::TicketCreated => Self::TicketCreated,
            D::TicketUpdated => Self::TicketUpdated,
            D::PriorityChanged => Self::PriorityChanged,
            D::Assigned => Self::Assigned,
            D::StatusChanged => Self::StatusChanged,
            D::SlaBreached => Self::SlaBreached,
            D::MessageAdded => Self::MessageAdded,
            D::MessageUpdated => Self::MessageUpdated,
            D::CallUpdated => Self::CallUpdated,
            D::CallSignal => Self::Unspecified,
        }
    }
}

impl WireEnum for domain::event::EventKind {
    const ALL: &'static [Self] = &[
        Self::TicketCreated,
        Self::TicketUpdated,
        Self::PriorityChanged,
        Self::Assigned,
        Self::StatusChanged,
        Self::SlaBreached,
        Self::MessageAdded,
        Self::MessageUpdated,
        Self::CallUpdated,
    ];
    fn from_wire(v: i32) -> Option<Self> {
        let kind = pb::QueueEventKind::try_from(v).ok()?;
        Self::ALL.iter().copied().find(|d| pb::QueueEventKind::from(*d) == kind)
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

fn choices<T: WireEnum>() -> String {
    T::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
}

/// A required enum: UNSPECIFIED or an unknown number is a violation of `field`.
pub fn required<T: WireEnum>(c: &mut Checker, field: &str, v: i32) -> Option<T> {
    let r = T::from_wire(v).ok_or_else(|| format!("must be one of {} (got {v})", choices::<T>()));
    c.take(field, r)
}

/// An optional enum: UNSPECIFIED is None, an unknown number is a violation of `field`.
pub fn optional<T: WireEnum>(c: &mut Checker, field: &str, v: i32) -> Option<T> {
    if v == 0 {
        return None;
    }
    required(c, field, v)
}

/// A domain time on the wire.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// A wire time as a domain time; the message says what is wrong.
pub fn timestamp_to_domain(t: &Timestamp) -> Result<DateTime<Utc>, String> {
    let nanos = u32::try_from(t.nanos).ok().filter(|n| *n < 1_000_000_000);
    nanos
        .and_then(|n| DateTime::from_timestamp(t.seconds, n))
        .ok_or_else(|| format!("is not a valid time (seconds {}, nanos {})", t.seconds, t.nanos))
}

/// An optional domain time on the wire.
pub fn opt_timestamp(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(timestamp)
}

/// The request's id, validated, with the request's fingerprint; None when it carries no
/// id. Only a request that can be replayed is fingerprinted: hashing the encoding cost every
/// CreateTicket 12,500 instructions, most of them for requests without an id. A handler
/// takes it before the resource moves out of the request, and applies `?` after validating
/// the resource, so that the resource's field errors are reported first.
pub fn request_id(request: &impl prost::Message, id: &str) -> AppResult<Option<RequestId>> {
    Ok(requests::request_id(id)?.map(|id| RequestId { id, fingerprint: fingerprint(request) }))
}

/// The fingerprint of a request as sent, for idempotency (AIP-155): SHA-256 of its
/// protobuf encoding, `v2:` and 16 hex digits. A field added to the request later is not
/// encoded while unset, so a retry across a deploy still matches.
fn fingerprint(request: &impl prost::Message) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(request.encode_to_vec());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("v2:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint is of the encoding, so it is stable across deploys: this literal is
    /// what the service stores for this request.
    #[test]
    fn a_request_fingerprint_is_its_encodings_and_stable() {
        let r = pb::CreateTicketRequest {
            customer_id: 7,
            department_id: 2,
            category: pb::TicketCategory::BugReport.into(),
            subject: "Checkout fails".into(),
            description: "The pay button answers 500.".into(),
            severity: pb::Severity::Major.into(),
            impact: 3,
            request_id: "r1".into(),
        };
        let fp = fingerprint(&r);
        assert_eq!(fp, "v2:299833905340f21a");
        let other = pb::CreateTicketRequest { impact: 4, ..r };
        assert_ne!(fingerprint(&other), fp);
    }
}
