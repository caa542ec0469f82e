//! PUSH_PROMISE (RFC 9113 §6.6): the promised stream id and a field block
//! fragment, with optional padding.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::head::{pad_overhead, put_padding, strip_padding};
use super::{flags, kind, Error, FrameHead, StreamId};

/// PUSH_PROMISE, RFC 9113 §6.6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPromise {
    /// The associated (client-initiated) stream.
    pub stream_id: StreamId,
    /// The promised stream (reserved bit masked).
    pub promised_id: StreamId,
    /// The field block fragment (a slice of the read buffer, no padding).
    pub block: Bytes,
    /// The END_HEADERS flag.
    pub end_headers: bool,
    /// Padding, as for [`Data::pad_len`](super::Data::pad_len).
    pub pad_len: Option<u8>,
}

impl PushPromise {
    /// Validates and parses a PUSH_PROMISE payload (§6.6).
    pub fn load(head: FrameHead, mut payload: Bytes) -> Result<PushPromise, Error> {
        if head.stream_id.is_zero() {
            return Err(Error::protocol("PUSH_PROMISE on stream 0"));
        }
        let pad_len = if head.has(flags::PADDED) {
            Some(strip_padding(&mut payload, 4)?)
        } else {
            None
        };
        if payload.len() < 4 {
            // §4.2: too small for the Promised Stream ID; field block frame,
            // so a connection error.
            return Err(Error::frame_size("PUSH_PROMISE shorter than 4"));
        }
        let promised_id = StreamId::from(payload.get_u32());
        Ok(PushPromise {
            stream_id: head.stream_id,
            promised_id,
            block: payload,
            end_headers: head.has(flags::END_HEADERS),
            pad_len,
        })
    }

    /// Appends the frame as it is (one frame; see
    /// `encode_header_block` to split).
    pub fn encode(&self, dst: &mut BytesMut) {
        let (padded, extra) = pad_overhead(self.pad_len);
        let f = padded
            | if self.end_headers {
                flags::END_HEADERS
            } else {
                0
            };
        let len = self.block.len() as u32 + extra + 4;
        dst.reserve(super::HEADER_LEN + len as usize);
        FrameHead::new(kind::PUSH_PROMISE, f, self.stream_id, len).encode(dst);
        if let Some(n) = self.pad_len {
            dst.put_u8(n);
        }
        dst.put_u32(self.promised_id.0 & StreamId::MAX.0);
        dst.put_slice(&self.block);
        put_padding(dst, self.pad_len);
    }
}
