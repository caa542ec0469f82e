//! The requests' streams: the connection's notifications taken into
//! responses (`on_event`, `complete`), requests given up
//! (`abandon`, `sweep_abandoned`), and the retry rules (`retry_or_fail`).

use std::time::Instant;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use super::{Client, FetchError, H2Stream, Job, Resend, Response, MAX_REFUSALS};
use crate::actor::{Event, RecvData, ReleaseCapacity, Reset, ResetCause};
use crate::frame::ErrorCode;
use crate::proto::Head;

/// A response body being collected: a body of one DATA frame is handed
/// over as that frame's `Bytes` (no copy); only a second frame starts a
/// buffer.
#[derive(Default)]
pub(super) struct Body {
    first: Bytes,
    rest: Option<BytesMut>,
}

impl Body {
    fn len(&self) -> usize {
        self.rest.as_ref().map_or(self.first.len(), |r| r.len())
    }

    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        match &mut self.rest {
            Some(rest) => rest.extend_from_slice(&data),
            None if self.first.is_empty() => self.first = data,
            None => {
                let mut rest = BytesMut::with_capacity(self.first.len() + data.len());
                rest.extend_from_slice(&self.first);
                rest.extend_from_slice(&data);
                self.first = Bytes::new();
                self.rest = Some(rest);
            }
        }
    }

    fn finish(self) -> Bytes {
        match self.rest {
            Some(rest) => rest.freeze(),
            None => self.first,
        }
    }
}

impl Client {
    /// Queues `job` again if `how` and its budget allow, else fails it.
    pub(super) fn retry_or_fail(
        &mut self,
        mut job: Job,
        how: Resend,
        err: impl FnOnce() -> FetchError,
    ) {
        if job.tx.is_closed() {
            return;
        }
        let now = Instant::now();
        let again = now < job.deadline
            && match how {
                // Waits for the next connection like a new request; the
                // reconnect budget keeps counting from when it was queued.
                Resend::NotSent => {
                    if now.duration_since(job.queued_at) >= self.cfg.reconnect_for
                        && !self.last_failure.is_empty()
                    {
                        let err = FetchError::Connect {
                            origin: self.cfg.origin.to_string(),
                            reason: self.last_failure.clone(),
                        };
                        self.fail(job, err);
                    } else {
                        self.queue.push_back(job);
                    }
                    return;
                }
                Resend::NotProcessed => {
                    // Not an attempt: the server never saw it.
                    job.attempts = job.attempts.saturating_sub(1);
                    job.refusals += 1;
                    job.refusals <= MAX_REFUSALS
                }
                Resend::MaybeProcessed => job.attempts < self.cfg.max_attempts,
                Resend::No => false,
            };
        if again {
            job.queued_at = now;
            self.queue.push_back(job);
        } else {
            self.fail(job, err());
        }
    }

    pub(super) fn fail(&mut self, job: Job, err: FetchError) {
        self.stats.failed += 1;
        job.tx.send(Err(err));
    }

