//! The one-call client: [`request`] and [`request_with`], one request on
//! a [`Client`] of its own, on a thread of its own.

use tokio::sync::oneshot;

use super::{Client, Fetch, FetchError, Origin, Response};
use crate::actor::Close;
use crate::frame::ErrorCode;
use crate::transport::TlsClient;

/// One request, its whole response: the one-call client (HTTP2.jl's
/// `request`). The URL must be absolute (`http://` or `https://`).
///
/// It runs on a thread of its own (an actix system made for the call), so
/// it works from any async runtime (actix, plain tokio, or
/// `futures::executor::block_on` on a thread with none). For many requests
/// to one origin keep a [`Client`] instead: one connection, no thread each.
/// `https://` URLs are verified against the system's trusted roots; to
/// trust a CA file or a self-signed certificate, use [`request_with`].
///
/// ```no_run
/// # #[actix_rt::main] async fn main() -> Result<(), h2actor::client::FetchError> {
/// use h2actor::client::Fetch;
/// let r = h2actor::request(Fetch::get("http://127.0.0.1:8080/")).await?;
/// println!("{} {}", r.head.status, String::from_utf8_lossy(&r.body));
/// # Ok(()) }
/// ```
pub async fn request(fetch: Fetch) -> Result<Response, FetchError> {
    one_call(fetch, None).await
}

/// [`request`] with the TLS settings of an `https://` URL: which
/// certificates to trust (a CA file, a self-signed certificate), the
/// handshake timeout. [`request`] trusts the system's roots
/// ([`TlsClient::with_system_roots`]); an `http://` URL ignores `tls`.
///
/// ```no_run
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use h2actor::client::Fetch;
/// use h2actor::TlsClient;
///
/// // The server's self-signed certificate (or the CA that issued it).
/// let tls = TlsClient::with_ca_file("cert.pem")?;
/// let r = h2actor::request_with(Fetch::get("https://localhost:8443/"), tls).await?;
/// println!("{} {}", r.head.status, String::from_utf8_lossy(&r.body));
/// # Ok(()) }
/// ```
///
/// A certificate it refuses fails with [`FetchError::Connect`], whose
/// reason says why ("TLS handshake failed: the server's certificate is not
/// valid for the name 127.0.0.1 (it is for localhost)").
pub async fn request_with(fetch: Fetch, tls: TlsClient) -> Result<Response, FetchError> {
    one_call(fetch, Some(tls)).await
}

async fn one_call(fetch: Fetch, tls: Option<TlsClient>) -> Result<Response, FetchError> {
    let origin =
        Origin::from_uri(fetch.request.uri()).map_err(|e| FetchError::BadRequest(e.to_string()))?;
    let run = move || async move {
        let mut builder = Client::builder(origin);
        if let Some(tls) = tls {
            builder = builder.tls(tls);
        }
        let client = builder.start();
        let r = client
            .send(fetch)
            .await
            .unwrap_or(Err(FetchError::ClientStopped));
        client.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        r
    };
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("h2actor-request".into())
        .spawn(move || {
            let r = actix_rt::System::new().block_on(run());
            let _ = tx.send(r);
        })
        .map_err(|e| FetchError::BadRequest(format!("cannot start a thread: {e}")))?;
    rx.await.unwrap_or(Err(FetchError::ClientStopped))
}
