//! Client streams within the peer's SETTINGS_MAX_CONCURRENT_STREAMS
//! (RFC 9113 §5.1.2), and pings.
//!
//! `OpenStream` reserves a slot and returns a stream handle without an id;
//! the id is assigned when that stream's first HEADERS are written
//! (`Core::open_reserved`), so ids reach the wire in increasing order
//! whatever order the streams send their heads in (§5.1.1). `SendRequest`
//! opens and writes the head in one step. Both wait, in one FIFO bounded by
//! `max_pending_open`, while no slot is free.

use std::time::{Duration, Instant};

use super::super::messages::{set_content_length, Error, SendRequest};
use super::super::stream::H2Stream;
use super::table::{OpenKind, Parked, PendingOpen, PendingPing, ReplyNow, Slot};
use super::{Core, Item, WriteState};
use crate::proto::{Head, UserError};

impl Core {
    /// Whether a new stream may start now: `Ok(true)` with a free slot,
    /// `Ok(false)` while the peer's limit is reached, `Err` when none ever will.
    fn slot_free(&self) -> Result<bool, Error> {
        if self.closing || self.write_state != WriteState::Open {
            return Err(Error::ConnectionClosed);
        }
        Ok(self.proto.open_capacity()? > self.reserved)
    }

    /// `OpenStream` / `SendRequest`: now if a slot is free, else queued
    /// (boundedly, in order).
    pub fn open(&mut self, kind: OpenKind) -> ReplyNow<H2Stream> {
        match self.slot_free() {
            Err(e) => return ReplyNow::Now(Err(e)),
            Ok(true) if self.opens.is_empty() => return ReplyNow::Now(self.admit(kind)),
            Ok(_) => {}
        }
        if self.opens.len() >= self.limits.max_pending_open {
            return ReplyNow::Now(Err(Error::QueueFull));
        }
        self.opens.push_back(PendingOpen {
            kind,
            tx: Parked::new(),
            job: None,
        });
        ReplyNow::Later(Slot::Open)
    }

    /// `SendRequest`: as [`Core::open`], but the request is boxed only
    /// when it has to wait for a slot (opened at once, it costs no
    /// allocation of its own).
    pub fn open_request(&mut self, req: SendRequest) -> ReplyNow<H2Stream> {
        match self.slot_free() {
            Err(e) => ReplyNow::Now(Err(e)),
            Ok(true) if self.opens.is_empty() => ReplyNow::Now(self.start_request(req)),
            Ok(_) => self.open(OpenKind::Request(Box::new(req))),
        }
    }

    /// A slot now, without queueing: `Ok(None)` while none is free.
    pub fn reserve_now(&mut self) -> Result<Option<H2Stream>, Error> {
        if !self.slot_free()? || !self.opens.is_empty() {
            return Ok(None);
        }
        self.admit(OpenKind::Stream(None)).map(Some)
    }

    /// Starts a stream in a free slot.
    fn admit(&mut self, kind: OpenKind) -> Result<H2Stream, Error> {
        match kind {
            OpenKind::Stream(subscriber) => {
                let Some(link) = &self.link else {
                    return Err(Error::ConnectionClosed);
                };
                self.reserved += 1;
                Ok(H2Stream::reserved(link, subscriber))
            }
            OpenKind::Request(req) => self.start_request(*req),
        }
    }

    fn start_request(&mut self, req: SendRequest) -> Result<H2Stream, Error> {
        let SendRequest {
            request,
            body,
            end_stream,
            subscriber,
        } = req;
        let mut head = Head::Request(request);
        let body = body.unwrap_or_default();
        if end_stream {
            set_content_length(&mut head, body.len());
        }
        let headers_end = end_stream && body.is_empty();
        let (id, addr) = self.open_with_head(None, subscriber, head, headers_end)?;
        if !headers_end {
            // An empty queue takes any size: this cannot wait.
            if let ReplyNow::Now(Err(e)) = self.send_data(id, body, end_stream) {
                self.reset_stream(id, crate::frame::ErrorCode::INTERNAL_ERROR, false);
                return Err(e);
            }
        }
        Ok(addr)
    }

    /// Client after the HTTP/1.1 upgrade: stream 1 (the upgrade request,
    /// already half-closed (local) in the protocol) gets its entry, so its
    /// response is delivered as any other.
    pub fn adopt_upgraded_stream(&mut self) {
        let id = crate::frame::StreamId(1);
        let entry = super::table::StreamEntry::new(None, None, true);
        if self.proto.set_app(id, entry).is_err() {
            // Not reachable: the upgrade made stream 1.
            tracing::debug!(conn = %self.id, "upgraded stream 1 already forgotten");
        }
    }

