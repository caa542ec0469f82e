//! HPACK (RFC 7541): header compression contexts. One [`Encoder`] and one
//! [`Decoder`] per connection, owned by the connection's protocol state.
//!
//! CONTRACT (skeleton written first so the layers can be built in parallel):
//! the names and signatures below are what `proto` uses. Implementations may
//! add items and files but not change these signatures.
//!
//! Fields cross this layer as raw bytes ([`Field`], [`FieldRef`]) because
//! pseudo-headers (`:path`, ...) are not `http::HeaderName`s; `proto` turns
//! them into `http` types after the RFC 9113 §8 checks.

use bytes::{Bytes, BytesMut};

/// Default SETTINGS_HEADER_TABLE_SIZE, RFC 7541 §4.2 / RFC 9113 §6.5.2.
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// A decoded header field. `name` and `value` are slices of a buffer shared by
/// the whole block (no allocation per field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: Bytes,
    pub value: Bytes,
    /// Came as "never indexed" (RFC 7541 §6.2.3): re-encode it the same way.
    pub never_index: bool,
}

/// A field to encode, borrowed from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// Encode as "never indexed" (RFC 7541 §7.1.3). The encoder also does this
    /// by itself for `authorization`, `proxy-authorization` and short cookies.
    pub sensitive: bool,
}

/// Decoding failure. Every variant is a connection error COMPRESSION_ERROR
/// (RFC 9113 §4.3) except [`DecoderError::HeaderListTooLarge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecoderError {
    #[error("integer overflow")]
    IntegerOverflow,
    #[error("truncated header block")]
    Truncated,
    #[error("index {0} out of range")]
    InvalidIndex(usize),
    #[error("invalid huffman code (EOS, or padding longer than 7 bits or not all ones)")]
    InvalidHuffman,
    #[error("dynamic table size update {0} above the allowed maximum")]
    SizeUpdateTooLarge(usize),
    #[error("dynamic table size update after the start of the block")]
    SizeUpdateNotAtStart,
    #[error("expected a dynamic table size update at the start of the block")]
    SizeUpdateMissing,
    #[error("string length exceeds the remaining block")]
    StringTooLong,
    /// The decoded list passed the limit (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE,
    /// counted as in RFC 7541 §4.1: name + value + 32 per field). The block
    /// was still decoded to its end so the dynamic table stays in sync: the
    /// connection can go on; the stream is refused (RST_STREAM or a 431).
    #[error("header list larger than {0} bytes")]
    HeaderListTooLarge(usize),
}

/// The HPACK encoder context (RFC 7541 §2, §6).
#[derive(Debug)]
pub struct Encoder {
    _private: (),
}

impl Encoder {
    /// An encoder whose dynamic table holds at most `max_table_size` bytes
    /// (our own cap; the peer's SETTINGS_HEADER_TABLE_SIZE may lower it).
    pub fn new(max_table_size: usize) -> Self {
        let _ = max_table_size;
        Encoder { _private: () }
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: the next block starts
    /// with a dynamic table size update (RFC 7541 §4.2, §6.3) to
    /// `min(n, own cap)`.
    pub fn set_peer_max_table_size(&mut self, n: usize) {
        let _ = n;
        todo!("encoder size update")
    }

    /// Encodes one field block (all fields of one HEADERS/PUSH_PROMISE,
    /// before it is split into frames) and appends it to `dst`.
    pub fn encode<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: IntoIterator<Item = FieldRef<'a>>,
    {
        let _ = (fields.into_iter(), dst);
        todo!("encode")
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new(DEFAULT_TABLE_SIZE)
    }
}

/// The HPACK decoder context (RFC 7541 §3).
#[derive(Debug)]
pub struct Decoder {
    _private: (),
}

impl Decoder {
    /// A decoder; `max_table_size` is our advertised SETTINGS_HEADER_TABLE_SIZE
    /// (size updates above it are errors), `max_header_list_size` our
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub fn new(max_table_size: usize, max_header_list_size: usize) -> Self {
        let _ = (max_table_size, max_header_list_size);
        Decoder { _private: () }
    }

    /// Our SETTINGS_HEADER_TABLE_SIZE changed (and was acknowledged).
    pub fn set_max_table_size(&mut self, n: usize) {
        let _ = n;
        todo!()
    }

    /// Our SETTINGS_MAX_HEADER_LIST_SIZE changed.
    pub fn set_max_header_list_size(&mut self, n: usize) {
        let _ = n;
        todo!()
    }

    /// Decodes one complete field block, appending the fields in order to
    /// `out`. Never panics; see [`DecoderError`] for what is rejected.
    pub fn decode(&mut self, block: &[u8], out: &mut Vec<Field>) -> Result<(), DecoderError> {
        let _ = (block, out);
        todo!("decode")
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_TABLE_SIZE, usize::MAX)
    }
}
