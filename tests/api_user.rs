//! The user's API as a user meets it: each test here reproduces a finding
//! of the new-user trial (issue 6) and checks its fix. Both preludes are
//! glob-imported on purpose: every name below must resolve beside
//! `actix::prelude::*` (finding 4: `Stream` and `SendError` clashed).

mod support;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use h2actor::prelude::*;
use h2actor::{Error, Event, Ping, Session};
use http::{Request, Response, StatusCode};
use support::in_actix;
use support::site::{self, Site};

/// A tiny deterministic generator (no dependency needed for test jitter).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn get(path: &str) -> Request<()> {
    Request::get(format!("http://localhost{path}"))
        .body(())
        .unwrap()
}

/// A server connection running the test server's `Site` over a pipe.
fn serve_pipe(io: tokio::io::DuplexStream) -> Addr<Connection> {
    site::builder().start(io, Site::subscriber())
}

// ------------------------------------------------------------------ finding 1

/// Counts what reaches a client per stream: heads, ends, resets.
#[derive(Default)]
struct Tally {
    ends: HashMap<H2Stream, u32>,
    resets: HashMap<H2Stream, u32>,
    ids: Vec<StreamId>,
    bodies: HashMap<H2Stream, Vec<u8>>,
}
impl Actor for Tally {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Tally {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, _: &mut Context<Self>) {
        self.ids.push(m.id);
        if m.end_stream {
            *self.ends.entry(m.stream).or_default() += 1;
        }
    }
}
impl Handler<RecvData> for Tally {
    type Result = ();
    fn handle(&mut self, m: RecvData, _: &mut Context<Self>) {
        self.bodies
            .entry(m.stream.clone())
            .or_default()
            .extend_from_slice(&m.data);
        if m.end_stream {
            *self.ends.entry(m.stream).or_default() += 1;
        }
    }
}
impl Handler<RecvTrailers> for Tally {
    type Result = ();
    fn handle(&mut self, m: RecvTrailers, _: &mut Context<Self>) {
        *self.ends.entry(m.stream).or_default() += 1;
    }
}
impl Handler<RecvReset> for Tally {
    type Result = ();
    fn handle(&mut self, m: RecvReset, _: &mut Context<Self>) {
        *self.resets.entry(m.stream).or_default() += 1;
    }
}

/// What the tally holds now.
#[derive(Message)]
#[rtype(result = "(usize, usize, Vec<StreamId>)")]
struct Counts;
impl Handler<Counts> for Tally {
    type Result = MessageResult<Counts>;
    fn handle(&mut self, _: Counts, _: &mut Context<Self>) -> Self::Result {
        let ends = self.ends.values().map(|n| *n as usize).sum();
        let resets = self.resets.values().map(|n| *n as usize).sum();
        MessageResult((ends, resets, self.ids.clone()))
    }
}

fn tally_subscriber(t: &Addr<Tally>) -> Subscriber {
    Subscriber::new(t).data(t).trailers(t).reset(t)
}

