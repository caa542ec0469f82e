//! GOAWAY (RFC 9113 §6.8).

use bytes::{BufMut, Bytes, BytesMut};

use super::{kind, Error, ErrorCode, FrameHead, StreamId};

/// GOAWAY, RFC 9113 §6.8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAway {
    /// The last peer-initiated stream the sender may have processed.
    pub last_stream_id: StreamId,
    /// Why (unknown codes preserved, §7).
    pub error_code: ErrorCode,
    /// Opaque diagnostics (a slice of the read buffer).
    pub debug_data: Bytes,
}

impl GoAway {
    /// Validates and parses a GOAWAY payload (§6.8).
    pub fn load(head: FrameHead, mut payload: Bytes) -> Result<GoAway, Error> {
        if !head.stream_id.is_zero() {
            return Err(Error::protocol("GOAWAY on a stream other than 0"));
        }
        if payload.len() < 8 {
            // §4.2: too small to contain mandatory frame data.
            return Err(Error::frame_size("GOAWAY shorter than 8"));
        }
        let fixed = payload.split_to(8);
        let last = u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
        let code = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        Ok(GoAway {
            last_stream_id: StreamId::from(last),
            error_code: ErrorCode(code),
            debug_data: payload,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = 8 + self.debug_data.len() as u32;
        FrameHead::new(kind::GOAWAY, 0, StreamId::ZERO, len).encode(dst);
        dst.put_u32(self.last_stream_id.0 & StreamId::MAX.0);
        dst.put_u32(self.error_code.0);
        dst.put_slice(&self.debug_data);
    }
}