    /// A notification of one of the connection's streams (the client
    /// subscribes to these four).
    pub(super) fn on_event(&mut self, ev: Event, ctx: &mut Context<Self>) {
        let Some(stream) = ev.stream() else { return };
        if !self.streams.contains_key(stream) {
            if !self.dispatching.is_empty() {
                self.orphans.entry(stream.clone()).or_default().push(ev);
            } else if let Event::RecvData(m) = ev {
                // Nobody wants it (the h2c upgrade's stream 1, a stream
                // given up): give its bytes back all the same.
                release(&m);
            }
            return;
        }
        match ev {
            Event::RecvHeaders(m) => {
                let Head::Response(r) = m.head else { return };
                if r.status().is_informational() {
                    return;
                }
                if let Some(f) = self.streams.get_mut(&m.stream) {
                    f.head = Some(r.into_parts().0);
                }
                if m.end_stream {
                    self.complete(&m.stream, None);
                }
            }
            Event::RecvData(m) => {
                release(&m);
                let Some(f) = self.streams.get_mut(&m.stream) else {
                    return;
                };
                if f.body.len() + m.data.len() > self.cfg.max_body {
                    let max = self.cfg.max_body;
                    if let Some(f) = self.streams.remove(&m.stream) {
                        m.stream.do_send(Reset {
                            code: ErrorCode::CANCEL,
                        });
                        self.fail(f.job, FetchError::BodyTooLarge(max));
                    }
                    return;
                }
                if f.job.tx.is_closed() {
                    // The caller dropped its `send` future: stop the
                    // server too.
                    self.abandon(&m.stream);
                    return;
                }
                f.body.push(m.data);
                if m.end_stream {
                    self.complete(&m.stream, None);
                }
            }
            Event::RecvTrailers(m) => self.complete(&m.stream, Some(m.trailers)),
            Event::RecvReset(m) => {
                let Some(f) = self.streams.remove(&m.stream) else {
                    return;
                };
                // REFUSED_STREAM (by RST_STREAM or above a GOAWAY's last
                // stream id): not processed, RFC 9113 §8.7.
                let refused = m.code == ErrorCode::REFUSED_STREAM && m.remote;
                let how = if refused {
                    Resend::NotProcessed
                } else if f.job.idempotent {
                    Resend::MaybeProcessed
                } else {
                    Resend::No
                };
                let code = m.code;
                let err = match m.cause {
                    ResetCause::Connection(reason) => {
                        FetchError::ConnectionLost(reason.to_string())
                    }
                    _ if refused => FetchError::Refused(m.cause.describe(code, true)),
                    _ => FetchError::Reset(code),
                };
                self.retry_or_fail(f.job, how, || err);
                self.pump(ctx);
            }
            // Not subscribed (pushes are refused by the connection).
            Event::RecvPromise(_) | Event::GoAway(_) | Event::Closed(_) => {}
        }
    }

    /// A request whose caller stopped waiting: its stream is reset (CANCEL).
    fn abandon(&mut self, stream: &H2Stream) {
        if self.streams.remove(stream).is_some() {
            stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            });
        }
    }

    /// Resets the streams (and drops the queued requests) whose callers
    /// dropped their `send` futures: a `Fetch` given up is not left running
    /// until its response or deadline.
    pub(super) fn sweep_abandoned(&mut self) {
        self.queue.retain(|j| !j.tx.is_closed());
        let gone: Vec<H2Stream> = self
            .streams
            .iter()
            .filter(|(_, f)| f.job.tx.is_closed())
            .map(|(s, _)| s.clone())
            .collect();
        for s in gone {
            self.abandon(&s);
        }
    }

    fn complete(&mut self, stream: &H2Stream, trailers: Option<HeaderMap>) {
        let Some(f) = self.streams.remove(stream) else {
            return;
        };
        // A response arrived: the origin is healthy again.
        self.failures = 0;
        let Some(head) = f.head else {
            self.fail(
                f.job,
                FetchError::ConnectionLost("trailers without a response head".into()),
            );
            return;
        };
        self.stats.completed += 1;
        f.job.tx.send(Ok(Response {
            head,
            body: f.body.finish(),
            trailers,
            attempts: f.job.attempts,
        }));
    }
}

/// Gives a DATA frame's bytes back to the flow-control windows: the
/// client's connections run with `auto_release(false)`, and the body is
/// taken into the response as the notification is handled (bounded by
/// `max_body`), so the windows reopen then. A frame that ends the stream
/// needs no message: proto gives back what a closing stream held (one
/// notification and one message per response fewer, and no task to await
/// the handling as `auto_release(true)` spawns per DATA frame).
fn release(m: &RecvData) {
    if !m.end_stream && !m.data.is_empty() {
        m.stream.do_send(ReleaseCapacity { n: m.data.len() });
    }
}
