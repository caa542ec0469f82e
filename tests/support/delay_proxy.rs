//! A TCP proxy on 127.0.0.1 that holds every byte for a fixed time in each
//! direction: a link with a long round trip, for the adaptive window's
//! tests and its bench, without `tc netem` (which needs a kernel module
//! these machines do not have).
//!
//! Each accepted connection gets its own connection to the target; each
//! direction is a reader that stamps the chunks it reads with their due
//! time and a writer that sends them when due. What waits in between is
//! bounded by the HTTP/2 flow-control windows of the peers on either side
//! (plus the sockets' buffers), so the queue needs no limit of its own.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// The running proxy; dropping it stops it (connections included).
pub struct DelayProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DelayProxy {
    /// Forwards connections to `target`, each byte `one_way` late in each
    /// direction (a round trip of twice that, plus the peers' own).
    pub fn start(target: SocketAddr, one_way: Duration) -> DelayProxy {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("local addr"))
                    .expect("the caller waits");
                let accept = async {
                    while let Ok((client, _)) = listener.accept().await {
                        tokio::spawn(proxy(client, target, one_way));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        DelayProxy {
            addr: addr_rx.recv().expect("the proxy's address"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn proxy(client: TcpStream, target: SocketAddr, one_way: Duration) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_r, client_w) = client.into_split();
    let (server_r, server_w) = server.into_split();
    tokio::join!(
        delay(client_r, server_w, one_way),
        delay(server_r, client_w, one_way)
    );
}

/// Copies `r` to `w`, each chunk `by` late; ends (shutting `w` down) when
/// `r` ends or `w` fails.
async fn delay(mut r: OwnedReadHalf, mut w: OwnedWriteHalf, by: Duration) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 64 << 10];
        while let Ok(n @ 1..) = r.read(&mut buf).await {
            if tx.send((Instant::now() + by, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if w.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(read, write);
}
