//! The protobuf codec of every generated service: prost's, except that a message that
//! does not decode is `INVALID_ARGUMENT` (the caller sent bad bytes) instead of tonic's
//! `INTERNAL`, so that nothing a caller sends yields `INTERNAL`. A WatchQueue stream
//! encodes into a small buffer: the buffer lives as long as the stream, for hours, and
//! its frames are a few hundred bytes (8 KiB each would be 80 MiB for 10,000 streams).

use std::any::TypeId;
use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstDecoder, ProstEncoder};

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
    type Encoder = ProstEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(encode_buffer::<T>())
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