async fn wait_for_ends(t: &Addr<Tally>, want: usize) -> (usize, usize, Vec<StreamId>) {
    for _ in 0..1000 {
        let c = t.send(Counts).await.unwrap();
        if c.0 + c.1 >= want {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.send(Counts).await.unwrap()
}

/// Finding 1 (RFC 9113 §5.1.1): 200 tasks each open a stream and send its
/// head after a random number of yields. Ids are assigned when the HEADERS
/// are written, so no interleaving fails; every request is answered (the
/// server saw ids strictly increasing, or it would have failed the
/// connection), and no id is skipped. Twenty rounds.
#[test]
fn two_hundred_tasks_opening_streams_in_any_interleaving_all_succeed() {
    in_actix(Duration::from_secs(60), async {
        let mut rng = Lcg(7);
        for round in 0..20 {
            let (s_io, c_io) = tokio::io::duplex(1 << 16);
            let _server = serve_pipe(s_io);
            let tally = Tally::default().start();
            let client = Connection::builder(Role::Client).start(c_io, tally_subscriber(&tally));
            let mut tasks = Vec::new();
            for i in 0..200u64 {
                let client = client.clone();
                let yields = rng.next() % 4;
                tasks.push(actix::spawn(async move {
                    let stream = client.send(OpenStream::default()).await??;
                    for _ in 0..yields {
                        tokio::task::yield_now().await;
                    }
                    let head = get(if i % 2 == 0 { "/" } else { "/bytes/100" }).into();
                    stream
                        .send(SendHeaders {
                            head,
                            end_stream: true,
                        })
                        .await?
                }));
            }
            let mut failures = 0;
            for t in tasks {
                if !matches!(t.await, Ok(Ok(()))) {
                    failures += 1;
                }
            }
            assert_eq!(
                failures, 0,
                "round {round}: {failures} of 200 requests failed"
            );
            let (ends, resets, ids) = wait_for_ends(&tally, 200).await;
            assert_eq!(
                (ends, resets),
                (200, 0),
                "round {round}: every request answered"
            );
            // The ids are the first 200 client ids, none skipped or used
            // twice. (That they reached the server in ascending order is
            // what the 200 answers and no reset show: a smaller id after a
            // larger one is a connection error, §5.1.1. The order the
            // responses come back in is the server's business.)
            let mut sorted = ids.clone();
            sorted.sort();
            let want: Vec<StreamId> = (0..200).map(|k| StreamId(2 * k + 1)).collect();
            assert_eq!(sorted, want, "round {round}: ids {ids:?}");
            client.do_send(Close {
                code: ErrorCode::NO_ERROR,
            });
        }
    });
}

/// Finding 1, the one-message request: `SendRequest` from 200 tasks at once.
#[test]
fn send_request_from_many_tasks_returns_each_stream() {
    in_actix(Duration::from_secs(30), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let _server = serve_pipe(s_io);
        let tally = Tally::default().start();
        let client = Connection::builder(Role::Client).start(c_io, tally_subscriber(&tally));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let req = Request::post("http://localhost/echo").body(()).unwrap();
            tasks.push(client.send(SendRequest::new(req).body("ping")));
        }
        let mut streams = Vec::new();
        for t in tasks {
            streams.push(t.await.unwrap().expect("request sent"));
        }
        let (ends, resets, _) = wait_for_ends(&tally, 200).await;
        assert_eq!((ends, resets), (200, 0));
        // Each returned handle is the stream its answer came on.
        let bodies = tally.send(Bodies(streams)).await.unwrap();
        assert!(bodies.iter().all(|b| b == b"ping"), "{bodies:?}");
    });
}

#[derive(Message)]
#[rtype(result = "Vec<Vec<u8>>")]
struct Bodies(Vec<H2Stream>);
impl Handler<Bodies> for Tally {
    type Result = MessageResult<Bodies>;
    fn handle(&mut self, m: Bodies, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            m.0.iter()
                .map(|s| self.bodies.get(s).cloned().unwrap_or_default())
                .collect(),
        )
    }
}

/// Finding 1: under the server's SETTINGS_MAX_CONCURRENT_STREAMS of 2, a
/// stream opened and dropped before its HEADERS gives its slot back, and
/// one given up with `Reset` too; neither leaves a trace on the wire (the
/// next stream to send its head is stream 1).
#[test]
fn a_stream_dropped_before_its_headers_gives_its_slot_back() {
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let config = Config {
            max_concurrent_streams: 2,
            ..Config::default()
        };
        let _server = site::builder()
            .config(config)
            .start(s_io, Site::subscriber());
        let tally = Tally::default().start();
        let client = Connection::builder(Role::Client).start(c_io, tally_subscriber(&tally));
        // Let the server's SETTINGS arrive.
        client.send(Ping).await.unwrap().unwrap();
        let a = client.send(OpenStream::default()).await.unwrap().unwrap();
        let b = client.send(OpenStream::default()).await.unwrap().unwrap();
        // Both slots are held: a third open waits.
        let third = client.send(OpenStream::default());
        let third = tokio::time::timeout(Duration::from_millis(200), third).await;
        assert!(third.is_err(), "a third stream must wait for a slot");
        drop(a);
        b.do_send(Reset {
            code: ErrorCode::CANCEL,
        });
        let c = client.send(OpenStream::default()).await.unwrap().unwrap();
        let d = client.send(OpenStream::default()).await.unwrap().unwrap();
        c.send(SendHeaders {
            head: get("/").into(),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
        d.send(SendHeaders {
            head: get("/").into(),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
        let (ends, _, ids) = wait_for_ends(&tally, 2).await;
        assert_eq!(ends, 2);
        assert_eq!(ids, vec![StreamId(1), StreamId(3)]);
    });
}

// ------------------------------------------------------------------ terminal

/// A server that answers by path: `/ok` 200, `/reset` RST_STREAM CANCEL,
/// `/hang` nothing (the connection's end settles it).
struct Fates;
impl Actor for Fates {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Fates {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, _: &mut Context<Self>) {
        let Head::Request(req) = m.head else { return };
        match req.uri().path() {
            "/ok" => m
                .stream
                .do_send(SendMessage::new(Response::new(())).body("ok")),
            "/reset" => m.stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            }),
            _ => {}
        }
    }
}

