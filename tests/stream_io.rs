//! `StreamIo`: an HTTP/2 stream as an `AsyncRead + AsyncWrite` byte pipe,
//! our client against our server over loopback TCP, through an extended
//! CONNECT (RFC 8441) as a WebSocket would use it: an 8 MiB echo, the
//! manual-release mode, a reset as an `io::Error`, and the bound on what a
//! writer gets ahead of a reader that does not read.

use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use h2actor::prelude::*;
use h2actor::Builder;
use h2actor::{GetStats, Protocol, StreamIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server does with an accepted extended CONNECT.
#[derive(Clone, Copy)]
enum Mode {
    /// Echo every byte, then end its side when the client ends.
    Echo,
    /// Reset the stream (CANCEL) right after the 200.
    Reset,
    /// Take the pipe and never read it.
    Hold,
}

struct Server(Mode);

impl Actor for Server {
    type Context = Context<Self>;
}

impl Handler<RecvHeaders> for Server {
    type Result = ();
    fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
        let mode = self.0;
        actix::spawn(async move {
            let Head::Request(r) = &req.head else { return };
            assert_eq!(r.method(), http::Method::CONNECT);
            assert_eq!(
                r.extensions().get::<Protocol>(),
                Some(&Protocol(Bytes::from_static(b"websocket")))
            );
            let io = StreamIo::new(req.stream.clone()).await.unwrap();
            let ok = http::Response::new(());
            req.stream
                .send(SendHeaders {
                    head: ok.into(),
                    end_stream: false,
                })
                .await
                .unwrap()
                .unwrap();
            match mode {
                Mode::Echo => {
                    let (mut rd, mut wr) = tokio::io::split(io);
                    tokio::io::copy(&mut rd, &mut wr).await.unwrap();
                    wr.shutdown().await.unwrap();
                }
                Mode::Reset => req.stream.do_send(Reset {
                    code: ErrorCode::CANCEL,
                }),
                Mode::Hold => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(io);
                }
            }
        });
    }
}

