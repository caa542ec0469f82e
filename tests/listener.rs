//! The supervised `Listener`: many concurrent connections, the
//! `max_connections` limit, graceful shutdown (RFC 9113 §6.8), failure
//! isolation between connections, and the listener-wide stats.
//!
//! The server runs in-process (an actix system on its own thread); clients
//! are raw frame peers (`support::raw_peer`) or hand-rolled tokio clients.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{BufMut, BytesMut};
use h2actor::actor::{Listener, ListenerBuilder, ListenerStats};
use h2actor::frame::{ErrorCode, Frame, PREFACE};
use h2actor::prelude::*;
use support::raw_peer::{self, settings, window_update, Closed, Peer};
use support::{init_tracing, site};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A listener serving in an actix system on its own thread; dropping it
/// stops the listener's arbiters and the system.
struct Served {
    listener: Option<Listener>,
    system: actix::System,
    thread: Option<JoinHandle<()>>,
}

impl Served {
    /// Starts `builder` with `subscriber` inside a new actix system.
    fn start<F>(builder: ListenerBuilder, subscriber: F) -> Served
    where
        F: Fn(SocketAddr) -> Subscriber + Send + Sync + 'static,
    {
        init_tracing();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runner = actix::System::new();
            let started = runner.block_on(async move { builder.start(subscriber) });
            let ok = started.is_ok();
            let _ = tx.send(started.map(|l| (l, actix::System::current())));
            if ok {
                let _ = runner.run();
            }
        });
        let (listener, system) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server thread did not report")
            .expect("listen");
        Served {
            listener: Some(listener),
            system,
            thread: Some(thread),
        }
    }

    /// The test server's routes (`support/site.rs`).
    fn demo(builder: ListenerBuilder) -> Served {
        Served::start(builder.connection(site::builder()), |_| {
            site::Site::subscriber()
        })
    }

    fn listener(&self) -> &Listener {
        self.listener.as_ref().expect("listener")
    }

    fn addr(&self) -> SocketAddr {
        self.listener().local_addr()
    }

    /// Waits (bounded) until `pred` holds for the stats.
    fn wait_stats(&self, what: &str, pred: impl Fn(&ListenerStats) -> bool) -> ListenerStats {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.listener().stats();
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "{what}: stats {s}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.listener.take());
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn ping_ack(payload: [u8; 8]) -> Frame {
    Frame::Ping(h2actor::frame::Ping { ack: true, payload })
}

fn local() -> ListenerBuilder {
    Listener::builder(([127, 0, 0, 1], 0).into())
}

/// Runs `fut` on a fresh tokio runtime, failing after `limit`.
fn block_on<F: std::future::Future>(limit: Duration, fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async move {
            tokio::time::timeout(limit, fut)
                .await
                .unwrap_or_else(|_| panic!("timed out after {limit:?}"))
        })
}

/// `field: value` of /proc/self/status, in kB (Linux).
fn proc_status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Raises the soft RLIMIT_NOFILE to at least `want` if the hard limit
/// allows; returns the soft limit now in force.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
fn raise_nofile(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if (lim.rlim_cur as u64) < want {
            let new = libc::rlimit {
                rlim_cur: want.min(lim.rlim_max as u64) as libc::rlim_t,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 {
                lim = new;
            }
        }
    }
    lim.rlim_cur as u64
}