/// Every stream a user opens ends in exactly one terminal notification
/// (its response's end or `RecvReset`) or in an error reply, whatever
/// happens to it: answered, reset by the server, reset by us, never
/// answered until the connection closes, given up before its HEADERS.
#[test]
fn every_stream_ends_in_exactly_one_terminal_notification() {
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let server = Connection::builder(Role::Server).start(s_io, Subscriber::new(&Fates.start()));
        let tally = Tally::default().start();
        let client = Connection::builder(Role::Client).start(c_io, tally_subscriber(&tally));
        let paths = [
            "/ok", "/reset", "/hang", "/ok", "/ours", "/hang", "/reset", "/ok",
        ];
        let mut streams = Vec::new();
        let mut errors = 0;
        for path in paths {
            let stream = client.send(OpenStream::default()).await.unwrap().unwrap();
            let sent = stream
                .send(SendHeaders {
                    head: get(path).into(),
                    end_stream: path != "/ours",
                })
                .await;
            if !matches!(sent, Ok(Ok(()))) {
                errors += 1;
            }
            if path == "/ours" {
                stream.do_send(Reset {
                    code: ErrorCode::CANCEL,
                });
            }
            streams.push(stream);
        }
        // Given up before its HEADERS: its SendHeaders is the error.
        let early = client.send(OpenStream::default()).await.unwrap().unwrap();
        early.do_send(Reset {
            code: ErrorCode::CANCEL,
        });
        let r = early
            .send(SendHeaders {
                head: get("/ok").into(),
                end_stream: true,
            })
            .await
            .unwrap();
        assert_eq!(r, Err(Error::Reset(ErrorCode::CANCEL)));
        errors += 1;

        let (ends, resets, _) = wait_for_ends(&tally, 6).await;
        assert_eq!(
            (ends, resets),
            (3, 3),
            "3 answered; 2 reset by the server, 1 by us"
        );
        // The connection ends: the two unanswered streams hear RecvReset.
        server.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        server.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        let (ends, resets, _) = wait_for_ends(&tally, 8).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let per_stream = tally.send(PerStream(streams)).await.unwrap();
        assert_eq!(per_stream, vec![1; paths.len()], "one terminal per stream");
        assert_eq!((ends, resets, errors), (3, 5, 1));
    });
}

#[derive(Message)]
#[rtype(result = "Vec<u32>")]
struct PerStream(Vec<H2Stream>);
impl Handler<PerStream> for Tally {
    type Result = MessageResult<PerStream>;
    fn handle(&mut self, m: PerStream, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            m.0.iter()
                .map(|s| {
                    self.ends.get(s).copied().unwrap_or(0)
                        + self.resets.get(s).copied().unwrap_or(0)
                })
                .collect(),
        )
    }
}

// ------------------------------------------------------------------ finding 2

/// Finding 2: a server that handles `RecvHeaders` only. Its request bodies
/// take the default (released and dropped), so a 3 MB upload, larger than
/// every receive window, completes and is answered.
struct HeadersOnly;
impl Actor for HeadersOnly {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for HeadersOnly {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, _: &mut Context<Self>) {
        m.stream
            .do_send(SendMessage::new(Response::new(())).body("hello world\n"));
    }
}

