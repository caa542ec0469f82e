//! End-to-end conformance of our client: a server played frame by frame
//! (`support/raw_peer.rs`, [`Peer::accept_client`]) against the `Client`
//! and the actor API (the tests' client, `support/client.rs`), for what only
//! a quirky or hostile server does; what the example client binary says of
//! it (its sentences) by running the binary.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2actor::client::{Client, Fetch};
use h2actor::frame::{ErrorCode, Frame, PushPromise, StreamId};
use support::client::{Job, Options};
use support::in_actix;
use support::raw_peer::*;

const LIMIT: Duration = Duration::from_secs(30);

fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    (l, addr)
}

fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// The example client binary's `GET http://addr/` with `args`, as a user
/// runs it: it exits 1 and prints each failed request as `client: [stream
/// N] GET /: why`. Returns the failures' (N, why).
fn example_client_failures(addr: SocketAddr, args: &[&str]) -> Vec<(String, String)> {
    let url = format!("http://{addr}/");
    let out = support::example_client(&[args, &[url.as_str()]].concat(), LIMIT);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a request failed: {}",
        out.stderr
    );
    out.stderr
        .lines()
        .filter_map(|line| line.strip_prefix("client: [stream "))
        .map(|rest| {
            let (id, why) = rest
                .split_once("] GET /: ")
                .expect("client: [stream N] GET /: why");
            (id.to_owned(), why.to_owned())
        })
        .collect()
}

/// Waits for the client's request on stream 1.
fn expect_request(p: &mut Peer) {
    p.expect(
        |f| matches!(f, Frame::Headers(h) if h.stream_id.0 == 1),
        "the request on stream 1",
    );
}

// ---------------------------------------------------------------------------
// §8.1: RST_STREAM(NO_ERROR) after a complete response

/// The server of Node's quirk: the whole body its content-length declares,
/// no END_STREAM, then RST_STREAM(NO_ERROR); the connection stays open
/// until the client closes it.
fn complete_then_reset_no_error(listener: TcpListener) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut p = Peer::accept_client(&listener, &[]);
        expect_request(&mut p);
        p.send_headers(
            1,
            &fields(&[(":status", "200"), ("content-length", "5")]),
            false,
        );
        p.send(data(1, b"hello", false));
        p.send(rst(1, ErrorCode::NO_ERROR));
        // Until the client goes (its GOAWAY, or the socket's close).
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            match p.recv_within(Duration::from_millis(100)) {
                Err(Closed::Eof) => return,
                Ok(Frame::GoAway(_)) => return,
                _ => {}
            }
        }
    })
}

/// RFC 9113 §8.1 ("a server MAY request that the client abort transmission
/// of a request without error by sending a RST_STREAM with an error code of
/// NO_ERROR after sending a complete response"), with the response complete
/// by its content-length (§8.1.1): `Client` answers the response, no error.
#[test]
fn s8_1_rst_no_error_after_the_content_length_body_ends_the_client_response() {
    let (listener, addr) = listen();
    let server = complete_then_reset_no_error(listener);
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://{addr}").parse().unwrap()).start();
        let r = client.send(Fetch::get("/")).await.unwrap();
        let r = r.unwrap_or_else(|e| panic!("the response failed: {e}"));
        assert_eq!(r.head.status, 200);
        assert_eq!(&r.body[..], b"hello");
        assert_eq!(r.attempts, 1, "not retried");
    });
    drop(server);
}

/// The same through the actor API: the subscriber sees the body end
/// (`RecvData` with `end_stream`), no `RecvReset`.
#[test]
fn s8_1_rst_no_error_after_the_content_length_body_ends_the_actor_response() {
    let (listener, addr) = listen();
    let server = complete_then_reset_no_error(listener);
    let got = support::fetch(
        addr,
        vec![Job::get(format!("http://{addr}/").parse().unwrap())],
        Options::default(),
        LIMIT,
    );
    assert_eq!(got.len(), 1);
    assert!(got[0].error.is_none(), "{:?}", got[0].error);
    assert_eq!(&got[0].body[..], b"hello");
    drop(server);
}

// ---------------------------------------------------------------------------
// §10.5: a PUSH_PROMISE flood

