//! The one-call helpers: `h2actor::serve(addr, handler)` answering the `h2`
//! crate's client and our `h2actor::request`, its body limit, and its
//! graceful shutdown.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2actor::client::Fetch;

/// Runs `h2actor::serve` on its own actix system thread; returns its
/// address, a trigger that shuts it down, and the thread (its result is the
/// shutdown report's connection count).
fn start_serving(
    max_body: usize,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<std::io::Result<usize>>,
) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let report = h2actor::serve(
                "127.0.0.1:0".parse().unwrap(),
                |req: http::Request<Bytes>| async move {
                    let (parts, body) = req.into_parts();
                    let text = if body.is_empty() {
                        Bytes::from(format!("{} {}", parts.method, parts.uri.path()))
                    } else {
                        body
                    };
                    http::Response::new(text)
                },
            )
            .max_body(max_body)
            .grace(Duration::from_secs(2))
            .listener(|l| l.threads(2))
            .on_start(move |addr| {
                let _ = addr_tx.send(addr);
            })
            .until(async move {
                let _ = stop_rx.await;
            })
            .await?;
            Ok(report.connections)
        })
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server started");
    (addr, stop_tx, thread)
}

#[test]
fn serve_answers_request_and_the_h2_crate_then_shuts_down() {
    let (addr, stop, thread) = start_serving(1 << 20);
    let url = format!("http://{addr}");

    // Our one-call client (from a thread with no runtime at all).
    let r = futures::executor::block_on(h2actor::request(Fetch::get(format!("{url}/hello"))))
        .expect("response");
    assert_eq!(r.head.status, 200);
    assert_eq!(&r.body[..], b"GET /hello");
    let r = futures::executor::block_on(h2actor::request(Fetch::post(
        format!("{url}/echo"),
        "a body",
    )))
    .expect("echo");
    assert_eq!(&r.body[..], b"a body");

    // The h2 crate's client, with a body over several DATA frames.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = Bytes::from(support::test_body(100_000));
    let got = rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut client, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(conn);
        let req = http::Request::post(format!("{url}/up")).body(()).unwrap();
        let (resp, mut send) = client.send_request(req, false).unwrap();
        send.send_data(body.clone(), true).unwrap();
        let resp = resp.await.unwrap();
        let mut b = resp.into_body();
        let mut got = Vec::new();
        while let Some(chunk) = b.data().await {
            let chunk = chunk.unwrap();
            let _ = b.flow_control().release_capacity(chunk.len());
            got.extend_from_slice(&chunk);
        }
        (got, body)
    });
    assert!(
        got.0 == got.1,
        "echoed {} of {} bytes",
        got.0.len(),
        got.1.len()
    );
    drop(rt); // closes the h2 crate's connection

    std::thread::sleep(Duration::from_millis(100));
    let _ = stop.send(());
    let connections = thread.join().expect("server thread").expect("serve ran");
    assert_eq!(
        connections, 0,
        "every client had closed before the shutdown"
    );
}

#[test]
fn serve_answers_413_past_max_body() {
    let (addr, stop, thread) = start_serving(1000);
    let r = futures::executor::block_on(h2actor::request(Fetch::post(
        format!("http://{addr}/big"),
        vec![0u8; 5000],
    )))
    .expect("a response");
    assert_eq!(r.head.status, 413);
    let _ = stop.send(());
    thread.join().expect("server thread").expect("serve ran");
}