#[test]
fn a_subscriber_handling_only_recv_headers_serves_uploads_larger_than_the_window() {
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let _server =
            Connection::builder(Role::Server).start(s_io, Subscriber::new(&HeadersOnly.start()));
        let tally = Tally::default().start();
        let client = Connection::builder(Role::Client).start(c_io, tally_subscriber(&tally));
        let req = Request::post("http://localhost/upload").body(()).unwrap();
        let stream = client
            .send(SendRequest::new(req).streaming())
            .await
            .unwrap()
            .unwrap();
        let chunk = Bytes::from(vec![7u8; 100_000]);
        for i in 0..30 {
            let data = chunk.clone();
            stream
                .send(SendData {
                    data,
                    end_stream: i == 29,
                })
                .await
                .unwrap()
                .unwrap();
        }
        let (ends, resets, _) = wait_for_ends(&tally, 1).await;
        assert_eq!((ends, resets), (1, 0));
    });
}

/// Finding 2: a client without a `RecvPromise` handler asks for `/push`:
/// the push is refused by default and the page still arrives.
#[test]
fn unsubscribed_pushes_are_refused_and_the_page_arrives() {
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let _server = serve_pipe(s_io);
        let tally = Tally::default().start();
        let client = Connection::builder(Role::Client).start(c_io, tally_subscriber(&tally));
        let page = client
            .send(SendRequest::new(get("/push")))
            .await
            .unwrap()
            .unwrap();
        let (ends, resets, ids) = wait_for_ends(&tally, 1).await;
        assert_eq!((ends, resets), (1, 0));
        assert_eq!(
            ids,
            vec![StreamId(1)],
            "the pushed response never reached us"
        );
        let bodies = tally.send(Bodies(vec![page])).await.unwrap();
        assert_eq!(bodies[0], site::PUSH_PAGE);
    });
}

// ------------------------------------------------------------------ finding 3

/// Records what one actor serving two connections sees.
#[derive(Default)]
struct Multi {
    heads: Vec<(ConnectionId, StreamId, H2Stream)>,
    resets: Vec<(ConnectionId, StreamId, H2Stream)>,
    closed: Vec<ConnectionId>,
}
impl Actor for Multi {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Multi {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, _: &mut Context<Self>) {
        self.heads.push((m.conn, m.id, m.stream));
    }
}
impl Handler<RecvReset> for Multi {
    type Result = ();
    fn handle(&mut self, m: RecvReset, _: &mut Context<Self>) {
        self.resets.push((m.conn, m.id, m.stream));
    }
}
impl Handler<Closed> for Multi {
    type Result = ();
    fn handle(&mut self, m: Closed, _: &mut Context<Self>) {
        self.closed.push(m.conn);
    }
}
type Seen = (
    Vec<(ConnectionId, StreamId, H2Stream)>,
    Vec<(ConnectionId, StreamId, H2Stream)>,
    Vec<ConnectionId>,
);
#[derive(Message)]
#[rtype(result = "Seen")]
struct Dump;
impl Handler<Dump> for Multi {
    type Result = MessageResult<Dump>;
    fn handle(&mut self, _: Dump, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.heads.clone(), self.resets.clone(), self.closed.clone()))
    }
}

