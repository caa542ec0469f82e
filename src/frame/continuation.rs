//! CONTINUATION (RFC 9113 §6.10): more of a field block. Whether it may
//! come here (right after HEADERS/PUSH_PROMISE on the same stream) is the
//! protocol layer's check; the frame itself only needs a stream.

use bytes::{BufMut, Bytes, BytesMut};

use super::{flags, kind, Error, FrameHead, StreamId};

/// CONTINUATION, RFC 9113 §6.10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    /// The stream (never 0).
    pub stream_id: StreamId,
    /// The field block fragment (a slice of the read buffer).
    pub block: Bytes,
    /// The END_HEADERS flag.
    pub end_headers: bool,
}

impl Continuation {
    /// Validates and parses a CONTINUATION payload (§6.10).
    pub fn load(head: FrameHead, payload: Bytes) -> Result<Continuation, Error> {
        if head.stream_id.is_zero() {
            return Err(Error::protocol("CONTINUATION on stream 0"));
        }
        Ok(Continuation {
            stream_id: head.stream_id,
            block: payload,
            end_headers: head.has(flags::END_HEADERS),
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.end_headers {
            flags::END_HEADERS
        } else {
            0
        };
        let len = self.block.len() as u32;
        FrameHead::new(kind::CONTINUATION, f, self.stream_id, len).encode(dst);
        dst.put_slice(&self.block);
    }
}
