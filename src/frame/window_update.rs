//! WINDOW_UPDATE (RFC 9113 §6.9).

use bytes::{BufMut, Bytes, BytesMut};

use super::{kind, Error, ErrorCode, FrameHead, StreamId, MAX_WINDOW_SIZE};

/// WINDOW_UPDATE, RFC 9113 §6.9. `stream_id` 0 means the connection window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream whose window grows (0: the connection's).
    pub stream_id: StreamId,
    /// 1..=2^31-1 (reserved bit masked).
    pub increment: u32,
}

impl WindowUpdate {
    /// Validates and parses a WINDOW_UPDATE payload (§6.9).
    pub fn load(head: FrameHead, payload: &Bytes) -> Result<WindowUpdate, Error> {
        let Ok(b) = <[u8; 4]>::try_from(&payload[..]) else {
            // §6.9: connection error whatever the stream.
            return Err(Error::frame_size("WINDOW_UPDATE length not 4"));
        };
        let increment = u32::from_be_bytes(b) & MAX_WINDOW_SIZE;
        if increment == 0 {
            // §6.9: stream error on a stream, connection error on stream 0.
            let reason = "WINDOW_UPDATE increment of 0";
            return Err(if head.stream_id.is_zero() {
                Error::protocol(reason)
            } else {
                Error::stream(head.stream_id, ErrorCode::PROTOCOL_ERROR, reason)
            });
        }
        Ok(WindowUpdate {
            stream_id: head.stream_id,
            increment,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        FrameHead::new(kind::WINDOW_UPDATE, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.increment & MAX_WINDOW_SIZE);
    }
}
