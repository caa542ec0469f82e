//! The 9-byte frame header (RFC 9113 §4.1), padding (§6.1), and the fast
//! paths the protocol layer uses to write frames without building a
//! [`Frame`](super::Frame) first.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{flags, kind, Error, PrioritySpec, StreamId, HEADER_LEN, MAX_MAX_FRAME_SIZE};

/// The 9-byte frame header, RFC 9113 §4.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    /// Payload length (24 bits).
    pub length: u32,
    /// Frame type (see [`kind`]).
    pub kind: u8,
    /// Flags byte, as on the wire (unknown flags included).
    pub flags: u8,
    /// Stream id, reserved bit masked.
    pub stream_id: StreamId,
}

impl FrameHead {
    /// A header for a frame of `kind` with `flags` and `length` on `stream_id`.
    pub fn new(kind: u8, flags: u8, stream_id: StreamId, length: u32) -> FrameHead {
        FrameHead {
            length,
            kind,
            flags,
            stream_id,
        }
    }

    /// Parses the header from its 9 bytes. The reserved bit of the stream id
    /// is ignored, as §4.1 requires.
    pub fn parse(b: &[u8; HEADER_LEN]) -> FrameHead {
        FrameHead {
            length: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream_id: StreamId::from(u32::from_be_bytes([b[5], b[6], b[7], b[8]])),
        }
    }

    /// Appends the 9 header bytes to `dst` (reserved bit sent as 0).
    ///
    /// `length` must fit 24 bits (frames are never larger than
    /// [`MAX_MAX_FRAME_SIZE`]); higher bits are dropped.
    pub fn encode(&self, dst: &mut BytesMut) {
        debug_assert!(self.length <= MAX_MAX_FRAME_SIZE, "frame too long");
        let l = self.length.to_be_bytes();
        let id = (self.stream_id.0 & StreamId::MAX.0).to_be_bytes();
        dst.put_slice(&[
            l[1], l[2], l[3], self.kind, self.flags, id[0], id[1], id[2], id[3],
        ]);
    }

    /// True if `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// Appends a DATA frame header for a payload of `len` bytes (no padding).
/// The caller appends the `len` payload bytes right after; this is how the
/// protocol layer writes DATA without building a [`Data`](super::Data).
pub fn encode_data_head(dst: &mut BytesMut, stream_id: StreamId, len: u32, end_stream: bool) {
    let f = if end_stream { flags::END_STREAM } else { 0 };
    FrameHead::new(kind::DATA, f, stream_id, len).encode(dst);
}

/// What opens a field block, for [`encode_header_block`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockStart {
    /// A HEADERS frame (RFC 9113 §6.2).
    Headers {
        /// Sets END_STREAM on the HEADERS frame.
        end_stream: bool,
        /// Sets the PRIORITY flag and its 5 bytes.
        priority: Option<PrioritySpec>,
    },
    /// A PUSH_PROMISE frame (RFC 9113 §6.6) promising `promised_id`.
    PushPromise {
        /// The promised stream.
        promised_id: StreamId,
    },
}

impl BlockStart {
    /// A HEADERS frame without priority fields.
    pub const fn headers(end_stream: bool) -> BlockStart {
        BlockStart::Headers {
            end_stream,
            priority: None,
        }
    }

    /// What comes before the field block in the first frame's payload:
    /// the priority fields of a HEADERS (§6.2) or the promised stream id
    /// of a PUSH_PROMISE (§6.6).
    fn encode_prefix(&self, dst: &mut BytesMut) {
        match self {
            BlockStart::Headers {
                priority: Some(p), ..
            } => p.encode(dst),
            BlockStart::PushPromise { promised_id } => dst.put_u32(promised_id.0 & StreamId::MAX.0),
            BlockStart::Headers { priority: None, .. } => {}
        }
    }
}

