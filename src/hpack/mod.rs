//! HPACK (RFC 7541): header compression contexts. One [`Encoder`] and one
//! [`Decoder`] per connection, owned by the connection's protocol state.
//!
//! Fields cross this layer as raw bytes ([`Field`], [`FieldRef`]) because
//! pseudo-headers (`:path`, ...) are not `http::HeaderName`s; `proto` turns
//! them into `http` types after the RFC 9113 §8 checks.
//!
//! # Layout
//!
//! | file | owns |
//! |---|---|
//! | `integer.rs` | prefixed integers (§5.1), overflow and truncation checks |
//! | `huffman.rs` | the Huffman code (§5.2): encoding, table-driven decoding |
//! | `huffman_table.rs` | tables generated from the RFC text by `tools/gen_hpack_huffman.py` |
//! | `static_table.rs` | the static table (Appendix A) and the encoder's name look-up |
//! | `table.rs` | the decoder's dynamic table (§2.3.2, §4) |
//! | `decoder.rs` | field block decoding (§3, §6), size updates, list limit |
//! | `encoder.rs` | field block encoding, indexing and Huffman policies |
//!
//! # Table sizes on a connection
//!
//! - Decoder: create it with [`DEFAULT_TABLE_SIZE`] (the peer encodes with
//!   4096 until it has our SETTINGS) and call [`Decoder::set_max_table_size`]
//!   when our SETTINGS_HEADER_TABLE_SIZE is acknowledged. If that lowers the
//!   limit below the table's current maximum, the peer's next block must
//!   start with a size update (RFC 7541 §4.2), or decoding fails with
//!   [`DecoderError::SizeUpdateMissing`].
//! - Encoder: create it with our own cap and call
//!   [`Encoder::set_peer_max_table_size`] for every peer
//!   SETTINGS_HEADER_TABLE_SIZE; the size updates go at the start of the
//!   next block, the smallest value first if it went down and up again.

mod decoder;
mod encoder;
#[cfg(feature = "unstable")]
pub mod huffman;
#[cfg(not(feature = "unstable"))]
#[allow(dead_code)]
mod huffman;
#[allow(dead_code)] // EMIT is used by the tests only
mod huffman_table;
#[cfg(feature = "unstable")]
pub mod integer;
#[cfg(not(feature = "unstable"))]
#[allow(dead_code)]
mod integer;
#[cfg(feature = "unstable")]
pub mod static_table;
#[cfg(not(feature = "unstable"))]
#[allow(dead_code)]
mod static_table;
mod table;

pub use encoder::{Huffman, Indexing};
pub use table::ENTRY_OVERHEAD;

use bytes::{Bytes, BytesMut};

/// Default SETTINGS_HEADER_TABLE_SIZE, RFC 7541 §4.2 / RFC 9113 §6.5.2.
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// A decoded header field. `name` and `value` are slices of a buffer shared by
/// the whole block (no allocation per field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as sent (lowercase in HTTP/2, RFC 9113 §8.2.1; pseudo
    /// headers start with `:`); checked by `proto`, not here.
    pub name: Bytes,
    /// The field value, Huffman-decoded (RFC 7541 §5.2).
    pub value: Bytes,
    /// Came as "never indexed" (RFC 7541 §6.2.3): re-encode it the same way.
    pub never_index: bool,
}

impl Field {
    /// The field's size as RFC 7541 §4.1 counts it (name + value + 32), the
    /// unit of SETTINGS_HEADER_TABLE_SIZE and SETTINGS_MAX_HEADER_LIST_SIZE.
    pub fn size(&self) -> usize {
        table::entry_size(self.name.len(), self.value.len())
    }

    /// A field from static strings (tests, fixed headers).
    pub fn from_static(name: &'static str, value: &'static str) -> Self {
        Field {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
            never_index: false,
        }
    }

    /// The borrowed form, for re-encoding (keeps `never_index`).
    pub fn as_ref(&self) -> FieldRef<'_> {
        FieldRef {
            name: &self.name,
            value: &self.value,
            sensitive: self.never_index,
        }
    }
}

