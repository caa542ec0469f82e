//! The two client paths side by side: `Session` (put_act / take_evt on the
//! connection's state, no mailbox) against actors (`SendRequest` to the
//! connection, notifications to a subscriber actor). Each iteration makes
//! 1,000 GETs of `/` (100 in flight at a time) over an in-memory pipe to the
//! tests' server (`tests/support/site.rs`, the example server's routes), in
//! one actix system on one thread, so what differs is the client path only.
//! On the example server's allocator, as when this bench included the
//! example.
//!
//! ```text
//! cargo bench --bench client_paths
//! ```

#[path = "../tests/support/site.rs"]
mod site;

#[path = "../examples/shared/natural_mimalloc.rs"]
mod natural_mimalloc;
#[global_allocator]
static ALLOCATOR: natural_mimalloc::NaturalMiMalloc = natural_mimalloc::NaturalMiMalloc;

use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion};
use h2actor::prelude::*;
use h2actor::{Event, Session};

const REQUESTS: usize = 1_000;
const IN_FLIGHT: usize = 100;

fn get() -> http::Request<()> {
    http::Request::get("http://localhost/").body(()).unwrap()
}

/// Counts ended responses and wakes the waiter at each batch's end.
struct Count {
    left: usize,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}
impl Actor for Count {
    type Context = Context<Self>;
}
impl Handler<RecvData> for Count {
    type Result = ();
    fn handle(&mut self, m: RecvData, _: &mut Context<Self>) {
        if m.end_stream {
            self.left -= 1;
            if self.left == 0 {
                if let Some(tx) = self.done.take() {
                    let _ = tx.send(());
                }
            }
        }
    }
}
impl Handler<RecvHeaders> for Count {
    type Result = ();
    fn handle(&mut self, _: RecvHeaders, _: &mut Context<Self>) {}
}
#[derive(Message)]
#[rtype(result = "()")]
struct Expect(usize, tokio::sync::oneshot::Sender<()>);
impl Handler<Expect> for Count {
    type Result = ();
    fn handle(&mut self, m: Expect, _: &mut Context<Self>) {
        self.left = m.0;
        self.done = Some(m.1);
    }
}

async fn actor_client(requests: usize) -> Duration {
    let (s_io, c_io) = tokio::io::duplex(1 << 16);
    let _server = site::builder().start(s_io, site::Site::subscriber());
    let count = Count {
        left: 0,
        done: None,
    }
    .start();
    let client =
        Connection::builder(Role::Client).start(c_io, Subscriber::new(&count).data(&count));
    let start = Instant::now();
    for _ in 0..requests / IN_FLIGHT {
        let (tx, rx) = tokio::sync::oneshot::channel();
        count.do_send(Expect(IN_FLIGHT, tx));
        for _ in 0..IN_FLIGHT {
            client.do_send(SendRequest::new(get()));
        }
        rx.await.unwrap();
    }
    let took = start.elapsed();
    client.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    took
}

async fn session_client(requests: usize) -> Duration {
    let (s_io, c_io) = tokio::io::duplex(1 << 16);
    let _server = site::builder().start(s_io, site::Site::subscriber());
    let mut client = Session::new(c_io, Connection::builder(Role::Client));
    let start = Instant::now();
    for _ in 0..requests / IN_FLIGHT {
        for _ in 0..IN_FLIGHT {
            let id = client.next_free_stream_identifier().await.unwrap();
            client
                .put_act(
                    id,
                    SendHeaders {
                        head: get().into(),
                        end_stream: true,
                    },
                )
                .await
                .unwrap();
        }
        let mut left = IN_FLIGHT;
        while left > 0 {
            match client.take_evt().await {
                Some(Event::RecvData(d)) if d.end_stream => left -= 1,
                Some(_) => {}
                None => panic!("connection closed"),
            }
        }
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("client_1000_gets");
    g.sample_size(20);
    g.bench_function("actors", |b| {
        b.iter_custom(|iters| {
            let sys = actix::System::new();
            (0..iters)
                .map(|_| sys.block_on(actor_client(REQUESTS)))
                .sum()
        })
    });
    g.bench_function("session", |b| {
        b.iter_custom(|iters| {
            let sys = actix::System::new();
            (0..iters)
                .map(|_| sys.block_on(session_client(REQUESTS)))
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
