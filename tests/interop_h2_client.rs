//! Our server against the `h2` crate (0.4) as client, on a tokio runtime.

mod support;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use http::{HeaderMap, Method, Request, StatusCode};
use support::{site, TestServer};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `fut` on a fresh current-thread tokio runtime with a deadline.
fn tokio_run<F: Future>(fut: F) -> F::Output {
    support::tokio_run(LIMIT, fut)
}

async fn connect(server: &TestServer, builder: &h2::client::Builder) -> SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    // Without TCP_NODELAY the client's small WINDOW_UPDATEs wait for Nagle:
    // a 1 KiB-window download took 12 s instead of 0.2 s.
    tcp.set_nodelay(true).expect("TCP_NODELAY");
    let (client, conn) = builder.handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("h2 client connection: {e}");
        }
    });
    client
}

fn request(server: &TestServer, method: Method, path: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(server.url(path))
        .body(())
        .expect("request")
}

/// Reads a whole body, giving the bytes back to the flow-control windows.
async fn read_body(body: &mut RecvStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    out
}

/// Sends `data` within the stream's send window (RFC 9113 §5.2), then ends it.
async fn send_body(send: &mut SendStream<Bytes>, mut data: Bytes) {
    while !data.is_empty() {
        send.reserve_capacity(data.len().min(256 << 10));
        let cap = std::future::poll_fn(|cx| send.poll_capacity(cx))
            .await
            .expect("stream still open")
            .expect("capacity");
        let chunk = data.split_to(cap.min(data.len()));
        send.send_data(chunk, data.is_empty()).expect("send_data");
    }
}

async fn get(
    client: &mut SendRequest<Bytes>,
    req: Request<()>,
) -> (StatusCode, Vec<u8>, Option<HeaderMap>) {
    let mut client = client.clone().ready().await.expect("ready");
    let (resp, _) = client.send_request(req, true).expect("send_request");
    let resp = resp.await.expect("response");
    let status = resp.status();
    let mut body = resp.into_body();
    let bytes = read_body(&mut body).await;
    let trailers = body.trailers().await.expect("trailers");
    (status, bytes, trailers)
}

