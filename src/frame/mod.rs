//! HTTP/2 frames (RFC 9113 §4 and §6): typed frames, decoding from a read
//! buffer and encoding into a write buffer. Pure: no I/O.
//!
//! One file per frame type, each with a `load(head, payload)` that checks
//! exactly what RFC 9113 says about that frame and an `encode`; `head.rs`
//! holds the 9-byte header, padding and the write fast paths
//! (`encode_data_head`, `encode_header_block`, public with the `unstable` feature); `error.rs` the error
//! codes and the connection/stream scope of each malformation. Cutting a
//! byte stream into frames (the tokio-util `FrameCodec`) is the business of
//! [`crate::transport`].
//!
//! Decoding never copies a payload: the frame is split off the read buffer
//! and DATA payloads and field block fragments are `Bytes` slices of it.
//! Checks that need connection state (which stream may send what, whether a
//! CONTINUATION is expected) belong to `proto`.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use h2actor::frame::{Data, Frame, StreamId, DEFAULT_MAX_FRAME_SIZE};
//!
//! let mut wire = BytesMut::new();
//! Frame::Data(Data {
//!     stream_id: StreamId(1),
//!     data: Bytes::from_static(b"hello"),
//!     end_stream: true,
//!     pad_len: Some(3),
//! })
//! .encode(&mut wire);
//!
//! // Incomplete input: nothing yet, nothing consumed.
//! let mut part = BytesMut::from(&wire[..10]);
//! assert_eq!(Frame::decode(&mut part, DEFAULT_MAX_FRAME_SIZE), Ok(None));
//!
//! match Frame::decode(&mut wire, DEFAULT_MAX_FRAME_SIZE) {
//!     Ok(Some(Frame::Data(d))) => {
//!         assert_eq!(&d.data[..], b"hello"); // padding stripped
//!         assert_eq!(d.flow_len(), 5 + 1 + 3); // §6.9: padding counts
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
#![warn(missing_docs)]

use bytes::{Buf, BytesMut};

mod continuation;
mod data;
mod error;
mod goaway;
mod head;
mod headers;
mod ping;
mod priority;
mod priority_update;
mod push_promise;
mod rst_stream;
mod settings;
mod unknown;
mod window_update;

pub use continuation::Continuation;
pub use data::Data;
pub use error::{Error, ErrorCode};
pub use goaway::GoAway;
pub use head::FrameHead;
#[cfg(feature = "unstable")]
pub use head::{encode_data_head, encode_header_block, encode_header_block_with, BlockStart};
#[cfg(not(feature = "unstable"))]
pub(crate) use head::{encode_data_head, encode_header_block_with, BlockStart};
pub use headers::Headers;
pub use ping::Ping;
pub use priority::{Priority, PrioritySpec};
pub use priority_update::PriorityUpdate;
pub use push_promise::PushPromise;
pub use rst_stream::RstStream;
pub use settings::{setting_id, Setting, Settings};
pub use unknown::Unknown;
pub use window_update::WindowUpdate;

/// The client connection preface, RFC 9113 §3.4.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Length of the frame header, RFC 9113 §4.1.
pub const HEADER_LEN: usize = 9;
/// Default and minimum SETTINGS_MAX_FRAME_SIZE, RFC 9113 §6.5.2.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// Largest legal SETTINGS_MAX_FRAME_SIZE, RFC 9113 §6.5.2.
pub const MAX_MAX_FRAME_SIZE: u32 = 16_777_215;
/// Largest flow-control window, RFC 9113 §6.9.1.
pub const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;
/// Default initial window size, RFC 9113 §6.5.2.
pub const DEFAULT_INITIAL_WINDOW_SIZE: u32 = 65_535;

/// A stream identifier (31 bits; the reserved bit is masked on decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId(pub u32);

impl StreamId {
    /// Stream 0, the connection itself.
    pub const ZERO: StreamId = StreamId(0);
    /// Largest stream id.
    pub const MAX: StreamId = StreamId(MAX_WINDOW_SIZE);
    /// True for stream 0.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// Odd ids are client-initiated (RFC 9113 §5.1.1).
    pub fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }
    /// Even non-zero ids are server-initiated.
    pub fn is_server_initiated(self) -> bool {
        self.0 != 0 && self.0 % 2 == 0
    }
}

