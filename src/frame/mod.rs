//! HTTP/2 frames (RFC 9113 §4 and §6): typed frames, decoding from a read
//! buffer and encoding into a write buffer. Pure: no I/O.
//!
//! CONTRACT (skeleton written first so that `hpack`, `proto` and `actor` can be
//! built in parallel): the public names and signatures below are what the other
//! layers use. Implementations may add items, split files (one file per frame
//! type), but must not change these signatures without updating every user.

use bytes::{Bytes, BytesMut};

mod codec;
pub use codec::{CodecError, FrameCodec};

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

/// An HTTP/2 error code (RFC 9113 §7). Unknown codes are preserved.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The RFC's name for a known code, `None` for an unknown one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "NO_ERROR",
            0x1 => "PROTOCOL_ERROR",
            0x2 => "INTERNAL_ERROR",
            0x3 => "FLOW_CONTROL_ERROR",
            0x4 => "SETTINGS_TIMEOUT",
            0x5 => "STREAM_CLOSED",
            0x6 => "FRAME_SIZE_ERROR",
            0x7 => "REFUSED_STREAM",
            0x8 => "CANCEL",
            0x9 => "COMPRESSION_ERROR",
            0xa => "CONNECT_ERROR",
            0xb => "ENHANCE_YOUR_CALM",
            0xc => "INADEQUATE_SECURITY",
            0xd => "HTTP_1_1_REQUIRED",
            _ => return None,
        })
    }
}

impl std::fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ErrorCode({:#x})", self.0),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A malformed frame, mapped to the error RFC 9113 names and its scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A connection error (RFC 9113 §5.4.1): answer with GOAWAY(code) and close.
    #[error("connection error {code}: {reason}")]
    Connection { code: ErrorCode, reason: &'static str },
    /// A stream error (RFC 9113 §5.4.2): answer with RST_STREAM(code); the
    /// frame's bytes have been consumed and the connection goes on.
    #[error("stream {stream_id} error {code}: {reason}")]
    Stream {
        stream_id: StreamId,
        code: ErrorCode,
        reason: &'static str,
    },
}

impl Error {
    /// The RFC error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Connection { code, .. } | Error::Stream { code, .. } => *code,
        }
    }
}

/// Frame type codes, RFC 9113 §6.
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags, RFC 9113 §6.
pub mod flags {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-byte frame header, RFC 9113 §4.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub length: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream_id: StreamId,
}

/// Priority fields (RFC 9113 §5.3.2 / §6.3); parsed and ignored by the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrioritySpec {
    pub dependency: StreamId,
    pub exclusive: bool,
    /// Weight as on the wire (0..=255 meaning 1..=256).
    pub weight: u8,
}

/// DATA, RFC 9113 §6.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    pub stream_id: StreamId,
    /// The payload without padding: a slice of the read buffer (never copied).
    pub data: Bytes,
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
}

/// HEADERS, RFC 9113 §6.2. Carries a field block fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub stream_id: StreamId,
    pub block: Bytes,
    pub end_stream: bool,
    pub end_headers: bool,
    pub priority: Option<PrioritySpec>,
    pub pad_len: Option<u8>,
}

/// PRIORITY, RFC 9113 §6.3 (deprecated; parsed and ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub stream_id: StreamId,
    pub spec: PrioritySpec,
}

/// RST_STREAM, RFC 9113 §6.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstStream {
    pub stream_id: StreamId,
    pub error_code: ErrorCode,
}

/// One known SETTINGS parameter, RFC 9113 §6.5.2 (+ RFC 8441 §3, RFC 9218 §2.1).
/// Unknown identifiers are dropped on decode, as §6.5.2 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    HeaderTableSize(u32),
    EnablePush(bool),
    MaxConcurrentStreams(u32),
    InitialWindowSize(u32),
    MaxFrameSize(u32),
    MaxHeaderListSize(u32),
    EnableConnectProtocol(bool),
    NoRfc7540Priorities(bool),
}

/// SETTINGS, RFC 9113 §6.5. Parameters in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub ack: bool,
    pub params: Vec<Setting>,
}

/// PUSH_PROMISE, RFC 9113 §6.6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPromise {
    pub stream_id: StreamId,
    pub promised_id: StreamId,
    pub block: Bytes,
    pub end_headers: bool,
    pub pad_len: Option<u8>,
}

/// PING, RFC 9113 §6.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping {
    pub ack: bool,
    pub payload: [u8; 8],
}

/// GOAWAY, RFC 9113 §6.8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAway {
    pub last_stream_id: StreamId,
    pub error_code: ErrorCode,
    pub debug_data: Bytes,
}

/// WINDOW_UPDATE, RFC 9113 §6.9. `stream_id` 0 means the connection window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUpdate {
    pub stream_id: StreamId,
    pub increment: u32,
}

/// CONTINUATION, RFC 9113 §6.10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub stream_id: StreamId,
    pub block: Bytes,
    pub end_headers: bool,
}

/// A frame of a type this crate does not know; RFC 9113 §4.1 says to ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub kind: u8,
    pub flags: u8,
    pub stream_id: StreamId,
    pub payload: Bytes,
}

/// Any HTTP/2 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        let _ = (src, max_frame_size);
        todo!("frame decode")
    }

    /// Appends the encoded frame to `dst` (padding as given by `pad_len`).
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frame encode")
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
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => StreamId::ZERO,
        }
    }
}
