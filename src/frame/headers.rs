//! HEADERS (RFC 9113 §6.2): a field block fragment, with optional padding
//! and deprecated priority fields (both stripped/parsed on decode).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{pad_overhead, put_padding, strip_padding};
use super::{flags, kind, Error, FrameHead, PrioritySpec, StreamId};

/// HEADERS, RFC 9113 §6.2. Carries a field block fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// The stream (never 0).
    pub stream_id: StreamId,
    /// The field block fragment (a slice of the read buffer, no padding).
    pub block: Bytes,
    /// The END_STREAM flag.
    pub end_stream: bool,
    /// The END_HEADERS flag: no CONTINUATION follows.
    pub end_headers: bool,
    /// Priority fields, present with the PRIORITY flag.
    pub priority: Option<PrioritySpec>,
    /// Padding, as for [`Data::pad_len`](super::Data::pad_len).
    pub pad_len: Option<u8>,
}

impl Headers {
    /// Validates and parses a HEADERS payload (§6.2).
    pub fn load(head: FrameHead, mut payload: Bytes) -> Result<Headers, Error> {
        if head.stream_id.is_zero() {
            return Err(Error::protocol("HEADERS on stream 0"));
        }
        let prio_len = if head.has(flags::PRIORITY) { 5 } else { 0 };
        let pad_len = if head.has(flags::PADDED) {
            Some(strip_padding(&mut payload, prio_len)?)
        } else {
            None
        };
        let priority = if prio_len > 0 {
            if payload.len() < 5 {
                // §4.2: too small to contain mandatory frame data; a field
                // block frame, so a connection error.
                return Err(Error::frame_size("HEADERS too short for its priority"));
            }
            let p = PrioritySpec::parse(&payload[..5]);
            bytes::Buf::advance(&mut payload, 5);
            Some(p)
        } else {
            None
        };
        Ok(Headers {
            stream_id: head.stream_id,
            block: payload,
            end_stream: head.has(flags::END_STREAM),
            end_headers: head.has(flags::END_HEADERS),
            priority,
            pad_len,
        })
    }

    /// Appends the frame as it is (one frame: the caller keeps `block`
    /// within the peer's max frame size; see
    /// `encode_header_block` to split).
    pub fn encode(&self, dst: &mut BytesMut) {
        let (padded, extra) = pad_overhead(self.pad_len);
        let mut f = padded;
        if self.end_stream {
            f |= flags::END_STREAM;
        }
        if self.end_headers {
            f |= flags::END_HEADERS;
        }
        let prio = if self.priority.is_some() {
            f |= flags::PRIORITY;
            5
        } else {
            0
        };
        let len = self.block.len() as u32 + extra + prio;
        dst.reserve(super::HEADER_LEN + len as usize);
        FrameHead::new(kind::HEADERS, f, self.stream_id, len).encode(dst);
        if let Some(n) = self.pad_len {
            dst.put_u8(n);
        }
        if let Some(p) = &self.priority {
            p.encode(dst);
        }
        dst.put_slice(&self.block);
        put_padding(dst, self.pad_len);
    }
}
