//! The demo HTTP/2 client (h2c, prior knowledge): one connection, every URL
//! as its own concurrent stream; prints each response and each pushed one.
//!
//! ```text
//! cargo run --release --example client -- [-v] [--no-push] [-d DATA] URL...
//! cargo run --release --example client -- -v http://127.0.0.1:8080/ http://127.0.0.1:8080/push
//! ```
//!
//! `-d DATA` sends DATA as the body of a POST to every URL. The logic lives in
//! `tests/support/demo_client.rs`, shared with the interop tests.

#[path = "../tests/support/demo_client.rs"]
mod demo_client;

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use demo_client::{Job, Options};
use http::{Method, Uri};

const USAGE: &str = "usage: client [-v] [--no-push] [-d DATA] URL...";

fn main() {
    let mut verbose = false;
    let mut data: Option<Bytes> = None;
    let mut options = Options::default();
    let mut uris: Vec<Uri> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-v" => verbose = true,
            "--no-push" => options.enable_push = false,
            "-d" => match args.next() {
                Some(d) => data = Some(Bytes::from(d)),
                None => exit_usage("-d takes DATA"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            url => match url.parse::<Uri>() {
                Ok(u) if u.scheme_str() == Some("http") && u.authority().is_some() => uris.push(u),
                _ => exit_usage(&format!("not an http:// URL: {url:?} (h2c only)")),
            },
        }
    }
    let Some(first) = uris.first() else {
        exit_usage("no URL");
    };
    let authority = first
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    if uris
        .iter()
        .any(|u| u.authority().map(|a| a.as_str()) != Some(authority.as_str()))
    {
        exit_usage("all URLs must share one authority (one connection)");
    }
    let host = first
        .host()
        .unwrap_or("localhost")
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = first.port_u16().unwrap_or(80);

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let jobs: Vec<Job> = uris
        .into_iter()
        .map(|uri| Job {
            method: if data.is_some() {
                Method::POST
            } else {
                Method::GET
            },
            uri,
            body: data.clone(),
        })
        .collect();
    let system = actix::System::new();
    let result = system.block_on(async move {
        let tcp = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        Ok::<_, String>(demo_client::fetch(tcp, jobs, options).await)
    });
    let exchanges = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("client: {e}");
            std::process::exit(1);
        }
    };
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for ex in &exchanges {
        let pushed = match ex.pushed_by {
            Some(by) => format!(" (pushed on stream {by})"),
            None => String::new(),
        };
        let status = ex
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "[stream {}] {} {} -> {status}{pushed}",
            ex.id, ex.method, ex.path
        );
        if verbose {
            for (name, value) in &ex.headers {
                let _ = writeln!(out, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
            }
            let _ = writeln!(out);
        }
        let _ = out.write_all(&ex.body);
        if !ex.body.is_empty() && !ex.body.ends_with(b"\n") {
            let _ = writeln!(out);
        }
        if let Some(trailers) = &ex.trailers {
            for (name, value) in trailers {
                let _ = writeln!(
                    out,
                    "(trailer) {name}: {}",
                    String::from_utf8_lossy(value.as_bytes())
                );
            }
        }
        if let Some(e) = &ex.error {
            failed = true;
            let _ = writeln!(out, "[stream {}] error: {e}", ex.id);
        }
    }
    let _ = out.flush();
    if failed || exchanges.is_empty() {
        std::process::exit(1);
    }
}

fn exit_usage(why: &str) -> ! {
    eprintln!("client: {why}\n{USAGE}");
    std::process::exit(2);
}
