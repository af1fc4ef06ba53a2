//! The protobuf codec of every generated service: prost's, except that
//! - a message that does not decode is `INVALID_ARGUMENT` (the caller sent bad bytes)
//!   instead of tonic's `INTERNAL`, so that nothing a caller sends yields `INTERNAL`;
//! - a response is encoded into a plain byte slice first ([`SliceEncoder`]);
//! - a WatchQueue stream encodes into a small buffer: the buffer lives as long as the
//!   stream, for hours, and its frames are a few hundred bytes (8 KiB each would be
//!   80 MiB for 10,000 streams).

use std::any::TypeId;
use std::marker::PhantomData;

use bytes::BufMut;
use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic_prost::ProstDecoder;

use super::frame::WatchFrame;

/// prost encoding with strict decode-error mapping.
#[derive(Debug, Clone, Copy)]
pub struct StrictProstCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for StrictProstCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

/// Decodes with prost; a decode failure is the sender's fault.
#[derive(Debug)]
pub struct StrictDecoder<U>(ProstDecoder<U>);

impl<T, U> Codec for StrictProstCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = SliceEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        SliceEncoder { settings: encode_buffer::<T>(), scratch: Vec::new(), _item: PhantomData }
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder(ProstDecoder::new(BufferSettings::default()))
    }
}

/// The encode buffer of a response of `T`: tonic's default, or a small one that grows as
/// needed for a long-lived stream of small frames.
fn encode_buffer<T: 'static>() -> BufferSettings {
    if TypeId::of::<T>() == TypeId::of::<WatchFrame>() {
        BufferSettings::new(STREAM_BUFFER, YIELD_THRESHOLD)
    } else {
        BufferSettings::default()
    }
}

/// Encodes with prost into a byte slice of the message's length, then hands tonic the
/// bytes in one copy. prost writes a message a byte or a field at a time (each tag, each
/// varint); into tonic's buffer every one of those writes was a call that checks the
/// capacity and copies with `memcpy`, 41 instructions each, about 3,300 for a page of 31
/// tickets (`bench instructions --scenarios list-tickets`, BENCHMARKS.md item 26). Into a
/// slice they are stores.
#[derive(Debug)]
pub struct SliceEncoder<T> {
    settings: BufferSettings,
    /// Reused by a stream's messages.
    scratch: Vec<u8>,
    _item: PhantomData<T>,
}

impl<T: Message + 'static> Encoder for SliceEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // A frame is its bytes already: one copy straight into the buffer, and no scratch
        // kept for the hours a stream lives.
        if TypeId::of::<T>() == TypeId::of::<WatchFrame>() {
            return item.encode(buf).map_err(unencodable);
        }
        let len = item.encoded_len();
        self.scratch.clear();
        self.scratch.resize(len, 0);
        item.encode(&mut self.scratch.as_mut_slice()).map_err(unencodable)?;
        buf.put_slice(&self.scratch);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.settings
    }
}

/// prost fails to encode only into less room than the message's own `encoded_len`.
fn unencodable(e: prost::EncodeError) -> Status {
    Status::internal(format!("a response did not fit its own encoded length: {e}"))
}

/// Initial encode buffer of a WatchQueue stream, bytes.
const STREAM_BUFFER: usize = 512;
/// tonic's default: hand the transport what is encoded once it reaches 32 KiB.
const YIELD_THRESHOLD: usize = 32 * 1024;

impl<U: Message + Default> Decoder for StrictDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // ProstDecoder fails only when the bytes are not a valid message.
        self.0.decode(buf).map_err(|e| {
            Status::invalid_argument(format!("the message is not valid protobuf for this method: {}", e.message()))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
