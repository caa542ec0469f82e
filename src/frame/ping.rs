//! PING (RFC 9113 §6.7).

use bytes::{BufMut, Bytes, BytesMut};

use super::{flags, kind, Error, FrameHead, StreamId};

/// PING, RFC 9113 §6.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping {
    /// The ACK flag: this is the answer to a PING.
    pub ack: bool,
    /// Opaque data, echoed in the answer.
    pub payload: [u8; 8],
}

impl Ping {
    /// Validates and parses a PING payload (§6.7).
    pub fn load(head: FrameHead, payload: &Bytes) -> Result<Ping, Error> {
        if !head.stream_id.is_zero() {
            return Err(Error::protocol("PING on a stream other than 0"));
        }
        let Ok(data) = <[u8; 8]>::try_from(&payload[..]) else {
            return Err(Error::frame_size("PING length not 8"));
        };
        Ok(Ping {
            ack: head.has(flags::ACK),
            payload: data,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.ack { flags::ACK } else { 0 };
        FrameHead::new(kind::PING, f, StreamId::ZERO, 8).encode(dst);
        dst.put_slice(&self.payload);
    }
}
