//! The connection deadlines (`Timeouts`) end to end: the test server over
//! real TCP with short timeouts, a raw peer (`support/raw_peer.rs`) that is
//! idle, silent, deaf to PINGs or never reads, and the `h2` crate's client
//! (a peer no one here wrote) seeing an idle connection end gracefully.
//! Each test checks the frames on the wire (GOAWAY / RST_STREAM and their
//! codes), when they come, and the `Closed` reason the server's subscriber
//! gets. Also RFC 7540 §5.3.1 (a stream depending on itself) over TCP is
//! in `conformance_s3_s5.rs`.

mod support;

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use h2actor::actor::{
    CloseReason, Closed as ClosedMsg, Error, H2Stream, RecvHeaders, RecvReset, SendData,
    SendHeaders, Subscriber,
};
use h2actor::frame::{ErrorCode, Frame, Setting};
use h2actor::{Config, Head, Keepalive, Timeout, Timeouts};
use support::raw_peer::*;
use support::site;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Forwards `Closed` reasons to the test.
struct Recorder(Mutex<mpsc::Sender<CloseReason>>);
impl Actor for Recorder {
    type Context = Context<Self>;
}
impl Handler<ClosedMsg> for Recorder {
    type Result = ();
    fn handle(&mut self, m: ClosedMsg, _: &mut Context<Self>) {
        let _ = self.0.lock().unwrap().send(m.reason);
    }
}

/// The demo site with `timeouts`; each connection's `Closed` reason goes to
/// the returned receiver.
fn demo_with(timeouts: Timeouts) -> (ConfServer, mpsc::Receiver<CloseReason>) {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let server = ConfServer::start_with(Arc::new(move |tcp| {
        let _ = tcp.set_nodelay(true);
        let tx = tx.lock().unwrap().clone();
        let rec = Recorder(Mutex::new(tx)).start();
        site::builder()
            .config(Config {
                timeouts,
                ..Config::default()
            })
            .start(tcp, site::Site::subscriber().closed(&rec))
    }));
    (server, rx)
}

fn closed_reason(rx: &mpsc::Receiver<CloseReason>) -> CloseReason {
    rx.recv_timeout(Duration::from_secs(5))
        .expect("no Closed notification")
}

fn goaway_of(f: Frame) -> h2actor::frame::GoAway {
    match f {
        Frame::GoAway(g) => g,
        other => panic!("expected GOAWAY, got {other:?}"),
    }
}

// ------------------------------------------------------------------ idle

#[test]
fn idle_connection_gets_goaway_no_error_then_closes() {
    let (s, closed) = demo_with(Timeouts {
        idle: Some(ms(300)),
        ..Timeouts::disabled()
    });
    let mut p = s.peer();
    p.get_ok(1);
    let idle_from = Instant::now();
    // §6.8 two steps: GOAWAY(2^31-1, NO_ERROR) and a PING...
    let g = goaway_of(p.expect(is_goaway, "the idle GOAWAY"));
    let waited = idle_from.elapsed();
    assert!(
        waited >= ms(290),
        "GOAWAY after {waited:?}, before the idle timeout"
    );
    assert!(waited < ms(1500), "GOAWAY only after {waited:?}");
    assert_eq!(g.error_code, ErrorCode::NO_ERROR);
    assert_eq!(g.last_stream_id.0, (1 << 31) - 1);
    let Frame::Ping(ping) = p.expect(|f| matches!(f, Frame::Ping(p) if !p.ack), "PING") else {
        unreachable!()
    };
    // ... then, once the PING comes back, the final GOAWAY and the close.
    p.send(Frame::Ping(h2actor::frame::Ping {
        ack: true,
        payload: ping.payload,
    }));
    let g = p.expect_goaway(ErrorCode::NO_ERROR);
    assert_eq!(g.last_stream_id.0, 1, "stream 1 was processed");
    assert_eq!(closed_reason(&closed), CloseReason::Timeout(Timeout::Idle));
    s.assert_healthy();
}