/// Ignores what the client connection's own subscriber would get.
struct Nobody;
impl Actor for Nobody {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Nobody {
    type Result = ();
    fn handle(&mut self, _: RecvHeaders, _: &mut Context<Self>) {}
}

/// A server connection (extended CONNECT on) and a client connection over
/// loopback TCP; returns the client once the server's SETTINGS arrived.
async fn pair(mode: Mode, server: Builder) -> Addr<Connection> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = tokio::net::TcpStream::connect(l.local_addr().unwrap())
        .await
        .unwrap();
    let (s, _) = l.accept().await.unwrap();
    c.set_nodelay(true).unwrap();
    s.set_nodelay(true).unwrap();
    server.start(s, Subscriber::new(&Server(mode).start()));
    let client = Connection::builder(Role::Client).start(c, Subscriber::new(&Nobody.start()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !client.send(GetStats).await.unwrap().peer_settings {
        assert!(Instant::now() < deadline, "no SETTINGS from the server");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    client
}

fn server_builder() -> Builder {
    Connection::builder(Role::Server).config(Config {
        enable_connect_protocol: true,
        ..Config::default()
    })
}

/// Opens an extended CONNECT `:protocol = websocket` and returns the pipe
/// once the 200 is in.
async fn connect(client: &Addr<Connection>) -> std::io::Result<StreamIo> {
    let stream = client.send(OpenStream::default()).await.unwrap().unwrap();
    let mut io = StreamIo::new(stream.clone()).await?;
    let mut req = http::Request::connect("https://localhost/ws")
        .body(())
        .unwrap();
    req.extensions_mut()
        .insert(Protocol(Bytes::from_static(b"websocket")));
    stream
        .send(SendHeaders {
            head: req.into(),
            end_stream: false,
        })
        .await
        .unwrap()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let Head::Response(r) = io.recv_head().await? else {
        panic!("a request head on a client stream")
    };
    assert_eq!(r.status(), http::StatusCode::OK);
    Ok(io)
}

/// Deterministic bytes: not a repeating pattern a lost frame could hide in.
fn payload(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Writes `data` in uneven pieces while reading the echo; returns the echo.
async fn echo_through(io: StreamIo, data: Vec<u8>) -> Vec<u8> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let len = data.len();
    let writer = async move {
        let mut off = 0;
        let mut step = 1;
        while off < data.len() {
            let end = (off + step).min(data.len());
            wr.write_all(&data[off..end]).await.unwrap();
            off = end;
            step = (step * 7 + 1) % 300_000 + 1;
        }
        wr.shutdown().await.unwrap();
    };
    let reader = async move {
        let mut got = Vec::with_capacity(len);
        rd.read_to_end(&mut got).await.unwrap();
        got
    };
    let ((), got) = tokio::join!(writer, reader);
    got
}

#[actix_rt::test]
async fn rfc8441_echo_8_mib_through_stream_io() {
    let client = pair(Mode::Echo, server_builder()).await;
    let io = connect(&client).await.unwrap();
    let data = payload(8 << 20);
    let t = Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(30), echo_through(io, data.clone()))
        .await
        .expect("echo within 30 s");
    eprintln!("8 MiB echoed in {:?}", t.elapsed());
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echo differs");
}

#[actix_rt::test]
async fn echo_with_manual_release_sends_release_capacity() {
    // auto_release(false): nothing goes back to the windows unless the pipe
    // releases what it reads; 4 MiB is four times the stream window.
    let client = pair(Mode::Echo, server_builder().auto_release(false)).await;
    let io = connect(&client).await.unwrap();
    let data = payload(4 << 20);
    let got = tokio::time::timeout(Duration::from_secs(30), echo_through(io, data.clone()))
        .await
        .expect("echo within 30 s: the server's pipe released what it read");
    assert!(got == data, "echo differs");
}

#[actix_rt::test]
async fn a_reset_stream_is_an_io_error() {
    let client = pair(Mode::Reset, server_builder()).await;
    let mut io = connect(&client).await.unwrap();
    let mut buf = [0u8; 16];
    let e = tokio::time::timeout(Duration::from_secs(5), io.read(&mut buf))
        .await
        .expect("the reset arrives")
        .expect_err("a reset is an error, not EOF");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
    assert!(e.to_string().contains("CANCEL"), "{e}");
    // Writing on it fails too.
    let mut failed = false;
    for _ in 0..3 {
        if io.write_all(b"x").await.is_err() || io.flush().await.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "a write on a reset stream must fail");
}

#[actix_rt::test]
async fn a_writer_stays_within_the_windows_of_a_reader_that_does_not_read() {
    let client = pair(Mode::Hold, server_builder()).await;
    let io = connect(&client).await.unwrap();
    let (_rd, mut wr) = tokio::io::split(io);
    let chunk = vec![7u8; 16 << 10];
    let mut written = 0usize;
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(100), wr.write_all(&chunk)).await {
            Ok(r) => {
                r.unwrap();
                written += chunk.len();
            }
            Err(_) => break,
        }
        assert!(written <= 64 << 20, "runaway writer");
    }
    // The server's stream window (1 MiB) and the one frame its pipe took
    // into its channel (released then), no more: measured 1 MiB + 16 KiB.
    // Allow the write in flight and a frame or two of slack.
    eprintln!("a writer got {written} bytes ahead of a reader that does not read");
    assert!(
        written <= (1 << 20) + (128 << 10),
        "{written} bytes taken without a reader"
    );
    assert!(
        written >= 1 << 20,
        "only {written} bytes: the window was not used"
    );
}

#[actix_rt::test]
async fn extended_connect_needs_the_servers_setting() {
    // A server without `enable_connect_protocol`: our client refuses to send
    // `:protocol` (RFC 8441 §4).
    let client = pair(Mode::Echo, Connection::builder(Role::Server)).await;
    let e = connect(&client).await.expect_err("refused");
    assert!(e.to_string().contains("extended CONNECT"), "{e}");
}