/// One hand-rolled client: preface, SETTINGS, `GET /`, then reads until
/// stream 1's END_STREAM; returns the body. Keeps the socket open until
/// `hold` resolves.
async fn one_get(
    addr: SocketAddr,
    arrived: Arc<tokio::sync::Barrier>,
    mut release: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<u8>, String> {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut out = BytesMut::new();
    out.put_slice(PREFACE);
    settings(&[]).encode(&mut out);
    let block = raw_peer::lit_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/"),
    ]);
    raw_peer::headers_frame(1, &block, true, true).encode(&mut out);
    tcp.write_all(&out)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = BytesMut::with_capacity(4096);
    let mut body = Vec::new();
    loop {
        while let Some(f) = Frame::decode(&mut buf, 1 << 14).map_err(|e| format!("{e}"))? {
            match f {
                Frame::Settings(s) if !s.ack => {
                    let mut ack = BytesMut::new();
                    raw_peer::settings_ack().encode(&mut ack);
                    tcp.write_all(&ack)
                        .await
                        .map_err(|e| format!("write: {e}"))?;
                }
                Frame::Data(d) if d.stream_id.0 == 1 => {
                    body.extend_from_slice(&d.data);
                    if d.end_stream {
                        arrived.wait().await;
                        let _ = release.wait_for(|r| *r).await;
                        return Ok(body);
                    }
                }
                Frame::RstStream(r) => return Err(format!("reset {:?}", r.error_code)),
                Frame::GoAway(g) => return Err(format!("goaway {:?}", g.error_code)),
                _ => {}
            }
        }
        let n = tcp
            .read_buf(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the response ended".into());
        }
    }
}

/// 5,000 connections at once, each with one GET; all are answered while
/// all are open (the stats see 5,000 open connections), then all close.
#[test]
fn five_thousand_concurrent_connections_are_all_served() {
    const N: usize = 5_000;
    // Client and server sockets live in this process: 2 fds per connection.
    let nofile = raise_nofile(2 * N as u64 + 256);
    if nofile < 2 * N as u64 + 256 {
        eprintln!(
            "SKIPPED five_thousand_concurrent_connections_are_all_served: \
             RLIMIT_NOFILE hard limit {nofile} < {} (raise `ulimit -Hn`)",
            2 * N + 256
        );
        return;
    }
    let rss_before = proc_status_kb("VmRSS:").unwrap_or(0);
    let served = Served::demo(local().threads(2));
    let addr = served.addr();
    let started = Instant::now();
    let arrived = Arc::new(tokio::sync::Barrier::new(N + 1));
    let (release_tx, release) = tokio::sync::watch::channel(false);
    let results = block_on(Duration::from_secs(60), async {
        let mut tasks = Vec::with_capacity(N);
        for _ in 0..N {
            tasks.push(tokio::spawn(one_get(
                addr,
                arrived.clone(),
                release.clone(),
            )));
        }
        // Every client has its response and still holds its connection.
        arrived.wait().await;
        let at_peak = served.listener().stats();
        let _ = release_tx.send(true);
        let mut results = Vec::with_capacity(N);
        for t in tasks {
            results.push(t.await.expect("client task"));
        }
        (results, at_peak)
    });
    let elapsed = started.elapsed();
    let (results, at_peak) = results;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {N} failed, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(results.iter().all(|r| r.as_deref() == Ok(site::HELLO)));
    assert_eq!(at_peak.connections_open, N, "{at_peak}");
    assert_eq!(at_peak.connections_accepted, N as u64);
    assert_eq!(at_peak.connections_refused, 0);
    assert_eq!(at_peak.streams_total, N as u64);
    let peak_kb = proc_status_kb("VmHWM:").unwrap_or(0);
    println!(
        "{N} concurrent connections served in {elapsed:.2?}; peak RSS of the test \
         process (server and clients) {} MiB (RSS before the server started {} MiB, \
         so about {} KiB per connection pair)",
        peak_kb / 1024,
        rss_before / 1024,
        peak_kb.saturating_sub(rss_before) / N as u64
    );
    // The clients closed: every connection goes, no stream is left open.
    let s = served.wait_stats("all closed", |s| s.connections_open == 0);
    assert_eq!(s.streams_open, 0, "{s}");
}

/// Beyond `max_connections` a new connection is closed at accept (the
/// module docs say why); once one closes, the next is served.
#[test]
fn max_connections_closes_new_connections_at_accept() {
    let served = Served::demo(local().threads(1).max_connections(2));
    let mut a = Peer::connect(served.addr());
    a.handshake();
    a.get_ok(1);
    let mut b = Peer::connect(served.addr());
    b.handshake();
    b.get_ok(1);
    // The third: accepted by the kernel, closed by the listener before any
    // HTTP/2 byte.
    let mut c = Peer::connect(served.addr());
    c.send_raw(PREFACE);
    match c.recv_within(Duration::from_secs(5)) {
        Err(Closed::Eof) => {}
        other => panic!("expected the connection closed, got {other:?}"),
    }
    let s = served.wait_stats("refused", |s| s.connections_refused == 1);
    assert_eq!(s.connections_open, 2, "{s}");
    assert_eq!(s.connections_accepted, 2, "{s}");
    // a and b still work.
    a.get_ok(3);
    b.get_ok(3);
    // One goes: a new connection is served again.
    drop(a);
    served.wait_stats("one closed", |s| s.connections_open == 1);
    let mut d = Peer::connect(served.addr());
    d.handshake();
    d.get_ok(1);
}

