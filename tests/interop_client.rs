//! The supervised `Client` (one actor per origin) against servers no one
//! here wrote: nghttpd over h2c and over TLS, Node's `http2` server, the
//! `h2` crate's server, Python `h2` after the HTTP/1.1 upgrade; and our own
//! server over TLS and with the upgrade. GET, POST with a body, trailers,
//! and 1,000 requests over one origin actor with every answer checked.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use h2actor::client::{Client, Fetch, GetClientStats};
use support::harness::{self, Need::Program, Need::Python};
use support::{in_actix, python_h2c_upgrade_server, site, tool, Cert, TempDir, TestServer};

const LIMIT: Duration = Duration::from_secs(60);

/// `n` GETs of `path` at once through `client`; every body must be `want`.
async fn many(client: &Addr<Client>, n: usize, path: &str, want: &[u8]) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let c = client.clone();
            let path = path.to_owned();
            async move { c.send(Fetch::get(path).idempotent(true)).await }
        })
        .collect();
    for (i, r) in futures::future::join_all(tasks)
        .await
        .into_iter()
        .enumerate()
    {
        let r = r
            .expect("client alive")
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.head.status, 200, "request {i}");
        assert!(
            r.body[..] == want[..],
            "request {i}: {} bytes",
            r.body.len()
        );
    }
}

fn client_against_nghttpd_h2c_a_thousand_gets() {
    let docs = TempDir::new("client-nghttpd");
    let file = support::test_body(20_000);
    docs.write("data.bin", &file);
    let (_server, addr) = support::nghttpd(&docs, None, &[]);
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://{addr}").parse().unwrap()).start();
        many(&client, 1000, "/data.bin", &file).await;
        let r = client.send(Fetch::get("/missing")).await.unwrap().unwrap();
        assert_eq!(r.head.status, 404);
        let s = client.send(GetClientStats).await.unwrap();
        assert_eq!(
            (s.connections, s.completed, s.retries),
            (1, 1001, 0),
            "{s:?}"
        );
    });
}

fn client_against_nghttpd_tls() {
    let cert = Cert::new();
    let docs = TempDir::new("client-nghttpd-tls");
    let file = support::test_body(300_000);
    docs.write("data.bin", &file);
    let (_server, addr) = support::nghttpd(&docs, Some(&cert), &[]);
    let tls = cert.client();
    in_actix(LIMIT, async move {
        let origin = format!("https://localhost:{}", addr.port());
        let client = Client::builder(origin.parse().unwrap()).tls(tls).start();
        many(&client, 50, "/data.bin", &file).await;
    });
}

fn client_over_tls_against_our_server_post_and_trailers() {
    let cert = Cert::new();
    let server = TestServer::start_tls(1, cert.server());
    let tls = cert.client();
    let port = server.addr.port();
    in_actix(LIMIT, async move {
        let origin = format!("https://localhost:{port}");
        let client = Client::builder(origin.parse().unwrap()).tls(tls).start();
        let body = Bytes::from(support::test_body(500_000));
        let r = client
            .send(Fetch::post("/echo", body.clone()))
            .await
            .unwrap()
            .expect("echo over TLS");
        assert!(r.body == body);
        let r = client.send(Fetch::get("/trailers")).await.unwrap().unwrap();
        assert!(r.trailers.is_some());
        many(&client, 200, "/", site::HELLO).await;
    });
}

/// Node's `http2.createServer`: GET answers the path, POST echoes, and
/// `/trailers` sends a trailer field.
const NODE_SERVER: &str = r#"
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const path = headers[':path'];
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    if (path === '/trailers') {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-node': 'yes' }));
      stream.end('with trailers');
    } else if (headers[':method'] === 'POST') {
      stream.respond({ ':status': 200 });
      stream.end(Buffer.concat(chunks));
    } else {
      stream.respond({ ':status': 200 });
      stream.end('node ' + path);
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
"#;

fn client_against_node_http2_server() {
    let dir = TempDir::new("client-node");
    let script = dir.write("server.js", NODE_SERVER.as_bytes());
    let (_guard, port) =
        support::spawn_reporting_port(Command::new(tool("node")).arg(&script), LIMIT);
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://127.0.0.1:{port}").parse().unwrap()).start();
        many(&client, 1000, "/x", b"node /x").await;
        let body = Bytes::from(support::test_body(100_000));
        let r = client
            .send(Fetch::post("/echo", body.clone()))
            .await
            .unwrap()
            .unwrap();
        assert!(r.body == body);
        let r = client.send(Fetch::get("/trailers")).await.unwrap().unwrap();
        assert_eq!(&r.body[..], b"with trailers");
        let t = r.trailers.expect("trailers from node");
        assert_eq!(t["x-node"], "yes");
    });
}

/// The `h2` crate's server on its own tokio runtime thread: GET answers
/// the path, POST echoes.
fn h2_crate_server() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            while let Ok((tcp, _)) = l.accept().await {
                tokio::spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    while let Some(Ok((req, mut respond))) = conn.accept().await {
                        tokio::spawn(async move {
                            let (parts, mut body) = req.into_parts();
                            let mut got = Vec::new();
                            while let Some(Ok(chunk)) = body.data().await {
                                let _ = body.flow_control().release_capacity(chunk.len());
                                got.extend_from_slice(&chunk);
                            }
                            let out = if parts.method == http::Method::POST {
                                got
                            } else {
                                format!("h2 {}", parts.uri.path()).into_bytes()
                            };
                            let resp = http::Response::new(());
                            if let Ok(mut send) = respond.send_response(resp, false) {
                                let _ = send.send_data(Bytes::from(out), true);
                            }
                        });
                    }
                });
            }
        });
    });
    addr
}

fn client_against_the_h2_crate_server() {
    let addr = h2_crate_server();
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://{addr}").parse().unwrap()).start();
        many(&client, 1000, "/y", b"h2 /y").await;
        let body = Bytes::from(support::test_body(70_000));
        let r = client
            .send(Fetch::post("/echo", body.clone()))
            .await
            .unwrap()
            .unwrap();
        assert!(r.body == body);
    });
}

fn client_with_h2c_upgrade_against_python_h2() {
    let (_guard, port) = python_h2c_upgrade_server();
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://127.0.0.1:{port}").parse().unwrap())
            .h2c_upgrade(true)
            .start();
        // Stream 1 carried the upgrade's OPTIONS; ours start at 3.
        let r = client.send(Fetch::get("/a")).await.unwrap().unwrap();
        assert_eq!(&r.body[..], b"python h2: GET /a on stream 3\n");
    });
}

fn client_with_h2c_upgrade_against_our_server() {
    let server = TestServer::start();
    let port = server.addr.port();
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://127.0.0.1:{port}").parse().unwrap())
            .h2c_upgrade(true)
            .start();
        many(&client, 100, "/", site::HELLO).await;
        let s = client.send(GetClientStats).await.unwrap();
        assert_eq!(s.connections, 1);
    });
}

fn main() {
    harness::main(harness::tests![
        client_against_nghttpd_h2c_a_thousand_gets: [Program("nghttpd")],
        client_against_nghttpd_tls: [Program("nghttpd")],
        client_over_tls_against_our_server_post_and_trailers,
        client_against_node_http2_server: [Program("node")],
        client_against_the_h2_crate_server,
        client_with_h2c_upgrade_against_python_h2: [Python("h2")],
        client_with_h2c_upgrade_against_our_server,
    ]);
}