/// Finding 3: one actor serves two connections. Both requests are stream 1,
/// told apart by their connection's identity and their stream's handle; an
/// upload the client resets reaches the server as `RecvReset` carrying the
/// same handle as its `RecvHeaders`, so the server can clean up; `Closed`
/// says which connection ended.
#[test]
fn notifications_carry_the_stream_handle_and_the_connection_identity() {
    in_actix(Duration::from_secs(20), async {
        let multi = Multi::default().start();
        let sub = Subscriber::new(&multi).reset(&multi).closed(&multi);
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..2 {
            let (s_io, c_io) = tokio::io::duplex(1 << 16);
            servers.push(Connection::builder(Role::Server).start(s_io, sub.clone()));
            let client = Connection::builder(Role::Client)
                .start(c_io, Subscriber::new(&Tally::default().start()));
            let req = Request::post("http://localhost/upload").body(()).unwrap();
            let stream = client
                .send(SendRequest::new(req).body("part").streaming())
                .await
                .unwrap()
                .unwrap();
            clients.push((client, stream));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (heads, _, _) = multi.send(Dump).await.unwrap();
        assert_eq!(heads.len(), 2);
        assert_eq!((heads[0].1, heads[1].1), (StreamId(1), StreamId(1)));
        assert_ne!(heads[0].0, heads[1].0, "two connections, two identities");
        assert_ne!(heads[0].2, heads[1].2, "two streams, two handles");
        // The identity is also what the connection's stats report.
        let mut ids = Vec::new();
        for s in &servers {
            ids.push(s.send(h2actor::GetStats).await.unwrap().conn);
        }
        ids.sort();
        let mut seen: Vec<_> = heads.iter().map(|h| h.0).collect();
        seen.sort();
        assert_eq!(ids, seen);

        // The first client gives up its upload.
        clients[0].1.do_send(Reset {
            code: ErrorCode::CANCEL,
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, resets, _) = multi.send(Dump).await.unwrap();
        assert_eq!(resets.len(), 1);
        let head_of_reset = heads
            .iter()
            .find(|h| h.2 == resets[0].2)
            .expect("same handle");
        assert_eq!(
            (head_of_reset.0, head_of_reset.1),
            (resets[0].0, resets[0].1)
        );

        let second_conn = heads.iter().find(|h| h.2 != resets[0].2).unwrap().0;
        clients[1].0.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        clients[1].0.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, _, closed) = multi.send(Dump).await.unwrap();
        assert_eq!(closed, vec![second_conn]);
    });
}

// ------------------------------------------------------------------ finding 5

/// Finding 5: `SendMessage` with a whole body and no `content-length` gets
/// one (RFC 9110 §8.6); one the user set is kept.
#[test]
fn send_message_sets_content_length_when_the_body_is_complete() {
    struct Lengths;
    impl Actor for Lengths {
        type Context = Context<Self>;
    }
    impl Handler<RecvHeaders> for Lengths {
        type Result = ();
        fn handle(&mut self, m: RecvHeaders, _: &mut Context<Self>) {
            let Head::Request(req) = m.head else { return };
            let resp = match req.uri().path() {
                "/set" => Response::builder()
                    .header("content-length", "5")
                    .body(())
                    .unwrap(),
                _ => Response::new(()),
            };
            m.stream.do_send(SendMessage::new(resp).body("12345"));
        }
    }
    let heads: Rc<RefCell<Vec<Response<()>>>> = Rc::default();
    let seen = heads.clone();
    in_actix(Duration::from_secs(20), async move {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        Connection::builder(Role::Server).start(s_io, Subscriber::new(&Lengths.start()));
        let mut client = Session::new(c_io, Connection::builder(Role::Client));
        for path in ["/unset", "/set"] {
            let id = client.next_free_stream_identifier().await.unwrap();
            client
                .put_act(
                    id,
                    SendHeaders {
                        head: get(path).into(),
                        end_stream: true,
                    },
                )
                .await
                .unwrap();
            while let Some(evt) = client.take_evt().await {
                if let Event::RecvHeaders(RecvHeaders {
                    head: Head::Response(r),
                    ..
                }) = evt
                {
                    seen.borrow_mut().push(r);
                    break;
                }
            }
        }
    });
    let heads = heads.borrow();
    for r in heads.iter() {
        assert_eq!(r.status(), StatusCode::OK);
        let lengths: Vec<_> = r.headers().get_all("content-length").iter().collect();
        assert_eq!(lengths, ["5"], "exactly one content-length: {r:?}");
    }
}

// ------------------------------------------------------------------ finding 6

/// Finding 6: `HEAD` answers every route `GET` answers, with the header
/// fields `GET` sends and no content (RFC 9110 §9.3.2). The example server
/// binary, as a user runs it.
#[test]
fn head_answers_every_get_route_with_its_header_fields() {
    use support::client::Job;
    let server = support::ExampleServer::start(&[]);
    let paths = ["/", "/bytes/100", "/trailers", "/push", "/nowhere"];
    let job = |method: http::Method, path: &str| Job {
        method,
        uri: server.url(path).parse().unwrap(),
        body: None,
    };
    let mut jobs: Vec<Job> = paths.iter().map(|p| job(http::Method::GET, p)).collect();
    jobs.extend(paths.iter().map(|p| job(http::Method::HEAD, p)));
    let options = support::client::Options {
        enable_push: false,
        ..Default::default()
    };
    let got = support::fetch(server.addr, jobs, options, Duration::from_secs(20));
    let (gets, heads) = got.split_at(paths.len());
    for ((path, get), head) in paths.iter().zip(gets).zip(heads) {
        assert_eq!(head.error, None, "HEAD {path}");
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_eq!(
            head.headers.get("content-length"),
            get.headers.get("content-length"),
            "HEAD {path}"
        );
        assert_eq!(
            head.headers.get("content-type"),
            get.headers.get("content-type"),
            "HEAD {path}"
        );
        assert!(head.body.is_empty(), "HEAD {path} has no content");
    }
    assert_eq!(gets[1].body.len(), 100);
    assert_eq!(heads[1].headers["content-length"], "100");
}

/// Finding 6: the example client keeps stdout to the body; status, header
/// fields and trailers go to stderr under `-v`. The example client binary,
/// as a user runs it (exit status 0: no exchange failed).
#[test]
fn example_client_prints_only_the_body_on_stdout() {
    let server = support::TestServer::start();
    let urls = ["/trailers", "/", "/bytes/3"].map(|p| server.url(p));
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let limit = Duration::from_secs(20);
    let got = support::example_client(&[&["-v"], &urls[..]].concat(), limit);
    assert!(got.status.success(), "no exchange failed: {}", got.stderr);
    let expected = [site::TRAILERS_BODY, b"hello world\n", b"abc"].concat();
    assert_eq!(
        got.stdout, expected,
        "stdout holds the bodies and nothing else"
    );
    let err = got.stderr;
    assert!(err.contains("(trailer) x-trailer-test: ok"), "{err}");
    assert!(err.contains("GET /trailers -> 200"), "{err}");
    let quiet = support::example_client(&urls, limit);
    assert!(quiet.status.success(), "{}", quiet.stderr);
    assert_eq!(quiet.stdout, expected);
    assert!(
        quiet.stderr.is_empty(),
        "without -v nothing else is printed"
    );
}

/// A handler that answers every request alike with `SendMessage` also
/// answers HEAD correctly: the head with the body's length, no content
/// (RFC 9110 §9.3.2), no reset. Found by the scratch-crate trial: `curl -I`
/// got RST_STREAM INTERNAL_ERROR.
#[test]
fn send_message_answers_head_requests_without_the_body() {
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let _server =
            Connection::builder(Role::Server).start(s_io, Subscriber::new(&HeadersOnly.start()));
        let mut client = Session::new(c_io, Connection::builder(Role::Client));
        let id = client.next_free_stream_identifier().await.unwrap();
        let head = Request::head("http://localhost/").body(()).unwrap().into();
        client
            .put_act(
                id,
                SendHeaders {
                    head,
                    end_stream: true,
                },
            )
            .await
            .unwrap();
        match client.take_evt().await {
            Some(Event::RecvHeaders(h)) => {
                assert!(h.end_stream, "no content follows");
                let Head::Response(r) = h.head else {
                    panic!("a response")
                };
                assert_eq!(r.status(), StatusCode::OK);
                assert_eq!(r.headers()["content-length"], "12");
            }
            other => panic!("{other:?}"),
        }
        client.close();
        while let Some(evt) = client.take_evt().await {
            assert!(
                matches!(evt, Event::Closed(_) | Event::GoAway(_)),
                "{evt:?}"
            );
        }
    });
}