/// Graceful shutdown (RFC 9113 §6.8): a download in flight completes, a
/// stream opened after the final GOAWAY is not processed, new connections
/// are refused, and `shutdown` resolves once the connection is done.
#[test]
fn shutdown_lets_the_stream_in_flight_finish_and_refuses_new_work() {
    const LEN: usize = 1_000_000;
    let served = Served::demo(local().threads(1));
    let mut p = Peer::connect(served.addr());
    // Default windows (65,535): the server must wait for our WINDOW_UPDATEs.
    p.handshake();
    p.send_get(1, &format!("/bytes/{LEN}"));
    let first = p.expect(|f| matches!(f, Frame::Data(_)), "the first DATA");
    // Received bytes not yet given back: the windows stay shut until the
    // first GOAWAY, so the download is surely in flight when it arrives.
    let (mut got, mut unreleased) = match first {
        Frame::Data(d) => (d.data.len(), d.flow_len()),
        _ => unreachable!(),
    };

    let listener = served.listener.as_ref().expect("listener");
    let shutdown = listener.shutdown(Duration::from_secs(10));
    let (done_tx, done_rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let report = block_on(Duration::from_secs(20), shutdown);
        let _ = done_tx.send(report);
    });

    // Read on, answering the shutdown PING and opening the windows, until
    // the download ends; note the GOAWAYs.
    let mut goaways = Vec::new();
    let mut done = false;
    let mut refused_sent = false;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done {
        assert!(
            Instant::now() < deadline,
            "download did not finish: {:?}",
            p.tail()
        );
        let f = p
            .recv_within(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e:?}: {:?}", p.tail()));
        match f {
            Frame::Ping(ping) if !ping.ack => p.send(ping_ack(ping.payload)),
            Frame::GoAway(g) => {
                assert_eq!(g.error_code, ErrorCode::NO_ERROR);
                goaways.push(g.last_stream_id.0);
                if unreleased > 0 {
                    p.send(window_update(0, unreleased));
                    p.send(window_update(1, unreleased));
                    unreleased = 0;
                }
                if g.last_stream_id.0 == 1 && !refused_sent {
                    // After the final GOAWAY: a new stream, which the
                    // server must not process (§6.8).
                    refused_sent = true;
                    p.send_get(3, "/");
                    // A new connection is refused: the socket is closed.
                    assert!(
                        std::net::TcpStream::connect_timeout(
                            &served.addr(),
                            Duration::from_secs(2)
                        )
                        .is_err(),
                        "a new connection was accepted during the shutdown"
                    );
                }
            }
            Frame::Data(d) => {
                assert_eq!(d.stream_id.0, 1);
                got += d.data.len();
                let n = d.flow_len();
                if goaways.is_empty() {
                    unreleased += n;
                } else if n > 0 {
                    p.send(window_update(0, n));
                    if !d.end_stream {
                        p.send(window_update(1, n));
                    }
                }
                done = d.end_stream;
            }
            Frame::RstStream(r) => panic!("reset {:?}: {:?}", r.error_code, p.tail()),
            _ => {}
        }
    }
    assert_eq!(got, LEN, "the whole body arrived");
    assert_eq!(
        goaways.first(),
        Some(&0x7fff_ffff),
        "first GOAWAY: last id 2^31-1"
    );
    assert!(
        goaways.contains(&1),
        "final GOAWAY with last id 1: {goaways:?}"
    );
    assert!(refused_sent);
    // Stream 3 gets no answer, and the server closes the connection.
    loop {
        match p.recv_within(Duration::from_secs(5)) {
            Ok(Frame::Headers(h)) if h.stream_id.0 == 3 => {
                panic!("stream 3 was processed after the final GOAWAY")
            }
            Ok(Frame::Data(d)) if d.stream_id.0 == 3 => panic!("stream 3 got DATA"),
            Ok(_) => {}
            Err(Closed::Eof) => break,
            Err(Closed::Timeout) => panic!("the server did not close: {:?}", p.tail()),
        }
    }
    let report = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("shutdown resolved");
    waiter.join().expect("waiter");
    assert_eq!(report.connections, 1);
    assert_eq!(report.forced, 0);
    assert_eq!(report.left, 0);
    let s = served.listener().stats();
    assert_eq!(s.connections_open, 0, "{s}");
    assert_eq!(s.streams_open, 0, "{s}");
    assert!(s.goaways_sent.get(ErrorCode::NO_ERROR) >= 1, "{s}");
    assert_eq!(
        s.goaways_sent.total(),
        s.goaways_sent.get(ErrorCode::NO_ERROR)
    );
    assert!(s.bytes_out >= LEN as u64, "{s}");
}