#[test]
fn h2_client_gets_hello_world() {
    let server = TestServer::start();
    tokio_run(async {
        let mut client = connect(&server, &h2::client::Builder::new()).await;
        let (status, body, _) = get(&mut client, request(&server, Method::GET, "/")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, site::HELLO);
        let (status, _, _) = get(&mut client, request(&server, Method::GET, "/missing")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    });
}

/// 200 streams open at once on one connection (below our default
/// SETTINGS_MAX_CONCURRENT_STREAMS of 256, RFC 9113 §5.1.2).
#[test]
fn h2_client_200_concurrent_streams() {
    let server = TestServer::start();
    tokio_run(async {
        let client = connect(&server, &h2::client::Builder::new()).await;
        let tasks = (0..200).map(|i| {
            let mut client = client.clone();
            let path = if i % 2 == 0 {
                "/".to_owned()
            } else {
                format!("/bytes/{}", 1000 + i)
            };
            let req = request(&server, Method::GET, &path);
            tokio::spawn(async move {
                let (status, body, _) = get(&mut client, req).await;
                (i, status, body)
            })
        });
        for task in futures::future::join_all(tasks).await {
            let (i, status, body) = task.expect("task");
            assert_eq!(status, StatusCode::OK);
            if i % 2 == 0 {
                assert_eq!(body, site::HELLO);
            } else {
                assert_eq!(body.len(), 1000 + i);
            }
        }
    });
}

/// A 6 MiB download while the client grants only 1 KiB stream windows
/// (SETTINGS_INITIAL_WINDOW_SIZE = 1024, RFC 9113 §6.9.2): the server must
/// wait for every WINDOW_UPDATE.
#[test]
fn h2_client_downloads_6_mib_with_1_kib_window() {
    let server = TestServer::start();
    tokio_run(async {
        let mut client = connect(
            &server,
            h2::client::Builder::new().initial_window_size(1024),
        )
        .await;
        let n = 6u64 << 20;
        let (status, body, _) = get(
            &mut client,
            request(&server, Method::GET, &format!("/bytes/{n}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len() as u64, n);
        assert!(body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == site::pattern_byte(i as u64)));
    });
}

/// 5 MiB up and the same 5 MiB back on one `/echo` stream, with a 1 KiB
/// client stream window: both directions under flow control at once.
#[test]
fn h2_client_echo_5_mib_both_ways_with_1_kib_window() {
    let server = TestServer::start();
    tokio_run(async {
        let client = connect(
            &server,
            h2::client::Builder::new().initial_window_size(1024),
        )
        .await;
        let data = Bytes::from(support::test_body(5 << 20));
        let mut client = client.ready().await.expect("ready");
        let (resp, mut send) = client
            .send_request(request(&server, Method::POST, "/echo"), false)
            .expect("send_request");
        let upload = {
            let data = data.clone();
            tokio::spawn(async move { send_body(&mut send, data).await })
        };
        let resp = resp.await.expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let echoed = read_body(&mut resp.into_body()).await;
        upload.await.expect("upload");
        assert!(
            echoed == data,
            "echoed {} bytes of {}",
            echoed.len(),
            data.len()
        );
    });
}

/// RFC 9113 §8.1: the trailer section arrives after the body.
#[test]
fn h2_client_receives_trailers() {
    let server = TestServer::start();
    tokio_run(async {
        let mut client = connect(&server, &h2::client::Builder::new()).await;
        let (status, body, trailers) =
            get(&mut client, request(&server, Method::GET, "/trailers")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, site::TRAILERS_BODY);
        let trailers = trailers.expect("trailers");
        assert_eq!(
            trailers.get("x-trailer-test").map(|v| v.as_bytes()),
            Some(&b"ok"[..])
        );
    });
}

/// RFC 9113 §5.4.2 / §6.4: the client resets a stream while the server is
/// streaming a large body; the server stops that stream only, and the same
/// connection (and a new one) keep working.
#[test]
fn h2_client_reset_mid_body_server_survives() {
    let server = TestServer::start();
    tokio_run(async {
        let mut client = connect(&server, &h2::client::Builder::new()).await;
        {
            let mut c = client.clone().ready().await.expect("ready");
            let (resp, mut send) = c
                .send_request(request(&server, Method::GET, "/bytes/104857600"), true)
                .expect("send_request");
            let resp = resp.await.expect("response");
            let mut body = resp.into_body();
            let mut got = 0;
            while got < 200_000 {
                let chunk = body.data().await.expect("data").expect("chunk");
                got += chunk.len();
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            send.send_reset(h2::Reason::CANCEL);
        }
        for _ in 0..3 {
            let (status, body, _) = get(&mut client, request(&server, Method::GET, "/")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, site::HELLO);
        }
        let mut fresh = connect(&server, &h2::client::Builder::new()).await;
        let (status, _, _) = get(&mut fresh, request(&server, Method::GET, "/")).await;
        assert_eq!(status, StatusCode::OK);
    });
}

/// RFC 9113 §6.4: the client resets an `/echo` stream halfway through its
/// upload; the server drops that stream only and goes on serving.
#[test]
fn h2_client_reset_mid_upload_server_survives() {
    let server = TestServer::start();
    tokio_run(async {
        let mut client = connect(&server, &h2::client::Builder::new()).await;
        {
            let mut c = client.clone().ready().await.expect("ready");
            let (resp, mut send) = c
                .send_request(request(&server, Method::POST, "/echo"), false)
                .expect("send_request");
            let resp = resp.await.expect("response headers");
            assert_eq!(resp.status(), StatusCode::OK);
            let mut body = resp.into_body();
            let chunk = Bytes::from(support::test_body(100_000));
            send.reserve_capacity(chunk.len());
            let cap = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .expect("open")
                .expect("capacity");
            send.send_data(chunk.slice(..cap.min(chunk.len())), false)
                .expect("send_data");
            // Some of it comes back, then we give up on the stream.
            let first = body.data().await.expect("echoed data").expect("chunk");
            assert!(!first.is_empty());
            send.send_reset(h2::Reason::CANCEL);
        }
        for _ in 0..3 {
            let (status, body, _) = get(&mut client, request(&server, Method::GET, "/")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, site::HELLO);
        }
    });
}

/// RFC 9113 §8.4: the h2 client (push enabled) gets the PUSH_PROMISE for
/// `/pushed.css` and its response.
#[test]
fn h2_client_receives_push() {
    let server = TestServer::start();
    tokio_run(async {
        let client = connect(&server, h2::client::Builder::new().enable_push(true)).await;
        let mut client = client.ready().await.expect("ready");
        let (mut resp, _) = client
            .send_request(request(&server, Method::GET, "/push"), true)
            .expect("send_request");
        let mut pushes = resp.push_promises();
        let resp = resp.await.expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let page = read_body(&mut resp.into_body()).await;
        assert_eq!(page, site::PUSH_PAGE);
        let push = pushes
            .push_promise()
            .await
            .expect("one push promise")
            .expect("valid push promise");
        let (req, pushed) = push.into_parts();
        assert_eq!(req.uri().path(), site::PUSHED_PATH);
        let pushed = pushed.await.expect("pushed response");
        assert_eq!(pushed.status(), StatusCode::OK);
        let css = read_body(&mut pushed.into_body()).await;
        assert_eq!(css, site::PUSHED_CSS);
    });
}
