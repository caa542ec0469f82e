//! PRIORITY (RFC 9113 §6.3) and the priority fields HEADERS may carry
//! (§6.2). RFC 9113 deprecates this scheme (§5.3.2): we parse and ignore it.

use bytes::{BufMut, Bytes, BytesMut};

use super::{kind, Error, ErrorCode, FrameHead, StreamId};

/// Priority fields (RFC 9113 §5.3.2 / §6.3); parsed and ignored by the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrioritySpec {
    /// The stream this one depends on (reserved/exclusive bit masked).
    pub dependency: StreamId,
    /// The E flag.
    pub exclusive: bool,
    /// Weight as on the wire (0..=255 meaning 1..=256).
    pub weight: u8,
}

impl PrioritySpec {
    /// Parses the 5 bytes Exclusive + Stream Dependency + Weight.
    pub(crate) fn parse(b: &[u8]) -> PrioritySpec {
        let dep = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        PrioritySpec {
            dependency: StreamId::from(dep),
            exclusive: dep & 0x8000_0000 != 0,
            weight: b[4],
        }
    }

    /// Appends the 5 bytes.
    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        let e = if self.exclusive { 0x8000_0000 } else { 0 };
        dst.put_u32(e | (self.dependency.0 & StreamId::MAX.0));
        dst.put_u8(self.weight);
    }
}

/// PRIORITY, RFC 9113 §6.3 (deprecated; parsed and ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    /// The stream whose priority is given.
    pub stream_id: StreamId,
    /// The priority fields.
    pub spec: PrioritySpec,
}

impl Priority {
    /// Validates and parses a PRIORITY payload (§6.3).
    pub fn load(head: FrameHead, payload: &Bytes) -> Result<Priority, Error> {
        if head.stream_id.is_zero() {
            return Err(Error::protocol("PRIORITY on stream 0"));
        }
        if payload.len() != 5 {
            // §6.3: a stream error, not a connection error.
            return Err(Error::stream(
                head.stream_id,
                ErrorCode::FRAME_SIZE_ERROR,
                "PRIORITY length not 5",
            ));
        }
        Ok(Priority {
            stream_id: head.stream_id,
            spec: PrioritySpec::parse(payload),
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        FrameHead::new(kind::PRIORITY, 0, self.stream_id, 5).encode(dst);
        self.spec.encode(dst);
    }
}