/// When the grace runs out, what is still open is forced: its stream is
/// reset (CANCEL) and `shutdown` resolves with it counted as forced.
#[test]
fn shutdown_forces_streams_still_open_after_the_grace() {
    let served = Served::demo(local().threads(1));
    let mut p = Peer::connect(served.addr());
    p.handshake();
    // A download that cannot finish: we never open the windows.
    p.send_get(1, "/bytes/1000000");
    p.expect(|f| matches!(f, Frame::Data(_)), "the first DATA");
    let report = block_on(
        Duration::from_secs(15),
        served.listener().shutdown(Duration::from_millis(300)),
    );
    assert_eq!(report.connections, 1);
    assert_eq!(report.forced, 1);
    assert_eq!(report.left, 0);
    // The client saw GOAWAY and its stream reset, then the close.
    let mut reset = false;
    loop {
        match p.recv_within(Duration::from_secs(5)) {
            Ok(Frame::Ping(ping)) if !ping.ack => p.send(ping_ack(ping.payload)),
            Ok(Frame::RstStream(r)) => {
                assert_eq!(r.error_code, ErrorCode::CANCEL);
                reset = true;
            }
            Ok(_) => {}
            Err(Closed::Eof) => break,
            Err(Closed::Timeout) => panic!("not closed: {:?}", p.tail()),
        }
    }
    assert!(reset, "stream reset: {:?}", p.tail());
    let s = served.listener().stats();
    assert_eq!(s.resets_sent.get(ErrorCode::CANCEL), 1, "{s}");
}

/// Answers `hello world\n` and reports each request's connection.
struct Hello(mpsc::Sender<ConnectionId>);
impl Actor for Hello {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Hello {
    type Result = ();
    fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
        let _ = self.0.send(req.conn);
        let response = http::Response::new(());
        req.stream
            .do_send(SendMessage::new(response).body(site::HELLO));
    }
}

