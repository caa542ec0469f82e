//! The smallest h2actor server: one actor answers every request with
//! "hello world". h2c (prior knowledge) on 127.0.0.1:8080 (or the address
//! given), one connection actor per accepted TCP connection, all on this
//! thread. (`examples/server.rs` is the full one: routes, TLS, limits,
//! graceful shutdown on all cores.)
//!
//! ```text
//! cargo run --release --example hello_server -- 127.0.0.1:8080
//! curl --http2-prior-knowledge http://127.0.0.1:8080/
//! ```
use actix::prelude::*;
use h2actor::prelude::*;

/// Answers every request: the subscriber of every connection.
struct Hello;

impl Actor for Hello {
    type Context = Context<Self>;
}

impl Handler<RecvHeaders> for Hello {
    type Result = ();
    fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
        let body = format!("hello world ({} on stream {})\n", req.conn, req.id);
        req.stream
            .do_send(SendMessage::new(http::Response::new(())).body(body));
    }
}

#[actix_rt::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let hello = Hello.start();
    loop {
        let (tcp, _) = listener.accept().await?;
        Connection::builder(Role::Server).start(tcp, Subscriber::new(&hello));
    }
}
