//! DATA (RFC 9113 §6.1): the payload is a slice of the read buffer, never
//! copied; padding is stripped on decode.

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{pad_overhead, put_padding, strip_padding};
use super::{flags, kind, Error, FrameHead, StreamId};

/// DATA, RFC 9113 §6.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// The stream (never 0).
    pub stream_id: StreamId,
    /// The payload without padding: a slice of the read buffer (never copied).
    pub data: Bytes,
    /// The END_STREAM flag.
    pub end_stream: bool,
    /// On decode: `Some(n)` if the PADDED flag was set (n padding bytes).
    /// On encode: pad with n zero bytes.
    pub pad_len: Option<u8>,
}

impl Data {
    /// Bytes this frame counts against flow control (RFC 9113 §6.9: the whole
    /// payload, padding and pad length field included).
    pub fn flow_len(&self) -> u32 {
        self.data.len() as u32 + self.pad_len.map_or(0, |p| p as u32 + 1)
    }

    /// Validates and parses a DATA payload (§6.1).
    pub fn load(head: FrameHead, mut payload: Bytes) -> Result<Data, Error> {
        if head.stream_id.is_zero() {
            return Err(Error::protocol("DATA on stream 0"));
        }
        let pad_len = if head.has(flags::PADDED) {
            Some(strip_padding(&mut payload, 0)?)
        } else {
            None
        };
        Ok(Data {
            stream_id: head.stream_id,
            data: payload,
            end_stream: head.has(flags::END_STREAM),
            pad_len,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let (padded, extra) = pad_overhead(self.pad_len);
        let f = padded
            | if self.end_stream {
                flags::END_STREAM
            } else {
                0
            };
        let len = self.data.len() as u32 + extra;
        dst.reserve(super::HEADER_LEN + len as usize);
        FrameHead::new(kind::DATA, f, self.stream_id, len).encode(dst);
        if let Some(n) = self.pad_len {
            dst.put_u8(n);
        }
        dst.put_slice(&self.data);
        put_padding(dst, self.pad_len);
    }
}
