//! Listener-wide counters: shared atomics that every connection of a
//! [`Listener`](super::Listener) updates at a few choke points (the read
//! loop, the writer, the core's `kick`), and the snapshot users read,
//! [`ListenerStats`].
//!
//! Frames are counted where bytes cross the socket, not inside the protocol
//! state machine: received frames as the read loop decodes them, sent
//! frames by reading the 9-byte frame headers (RFC 9113 §4.1) of what the
//! protocol appended to the write buffer. So "RST_STREAM sent" means a
//! frame handed to the writer, whatever part of the code produced it.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use crate::frame::{ErrorCode, Frame};

/// Codes counted one by one: RFC 9113 §7 defines 0x0..=0xd.
const KNOWN_CODES: usize = 14;

/// Counts per error code, atomically updated.
#[derive(Debug, Default)]
struct CodeAtomics {
    known: [AtomicU64; KNOWN_CODES],
    other: AtomicU64,
}

impl CodeAtomics {
    fn add(&self, code: ErrorCode) {
        match self.known.get(code.0 as usize) {
            Some(c) => c.fetch_add(1, Relaxed),
            None => self.other.fetch_add(1, Relaxed),
        };
    }

    fn snapshot(&self) -> CodeCounts {
        CodeCounts {
            known: std::array::from_fn(|i| self.known[i].load(Relaxed)),
            other: self.other.load(Relaxed),
        }
    }
}

/// How many frames (RST_STREAM or GOAWAY) carried each error code.
///
/// ```
/// # use h2actor::actor::listener::CodeCounts;
/// # use h2actor::frame::ErrorCode;
/// let counts = CodeCounts::default();
/// assert_eq!(counts.get(ErrorCode::CANCEL), 0);
/// assert_eq!(counts.total(), 0);
/// assert_eq!(counts.to_string(), "none");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeCounts {
    known: [u64; KNOWN_CODES],
    other: u64,
}

impl CodeCounts {
    /// Frames with `code`. Codes RFC 9113 does not define are counted
    /// together: `get` of any of them returns that shared count.
    pub fn get(&self, code: ErrorCode) -> u64 {
        self.known
            .get(code.0 as usize)
            .copied()
            .unwrap_or(self.other)
    }

    /// Frames with a code RFC 9113 does not define.
    pub fn unknown(&self) -> u64 {
        self.other
    }

    /// All frames, whatever their code.
    pub fn total(&self) -> u64 {
        self.known.iter().sum::<u64>() + self.other
    }

    /// The known codes seen at least once, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorCode, u64)> + '_ {
        self.known
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (ErrorCode(i as u32), *n))
    }
}

/// `CANCEL=3 NO_ERROR=1 unknown=2`, or `none`.
impl fmt::Display for CodeCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (code, n) in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{code:?}={n}")?;
        }
        if self.other > 0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "unknown={}", self.other)?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// A snapshot of a [`Listener`](super::Listener)'s counters
/// ([`Listener::stats`](super::Listener::stats)). Totals count since the
/// listener started; each field is read atomically, the snapshot as a whole
/// is not (a connection may be counted as accepted and not yet as open).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Connections accepted and not yet closed (in their handshake or
    /// running).
    pub connections_open: usize,
    /// Connections accepted (within `max_connections`).
    pub connections_accepted: u64,
    /// Connections closed at accept because `max_connections` were open.
    pub connections_refused: u64,
    /// Accepted connections whose handshake step failed or took longer
    /// than the handshake timeout.
    pub handshakes_failed: u64,
    /// Streams the connections hold open (RFC 9113 §5.1.2: open,
    /// half-closed, or closed with frames still to write).
    pub streams_open: u64,
    /// Streams opened: by the peers (HEADERS on a new stream id) and by
    /// us (PUSH_PROMISE).
    pub streams_total: u64,
    /// RST_STREAM frames written, by error code.
    pub resets_sent: CodeCounts,
    /// RST_STREAM frames received, by error code.
    pub resets_received: CodeCounts,
    /// GOAWAY frames written, by error code (a listener shutdown writes two
    /// per connection, RFC 9113 §6.8).
    pub goaways_sent: CodeCounts,
    /// GOAWAY frames received, by error code.
    pub goaways_received: CodeCounts,
    /// Bytes read from the connections (after TLS, if any).
    pub bytes_in: u64,
    /// Bytes written to the connections (before TLS, if any).
    pub bytes_out: u64,
}

/// One line, for logs.
impl fmt::Display for ListenerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connections open={} accepted={} refused={} handshakes_failed={}; \
             streams open={} total={}; bytes in={} out={}; \
             resets sent [{}] received [{}]; goaways sent [{}] received [{}]",
            self.connections_open,
            self.connections_accepted,
            self.connections_refused,
            self.handshakes_failed,
            self.streams_open,
            self.streams_total,
            self.bytes_in,
            self.bytes_out,
            self.resets_sent,
            self.resets_received,
            self.goaways_sent,
            self.goaways_received,
        )
    }
}

