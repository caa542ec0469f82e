//! The receive path of field blocks (RFC 9113 §4.3): HEADERS (§6.2),
//! PUSH_PROMISE (§6.6) and CONTINUATION (§6.10) assembled into one block,
//! HPACK-decoded, then applied: requests and new peer streams, responses,
//! trailers (§8.1), promises (§8.4), and the 431 answer to a header list
//! above our limit.

use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};
use tracing::debug;

use crate::frame::{self, BlockStart, ErrorCode, StreamId};
use crate::hpack::{DecoderError, Field, FieldRef};

use super::{recount, Connection};
use crate::priority::Priority;
use crate::proto::guards::Waste;
use crate::proto::headers;
use crate::proto::store::CloseCause;
use crate::proto::stream::{RecvPhase, Stream, StreamState};
use crate::proto::{ConnectionError, Event, Head, Role};

/// A field block being assembled from HEADERS/PUSH_PROMISE + CONTINUATION
/// (RFC 9113 §4.3, §6.10).
#[derive(Debug)]
pub(super) struct PartialBlock {
    pub(super) stream_id: u32,
    kind: BlockKind,
    buf: BytesMut,
    frames: usize,
}

#[derive(Debug, Clone, Copy)]
enum BlockKind {
    Headers {
        end_stream: bool,
        /// The PRIORITY flag names the stream itself (RFC 7540 §5.3.1).
        self_dep: bool,
    },
    PushPromise {
        promised: u32,
    },
}

/// RFC 7540 §5.3.1: "A stream cannot depend on itself. An endpoint MUST
/// treat this as a stream error of type PROTOCOL_ERROR." RFC 9113 dropped
/// the text with the priority scheme (§5.3.2), but nghttp2, h2o and h2spec
/// still enforce it.
const SELF_DEPENDENCY: &str = "HEADERS: a stream cannot depend on itself (RFC 7540 §5.3.1)";

fn is_informational(s: StatusCode) -> bool {
    s.is_informational()
}

impl<A> Connection<A> {
    pub(super) fn recv_headers(&mut self, h: frame::Headers) -> Result<(), ConnectionError> {
        let id = h.stream_id.0;
        if id == 0 {
            return Err(self.conn_error(ErrorCode::PROTOCOL_ERROR, "HEADERS on stream 0 (§6.2)"));
        }
        self.guards.useful_frame();
        let kind = BlockKind::Headers {
            end_stream: h.end_stream,
            self_dep: h.priority.is_some_and(|p| p.dependency == h.stream_id),
        };
        if h.end_headers {
            return self.on_block(id, kind, h.block);
        }
        self.start_block(id, kind, h.block)
    }

    fn start_block(
        &mut self,
        id: u32,
        kind: BlockKind,
        first: Bytes,
    ) -> Result<(), ConnectionError> {
        if first.len() > self.config.max_header_block_size {
            return Err(self.block_too_large());
        }
        let mut buf = BytesMut::with_capacity(first.len() * 2);
        buf.extend_from_slice(&first);
        self.block = Some(Box::new(PartialBlock {
            stream_id: id,
            kind,
            buf,
            frames: 1,
        }));
        Ok(())
    }

    /// A field block beyond `max_header_block_size`: the block cannot be
    /// skipped without breaking HPACK state, so this is a connection error
    /// ENHANCE_YOUR_CALM (CONTINUATION flood protection, §10.5).
    fn block_too_large(&mut self) -> ConnectionError {
        self.conn_error(
            ErrorCode::ENHANCE_YOUR_CALM,
            "field block larger than max_header_block_size (§10.5)",
        )
    }