/// HTTP2.jl's client shape with `Session`: `put_act` on the next id opens
/// the stream even without `next_free_stream_identifier` first; a skipped
/// or reused id is refused at once (RFC 9113 §5.1.1), the connection goes on.
#[test]
fn session_put_act_opens_the_next_stream_and_refuses_ids_out_of_order() {
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let _server = serve_pipe(s_io);
        let mut client = Session::new(c_io, Connection::builder(Role::Client));
        let head = || SendHeaders {
            head: get("/").into(),
            end_stream: true,
        };
        assert_eq!(client.put_act(StreamId(1), head()).await, Ok(StreamId(1)));
        assert_eq!(
            client.put_act(StreamId(7), head()).await,
            Err(Error::User(h2actor::UserError::StreamIdOrder(StreamId(7))))
        );
        assert_eq!(client.next_free_stream_identifier().await, Ok(StreamId(3)));
        assert_eq!(client.put_act(StreamId(3), head()).await, Ok(StreamId(3)));
        let mut ended = Vec::new();
        while ended.len() < 2 {
            if let Some(Event::RecvData(d)) = client.take_evt().await {
                if d.end_stream {
                    ended.push(d.id);
                }
            }
        }
        assert_eq!(ended, [StreamId(1), StreamId(3)]);
    });
}