#[test]
fn idle_timer_waits_for_open_streams() {
    let (s, _closed) = demo_with(Timeouts {
        idle: Some(ms(200)),
        ..Timeouts::disabled()
    });
    let mut p = s.peer();
    // POST /echo left open: a stream exists, the connection is not idle.
    p.send_headers(
        1,
        &[
            (":method".into(), "POST".into()),
            (":scheme".into(), "http".into()),
            (":authority".into(), "localhost".into()),
            (":path".into(), "/echo".into()),
        ],
        false,
    );
    p.expect_none(is_goaway, ms(600), "GOAWAY while a stream is open");
    p.send(data(1, b"bye", true));
    let (status, body) = p.response(1);
    assert_eq!((status, &body[..]), (200, &b"bye"[..]));
    let t = Instant::now();
    p.expect(is_goaway, "the idle GOAWAY once the stream ended");
    assert!(t.elapsed() >= ms(150), "{:?}", t.elapsed());
}

#[test]
fn silent_client_after_the_preface_is_closed() {
    // The peer sends its preface and SETTINGS, then nothing at all: not
    // even the SETTINGS ACK or a PING ACK. Idle + keepalive close it.
    let (s, closed) = demo_with(Timeouts {
        idle: Some(ms(300)),
        keepalive: Some(Keepalive {
            interval: ms(200),
            timeout: ms(300),
        }),
        ..Timeouts::disabled()
    });
    let mut p = s.connect();
    let t = Instant::now();
    p.send_raw(h2actor::frame::PREFACE);
    p.send(settings(&[]));
    p.expect(is_goaway, "GOAWAY");
    p.expect_connection_closed();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(matches!(closed_reason(&closed), CloseReason::Timeout(_)));
}

#[test]
fn no_preface_at_all_is_closed_at_the_handshake_deadline() {
    let (s, closed) = demo_with(Timeouts {
        handshake: Some(ms(300)),
        ..Timeouts::disabled()
    });
    let mut p = s.connect();
    let t = Instant::now();
    let g = p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    assert!(t.elapsed() >= ms(290), "{:?}", t.elapsed());
    assert!(
        String::from_utf8_lossy(&g.debug_data).contains("preface"),
        "{g:?}"
    );
    assert_eq!(
        closed_reason(&closed),
        CloseReason::Timeout(Timeout::Handshake)
    );
}

// ------------------------------------------------------------- keepalive

fn keepalive_only() -> Timeouts {
    Timeouts {
        keepalive: Some(Keepalive {
            interval: ms(200),
            timeout: ms(300),
        }),
        ..Timeouts::disabled()
    }
}

#[test]
fn keepalive_pings_a_silent_peer_and_closes_it_when_no_ack_comes() {
    let (s, closed) = demo_with(keepalive_only());
    let mut p = s.peer();
    let t = Instant::now();
    p.expect(|f| matches!(f, Frame::Ping(p) if !p.ack), "keepalive PING");
    assert!(t.elapsed() >= ms(190), "PING after {:?}", t.elapsed());
    // We never answer.
    let g = p.expect_goaway(ErrorCode::NO_ERROR);
    assert!(t.elapsed() >= ms(480), "closed after {:?}", t.elapsed());
    assert!(
        String::from_utf8_lossy(&g.debug_data).contains("keepalive"),
        "{g:?}"
    );
    assert_eq!(
        closed_reason(&closed),
        CloseReason::Timeout(Timeout::Keepalive)
    );
    s.assert_healthy();
}

