//! RST_STREAM (RFC 9113 §6.4).

use bytes::{BufMut, Bytes, BytesMut};

use super::{kind, Error, ErrorCode, FrameHead, StreamId};

/// RST_STREAM, RFC 9113 §6.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstStream {
    /// The stream reset.
    pub stream_id: StreamId,
    /// Why (unknown codes preserved, §7).
    pub error_code: ErrorCode,
}

impl RstStream {
    /// Validates and parses a RST_STREAM payload (§6.4).
    pub fn load(head: FrameHead, payload: &Bytes) -> Result<RstStream, Error> {
        if head.stream_id.is_zero() {
            return Err(Error::protocol("RST_STREAM on stream 0"));
        }
        let Ok(code) = <[u8; 4]>::try_from(&payload[..]) else {
            return Err(Error::frame_size("RST_STREAM length not 4"));
        };
        Ok(RstStream {
            stream_id: head.stream_id,
            error_code: ErrorCode(u32::from_be_bytes(code)),
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        FrameHead::new(kind::RST_STREAM, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.error_code.0);
    }
}