/// What the flooding server saw.
#[derive(Debug)]
struct Flood {
    promises: u32,
    refusals: usize,
    goaway: Option<(ErrorCode, String)>,
}

/// Promises GET /p/N on stream 1 in batches of 64, reading the client's
/// answers between batches, until the client's GOAWAY, its close, `max`
/// promises or a third of [`LIMIT`].
fn push_flood(listener: TcpListener, max: u32) -> std::thread::JoinHandle<Flood> {
    std::thread::spawn(move || {
        let mut p = Peer::accept_client(&listener, &[]);
        expect_request(&mut p);
        let mut flood = Flood {
            promises: 0,
            refusals: 0,
            goaway: None,
        };
        // Well within LIMIT, so a client that is never cut off fails with
        // these counts rather than a timeout.
        let deadline = Instant::now() + LIMIT / 3;
        while flood.promises < max && Instant::now() < deadline {
            let mut batch = Vec::new();
            for _ in 0..64 {
                let n = flood.promises + 1;
                let path = format!("/p/{n}");
                let block = p.encode(&fields(&[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":authority", "example"),
                    (":path", &path),
                ]));
                batch.push(Frame::PushPromise(PushPromise {
                    stream_id: StreamId(1),
                    promised_id: StreamId(2 * n),
                    block: Bytes::from(block),
                    end_headers: true,
                    pad_len: None,
                }));
                flood.promises = n;
            }
            p.send_all(batch);
            loop {
                match p.recv_within(Duration::from_millis(2)) {
                    Ok(Frame::RstStream(_)) => flood.refusals += 1,
                    Ok(Frame::GoAway(g)) => {
                        let text = String::from_utf8_lossy(&g.debug_data).into_owned();
                        flood.goaway = Some((g.error_code, text));
                        return flood;
                    }
                    Ok(_) => {}
                    Err(Closed::Timeout) => break,
                    Err(Closed::Eof) => return flood,
                }
            }
        }
        flood
    })
}