    pub(super) fn recv_continuation(
        &mut self,
        c: frame::Continuation,
    ) -> Result<(), ConnectionError> {
        let Some(b) = self.block.as_mut() else {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "CONTINUATION without a preceding HEADERS or PUSH_PROMISE (§6.10)",
            ));
        };
        b.frames += 1;
        // Bound the frame count too: empty CONTINUATIONs cost work and add
        // nothing (§10.5).
        let max_frames = 16 + self.config.max_header_block_size / 1024;
        if b.buf.len() + c.block.len() > self.config.max_header_block_size || b.frames > max_frames
        {
            return Err(self.block_too_large());
        }
        b.buf.extend_from_slice(&c.block);
        if !c.end_headers {
            return Ok(());
        }
        let Some(b) = self.block.take() else {
            return Ok(());
        };
        self.on_block(b.stream_id, b.kind, b.buf.freeze())
    }

    /// A complete field block: decode it first (HPACK state must follow
    /// every block, §4.3), then apply it to the stream.
    fn on_block(&mut self, id: u32, kind: BlockKind, block: Bytes) -> Result<(), ConnectionError> {
        // The decoded fields' scratch vector is one per thread, not one per
        // connection: it grows to the largest block's field count (288
        // bytes for a small request) and was kept by every connection that
        // ever had a request. Blocks are decoded one at a time on a thread;
        // were this ever re-entered, the inner call would find the cell
        // empty and use a fresh vector.
        thread_local! {
            static FIELDS: std::cell::Cell<Vec<Field>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut fields = FIELDS.with(std::cell::Cell::take);
        fields.clear();
        let too_large = match self.decoder.decode(&block, &mut fields) {
            Ok(()) => false,
            Err(DecoderError::HeaderListTooLarge(_)) => true,
            Err(e) => {
                fields.clear();
                FIELDS.with(|c| c.set(fields));
                let reason = format!("HPACK: {e} (§4.3)");
                return Err(self.conn_error(ErrorCode::COMPRESSION_ERROR, &reason));
            }
        };
        let r = match kind {
            BlockKind::Headers {
                end_stream,
                self_dep,
            } => self.on_headers(id, end_stream, &mut fields, too_large, self_dep),
            BlockKind::PushPromise { promised } => {
                self.on_push_promise(id, promised, &mut fields, too_large)
            }
        };
        // Cleared before going back: the fields hold the block's bytes.
        fields.clear();
        FIELDS.with(|c| c.set(fields));
        r
    }

    fn on_headers(
        &mut self,
        id: u32,
        end_stream: bool,
        fields: &mut [Field],
        too_large: bool,
        self_dep: bool,
    ) -> Result<(), ConnectionError> {
        let max_concurrent = self.local.max_concurrent_streams as usize;
        let Some(s) = self.streams.get_mut(&id) else {
            return self.on_headers_unknown(id, end_stream, fields, too_large, self_dep);
        };
        match s.state {
            StreamState::Idle | StreamState::ReservedLocal => {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "HEADERS on an idle or reserved (local) stream (§5.1)",
                ));
            }
            StreamState::HalfClosedRemote | StreamState::Closed => {
                self.stream_error(
                    id,
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS after END_STREAM (§5.1)",
                );
                return Ok(());
            }
            StreamState::ReservedRemote => {
                // §8.4.2: the pushed response opens the reserved stream,
                // within our MAX_CONCURRENT_STREAMS (§5.1.2).
                if self.counts.peer >= max_concurrent {
                    self.stream_error(
                        id,
                        ErrorCode::REFUSED_STREAM,
                        "pushed stream beyond MAX_CONCURRENT_STREAMS (§5.1.2)",
                    );
                    return Ok(());
                }
                s.state = StreamState::HalfClosedLocal;
                let role = self.role;
                recount(&mut self.counts, role, s);
            }
            StreamState::Open | StreamState::HalfClosedLocal => {}
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        if self_dep {
            self.stream_error(id, ErrorCode::PROTOCOL_ERROR, SELF_DEPENDENCY);
            return Ok(());
        }
        if too_large {
            self.stream_error(id, ErrorCode::CANCEL, "header list larger than our limit");
            return Ok(());
        }
        match s.recv_phase {
            RecvPhase::Head => {
                // A response (client, or a pushed response).
                let r = match headers::response_from_fields(fields) {
                    Ok(r) => r,
                    Err(m) => {
                        self.stream_error(id, ErrorCode::PROTOCOL_ERROR, m);
                        return Ok(());
                    }
                };
                let status = r.response.status();
                if is_informational(status) {
                    // §8.1: any number of 1xx before the final response,
                    // never ending the stream.
                    if end_stream {
                        self.stream_error(
                            id,
                            ErrorCode::PROTOCOL_ERROR,
                            "1xx response with END_STREAM (§8.1)",
                        );
                        return Ok(());
                    }
                    let head = self.box_head(Head::Response(r.response));
                    self.events.push_back(Event::RecvHeaders {
                        id: StreamId(id),
                        head,
                        end_stream: false,
                    });
                    return Ok(());
                }
                // §8.1.1: responses without content may still carry a
                // content-length; their DATA must be empty.
                let no_body = s.head_request
                    || status == StatusCode::NO_CONTENT
                    || status == StatusCode::NOT_MODIFIED;
                s.set_expected_len(if no_body { Some(0) } else { r.content_length });
                s.recv_phase = RecvPhase::Body;
                if end_stream && s.expected_len().is_some_and(|n| n != 0) {
                    self.stream_error(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "content-length with no DATA (§8.1.1)",
                    );
                    return Ok(());
                }
                let head = self.box_head(Head::Response(r.response));
                self.events.push_back(Event::RecvHeaders {
                    id: StreamId(id),
                    head,
                    end_stream,
                });
                if !end_stream {
                    self.keep_end_open(id);
                }
            }
            RecvPhase::Body => {
                // Trailers (§8.1): END_STREAM and no pseudo-headers.
                if !end_stream {
                    self.stream_error(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "trailers without END_STREAM (§8.1)",
                    );
                    return Ok(());
                }
                if s.expected_len().is_some_and(|n| n != s.received_len) {
                    self.stream_error(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "DATA does not match content-length (§8.1.1)",
                    );
                    return Ok(());
                }
                let trailers = match headers::trailers_from_fields(fields) {
                    Ok(t) => t,
                    Err(m) => {
                        self.stream_error(id, ErrorCode::PROTOCOL_ERROR, m);
                        return Ok(());
                    }
                };
                self.events.push_back(Event::RecvTrailers {
                    id: StreamId(id),
                    trailers,
                });
            }
        }
        if end_stream {
            self.end_remote(id);
        }
        Ok(())
    }

    /// HEADERS on a stream we do not keep: a new peer stream, or a late or
    /// illegal frame.
    fn on_headers_unknown(
        &mut self,
        id: u32,
        end_stream: bool,
        fields: &mut [Field],
        too_large: bool,
        self_dep: bool,
    ) -> Result<(), ConnectionError> {
        let peer_may_open = self.role == Role::Server && !self.is_local_id(id);
        if !self.is_idle(id) {
            return match self.closed.get(id) {
                Some(CloseCause::LocalReset) => Ok(()),
                None if self.closed.maybe_forgotten(id) => Ok(()),
                Some(CloseCause::Done) => Err(self.conn_error(
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS on a closed stream (§5.1)",
                )),
                None if peer_may_open => Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "new stream id not greater than previous ones (§5.1.1)",
                )),
                None => Err(self.conn_error(
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS on a closed stream (§5.1)",
                )),
            };
        }
        if !peer_may_open {
            // §5.1 idle: HEADERS on a server-initiated (or our own) idle
            // stream.
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "HEADERS opening a stream the peer may not open (§5.1, §5.1.1)",
            ));
        }
        // A new request stream; lower idle ids are now closed (§5.1.1).
        self.last_peer_id = id;
        if self.goaway_sent.is_some_and(|last| id > last) {
            // §6.8: streams above our GOAWAY's last id are ignored.
            self.closed.insert(id, CloseCause::LocalReset);
            return Ok(());
        }
        self.guards
            .peer_stream_opened(self.local.max_concurrent_streams);
        if self_dep {
            // The block was decoded (HPACK state follows); the request is
            // refused before anyone sees it.
            self.stream_error(id, ErrorCode::PROTOCOL_ERROR, SELF_DEPENDENCY);
            return Ok(());
        }
        if too_large {
            // §8.2 / RFC 6585: answer 431 and stop reading the request.
            self.refuse_431(id, end_stream);
            return Ok(());
        }
        if self.counts.peer >= self.local.max_concurrent_streams as usize {
            // §5.1.2: stream error REFUSED_STREAM (safe to retry).
            self.stream_error(
                id,
                ErrorCode::REFUSED_STREAM,
                "beyond our SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2)",
            );
            return Ok(());
        }
        // RFC 8441 §3: the setting cannot be withdrawn once sent, so it
        // holds from our first SETTINGS on, not only from their ACK.
        let connect_protocol =
            self.local.enable_connect_protocol || self.config.enable_connect_protocol;
        let r = match headers::request_from_fields(fields, connect_protocol) {
            Ok(r) => r,
            Err(m) => {
                self.stream_error(id, ErrorCode::PROTOCOL_ERROR, m);
                return Ok(());
            }
        };
        if end_stream && r.content_length.is_some_and(|n| n != 0) {
            self.stream_error(
                id,
                ErrorCode::PROTOCOL_ERROR,
                "content-length with no DATA (§8.1.1)",
            );
            return Ok(());
        }
        let state = if end_stream {
            StreamState::HalfClosedRemote
        } else {
            StreamState::Open
        };
        let mut s = Stream::boxed(
            id,
            state,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        s.recv_phase = RecvPhase::Body;
        s.peer_initiated = true;
        s.head_request = r.request.method() == Method::HEAD;
        s.set_expected_len(r.content_length);
        // RFC 9218 §5: the request's `priority` field; a PRIORITY_UPDATE
        // that came before the stream opened is the later signal (§7).
        if r.priority {
            s.priority = Priority::from_headers(r.request.headers());
        }
        if let Some(&(_, p)) = self.idle_priorities.iter().find(|(i, _)| *i == id) {
            s.priority = p;
        }
        if !self.idle_priorities.is_empty() {
            // Ids up to this one are no longer idle (§5.1.1).
            self.idle_priorities.retain(|(i, _)| *i > id);
        }
        recount(&mut self.counts, self.role, &mut s);
        self.insert_stream(id, s);
        let head = self.box_head(Head::Request(r.request));
        self.events.push_back(Event::RecvHeaders {
            id: StreamId(id),
            head,
            end_stream,
        });
        if !end_stream {
            self.keep_end_open(id);
        }
        Ok(())
    }

    /// A request whose header list passed our limit: 431 with END_STREAM
    /// (and RST_STREAM NO_ERROR if the request goes on, §8.1).
    fn refuse_431(&mut self, id: u32, end_stream: bool) {
        debug!(stream = id, "request header list too large: 431");
        let status = FieldRef {
            name: b":status",
            value: b"431",
            sensitive: false,
        };
        self.queue_field_block(StreamId(id), BlockStart::headers(true), [status]);
        if !end_stream {
            self.queue_rst(id, ErrorCode::NO_ERROR);
        }
        self.closed.insert(id, CloseCause::LocalReset);
    }

    pub(super) fn recv_push_promise(
        &mut self,
        p: frame::PushPromise,
    ) -> Result<(), ConnectionError> {
        let id = p.stream_id.0;
        // §8.4: only servers push; a client that disabled push rejects it.
        if self.role == Role::Server {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE received by a server (§8.4)",
            ));
        }
        if !self.local.enable_push {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE while SETTINGS_ENABLE_PUSH is 0 (§6.6)",
            ));
        }
        if id == 0 {
            return Err(
                self.conn_error(ErrorCode::PROTOCOL_ERROR, "PUSH_PROMISE on stream 0 (§6.6)")
            );
        }
        self.guards.useful_frame();
        let kind = BlockKind::PushPromise {
            promised: p.promised_id.0,
        };
        if p.end_headers {
            return self.on_block(id, kind, p.block);
        }
        self.start_block(id, kind, p.block)
    }

    /// Refuses (or cancels) the promised stream `promised`: RST_STREAM
    /// with `code`, and one more wasted peer stream toward the flood bound.
    fn refuse_push(&mut self, promised: u32, code: ErrorCode) -> Result<(), ConnectionError> {
        self.queue_rst(promised, code);
        self.closed.insert(promised, CloseCause::LocalReset);
        let r = self
            .guards
            .peer_stream_wasted(self.local.max_concurrent_streams, Waste::PushRefused);
        self.flood(r)
    }

    fn on_push_promise(
        &mut self,
        id: u32,
        promised: u32,
        fields: &mut [Field],
        too_large: bool,
    ) -> Result<(), ConnectionError> {
        // §6.6: the associated stream must be open or half-closed (local).
        let assoc_ok = match self.streams.get(&id) {
            Some(s) => matches!(s.state, StreamState::Open | StreamState::HalfClosedLocal),
            None => false,
        };
        let assoc_reset = !assoc_ok
            && !self.streams.contains_key(&id)
            && self.is_local_id(id)
            && !self.is_idle(id)
            && match self.closed.get(id) {
                Some(CloseCause::LocalReset) => true,
                Some(CloseCause::Done) => false,
                None => self.closed.maybe_forgotten(id),
            };
        if !assoc_ok && !assoc_reset {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE on a stream that is neither open nor half-closed (local) (§6.6)",
            ));
        }
        // §5.1.1 / §6.6: the promised id is a new server-initiated id.
        if promised % 2 != 0 || promised == 0 || promised <= self.last_peer_id {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE with an invalid promised stream id (§6.6)",
            ));
        }
        self.last_peer_id = promised;
        // A flood of promises we refuse, or reset once taken (§10.5): one
        // bound with rapid reset (`FloodGuards::peer_stream_wasted`). Resets
        // counted since the last promise (user actions) are judged here.
        let mcs = self.local.max_concurrent_streams;
        let r = self.guards.check_wasted(mcs);
        self.flood(r)?;
        self.guards.peer_stream_opened(mcs);
        if assoc_reset {
            // §5.1 closed: the promise still reserves the stream; cancel it.
            return self.refuse_push(promised, ErrorCode::CANCEL);
        }
        if too_large {
            return self.refuse_push(promised, ErrorCode::REFUSED_STREAM);
        }
        let limit = self.local.max_concurrent_streams as usize;
        if self.counts.peer + self.counts.reserved_remote >= limit {
            return self.refuse_push(promised, ErrorCode::REFUSED_STREAM);
        }
        let r = match headers::request_from_fields(fields, false) {
            Ok(r) => r,
            Err(m) => {
                debug!(promised, m, "malformed promised request");
                return self.refuse_push(promised, ErrorCode::PROTOCOL_ERROR);
            }
        };
        // §8.4.1: promised requests are safe, cacheable and without content.
        let method = r.request.method();
        if (*method != Method::GET && *method != Method::HEAD)
            || r.content_length.is_some_and(|n| n > 0)
        {
            return self.refuse_push(promised, ErrorCode::PROTOCOL_ERROR);
        }
        let mut s = Stream::boxed(
            promised,
            StreamState::ReservedRemote,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        s.head_request = *method == Method::HEAD;
        recount(&mut self.counts, self.role, &mut s);
        self.insert_stream(promised, s);
        self.events.push_back(Event::RecvPromise {
            id: StreamId(id),
            promised_id: StreamId(promised),
            request: Box::new(r.request),
        });
        Ok(())
    }
}
