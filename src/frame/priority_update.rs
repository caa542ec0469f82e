//! PRIORITY_UPDATE (RFC 9218 §7.1): type 0x10, on stream 0, carrying the
//! prioritized stream's id and a `priority` field value (the Structured
//! Fields text of §4, parsed by [`crate::priority::Priority::parse`]).

use bytes::{BufMut, Bytes, BytesMut};

use super::{kind, Error, FrameHead, StreamId, MAX_WINDOW_SIZE};

/// PRIORITY_UPDATE, RFC 9218 §7.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityUpdate {
    /// The stream whose priority changes (31 bits, reserved bit masked;
    /// never 0 once loaded).
    pub prioritized: StreamId,
    /// The Priority Field Value: ASCII text in the syntax of the
    /// `priority` header field (RFC 9218 §4), unparsed.
    pub field: Bytes,
}

impl PriorityUpdate {
    /// Validates and parses a PRIORITY_UPDATE payload (RFC 9218 §7.1):
    /// a stream id other than 0 or a prioritized stream id of 0 is a
    /// connection error PROTOCOL_ERROR; a payload shorter than the 4-byte
    /// id is a connection error FRAME_SIZE_ERROR.
    pub fn load(head: FrameHead, payload: Bytes) -> Result<PriorityUpdate, Error> {
        if !head.stream_id.is_zero() {
            return Err(Error::protocol(
                "PRIORITY_UPDATE on a stream other than 0 (RFC 9218 §7.1)",
            ));
        }
        let Some(b) = payload.get(..4) else {
            return Err(Error::frame_size(
                "PRIORITY_UPDATE shorter than 4 bytes (RFC 9218 §7.1)",
            ));
        };
        let id = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & MAX_WINDOW_SIZE;
        if id == 0 {
            return Err(Error::protocol(
                "PRIORITY_UPDATE for stream 0 (RFC 9218 §7.1)",
            ));
        }
        Ok(PriorityUpdate {
            prioritized: StreamId(id),
            field: payload.slice(4..),
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = 4 + self.field.len() as u32;
        FrameHead::new(kind::PRIORITY_UPDATE, 0, StreamId::ZERO, len).encode(dst);
        dst.put_u32(self.prioritized.0 & MAX_WINDOW_SIZE);
        dst.put_slice(&self.field);
    }
}