#[test]
fn keepalive_acks_keep_the_connection() {
    let (s, _closed) = demo_with(keepalive_only());
    let mut p = s.peer();
    let t = Instant::now();
    let mut answered = 0;
    while t.elapsed() < ms(1200) {
        match p.recv_within(ms(100)) {
            Ok(Frame::Ping(ping)) if !ping.ack => {
                p.send(Frame::Ping(h2actor::frame::Ping {
                    ack: true,
                    payload: ping.payload,
                }));
                answered += 1;
            }
            Ok(Frame::GoAway(g)) => panic!("closed although every PING was answered: {g:?}"),
            Ok(_) | Err(Closed::Timeout) => {}
            Err(Closed::Eof) => panic!("closed although every PING was answered"),
        }
    }
    assert!(answered >= 3, "{answered} PINGs in 1.2 s");
    p.get_ok(1);
}

// --------------------------------------------------------- stalled stream

#[test]
fn stalled_stream_is_reset_and_the_connection_goes_on() {
    let (s, _closed) = demo_with(Timeouts {
        stalled_stream: Some(ms(300)),
        ..Timeouts::disabled()
    });
    let mut p = s.connect();
    // Stream windows start at 0 and we never open stream 1's.
    p.handshake_with(&[Setting::InitialWindowSize(0)]);
    p.send_get(1, "/bytes/1000000");
    p.expect(
        |f| matches!(f, Frame::Headers(h) if h.stream_id.0 == 1),
        "response head on 1",
    );
    let t = Instant::now();
    p.expect_rst(1, ErrorCode::CANCEL);
    let waited = t.elapsed();
    assert!(waited >= ms(250), "reset after {waited:?}");
    assert!(waited < ms(1500), "reset only after {waited:?}");
    // Stream 3, given window, is served on the same connection.
    p.get_ok_with_window(3);
    s.assert_healthy();
}

/// The window shuts while the writer sends (1,000 octets of credit for a
/// 1 MB body): the stall is seen by the writer, outside the connection's
/// turn, with nothing else to wake the connection (every other timeout is
/// off, the peer silent). Its deadline must still be armed: RST_STREAM
/// CANCEL after `stalled_stream` (RFC 9113 §5.2: a receiver may keep its
/// window shut; the sender decides how long it waits).
#[test]
fn a_window_shut_mid_body_is_timed_from_the_writer() {
    let (s, _closed) = demo_with(Timeouts {
        stalled_stream: Some(ms(300)),
        ..Timeouts::disabled()
    });
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(1000)]);
    p.send_get(1, "/bytes/1000000");
    let mut got = 0usize;
    let until = Instant::now() + Duration::from_secs(5);
    while got < 1000 {
        assert!(
            Instant::now() < until,
            "only {got} octets of the 1000 allowed"
        );
        match p.recv_within(ms(500)) {
            Ok(Frame::Data(d)) if d.stream_id.0 == 1 => got += d.data.len(),
            Ok(Frame::RstStream(r)) => panic!("reset before the window shut: {r:?}"),
            Ok(_) => {}
            Err(e) => panic!("no DATA: {e:?}"),
        }
    }
    let t = Instant::now();
    p.expect_rst(1, ErrorCode::CANCEL);
    let waited = t.elapsed();
    assert!(waited >= ms(250), "reset after {waited:?}");
    assert!(waited < ms(1500), "reset only after {waited:?}");
}

#[test]
fn a_slow_reader_is_not_reset() {
    let (s, _closed) = demo_with(Timeouts {
        stalled_stream: Some(ms(300)),
        ..Timeouts::disabled()
    });
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(0)]);
    p.send(window_update(0, 1 << 20));
    p.send_get(1, "/bytes/20000");
    // 4 KiB of credit every 100 ms: the window never stays shut 300 ms.
    let mut got = 0usize;
    let t = Instant::now();
    while got < 20_000 {
        assert!(t.elapsed() < Duration::from_secs(5), "stuck at {got}");
        p.send(window_update(1, 4096));
        let until = Instant::now() + ms(100);
        while let Ok(f) = p.recv_within(until.saturating_duration_since(Instant::now())) {
            match f {
                Frame::Data(d) if d.stream_id.0 == 1 => got += d.data.len(),
                Frame::RstStream(r) => panic!("slow reader reset: {r:?}"),
                _ => {}
            }
        }
    }
    assert_eq!(got, 20_000);
}

