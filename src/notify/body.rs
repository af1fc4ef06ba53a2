//! A webhook's body: the event as `support.v1.QueueEvent` in the proto's canonical JSON
//! mapping (lowerCamelCase names, enum names, RFC 3339 times, 64-bit integers as strings),
//! made through the contract's own descriptor set so it matches every other JSON client.

use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use crate::error::{AppError, AppResult};
use crate::pb;

static QUEUE_EVENT: LazyLock<Option<MessageDescriptor>> = LazyLock::new(|| {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).ok()?.get_message_by_name("support.v1.QueueEvent")
});

/// The JSON of `event`.
pub fn json(event: &pb::QueueEvent) -> AppResult<Vec<u8>> {
    let descriptor = QUEUE_EVENT.clone().ok_or_else(|| AppError::Internal("the contract lacks QueueEvent".into()))?;
    let dynamic = DynamicMessage::decode(descriptor, event.encode_to_vec().as_slice())
        .map_err(|e| AppError::Internal(format!("re-reading an event: {e}")))?;
    serde_json::to_vec(&dynamic).map_err(|e| AppError::Internal(format!("writing an event's JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_canonical_json_mapping() {
        let event = pb::QueueEvent {
            call: None,
            sequence: 42,
            kind: pb::QueueEventKind::StatusChanged.into(),
            event_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            ticket: Some(pb::Ticket { id: 7, subject: "Hi".into(), ..Default::default() }),
            log: None,
            removed: false,
        };
        let v: serde_json::Value = serde_json::from_slice(&json(&event).unwrap()).unwrap();
        assert_eq!(v["sequence"], "42");
        assert_eq!(v["kind"], "QUEUE_EVENT_KIND_STATUS_CHANGED");
        assert_eq!(v["eventTime"], "2027-01-15T08:00:00Z");
        assert_eq!(v["ticket"]["subject"], "Hi");
    }
}