/// A field to encode, borrowed from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef<'a> {
    /// The field name; lowercase for HTTP/2 (RFC 9113 §8.2.1).
    pub name: &'a [u8],
    /// The field value, raw bytes (the encoder picks Huffman or not).
    pub value: &'a [u8],
    /// Encode as "never indexed" (RFC 7541 §7.1.3). The encoder also does this
    /// by itself for `authorization`, `proxy-authorization` and short cookies.
    pub sensitive: bool,
}

impl<'a> FieldRef<'a> {
    /// A non-sensitive field.
    pub fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        FieldRef {
            name,
            value,
            sensitive: false,
        }
    }

    /// A field to encode as "never indexed" (RFC 7541 §7.1.3).
    pub fn sensitive(name: &'a [u8], value: &'a [u8]) -> Self {
        FieldRef {
            name,
            value,
            sensitive: true,
        }
    }

    /// The field's size as RFC 7541 §4.1 counts it (name + value + 32).
    pub fn size(&self) -> usize {
        table::entry_size(self.name.len(), self.value.len())
    }
}

/// Decoding failure. Every variant is a connection error COMPRESSION_ERROR
/// (RFC 9113 §4.3) except [`DecoderError::HeaderListTooLarge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecoderError {
    /// An integer (RFC 7541 §5.1) above 2^32 - 1 or with too many
    /// continuation bytes.
    #[error("integer overflow")]
    IntegerOverflow,
    /// The block ends inside a representation.
    #[error("truncated header block")]
    Truncated,
    /// An index that is 0 or past the static plus dynamic table (RFC 7541
    /// §2.3.3).
    #[error("index {0} out of range")]
    InvalidIndex(usize),
    /// A Huffman string with the EOS symbol, or padding longer than 7 bits or
    /// not all ones (RFC 7541 §5.2).
    #[error("invalid huffman code (EOS, or padding longer than 7 bits or not all ones)")]
    InvalidHuffman,
    /// A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE
    /// (RFC 7541 §6.3).
    #[error("dynamic table size update {0} above the allowed maximum")]
    SizeUpdateTooLarge(usize),
    /// A dynamic table size update after the first field of the block (RFC
    /// 7541 §4.2).
    #[error("dynamic table size update after the start of the block")]
    SizeUpdateNotAtStart,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE and the peer's next block did
    /// not start with a size update acknowledging it (RFC 7541 §4.2).
    #[error("expected a dynamic table size update at the start of the block")]
    SizeUpdateMissing,
    /// A string literal's length (RFC 7541 §5.2) runs past the block's end.
    #[error("string length exceeds the remaining block")]
    StringTooLong,
    /// The decoded list passed the limit (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE,
    /// counted as in RFC 7541 §4.1: name + value + 32 per field). The block
    /// was still decoded to its end so the dynamic table stays in sync: the
    /// connection can go on; the stream is refused (RST_STREAM or a 431).
    #[error("header list larger than {0} bytes")]
    HeaderListTooLarge(usize),
}

impl DecoderError {
    /// Whether this is a connection error of type COMPRESSION_ERROR (RFC 9113
    /// §4.3): every variant but [`DecoderError::HeaderListTooLarge`], after
    /// which the dynamic table is still in sync and only the stream fails.
    pub fn is_compression_error(&self) -> bool {
        !matches!(self, DecoderError::HeaderListTooLarge(_))
    }
}

/// The HPACK encoder context (RFC 7541 §2, §6).
#[derive(Debug)]
pub struct Encoder {
    state: encoder::EncoderState,
}

