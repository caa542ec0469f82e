//! Connecting and reconnecting: backoff with jitter, the connect budget
//! of queued requests, the RTT pings, and `open`, which makes one
//! connection (TCP, then TLS or h2c).

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::{Client, Drain, FetchError, Live, Mode, Origin};
use crate::actor::{Builder, Connection, ConnectionId, EventQueue, Subscriber};
use crate::transport::{H2cLimits, TlsClient, TlsError};

impl Client {
    pub(super) fn connect(&mut self, ctx: &mut Context<Self>) {
        self.connecting = true;
        let delay = self.backoff_delay();
        let origin = self.cfg.origin.clone();
        let limit = self.cfg.connect_timeout;
        let tls = self.cfg.tls.clone();
        let upgrade = self.cfg.h2c_upgrade;
        // The client gives DATA back itself (see `release`).
        let builder = self.cfg.connection.clone().auto_release(false);
        // Every notification, and the answer to every request, comes
        // through this queue (see `Drain`): the subscriber is not used.
        let queue = Rc::new(EventQueue::default());
        let q = queue.clone();
        let sub = Subscriber::none();
        let fut = async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            tokio::time::timeout(limit, open(origin, tls, upgrade, builder, sub, q))
                .await
                .unwrap_or_else(|_| {
                    Err(ConnectFailure::transient(format!(
                        "no connection within {limit:?} (connect timeout)"
                    )))
                })
        };
        fut.into_actor(self)
            .map(move |r, act, ctx| {
                act.connecting = false;
                match r {
                    Ok((addr, id)) => {
                        tracing::debug!(origin = %act.cfg.origin, conn = %id, "connected");
                        act.stats.connections += 1;
                        act.latest = Some(id);
                        ctx.spawn(Drain {
                            queue: queue.clone(),
                            conn: id,
                        });
                        act.conn = Some(Live { addr, id, queue });
                        act.measure_rtt(ctx);
                    }
                    Err(why) => {
                        act.failures += 1;
                        tracing::debug!(origin = %act.cfg.origin, failures = act.failures, error = %why.reason, "connect failed");
                        act.last_failure = why.reason;
                        act.connect_failed(why.lasting);
                    }
                }
                act.pump(ctx);
            })
            .spawn(ctx);
    }

    /// A connection could not be made: queued requests that have waited
    /// `reconnect_for` (or passed their deadline) fail, the rest wait for
    /// the next try. A `lasting` failure (waiting will not fix it) fails
    /// them all.
    pub(super) fn connect_failed(&mut self, lasting: bool) {
        let origin = self.cfg.origin.to_string();
        let reason = self.last_failure.clone();
        let now = Instant::now();
        let budget = self.cfg.reconnect_for;
        for job in std::mem::take(&mut self.queue) {
            if job.tx.is_closed() {
                continue;
            }
            if lasting || now >= job.deadline || now.duration_since(job.queued_at) >= budget {
                self.fail(
                    job,
                    FetchError::Connect {
                        origin: origin.clone(),
                        reason: reason.clone(),
                    },
                );
            } else {
                self.queue.push_back(job);
            }
        }
    }

    fn backoff_delay(&mut self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let (first, max) = self.cfg.backoff;
        let exp = first.saturating_mul(1u32 << (self.failures - 1).min(16));
        let full = exp.min(max);
        // xorshift64: jitter needs no cryptographic randomness.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let frac = 0.5 + (self.rng % 1000) as f64 / 2000.0;
        full.mul_f64(frac)
    }

    fn measure_rtt(&mut self, ctx: &mut Context<Self>) {
        let Some(live) = &self.conn else { return };
        let (addr, id) = (live.addr.clone(), live.id);
        addr.send(crate::actor::Ping)
            .into_actor(self)
            .map(move |r, act, ctx| {
                if let Ok(Ok(rtt)) = r {
                    act.stats.rtt = Some(rtt);
                }
                if let Some(every) = act.cfg.ping_interval {
                    ctx.run_later(every, move |act, ctx| {
                        if act.conn.as_ref().is_some_and(|l| l.id == id) {
                            act.measure_rtt(ctx);
                        }
                    });
                }
            })
            .spawn(ctx);
    }
}

/// Why a connection could not be made, and whether trying again later
/// may help.
struct ConnectFailure {
    reason: String,
    /// Waiting will not fix it (a certificate we do not trust, a server
    /// that does not speak h2, a bad name).
    lasting: bool,
}

impl ConnectFailure {
    fn transient(reason: String) -> Self {
        ConnectFailure {
            reason,
            lasting: false,
        }
    }
    fn lasting(reason: String) -> Self {
        ConnectFailure {
            reason,
            lasting: true,
        }
    }
    /// A TCP-level failure, named after what the socket said.
    fn tcp(origin: &Origin, e: std::io::Error) -> Self {
        let what = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
            std::io::ErrorKind::TimedOut => "connection timed out".to_owned(),
            _ => e.to_string(),
        };
        Self::transient(format!(
            "{what} by {}:{} (TCP)",
            origin.host(),
            origin.port()
        ))
    }
    fn tls(e: TlsError) -> Self {
        let reason = format!("TLS handshake failed: {e}");
        match &e {
            // Certificates, protocol versions, ALPN: the same next time.
            TlsError::Handshake(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                Self::lasting(reason)
            }
            TlsError::Handshake(_) | TlsError::Timeout(_) => Self::transient(reason),
            _ => Self::lasting(reason),
        }
    }
}

/// Makes one connection to `origin`: TCP, then TLS (ALPN h2) or h2c (prior
/// knowledge, or the HTTP/1.1 upgrade), then the connection actor.
async fn open(
    origin: Origin,
    tls: Option<Arc<TlsClient>>,
    upgrade: bool,
    builder: Builder,
    sub: Subscriber,
    queue: Rc<EventQueue>,
) -> Result<(Addr<Connection>, ConnectionId), ConnectFailure> {
    let tcp = tokio::net::TcpStream::connect((origin.host(), origin.port()))
        .await
        .map_err(|e| ConnectFailure::tcp(&origin, e))?;
    let _ = tcp.set_nodelay(true);
    match origin.mode() {
        Mode::Tls => {
            let tls = match tls {
                Some(t) => t,
                None => Arc::new(
                    TlsClient::with_system_roots()
                        .map_err(|e| ConnectFailure::lasting(e.to_string()))?,
                ),
            };
            let io = tls
                .connect(origin.host(), tcp)
                .await
                .map_err(ConnectFailure::tls)?;
            Ok(builder.start_identified(io, sub, Some(queue)))
        }
        Mode::PriorKnowledge if upgrade => {
            let uri = format!("{origin}/");
            let request = http::Request::options(uri)
                .body(())
                .map_err(|e| ConnectFailure::lasting(e.to_string()))?;
            let (addr, _stream1) = builder
                .connect_h2c_with(tcp, &request, &H2cLimits::default(), sub, Some(queue))
                .await
                .map_err(|e| {
                    ConnectFailure::transient(format!("HTTP/1.1 upgrade to h2c failed: {e}"))
                })?;
            // The identity its notifications carry; a connection that
            // died meanwhile fails here.
            let stats = addr.send(crate::actor::GetStats).await.map_err(|_| {
                ConnectFailure::transient("the connection closed at once".to_owned())
            })?;
            Ok((addr, stats.conn))
        }
        Mode::PriorKnowledge => Ok(builder.start_identified(tcp, sub, Some(queue))),
    }
}

pub(super) fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9);
    (t ^ (std::process::id() as u64).rotate_left(32)) | 1
}
