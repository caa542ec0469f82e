//! Frame-layer errors: a malformation mapped to the RFC 9113 error code and
//! its scope (§5.4.1 connection error, §5.4.2 stream error), and the error
//! codes themselves (§7).

use super::StreamId;

/// An HTTP/2 error code (RFC 9113 §7). Unknown codes are preserved.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

#[allow(missing_docs)] // the names are the RFC's (§7)
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
    Connection {
        /// The RFC error code to send in GOAWAY.
        code: ErrorCode,
        /// What was wrong, for logs.
        reason: &'static str,
    },
    /// A stream error (RFC 9113 §5.4.2): answer with RST_STREAM(code); the
    /// frame's bytes have been consumed and the connection goes on.
    #[error("stream {stream_id} error {code}: {reason}")]
    Stream {
        /// The stream to reset.
        stream_id: StreamId,
        /// The RFC error code to send in RST_STREAM.
        code: ErrorCode,
        /// What was wrong, for logs.
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

    /// True for a connection error (§5.4.1).
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    /// A connection error with `code`.
    pub(crate) fn conn(code: ErrorCode, reason: &'static str) -> Error {
        Error::Connection { code, reason }
    }

    /// A connection error PROTOCOL_ERROR.
    pub(crate) fn protocol(reason: &'static str) -> Error {
        Error::conn(ErrorCode::PROTOCOL_ERROR, reason)
    }

    /// A connection error FRAME_SIZE_ERROR.
    pub(crate) fn frame_size(reason: &'static str) -> Error {
        Error::conn(ErrorCode::FRAME_SIZE_ERROR, reason)
    }

    /// A stream error with `code` on `stream_id`.
    pub(crate) fn stream(stream_id: StreamId, code: ErrorCode, reason: &'static str) -> Error {
        Error::Stream {
            stream_id,
            code,
            reason,
        }
    }
}