impl From<u32> for StreamId {
    fn from(v: u32) -> Self {
        StreamId(v & MAX_WINDOW_SIZE)
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Frame type codes, RFC 9113 §6.
pub mod kind {
    /// DATA, §6.1.
    pub const DATA: u8 = 0x0;
    /// HEADERS, §6.2.
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY, §6.3.
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM, §6.4.
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS, §6.5.
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE, §6.6.
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING, §6.7.
    pub const PING: u8 = 0x6;
    /// GOAWAY, §6.8.
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE, §6.9.
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION, §6.10.
    pub const CONTINUATION: u8 = 0x9;
    /// PRIORITY_UPDATE, RFC 9218 §7.1.
    pub const PRIORITY_UPDATE: u8 = 0x10;
}

/// Frame flags, RFC 9113 §6.
pub mod flags {
    /// DATA, HEADERS: the last frame the sender sends on the stream.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends here.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: Pad Length and padding present.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: priority fields present.
    pub const PRIORITY: u8 = 0x20;
}

/// Any HTTP/2 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is its frame type
pub enum Frame {
    Data(Data),
    Headers(Headers),
    Priority(Priority),
    RstStream(RstStream),
    Settings(Settings),
    PushPromise(PushPromise),
    Ping(Ping),
    GoAway(GoAway),
    WindowUpdate(WindowUpdate),
    Continuation(Continuation),
    PriorityUpdate(PriorityUpdate),
    Unknown(Unknown),
}

impl Frame {
    /// Decodes one frame from the front of `src`.
    ///
    /// `Ok(None)` while the frame is incomplete (nothing consumed). On success
    /// the frame's bytes are split off `src` (DATA and field block payloads are
    /// `Bytes` slices of it, never copied) and padding is stripped. A frame
    /// longer than `max_frame_size` (our SETTINGS_MAX_FRAME_SIZE) is a
    /// connection error FRAME_SIZE_ERROR. On `Err(Error::Stream{..})` the
    /// frame's bytes have been consumed so the caller can go on.
    pub fn decode(src: &mut BytesMut, max_frame_size: u32) -> Result<Option<Frame>, Error> {
        let Some(head) = peek(src) else {
            return Ok(None);
        };
        // §4.2: larger than our SETTINGS_MAX_FRAME_SIZE. Detected from the
        // header alone, before buffering the payload.
        if head.length > max_frame_size {
            return Err(Error::frame_size(
                "frame larger than SETTINGS_MAX_FRAME_SIZE",
            ));
        }
        let total = HEADER_LEN + head.length as usize;
        if src.len() < total {
            return Ok(None);
        }
        let mut frame = src.split_to(total);
        frame.advance(HEADER_LEN);
        Frame::load(head, frame.freeze()).map(Some)
    }

    /// Validates and parses a payload whose header has been read: the
    /// per-type checks of RFC 9113 §6 (the frame size limit is the caller's).
    pub fn load(head: FrameHead, payload: bytes::Bytes) -> Result<Frame, Error> {
        Ok(match head.kind {
            kind::DATA => Frame::Data(Data::load(head, payload)?),
            kind::HEADERS => Frame::Headers(Headers::load(head, payload)?),
            kind::PRIORITY => Frame::Priority(Priority::load(head, &payload)?),
            kind::RST_STREAM => Frame::RstStream(RstStream::load(head, &payload)?),
            kind::SETTINGS => Frame::Settings(Settings::load(head, &payload)?),
            kind::PUSH_PROMISE => Frame::PushPromise(PushPromise::load(head, payload)?),
            kind::PING => Frame::Ping(Ping::load(head, &payload)?),
            kind::GOAWAY => Frame::GoAway(GoAway::load(head, payload)?),
            kind::WINDOW_UPDATE => Frame::WindowUpdate(WindowUpdate::load(head, &payload)?),
            kind::CONTINUATION => Frame::Continuation(Continuation::load(head, payload)?),
            kind::PRIORITY_UPDATE => Frame::PriorityUpdate(PriorityUpdate::load(head, payload)?),
            _ => Frame::Unknown(Unknown::load(head, payload)),
        })
    }

    /// Appends the encoded frame to `dst` (padding as given by `pad_len`).
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Frame::Data(f) => f.encode(dst),
            Frame::Headers(f) => f.encode(dst),
            Frame::Priority(f) => f.encode(dst),
            Frame::RstStream(f) => f.encode(dst),
            Frame::Settings(f) => f.encode(dst),
            Frame::PushPromise(f) => f.encode(dst),
            Frame::Ping(f) => f.encode(dst),
            Frame::GoAway(f) => f.encode(dst),
            Frame::WindowUpdate(f) => f.encode(dst),
            Frame::Continuation(f) => f.encode(dst),
            Frame::PriorityUpdate(f) => f.encode(dst),
            Frame::Unknown(f) => f.encode(dst),
        }
    }

    /// The stream the frame is on (0 for connection-level frames).
    pub fn stream_id(&self) -> StreamId {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Continuation(f) => f.stream_id,
            Frame::Unknown(f) => f.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) | Frame::PriorityUpdate(_) => {
                StreamId::ZERO
            }
        }
    }
}

/// The header at the front of `src`, if all 9 bytes are there.
#[cfg(feature = "unstable")]
pub fn peek_head(src: &[u8]) -> Option<FrameHead> {
    peek(src)
}

/// See [`peek_head`] (public with the `unstable` feature).
pub(crate) fn peek(src: &[u8]) -> Option<FrameHead> {
    let b: &[u8; HEADER_LEN] = src.get(..HEADER_LEN)?.try_into().ok()?;
    Some(FrameHead::parse(b))
}

macro_rules! from_frame {
    ($($t:ident),*) => {$(
        impl From<$t> for Frame {
            fn from(f: $t) -> Frame {
                Frame::$t(f)
            }
        }
    )*};
}
from_frame!(
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    PriorityUpdate,
    Unknown
);
