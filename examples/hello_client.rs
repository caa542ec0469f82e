//! The smallest message-driven h2actor client: one connection actor, one
//! `Fetch` message to it, the whole response in the reply.
//!
//! ```text
//! cargo run --release --example hello_client -- http://127.0.0.1:8080/
//! ```
use actix::prelude::*;
use h2actor::client::Fetch;
use h2actor::prelude::*;

/// Our subscriber for what the server starts by itself (nothing here).
struct Ignore;

impl Actor for Ignore {
    type Context = Context<Self>;
}

impl Handler<RecvHeaders> for Ignore {
    type Result = ();
    fn handle(&mut self, _: RecvHeaders, _: &mut Context<Self>) {}
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080/".into());
    let uri: http::Uri = url.parse()?;
    let authority = uri.authority().ok_or("the URL needs a host")?.as_str();
    let tcp = tokio::net::TcpStream::connect(authority).await?;
    let conn = Connection::builder(Role::Client).start(tcp, Subscriber::new(&Ignore.start()));
    let response = conn.send(Fetch::get(&url)).await??;
    println!("{}", response.head.status);
    print!("{}", String::from_utf8_lossy(&response.body));
    conn.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    Ok(())
}