/// Counts the lines logged at INFO and above.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// §10.5: a server that floods PUSH_PROMISEs and reads our refusals (the
/// `Client` takes no pushes: it cancels each; past MAX_CONCURRENT_STREAMS
/// reserved the protocol refuses them) is cut off with GOAWAY
/// ENHANCE_YOUR_CALM once 2 x MAX_CONCURRENT_STREAMS (512 by default) were
/// wasted, within the first 4 x MAX_CONCURRENT_STREAMS promises and a bit;
/// nothing is logged per promise at INFO or above.
#[test]
fn s10_5_push_promise_flood_gets_goaway_enhance_your_calm() {
    let (listener, addr) = listen();
    let server = push_flood(listener, 1_000_000);
    let lines = Lines::default();
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let flood = tracing::subscriber::with_default(subscriber, || {
        in_actix(LIMIT, async move {
            let client = Client::builder(format!("http://{addr}").parse().unwrap()).start();
            // Never answered: the server only promises.
            let pending = client.send(Fetch::get("/"));
            actix::spawn(async move {
                let _ = pending.await;
            });
            loop {
                if server.is_finished() {
                    return server.join().expect("the flooding server");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    });
    eprintln!("{flood:?}");
    let (code, text) = flood
        .goaway
        .clone()
        .unwrap_or_else(|| panic!("no GOAWAY: {flood:?}"));
    assert_eq!(code, ErrorCode::ENHANCE_YOUR_CALM, "{text}");
    assert!(text.contains("push"), "{text}");
    assert!(flood.promises <= 1_024 + 256, "{flood:?}");
    assert!(flood.refusals >= 512, "{flood:?}");
    let logged = String::from_utf8_lossy(&lines.0.lock().unwrap()).into_owned();
    assert!(
        logged.lines().count() <= 1,
        "logged at INFO or above:\n{logged}"
    );
}

// ---------------------------------------------------------------------------
// Giving a request up: RST_STREAM(CANCEL) reaches the server

/// A server that takes the request on stream 1, never answers, and reports
/// the RST_STREAM it gets for it (with how long after the request).
fn silent_after_request(
    listener: TcpListener,
) -> std::thread::JoinHandle<Option<(ErrorCode, Duration)>> {
    std::thread::spawn(move || {
        let mut p = Peer::accept_client(&listener, &[]);
        expect_request(&mut p);
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(10);
        while Instant::now() < deadline {
            match p.recv_within(Duration::from_millis(100)) {
                Ok(Frame::RstStream(r)) if r.stream_id.0 == 1 => {
                    return Some((r.error_code, asked.elapsed()))
                }
                Err(Closed::Eof) => return None,
                _ => {}
            }
        }
        None
    })
}

/// What `silent_after_request` saw: RST_STREAM(CANCEL) on the request's
/// stream, within `limit` of the request.
fn expect_cancel_within(
    server: std::thread::JoinHandle<Option<(ErrorCode, Duration)>>,
    limit: Duration,
) {
    let (code, after) = server
        .join()
        .unwrap()
        .expect("no RST_STREAM for the given-up request");
    assert_eq!(code, ErrorCode::CANCEL);
    assert!(after < limit, "{after:?}");
}

/// Issue 15, item 11: a `Fetch` whose caller drops the `send` future (here:
/// a 300 ms timeout around it) resets its stream with CANCEL (RFC 9113 §8.1:
/// the response is no longer wanted), well before the request's own
/// deadline (30 s).
#[test]
fn dropping_a_client_fetch_resets_its_stream() {
    let (listener, addr) = listen();
    let server = silent_after_request(listener);
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://{addr}").parse().unwrap()).start();
        let gave_up =
            tokio::time::timeout(Duration::from_millis(300), client.send(Fetch::get("/"))).await;
        assert!(gave_up.is_err(), "the silent server answered?");
        // Keep the client alive while the server waits for the reset.
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    expect_cancel_within(server, Duration::from_secs(2));
}

/// The same for a `Fetch` sent straight to a `Connection`.
#[test]
fn dropping_a_connection_fetch_resets_its_stream() {
    let (listener, addr) = listen();
    let server = silent_after_request(listener);
    in_actix(LIMIT, async move {
        let conn = support::client_connection(addr).await;
        let fetch = Fetch::get(format!("http://{addr}/"));
        let gave_up = tokio::time::timeout(Duration::from_millis(300), conn.send(fetch)).await;
        assert!(gave_up.is_err(), "the silent server answered?");
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    expect_cancel_within(server, Duration::from_secs(2));
}

/// A `Fetch` to a `Connection` whose timeout passes: `FetchError::Timeout`,
/// and the stream is reset (CANCEL).
#[test]
fn a_connection_fetch_times_out_and_resets_its_stream() {
    let (listener, addr) = listen();
    let server = silent_after_request(listener);
    in_actix(LIMIT, async move {
        let conn = support::client_connection(addr).await;
        let fetch = Fetch::get(format!("http://{addr}/")).timeout(Duration::from_millis(300));
        let r = conn.send(fetch).await.unwrap();
        assert_eq!(
            r.unwrap_err(),
            h2actor::client::FetchError::Timeout(Duration::from_millis(300))
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    expect_cancel_within(server, LIMIT);
}

// ---------------------------------------------------------------------------
// What the user reads: one sentence per cause (issue 15, items 2 and 8)

/// RFC 9113 §6.8: a GOAWAY whose last stream id is below the request's
/// stream refuses it (not processed). The example client labels it with
/// the stream it used and says so, not "reset by peer: REFUSED_STREAM".
#[test]
fn s6_8_a_request_refused_by_goaway_says_so_with_its_stream() {
    let (listener, addr) = listen();
    let server = std::thread::spawn(move || {
        let mut p = Peer::accept_client(&listener, &[]);
        expect_request(&mut p);
        p.send(goaway(0, ErrorCode::NO_ERROR));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Err(Closed::Eof) = p.recv_within(Duration::from_millis(100)) {
                return;
            }
        }
    });
    let got = example_client_failures(addr, &[]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "1", "labelled with the stream it used");
    assert_eq!(got[0].1, "refused by GOAWAY (last stream id 0)");
    drop(server);
}

/// A server that accepts the connection and says nothing: the example
/// client's `--timeout` ends the request with a sentence that says the
/// server sent nothing, labelled with the stream the request went out on.
#[test]
fn a_silent_server_fails_the_request_at_its_deadline_saying_so() {
    let (listener, addr) = listen();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        std::thread::sleep(Duration::from_secs(3));
        drop(tcp);
    });
    let started = Instant::now();
    let got = example_client_failures(addr, &["--timeout", "1"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "1");
    let error = &got[0].1;
    assert!(
        error.starts_with(
            "no response within 1 s: the server accepted the connection but has sent nothing"
        ),
        "{error}"
    );
    drop(server);
}

/// The connection dies under the request (a TCP reset, no HTTP/2 frame):
/// the example client says the connection was lost and names the
/// peer, never "reset by peer: CANCEL".
#[test]
fn a_tcp_reset_under_a_request_is_a_lost_connection_not_a_stream_reset() {
    let (listener, addr) = listen();
    let server = std::thread::spawn(move || {
        let mut p = Peer::accept_client(&listener, &[]);
        expect_request(&mut p);
        // SO_LINGER 0: close sends a TCP RST.
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on our own open socket with a valid struct.
        let r = unsafe {
            libc::setsockopt(
                p.tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &linger as *const libc::linger as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "SO_LINGER");
        drop(p);
    });
    let got = example_client_failures(addr, &[]);
    assert_eq!(got.len(), 1);
    let error = &got[0].1;
    assert!(
        error.starts_with(&format!("connection lost ({addr}): ")),
        "{error}"
    );
    assert!(!error.contains("CANCEL"), "{error}");
    drop(server);
}
// ---------------------------------------------------------------------------
// RFC 9218 §7.1: a client's PRIORITY_UPDATE

struct Heads;
impl actix::Actor for Heads {
    type Context = actix::Context<Self>;
}
impl actix::Handler<h2actor::RecvHeaders> for Heads {
    type Result = ();
    fn handle(&mut self, _: h2actor::RecvHeaders, _: &mut Self::Context) {}
}

/// `UpdatePriority` on an open request stream: the server reads a
/// PRIORITY_UPDATE on stream 0 naming the stream, with the field value;
/// `SendMessage::priority` puts the request's `priority` header on it.
#[test]
fn rfc9218_s7_1_update_priority_sends_priority_update_for_the_request_stream() {
    use actix::Actor;
    use h2actor::prelude::*;
    use h2actor::{Priority, UpdatePriority};
    let (listener, addr) = listen();
    let server = std::thread::spawn(move || {
        let mut p = Peer::accept_client(&listener, &[]);
        expect_request(&mut p);
        let f = p.expect(
            |f| matches!(f, Frame::PriorityUpdate(_)),
            "the PRIORITY_UPDATE",
        );
        p.send_headers(1, &fields(&[(":status", "200")]), true);
        (p.decoded.clone(), f)
    });
    in_actix(LIMIT, async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let heads = Heads.start();
        let conn = Connection::builder(Role::Client).start(tcp, Subscriber::new(&heads));
        let stream = conn
            .send(OpenStream {
                subscriber: Some(Subscriber::new(&heads)),
            })
            .await
            .unwrap()
            .unwrap();
        let req = http::Request::get(format!("http://{addr}/"))
            .body(())
            .unwrap();
        stream
            .send(SendMessage::new(req).priority(Priority::new(5, false)))
            .await
            .unwrap()
            .unwrap();
        stream
            .send(UpdatePriority(Priority::new(1, true)))
            .await
            .unwrap()
            .unwrap();
    });
    let (decoded, f) = server.join().unwrap();
    let priority: Vec<&[u8]> = decoded
        .iter()
        .flat_map(|(_, fields)| fields.iter())
        .filter(|f| &f.name[..] == b"priority")
        .map(|f| &f.value[..])
        .collect();
    assert_eq!(priority, vec![&b"u=5"[..]], "the request's header");
    let Frame::PriorityUpdate(u) = f else {
        unreachable!()
    };
    assert_eq!(u.prioritized, StreamId(1));
    assert_eq!(&u.field[..], b"u=1, i");
}