/// Answers every request with a 1 MB body in one `SendData` and reports
/// what that `SendData` returned, and any `RecvReset`.
struct BigSender(Mutex<mpsc::Sender<String>>);
impl Actor for BigSender {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for BigSender {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, ctx: &mut Context<Self>) {
        let stream: H2Stream = m.stream;
        let tx = self.0.lock().unwrap().clone();
        ctx.spawn(actix::fut::wrap_future(async move {
            let head = Head::Response(http::Response::new(()));
            let _ = stream
                .send(SendHeaders {
                    head,
                    end_stream: false,
                })
                .await;
            let r = stream
                .send(SendData {
                    data: Bytes::from(vec![b'x'; 1_000_000]),
                    end_stream: true,
                })
                .await;
            let r: Result<(), Error> = r.unwrap_or(Err(Error::ConnectionClosed));
            let _ = tx.send(format!("send: {r:?}"));
        }));
    }
}
impl Handler<RecvReset> for BigSender {
    type Result = ();
    fn handle(&mut self, m: RecvReset, _: &mut Context<Self>) {
        let _ = self
            .0
            .lock()
            .unwrap()
            .send(format!("reset: {} {:?} remote={}", m.id, m.code, m.remote));
    }
}

#[test]
fn stalled_stream_fails_the_pending_send_with_reset_cancel() {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let s = ConfServer::start_with(Arc::new(move |tcp| {
        let a = BigSender(Mutex::new(tx.lock().unwrap().clone())).start();
        site::builder()
            .config(Config {
                timeouts: Timeouts {
                    stalled_stream: Some(ms(300)),
                    ..Timeouts::disabled()
                },
                ..Config::default()
            })
            .start(tcp, Subscriber::new(&a).reset(&a))
    }));
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(0)]);
    p.send_get(1, "/");
    p.expect_rst(1, ErrorCode::CANCEL);
    let mut seen: Vec<String> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(3)).expect("report"))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            "reset: 1 CANCEL remote=false".to_string(),
            "send: Err(Reset(CANCEL))".to_string()
        ]
    );
}

// ------------------------------------------------------- the h2 crate

/// The `h2` crate's client (hyperium/h2) makes one request, then holds the
/// connection idle: our idle timeout must end it gracefully, which `h2`
/// reports as its connection future resolving `Ok(())`.
#[test]
fn h2_crate_client_sees_an_idle_connection_end_gracefully() {
    let (s, closed) = demo_with(Timeouts {
        idle: Some(ms(300)),
        ..Timeouts::disabled()
    });
    let addr = s.addr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body, conn_result, idle_for) = rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut client, conn) = h2::client::handshake(tcp).await.unwrap();
        let conn = tokio::spawn(conn);
        let req = http::Request::get(format!("http://{addr}/"))
            .body(())
            .unwrap();
        let (resp, _) = client.send_request(req, true).unwrap();
        let resp = resp.await.unwrap();
        let status = resp.status();
        let mut body = resp.into_body();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            bytes.extend_from_slice(&chunk);
        }
        let t = Instant::now();
        // `client` stays alive: only the server can end the connection.
        let r = tokio::time::timeout(Duration::from_secs(5), conn)
            .await
            .expect("the idle connection was not closed")
            .unwrap();
        drop(client);
        (status, bytes, r, t.elapsed())
    });
    assert_eq!(status, 200);
    assert_eq!(body, site::HELLO);
    assert!(conn_result.is_ok(), "h2 saw {conn_result:?}");
    assert!(idle_for >= ms(250), "closed after {idle_for:?}");
    assert_eq!(closed_reason(&closed), CloseReason::Timeout(Timeout::Idle));
}
