//! WatchQueue's wire items. Every subscriber of an event sends the same bytes, so the
//! event is encoded once ([`crate::events::SharedEvent::wire`]) and each stream copies the
//! encoding into its HTTP/2 frame. Encoding a `WatchQueueResponse` per subscriber took a
//! quarter of the server's CPU with 1,000 subscribers (`bench watch`, BENCHMARKS.md).
//!
//! The generated server streams [`WatchFrame`] in place of `pb::WatchQueueResponse`
//! (build.rs maps the type); clients decode the same bytes as `pb::WatchQueueResponse`.

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::events::watch::WatchItem;
use crate::pb;

/// One `WatchQueueResponse`, already encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchFrame(Bytes);

impl WatchFrame {
    /// The encoded bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// Decodes the frame (for tests and logs; the server never needs to).
    pub fn decode_response(&self) -> Result<pb::WatchQueueResponse, DecodeError> {
        pb::WatchQueueResponse::decode(self.0.clone())
    }
}

impl From<pb::WatchQueueResponse> for WatchFrame {
    fn from(response: pb::WatchQueueResponse) -> Self {
        Self(response.encode_to_vec().into())
    }
}

impl From<WatchItem> for WatchFrame {
    fn from(item: WatchItem) -> Self {
        match item {
            WatchItem::Event(e, removed) => {
                Self(e.wire(removed, |event| pb::WatchQueueResponse::event(event, removed).encode_to_vec().into()))
            }
            other => pb::WatchQueueResponse::from(other).into(),
        }
    }
}

/// The frame is a message whose encoding is its bytes. The server only encodes frames;
/// decoding goes through `pb::WatchQueueResponse`, so a decoded frame is that message.
impl Message for WatchFrame {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let mut response = self.decode_response()?;
        response.merge_field(tag, wire_type, buf, ctx)?;
        *self = response.into();
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}