// ------------------------------------------------------------ one `start`

/// The h2c upgrade through the one `Builder::start`: the server begins
/// with `upgraded(upgrade)`, the client (a `Session`, so the same options
/// reach it) with `upgraded_client(method)`; the upgrade request is
/// answered on stream 1, and the client's next request is stream 3.
#[test]
fn upgraded_options_start_both_sides_with_the_one_start() {
    use h2actor::transport::{accept_h2c, upgrade_h2c, H2cAccepted, H2cLimits};
    in_actix(Duration::from_secs(20), async {
        let (s_io, c_io) = tokio::io::duplex(1 << 16);
        let limits = H2cLimits::default();
        let config = Config::default();
        let request = Request::get("http://localhost/").body(()).unwrap();
        let (accepted, upgraded) = tokio::join!(
            accept_h2c(s_io, &limits),
            upgrade_h2c(c_io, &request, &config, &limits)
        );
        let H2cAccepted::Upgrade(s_io, upgrade) = accepted.unwrap() else {
            panic!("not an upgrade")
        };
        let server = Connection::builder(Role::Server)
            .upgraded(upgrade)
            .unwrap()
            .start(s_io, Site::subscriber());
        let builder = Connection::builder(Role::Client)
            .config(config)
            .upgraded_client(request.method())
            .unwrap();
        let mut client = Session::new(upgraded.unwrap(), builder);
        let mut answered = Vec::new();
        let mut next = None;
        while let Some(evt) = client.take_evt().await {
            match evt {
                Event::RecvHeaders(h) => {
                    let Head::Response(r) = &h.head else { continue };
                    answered.push((h.stream.id(), r.status()));
                    if next.is_none() {
                        let id = client.next_free_stream_identifier().await.unwrap();
                        next = Some(id);
                        let head = Request::get("http://localhost/").body(()).unwrap();
                        client
                            .put_act(
                                id,
                                SendHeaders {
                                    head: head.into(),
                                    end_stream: true,
                                },
                            )
                            .await
                            .unwrap();
                    } else {
                        break;
                    }
                }
                Event::Closed(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
        assert_eq!(
            answered,
            [
                (Some(h2actor::StreamId(1)), StatusCode::OK),
                (Some(h2actor::StreamId(3)), StatusCode::OK)
            ]
        );
        drop(server);
    });
}

/// The options check the role (and an upgrade's settings) before anything
/// starts, so a mistake is an `Err` and the transport is still the caller's.
#[test]
fn upgraded_options_refuse_the_wrong_role_and_bad_settings() {
    use h2actor::frame::Setting;
    use h2actor::transport::H2cUpgrade;
    let upgrade = |settings| H2cUpgrade {
        request: Request::get("http://localhost/").body(()).unwrap(),
        body: Bytes::new(),
        settings,
    };
    let e = Connection::builder(Role::Client)
        .upgraded(upgrade(vec![]))
        .unwrap_err();
    assert!(matches!(e, Error::User(_)), "{e:?}");
    let e = Connection::builder(Role::Server)
        .upgraded(upgrade(vec![Setting::MaxFrameSize(1)]))
        .unwrap_err();
    assert!(matches!(e, Error::User(_)), "{e:?}");
    let e = Connection::builder(Role::Server)
        .upgraded_client(&http::Method::GET)
        .unwrap_err();
    assert!(matches!(e, Error::User(_)), "{e:?}");
    assert!(Connection::builder(Role::Server)
        .upgraded(upgrade(vec![]))
        .is_ok());
}