/// On one arbiter: a connection actor that panics, and a subscriber
/// function that panics, end that connection only; the other connection
/// on the same thread goes on, and new connections are still accepted.
#[cfg(feature = "test-hooks")]
#[test]
fn a_panicking_connection_does_not_affect_the_others_on_its_arbiter() {
    use h2actor::actor::PanicForTest;
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let panic_next = Arc::new(AtomicBool::new(false));
    let panic_flag = panic_next.clone();
    let served = Served::start(local().threads(1), move |_| {
        if panic_flag.swap(false, Ordering::SeqCst) {
            panic!("subscriber function panics (test)");
        }
        let tx = tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Subscriber::new(&Hello(tx).start())
    });
    let mut a = Peer::connect(served.addr());
    a.handshake();
    a.get_ok(1);
    let a_id = rx.recv_timeout(Duration::from_secs(5)).expect("a's id");
    let mut b = Peer::connect(served.addr());
    b.handshake();
    b.get_ok(1);
    let b_id = rx.recv_timeout(Duration::from_secs(5)).expect("b's id");
    assert_ne!(a_id, b_id);

    // a's connection actor panics inside a handler.
    let conn = served.listener().connection(a_id).expect("a is registered");
    conn.do_send(PanicForTest);
    loop {
        match a.recv_within(Duration::from_secs(5)) {
            Ok(_) => {}
            Err(Closed::Eof) => break,
            Err(Closed::Timeout) => panic!("a's socket stayed open after its actor panicked"),
        }
    }
    let s = served.wait_stats("a released", |s| s.connections_open == 1);
    assert_eq!(s.streams_open, 0, "{s}");
    assert!(served.listener().connection(a_id).is_none());

    // b, on the same arbiter, goes on.
    b.get_ok(3);
    // The subscriber function panics for the next connection: it is closed...
    panic_next.store(true, Ordering::SeqCst);
    let mut c = Peer::connect(served.addr());
    c.send_raw(PREFACE);
    match c.recv_within(Duration::from_secs(5)) {
        Err(Closed::Eof) => {}
        other => panic!("expected c closed, got {other:?}"),
    }
    served.wait_stats("c released", |s| s.connections_open == 1);
    // ...and the accept loop of that arbiter still serves new ones.
    let mut d = Peer::connect(served.addr());
    d.handshake();
    d.get_ok(1);
    b.get_ok(5);
}

/// The stats count what a client did: connections, streams (pushed ones
/// too), resets both ways by code, bytes both ways.
#[test]
fn stats_count_what_the_clients_did() {
    let served = Served::demo(local().threads(2));
    let mut p = Peer::connect(served.addr());
    p.handshake();
    p.get_ok(1);
    p.get_ok(3);
    // A stream the client resets (CANCEL) before the response ends.
    p.send_get(5, "/bytes/1000000");
    p.expect(|f| matches!(f, Frame::Data(_)), "DATA of stream 5");
    p.send(raw_peer::rst(5, ErrorCode::CANCEL));
    p.assert_alive();
    // A second connection, one request.
    let mut q = Peer::connect(served.addr());
    q.handshake();
    q.get_ok(1);
    let s = served.wait_stats("3 + 1 streams done", |s| {
        s.streams_total == 4 && s.streams_open == 0
    });
    assert_eq!(s.connections_open, 2, "{s}");
    assert_eq!(s.connections_accepted, 2, "{s}");
    assert_eq!(s.resets_received.get(ErrorCode::CANCEL), 1, "{s}");
    assert_eq!(s.resets_received.total(), 1, "{s}");
    assert_eq!(s.resets_sent.total(), 0, "{s}");
    assert_eq!(s.goaways_received.total(), 0, "{s}");
    // The client's GOAWAY is counted by code.
    q.send(raw_peer::goaway(1, ErrorCode::ENHANCE_YOUR_CALM));
    let s = served.wait_stats("goaway received", |s| {
        s.goaways_received.get(ErrorCode::ENHANCE_YOUR_CALM) == 1
    });
    assert!(s.bytes_in > 0 && s.bytes_out > 65_000, "{s}");
    drop(p);
    drop(q);
    served.wait_stats("all closed", |s| s.connections_open == 0);
}

/// The h2c upgrade request becomes stream 1 without a HEADERS frame (RFC
/// 7540 §3.2): it still counts as a stream, and a later one on the same
/// connection (stream 3) counts as the second.
#[test]
fn stats_count_the_upgraded_stream() {
    use std::io::{Read, Write};
    let served = Served::demo(local().threads(1));
    let mut tcp = std::net::TcpStream::connect(served.addr()).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
          Upgrade: h2c\r\nHTTP2-Settings: \r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).expect("the 101"), 1, "closed: {head:?}");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut p = Peer::from_stream(tcp);
    p.handshake();
    p.expect(
        |f| matches!(f, Frame::Data(d) if d.stream_id.0 == 1 && d.end_stream),
        "stream 1's answer",
    );
    p.get_ok(3);
    let s = served.wait_stats("two streams", |s| {
        s.streams_total == 2 && s.streams_open == 0
    });
    assert_eq!(s.connections_accepted, 1, "{s}");
}
