//! Frames of unknown type: RFC 9113 §4.1 and §5.5 say to ignore them, so
//! they are kept whole for the connection to drop (or for an extension).

use bytes::{BufMut, Bytes, BytesMut};

use super::{FrameHead, StreamId};

/// A frame of a type this crate does not know; RFC 9113 §4.1 says to ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The frame type.
    pub kind: u8,
    /// The flags byte.
    pub flags: u8,
    /// The stream id (reserved bit masked).
    pub stream_id: StreamId,
    /// The payload, a slice of the read buffer.
    pub payload: Bytes,
}

impl Unknown {
    /// Keeps the frame as it is: nothing to validate.
    pub fn load(head: FrameHead, payload: Bytes) -> Unknown {
        Unknown {
            kind: head.kind,
            flags: head.flags,
            stream_id: head.stream_id,
            payload,
        }
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = self.payload.len() as u32;
        FrameHead::new(self.kind, self.flags, self.stream_id, len).encode(dst);
        dst.put_slice(&self.payload);
    }
}