/// Appends a whole encoded field block (RFC 9113 §4.3) as one HEADERS or
/// PUSH_PROMISE frame followed by as many CONTINUATION frames as needed so
/// that no frame payload exceeds `max_frame_size` (the peer's
/// SETTINGS_MAX_FRAME_SIZE). END_HEADERS is set on the last frame only; the
/// frames are contiguous in `dst`, as §6.10 requires. No padding.
///
/// `max_frame_size` is clamped to `8..=16_777_215` so that every frame
/// carries at least one byte of the block (real peers never advertise less
/// than 16,384; small values are for tests).
pub fn encode_header_block(
    dst: &mut BytesMut,
    stream_id: StreamId,
    start: BlockStart,
    block: &[u8],
    max_frame_size: u32,
) {
    let max = max_frame_size.clamp(8, MAX_MAX_FRAME_SIZE) as usize;
    let (kind, mut fl, prefix) = match start {
        BlockStart::Headers {
            end_stream,
            priority,
        } => {
            let mut fl = if end_stream { flags::END_STREAM } else { 0 };
            let p = if priority.is_some() {
                fl |= flags::PRIORITY;
                5
            } else {
                0
            };
            (kind::HEADERS, fl, p)
        }
        BlockStart::PushPromise { .. } => (kind::PUSH_PROMISE, 0, 4),
    };
    let first = block.len().min(max - prefix);
    let mut rest = &block[first..];
    if rest.is_empty() {
        fl |= flags::END_HEADERS;
    }
    // one reservation for every frame header of the block
    let frames = 1 + rest.len().div_ceil(max);
    dst.reserve(block.len() + prefix + frames * HEADER_LEN);
    FrameHead::new(kind, fl, stream_id, (prefix + first) as u32).encode(dst);
    start.encode_prefix(dst);
    dst.put_slice(&block[..first]);
    while !rest.is_empty() {
        let n = rest.len().min(max);
        let f = if n == rest.len() {
            flags::END_HEADERS
        } else {
            0
        };
        FrameHead::new(kind::CONTINUATION, f, stream_id, n as u32).encode(dst);
        dst.put_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

/// As [`encode_header_block`], with the block encoded by `encode` straight
/// into `dst`, after room for the frame header: the usual block (one frame)
/// is written where it ends up, with no intermediate buffer and no copy.
/// A block longer than `max_frame_size` is moved out and framed with
/// CONTINUATION as [`encode_header_block`] does (rare: a 16 KiB field block).
pub fn encode_header_block_with(
    dst: &mut BytesMut,
    stream_id: StreamId,
    start: BlockStart,
    max_frame_size: u32,
    encode: impl FnOnce(&mut BytesMut),
) {
    let max = max_frame_size.clamp(8, MAX_MAX_FRAME_SIZE) as usize;
    let (kind, mut fl) = match start {
        BlockStart::Headers {
            end_stream,
            priority,
        } => {
            let mut fl = if end_stream { flags::END_STREAM } else { 0 };
            if priority.is_some() {
                fl |= flags::PRIORITY;
            }
            (kind::HEADERS, fl)
        }
        BlockStart::PushPromise { .. } => (kind::PUSH_PROMISE, 0),
    };
    let at = dst.len();
    dst.put_bytes(0, HEADER_LEN);
    start.encode_prefix(dst);
    let block_at = dst.len();
    encode(dst);
    let payload = dst.len() - at - HEADER_LEN;
    if payload > max {
        let block = dst[block_at..].to_vec();
        dst.truncate(at);
        encode_header_block(dst, stream_id, start, &block, max_frame_size);
        return;
    }
    fl |= flags::END_HEADERS;
    let l = (payload as u32).to_be_bytes();
    let id = (stream_id.0 & StreamId::MAX.0).to_be_bytes();
    dst[at..at + HEADER_LEN]
        .copy_from_slice(&[l[1], l[2], l[3], kind, fl, id[0], id[1], id[2], id[3]]);
}

/// Strips the padding of a PADDED frame (§6.1, §6.2, §6.6): reads the Pad
/// Length byte, checks that the padding fits in what remains after
/// `fixed` more bytes of fields, and cuts it off the end.
///
/// Returns the pad length. A PADDED frame too short for its Pad Length field
/// is FRAME_SIZE_ERROR (§4.2, "too small to contain mandatory frame data");
/// padding as long as the payload or longer is PROTOCOL_ERROR (§6.1).
/// Both are connection errors (every padded frame type is DATA or carries a
/// field block, and §6.1/§6.2/§6.6 say connection error).
pub(crate) fn strip_padding(payload: &mut Bytes, fixed: usize) -> Result<u8, Error> {
    if payload.is_empty() {
        return Err(Error::frame_size("PADDED frame without a Pad Length field"));
    }
    let pad = payload.get_u8();
    if payload.len() < fixed {
        return Err(Error::frame_size("padded frame too short for its fields"));
    }
    if pad as usize + fixed > payload.len() {
        return Err(Error::protocol("padding length not less than the payload"));
    }
    payload.truncate(payload.len() - pad as usize);
    Ok(pad)
}

/// Appends `n` zero bytes of padding (§6.1: padding octets MUST be zero).
pub(crate) fn put_padding(dst: &mut BytesMut, n: Option<u8>) {
    if let Some(n) = n {
        dst.put_bytes(0, n as usize);
    }
}

/// The PADDED flag and the bytes Pad Length + padding add to a payload.
pub(crate) fn pad_overhead(pad_len: Option<u8>) -> (u8, u32) {
    match pad_len {
        Some(n) => (flags::PADDED, 1 + n as u32),
        None => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PrioritySpec;

    /// `encode_header_block_with` writes exactly what `encode_header_block`
    /// writes, in one frame and across CONTINUATION frames (§4.3, §6.10).
    #[test]
    fn encoding_in_place_writes_the_same_frames() {
        let starts = [
            BlockStart::Headers {
                end_stream: true,
                priority: None,
            },
            BlockStart::Headers {
                end_stream: false,
                priority: Some(PrioritySpec {
                    dependency: StreamId(1),
                    weight: 15,
                    exclusive: true,
                }),
            },
            BlockStart::PushPromise {
                promised_id: StreamId(2),
            },
        ];
        for start in starts {
            for len in [0usize, 1, 7, 8, 9, 20, 100, 16_384, 40_000] {
                let block: Vec<u8> = (0..len).map(|i| i as u8).collect();
                for max in [8u32, 9, 16, 100, 16_384] {
                    let mut want = BytesMut::from(&b"before"[..]);
                    encode_header_block(&mut want, StreamId(3), start, &block, max);
                    let mut got = BytesMut::from(&b"before"[..]);
                    encode_header_block_with(&mut got, StreamId(3), start, max, |dst| {
                        dst.extend_from_slice(&block)
                    });
                    assert!(want == got, "{start:?} len {len} max {max}");
                }
            }
        }
    }
}
