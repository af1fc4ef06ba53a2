//! Calls and their signals on the wire.

use super::{Checker, opt_timestamp, timestamp};
use crate::domain::call::{Call, Party, SdpType, Signal, SignalPayload};
use crate::error::AppResult;
use crate::pb;

fn party(p: Party, display_name: String) -> pb::CallParty {
    pb::CallParty { kind: pb::SenderKind::from(p.kind).into(), id: p.id, display_name }
}

impl From<Call> for pb::Call {
    fn from(c: Call) -> Self {
        let duration = c.ended_at.map_or(0, |e| c.duration_seconds(e));
        let ringing = c.state == crate::domain::call::CallState::Ringing;
        pb::Call {
            id: c.id,
            ticket_id: c.ticket_id,
            caller: Some(party(c.caller, c.caller_name)),
            callee: Some(party(c.callee, c.callee_name)),
            state: pb::CallState::from(c.state).into(),
            outcome: c.outcome.map_or(0, |o| pb::CallOutcome::from(o).into()),
            end_reason: c.end_reason.unwrap_or_default(),
            create_time: Some(timestamp(c.created_at)),
            answer_time: opt_timestamp(c.answered_at),
            end_time: opt_timestamp(c.ended_at),
            duration_seconds: i32::try_from(duration).unwrap_or(i32::MAX),
            ring_deadline: ringing.then(|| timestamp(c.ring_deadline)),
        }
    }
}

impl From<Signal> for pb::CallSignal {
    fn from(s: Signal) -> Self {
        use pb::call_signal::Payload;
        let payload = match s.payload {
            SignalPayload::Description { kind, sdp } => {
                let kind = match kind {
                    SdpType::Offer => pb::SdpType::Offer,
                    SdpType::Answer => pb::SdpType::Answer,
                };
                Payload::Description(pb::SessionDescription { r#type: kind.into(), sdp })
            }
            SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                Payload::Candidate(pb::IceCandidate { candidate, sdp_mid, sdp_m_line_index })
            }
        };
        pb::CallSignal { call_id: s.call_id, from: pb::SenderKind::from(s.from.kind).into(), payload: Some(payload) }
    }
}

/// A signal to send, checked: its call and what it says.
pub fn signal(r: pb::SendCallSignalRequest) -> AppResult<(i64, SignalPayload)> {
    use pb::send_call_signal_request::Payload;
    let mut c = Checker::new();
    let call_id = c.take("call_id", crate::domain::validate::id(r.call_id));
    let payload = match r.payload {
        Some(Payload::Description(d)) => {
            let kind = match pb::SdpType::try_from(d.r#type) {
                Ok(pb::SdpType::Offer) => Some(SdpType::Offer),
                Ok(pb::SdpType::Answer) => Some(SdpType::Answer),
                _ => {
                    c.fail("description.type", format!("must be OFFER or ANSWER (got {})", d.r#type));
                    None
                }
            };
            kind.map(|kind| SignalPayload::Description { kind, sdp: d.sdp })
        }
        Some(Payload::Candidate(i)) => Some(SignalPayload::Candidate {
            candidate: i.candidate,
            sdp_mid: i.sdp_mid,
            sdp_m_line_index: i.sdp_m_line_index,
        }),
        None => {
            c.fail("payload", "set description or candidate");
            None
        }
    };
    if let Some(p) = &payload {
        p.check(&mut c);
    }
    c.finish()?;
    match (call_id, payload) {
        (Some(id), Some(p)) => Ok((id, p)),
        _ => Err(crate::error::AppError::Internal("checked fields missing".into())),
    }
}