/// The shared atomics behind [`ListenerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections_open: AtomicUsize,
    pub connections_accepted: AtomicU64,
    pub connections_refused: AtomicU64,
    pub handshakes_failed: AtomicU64,
    streams_open: AtomicI64,
    streams_total: AtomicU64,
    resets_sent: CodeAtomics,
    resets_received: CodeAtomics,
    goaways_sent: CodeAtomics,
    goaways_received: CodeAtomics,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> ListenerStats {
        ListenerStats {
            connections_open: self.connections_open.load(Relaxed),
            connections_accepted: self.connections_accepted.load(Relaxed),
            connections_refused: self.connections_refused.load(Relaxed),
            handshakes_failed: self.handshakes_failed.load(Relaxed),
            streams_open: self.streams_open.load(Relaxed).max(0) as u64,
            streams_total: self.streams_total.load(Relaxed),
            resets_sent: self.resets_sent.snapshot(),
            resets_received: self.resets_received.snapshot(),
            goaways_sent: self.goaways_sent.snapshot(),
            goaways_received: self.goaways_received.snapshot(),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
        }
    }
}

/// One connection's link to its listener's [`Counters`] (kept in the
/// connection's core; absent for connections started outside a listener).
#[derive(Debug)]
pub(crate) struct ConnCounters {
    shared: Arc<Counters>,
    /// Open streams this connection has added to `streams_open`.
    reported_streams: usize,
    /// Highest stream id the peer opened (to count new streams).
    peer_max_stream: u32,
}

impl ConnCounters {
    pub fn new(shared: Arc<Counters>) -> Self {
        ConnCounters {
            shared,
            reported_streams: 0,
            peer_max_stream: 0,
        }
    }

    /// Server: the h2c upgrade request became stream 1 without a HEADERS
    /// frame (RFC 7540 §3.2): count it as the peer's first stream.
    pub fn upgraded_stream(&mut self) {
        self.peer_max_stream = self.peer_max_stream.max(1);
        self.shared.streams_total.fetch_add(1, Relaxed);
    }

    /// Read loop: `n` bytes read from the socket.
    pub fn bytes_in(&self, n: usize) {
        self.shared.bytes_in.fetch_add(n as u64, Relaxed);
    }

    /// Writer: `n` bytes written to the socket.
    pub fn bytes_out(&self, n: usize) {
        self.shared.bytes_out.fetch_add(n as u64, Relaxed);
    }

    /// Read loop: a frame decoded from the peer.
    pub fn frame_in(&mut self, frame: &Frame) {
        match frame {
            Frame::Headers(h) if h.stream_id.0 > self.peer_max_stream => {
                self.peer_max_stream = h.stream_id.0;
                self.shared.streams_total.fetch_add(1, Relaxed);
            }
            Frame::RstStream(r) => self.shared.resets_received.add(r.error_code),
            Frame::GoAway(g) => self.shared.goaways_received.add(g.error_code),
            _ => {}
        }
    }

    /// Writer side: one frame written: its type and (at least the first 8 bytes of) its
    /// payload. Split out of `frames_out` for the writer's segmented queue,
    /// whose frames are not contiguous.
    pub fn frame_out(&self, kind: u8, payload: &[u8]) {
        let code_at = |i: usize| {
            payload
                .get(i..i + 4)
                .map(|b| ErrorCode(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        };
        match kind {
            0x3 => {
                if let Some(code) = code_at(0) {
                    self.shared.resets_sent.add(code);
                }
            }
            0x5 => {
                self.shared.streams_total.fetch_add(1, Relaxed);
            }
            0x7 => {
                if let Some(code) = code_at(4) {
                    self.shared.goaways_sent.add(code);
                }
            }
            _ => {}
        }
    }

    /// Writer side: `bytes` are whole frames just appended to the write
    /// buffer (RFC 9113 §4.1 headers: length 24 bits, type, flags, id).
    #[cfg(test)]
    pub fn frames_out(&self, mut bytes: &[u8]) {
        if bytes.starts_with(crate::frame::PREFACE) {
            bytes = &bytes[crate::frame::PREFACE.len()..];
        }
        while bytes.len() >= 9 {
            let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
            let kind = bytes[3];
            let Some(payload) = bytes.get(9..9 + len) else {
                break;
            };
            self.frame_out(kind, payload);
            bytes = &bytes[9 + len..];
        }
    }

    /// The connection holds `n` open streams now.
    pub fn sync_streams(&mut self, n: usize) {
        if n != self.reported_streams {
            let delta = n as i64 - self.reported_streams as i64;
            self.shared.streams_open.fetch_add(delta, Relaxed);
            self.reported_streams = n;
        }
    }
}

impl Drop for ConnCounters {
    /// The connection is gone: its streams no longer count as open.
    fn drop(&mut self) {
        self.sync_streams(0);
    }
}
