//! `FrameCodec`: the tokio-util `Decoder`/`Encoder` over [`Frame`], with the
//! server's check of the client preface (RFC 9113 §3.4). The frame format
//! itself (and every check of it) is in [`crate::frame`]; this file only
//! cuts a read buffer into frames and writes frames into a write buffer.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{peek as peek_head, Error, Frame, DEFAULT_MAX_FRAME_SIZE, HEADER_LEN, PREFACE};

/// Codec failure that ends the connection: I/O, or a connection error
/// (including a bad client preface, PROTOCOL_ERROR, for a server codec).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The transport failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Always `Error::Connection`.
    #[error("{0}")]
    Frame(Error),
}

/// Frames over a byte stream. Items are `Ok(frame)` or a *stream*-scoped
/// malformation (`Err(Error::Stream{..})`, after which decoding goes on);
/// connection-scoped malformations are the `Decoder::Error`.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame_size: u32,
    expect_preface: bool,
}

impl FrameCodec {
    /// A codec that accepts frames up to `max_frame_size` bytes of payload.
    pub fn new(max_frame_size: u32) -> Self {
        FrameCodec {
            max_frame_size,
            expect_preface: false,
        }
    }
    /// A server codec: the first 24 bytes must be the client preface
    /// (RFC 9113 §3.4), otherwise a connection error PROTOCOL_ERROR.
    pub fn server(max_frame_size: u32) -> Self {
        FrameCodec {
            max_frame_size,
            expect_preface: true,
        }
    }
    /// Changes the accepted frame size (after our SETTINGS is acknowledged).
    pub fn set_max_frame_size(&mut self, n: u32) {
        self.max_frame_size = n;
    }
    /// The accepted frame size.
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl Decoder for FrameCodec {
    type Item = Result<Frame, Error>;
    type Error = CodecError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        if self.expect_preface {
            // §3.4: checked byte by byte as it arrives, so a peer that is
            // not speaking HTTP/2 is turned away at its first wrong byte.
            let n = src.len().min(PREFACE.len());
            if src[..n] != PREFACE[..n] {
                return Err(CodecError::Frame(Error::protocol(
                    "invalid client connection preface",
                )));
            }
            if n < PREFACE.len() {
                src.reserve(PREFACE.len() + HEADER_LEN - src.len());
                return Ok(None);
            }
            src.advance(PREFACE.len());
            self.expect_preface = false;
        }
        match Frame::decode(src, self.max_frame_size) {
            Ok(Some(frame)) => Ok(Some(Ok(frame))),
            Ok(None) => {
                // Make room for the rest of this frame (its length is known
                // once the header is in, and was checked against the limit)
                // or at least for the next header.
                let want = peek_head(src).map_or(HEADER_LEN, |h| HEADER_LEN + h.length as usize);
                src.reserve(want.saturating_sub(src.len()));
                Ok(None)
            }
            Err(e @ Error::Stream { .. }) => Ok(Some(Err(e))),
            Err(e) => Err(CodecError::Frame(e)),
        }
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = CodecError;
    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(dst);
        Ok(())
    }
}