impl Encoder {
    /// An encoder whose dynamic table holds at most `max_table_size` bytes
    /// (our own cap; the peer's SETTINGS_HEADER_TABLE_SIZE may lower it).
    pub fn new(max_table_size: usize) -> Self {
        Encoder {
            state: encoder::EncoderState::new(max_table_size),
        }
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: the next block starts
    /// with a dynamic table size update (RFC 7541 §4.2, §6.3) to
    /// `min(n, own cap)`.
    pub fn set_peer_max_table_size(&mut self, n: usize) {
        self.peer_size_changed(n)
    }

    /// Encodes one field block (all fields of one HEADERS/PUSH_PROMISE,
    /// before it is split into frames) and appends it to `dst`.
    pub fn encode<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: IntoIterator<Item = FieldRef<'a>>,
    {
        self.encode_block(fields, dst)
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
    table: table::DynamicTable,
    /// Our SETTINGS_HEADER_TABLE_SIZE: the most a size update may ask for.
    max_table_size: usize,
    /// The smallest value of our setting since the last block: when it is
    /// below the table's maximum, the next block must start with a size
    /// update (RFC 7541 §4.2).
    min_setting: usize,
    max_header_list_size: usize,
    /// String buffer, kept between blocks to reuse its memory.
    buf: BytesMut,
    /// Least capacity of a new string buffer (see [`Decoder::set_min_chunk`]).
    min_chunk: usize,
}

impl Decoder {
    /// A decoder; `max_table_size` is our advertised SETTINGS_HEADER_TABLE_SIZE
    /// (size updates above it are errors), `max_header_list_size` our
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub fn new(max_table_size: usize, max_header_list_size: usize) -> Self {
        Decoder {
            // The table starts at `max_table_size`, as if both sides had
            // agreed on it (RFC 7541 Appendix C does so). On a new
            // connection the peer starts from the default 4096 until it has
            // our SETTINGS: create the decoder with DEFAULT_TABLE_SIZE and
            // call `set_max_table_size` when our SETTINGS are acknowledged.
            table: table::DynamicTable::new(max_table_size),
            max_table_size,
            min_setting: max_table_size,
            max_header_list_size,
            buf: BytesMut::new(),
            min_chunk: 0,
        }
    }

    /// A new string buffer gets at least `n` bytes (default 0: sized for
    /// its block). While the strings of earlier blocks are alive, each
    /// block that does not fit in what is left of the buffer allocates a
    /// new one; a client keeps many responses' fields alive at once, and
    /// with a chunk of several blocks' size most blocks cost no
    /// allocation (at the price of the chunk staying alive as long as any
    /// string in it).
    pub fn set_min_chunk(&mut self, n: usize) {
        self.min_chunk = n;
    }

    /// Our SETTINGS_HEADER_TABLE_SIZE changed (and was acknowledged).
    pub fn set_max_table_size(&mut self, n: usize) {
        self.max_table_size = n;
        self.min_setting = self.min_setting.min(n);
    }

    /// Our SETTINGS_HEADER_TABLE_SIZE as last set.
    pub fn max_table_size(&self) -> usize {
        self.max_table_size
    }

    /// Current maximum size of the dynamic table (the peer's last update).
    pub fn table_capacity(&self) -> usize {
        self.table.max_size()
    }

    /// Current size of the dynamic table (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// Number of entries in the dynamic table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Our SETTINGS_MAX_HEADER_LIST_SIZE as last set.
    pub fn max_header_list_size(&self) -> usize {
        self.max_header_list_size
    }

    /// Our SETTINGS_MAX_HEADER_LIST_SIZE changed.
    pub fn set_max_header_list_size(&mut self, n: usize) {
        self.max_header_list_size = n;
    }

    /// Decodes one complete field block, appending the fields in order to
    /// `out`. Never panics; see [`DecoderError`] for what is rejected. On
    /// error nothing is appended to `out`. After
    /// [`DecoderError::HeaderListTooLarge`] the decoder is still usable; after
    /// any other error the connection must end (COMPRESSION_ERROR).
    pub fn decode(&mut self, block: &[u8], out: &mut Vec<Field>) -> Result<(), DecoderError> {
        let start = out.len();
        let r = self.decode_block(block, out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_TABLE_SIZE, usize::MAX)
    }
}