    /// A stream that held a slot without sending HEADERS is gone (every
    /// handle dropped), or was given up with `Reset`.
    pub fn unreserve(&mut self) {
        self.reserved = self.reserved.saturating_sub(1);
        self.slot_freed = true;
        self.kick();
    }

    pub(super) fn retry_opens(&mut self) {
        while let Some(front) = self.opens.front() {
            if front.tx.is_closed() {
                self.opens.pop_front();
                continue;
            }
            let r = match self.slot_free() {
                Ok(false) => break,
                Ok(true) => match self.opens.pop_front() {
                    Some(p) => {
                        let r = self.admit(p.kind);
                        (p.tx, p.job, r)
                    }
                    None => break,
                },
                Err(e) => match self.opens.pop_front() {
                    Some(p) => (p.tx, p.job, Err(e)),
                    None => break,
                },
            };
            let (tx, job, r) = r;
            self.answer_open(tx, job, r);
        }
    }

    /// Fails every queued open (GOAWAY received: no new streams).
    pub(super) fn fail_opens(&mut self, err: Error) {
        for p in std::mem::take(&mut self.opens) {
            self.answer_open(p.tx, p.job, Err(err.clone()));
        }
    }

    /// Answers a queued open: a `Client`'s through the event queue, any
    /// other through its reply sender.
    fn answer_open(&self, tx: Parked<H2Stream>, job: Option<u64>, r: Result<H2Stream, Error>) {
        match (job, &self.session) {
            (Some(job), Some(q)) => q.push_item(Item::Opened(job, r)),
            _ => tx.send(r),
        }
    }

    /// The client's requests waiting in the event queue (see
    /// `EventQueue::send_request`), each opened or answered now.
    pub fn take_client_requests(&mut self) {
        let Some(q) = self.session.clone() else {
            return;
        };
        while let Some((job, req)) = q.take_request() {
            self.client_request(job, req);
        }
    }

    /// A client's request: as `SendRequest`, answered through the event queue
    /// (`Item::Opened(job, ..)`) instead of a reply channel: at once, or
    /// when the request leaves the queue of opens. Nothing is answered on
    /// a connection without a queue, or one that stopped.
    pub fn client_request(&mut self, job: u64, req: SendRequest) {
        let Some(q) = self.session.clone() else {
            return;
        };
        if q.is_closed() {
            return;
        }
        match self.open_request(req) {
            ReplyNow::Now(r) => q.push_item(Item::Opened(job, r)),
            ReplyNow::Later(_) => {
                if let Some(p) = self.opens.back_mut() {
                    p.job = Some(job);
                }
            }
        }
    }

    /// `Ping`: bounded by the protocol's pending-ping limit.
    pub fn ping(&mut self) -> ReplyNow<Duration> {
        if self.write_state != WriteState::Open {
            return ReplyNow::Now(Err(Error::ConnectionClosed));
        }
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let payload = self.ping_seq.to_be_bytes();
        match self.proto.ping(payload) {
            Ok(()) => {
                self.pings.push_back(PendingPing {
                    payload,
                    sent: Instant::now(),
                    tx: Parked::new(),
                });
                self.kick();
                ReplyNow::Later(Slot::Ping)
            }
            Err(UserError::TooManyPings) => ReplyNow::Now(Err(Error::QueueFull)),
            Err(e) => ReplyNow::Now(Err(e.into())),
        }
    }

    pub(super) fn ping_acked(&mut self, payload: [u8; 8]) {
        if let Some(i) = self.pings.iter().position(|p| p.payload == payload) {
            if let Some(p) = self.pings.remove(i) {
                p.tx.send(Ok(p.sent.elapsed()));
            }
        }
    }

    /// The reply sender of the `OpenStream`/`SendRequest` just queued
    /// (`ReplyNow::Later(Slot::Open)`).
    pub fn park_open(&mut self) -> Parked<H2Stream> {
        match self.opens.back() {
            Some(p) => p.tx.share(),
            None => Parked::new(),
        }
    }

    /// The reply sender of the `Ping` just sent (`ReplyNow::Later(Slot::Ping)`).
    pub fn park_ping(&mut self) -> Parked<Duration> {
        match self.pings.back() {
            Some(p) => p.tx.share(),
            None => Parked::new(),
        }
    }
}
