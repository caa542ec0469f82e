//! The HTTP/1.1 side of RFC 7540 §3.2 (and RFC 9113 §3, which keeps
//! the preface): parser edge cases over an in-memory pipe.
use super::parse::{base64url_decode, decode_settings};
use super::*;

const SETTINGS: &str = "AAMAAABkAAQAoAAAAAIAAAAA"; // curl 7.88's value

fn upgrade_req(extra: &str) -> String {
    format!("GET /x?y HTTP/1.1\r\nHost: h:1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n{extra}\r\n")
}

/// Runs `accept_h2c` on `input` (then EOF); returns the result and
/// everything the server wrote.
async fn accept(
    input: &[u8],
    limits: H2cLimits,
) -> (
    Result<H2cAccepted<tokio::io::DuplexStream>, H2cError>,
    String,
) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    client.write_all(input).await.unwrap();
    client.shutdown().await.unwrap();
    let r = accept_h2c(server, &limits).await;
    let mut written = Vec::new();
    if r.is_err() {
        client.read_to_end(&mut written).await.unwrap();
    } else {
        // Only what is there already.
        let mut b = [0u8; 4096];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(50), client.read(&mut b)).await
        {
            written.extend_from_slice(&b[..n]);
        }
    }
    (r, String::from_utf8_lossy(&written).into_owned())
}

fn status(r: &Result<H2cAccepted<tokio::io::DuplexStream>, H2cError>) -> u16 {
    match r {
        Err(H2cError::Refused { status, .. }) => status.as_u16(),
        Ok(H2cAccepted::Upgrade(..)) => 101,
        Ok(H2cAccepted::PriorKnowledge(_)) => 0,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn rfc9113_s3_4_preface_is_prior_knowledge_and_replayed() {
    let mut input = PREFACE.to_vec();
    input.extend_from_slice(b"\0\0\0\x04\0\0\0\0\0");
    let (r, written) = accept(&input, H2cLimits::default()).await;
    assert!(written.is_empty(), "nothing written for prior knowledge");
    let Ok(H2cAccepted::PriorKnowledge(mut io)) = r else {
        panic!("{r:?}")
    };
    let mut got = vec![0u8; input.len()];
    io.read_exact(&mut got).await.unwrap();
    assert_eq!(
        got, input,
        "the preface and the SETTINGS after it are replayed"
    );
}

#[tokio::test]
async fn rfc7540_s3_2_upgrade_answers_101_and_returns_the_request() {
    let input = upgrade_req(&format!(
        "HTTP2-Settings: {SETTINGS}\r\nAccept: */*\r\nX-Keep: 1\r\n"
    ));
    let mut bytes = input.into_bytes();
    bytes.extend_from_slice(PREFACE);
    let (r, written) = accept(&bytes, H2cLimits::default()).await;
    assert_eq!(
        written,
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    );
    let Ok(H2cAccepted::Upgrade(mut io, up)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(up.request.method(), Method::GET);
    assert_eq!(up.request.uri(), "http://h:1/x?y");
    assert!(up.body.is_empty());
    assert_eq!(
        up.settings,
        vec![
            Setting::MaxConcurrentStreams(100),
            Setting::InitialWindowSize(10 << 20),
            Setting::EnablePush(false)
        ]
    );
    let names: Vec<&str> = up.request.headers().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        ["accept", "x-keep"],
        "hop-by-hop fields and Host dropped"
    );
    let mut got = [0u8; 24];
    io.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, PREFACE, "bytes after the request are replayed");
}

#[tokio::test]
async fn rfc7540_s3_2_body_is_read_before_the_switch() {
    let input = upgrade_req(&format!(
        "HTTP2-Settings: {SETTINGS}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
    ));
    let (mut client, server) = tokio::io::duplex(1 << 16);
    client.write_all(input.as_bytes()).await.unwrap();
    let task = tokio::spawn(async move { accept_h2c(server, &H2cLimits::default()).await });
    // 100 Continue first, then the body, then 101.
    let mut b = vec![0u8; 25];
    client.read_exact(&mut b).await.unwrap();
    assert_eq!(b, b"HTTP/1.1 100 Continue\r\n\r\n");
    client.write_all(b"hello").await.unwrap();
    let Ok(Ok(H2cAccepted::Upgrade(_, up))) = task.await else {
        panic!()
    };
    assert_eq!(&up.body[..], b"hello");
}

#[tokio::test]
async fn plain_http11_gets_505_with_an_explanation() {
    let (r, written) = accept(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", H2cLimits::default()).await;
    assert_eq!(status(&r), 505);
    assert!(
        written.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n"),
        "{written}"
    );
    assert!(written.contains("Connection: close\r\n"));
    assert!(written.ends_with(NOT_HTTP2_TEXT));
    // HEAD: same head, no content.
    let (_, written) = accept(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", H2cLimits::default()).await;
    assert!(written.ends_with("\r\n\r\n"), "{written}");
}

/// §3.2.1: "A server MUST NOT upgrade the connection to HTTP/2 if this
/// header field is not present or if more than one is present": the
/// request stays HTTP/1.1, so 505.
#[tokio::test]
async fn rfc7540_s3_2_1_http2_settings_missing_or_twice_is_no_upgrade() {
    let (r, _) = accept(upgrade_req("").as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 505);
    let two = format!("HTTP2-Settings: {SETTINGS}\r\nHTTP2-Settings: {SETTINGS}\r\n");
    let (r, _) = accept(upgrade_req(&two).as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 505);
}

/// A present but undecodable HTTP2-Settings makes the request malformed: 400.
#[tokio::test]
async fn rfc7540_s3_2_1_bad_http2_settings_is_400() {
    for bad in ["AAMAAABk+AQ", "AAMAAABkAA", "A", "AAUAAAAA", "AAIAAAAC"] {
        // +: not base64url; 8 bytes: not a multiple of 6; 1 char: not
        // base64; MAX_FRAME_SIZE 0 and ENABLE_PUSH 2: invalid values.
        let (r, _) = accept(
            upgrade_req(&format!("HTTP2-Settings: {bad}\r\n")).as_bytes(),
            H2cLimits::default(),
        )
        .await;
        assert_eq!(status(&r), 400, "{bad}");
    }
    // Empty is valid: no settings.
    let (r, _) = accept(
        upgrade_req("HTTP2-Settings: \r\n").as_bytes(),
        H2cLimits::default(),
    )
    .await;
    assert_eq!(status(&r), 101);
}

#[tokio::test]
async fn rfc7540_s3_2_tokens_are_case_insensitive_lists() {
    let req = format!("GET / HTTP/1.1\r\nHost: h\r\nconnection: keep-alive, HTTP2-settings, UPGRADE\r\nupgrade: websocket, H2C\r\nhttp2-settings: {SETTINGS}\r\n\r\n");
    let (r, _) = accept(req.as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 101);
    // Connection without HTTP2-Settings: not an upgrade.
    let req = format!("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: {SETTINGS}\r\n\r\n");
    let (r, _) = accept(req.as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 505);
    // Upgrade to something else only.
    let req = format!("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2\r\nHTTP2-Settings: {SETTINGS}\r\n\r\n");
    let (r, _) = accept(req.as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 505);
}

#[tokio::test]
async fn bodies_chunked_too_large_or_ambiguous_are_refused() {
    let s = format!("HTTP2-Settings: {SETTINGS}\r\n");
    let (r, _) = accept(
        upgrade_req(&format!("{s}Transfer-Encoding: chunked\r\n")).as_bytes(),
        H2cLimits::default(),
    )
    .await;
    assert_eq!(status(&r), 505, "chunked upgrade not taken");
    let (r, _) = accept(
        upgrade_req(&format!("{s}Content-Length: 65537\r\n")).as_bytes(),
        H2cLimits::default(),
    )
    .await;
    assert_eq!(status(&r), 413);
    let (r, _) = accept(
        upgrade_req(&format!("{s}Content-Length: 1\r\nContent-Length: 2\r\n")).as_bytes(),
        H2cLimits::default(),
    )
    .await;
    assert_eq!(status(&r), 400);
    let (r, _) = accept(
        upgrade_req(&format!("{s}Content-Length: -1\r\n")).as_bytes(),
        H2cLimits::default(),
    )
    .await;
    assert_eq!(status(&r), 400);
    let no_host =
        format!("GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n{s}\r\n");
    let (r, _) = accept(no_host.as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 400, "RFC 9112 §3.2: no Host");
}

#[tokio::test]
async fn limits_headers_head_size_and_garbage() {
    let many: String = (0..65).map(|i| format!("X-{i}: v\r\n")).collect();
    let (r, _) = accept(upgrade_req(&many).as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 431, "65 fields");
    let big = format!("X: {}\r\n", "a".repeat(20_000));
    let (r, _) = accept(upgrade_req(&big).as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 431, "20 KB head");
    // A request line that never ends is a head too large.
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000));
    let (r, _) = accept(long.as_bytes(), H2cLimits::default()).await;
    assert_eq!(status(&r), 431, "20 KB request line");
    // An HTTP/1.1 request line whose head is malformed is still HTTP/1.1.
    let (r, written) = accept(b"GET / HTTP/1.1\r\nno colon\r\n\r\n", H2cLimits::default()).await;
    assert_eq!(status(&r), 400);
    assert!(written.starts_with("HTTP/1.1 400 "));
    let (r, _) = accept(b"GET / HT", H2cLimits::default()).await;
    assert!(matches!(r, Err(H2cError::Closed)), "{r:?}");
}

/// RFC 9113 §3.4: bytes that are neither the preface nor an HTTP/1.x
/// request are an invalid preface, for HTTP/2 to refuse (GOAWAY
/// PROTOCOL_ERROR): handed over, replayed, nothing written in HTTP/1.1.
#[tokio::test]
async fn rfc9113_s3_4_bytes_not_http1_go_to_http2_as_an_invalid_preface() {
    for input in [
        &b"INVALID CONNECTION PREFACE\r\n\r\n"[..], // h2spec 3.5 #2
        b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",        // a wrong preface
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        &[0u8; 64],
    ] {
        let (r, written) = accept(input, H2cLimits::default()).await;
        assert!(written.is_empty(), "{input:?}: wrote {written:?}");
        let Ok(H2cAccepted::PriorKnowledge(mut io)) = r else {
            panic!("{input:?}: {r:?}")
        };
        let mut got = Vec::new();
        io.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, input, "replayed");
    }
}

#[test]
fn rfc9112_s3_request_line_shape() {
    use RequestLine::*;
    let cases: &[(&[u8], RequestLine)] = &[
        (b"GET / HTTP/1.1\r\n", Http1),
        (b"GET / HTTP/1.0\n", Http1),
        (b"\r\nOPTIONS * HTTP/1.1\r\nHost: x", Http1),
        (b"M-SEARCH http://a/b?c HTTP/1.9\r\n", Http1),
        (b"", Maybe),
        (b"\r\n", Maybe),
        (b"GE", Maybe),
        (b"GET ", Maybe),
        (b"GET /index", Maybe),
        (b"GET / HTTP/", Maybe),
        (b"GET / HTTP/1.", Maybe),
        (b"GET / HTTP/1.1", Maybe),
        (b"GET / HTTP/1.1\r", Maybe),
        (b"INVALID CONNECTION PREFACE\r\n", Not),
        (b"INVALID CONNECTION P", Not),
        (b"PRI * HTTP/2.0\r\n", Not),
        (b"GET / HTTP/1.x\r\n", Not),
        (b"GET / HTTP/1.11\r\n", Not),
        (b"GET / HTTP/1.1\rX", Not),
        (b" GET / HTTP/1.1\r\n", Not),
        (b"GET\t/ HTTP/1.1\r\n", Not),
        (b"G(T / HTTP/1.1\r\n", Not),
        (b"GET /\x7f HTTP/1.1\r\n", Not),
        (b"\x16\x03\x01", Not),
    ];
    for (input, want) in cases {
        assert_eq!(
            request_line(input),
            *want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[tokio::test]
async fn silent_client_is_cut_by_the_deadline() {
    let (_client, server) = tokio::io::duplex(1024);
    let limits = H2cLimits {
        handshake_timeout: Duration::from_millis(50),
        ..H2cLimits::default()
    };
    let t = std::time::Instant::now();
    let r = accept_h2c(server, &limits).await;
    assert!(matches!(r, Err(H2cError::Timeout)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn rewind_replays_the_prefix_across_small_reads() {
    let (mut a, b) = tokio::io::duplex(64);
    a.write_all(b"world").await.unwrap();
    drop(a);
    let mut io = Rewind::new(Bytes::from_static(b"hello "), b);
    let mut out = Vec::new();
    let mut chunk = [0u8; 4];
    loop {
        let n = io.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(out, b"hello world");
}

proptest::proptest! {
    /// Bytes off the network never panic the parser or the decoder,
    /// as a whole head or behind a valid upgrade request line.
    #[test]
    fn parser_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let limits = H2cLimits { max_headers: 8, max_head_size: 512, ..H2cLimits::default() };
        let _ = parse_request(&data, &limits);
        let _ = decode_settings(&data);
        let mut req = upgrade_req("HTTP2-Settings: ").into_bytes();
        req.truncate(req.len() - 2);
        req.extend_from_slice(&data);
        req.extend_from_slice(b"\r\nContent-Length: 3\r\n\r\n");
        let _ = parse_request(&req, &H2cLimits::default());
    }
}

#[test]
fn base64url_round_trips_and_refuses_other_alphabets() {
    for len in 0..20 {
        let data: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
        let enc = base64url_encode(&data);
        assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
        assert_eq!(
            base64url_decode(enc.as_bytes()).as_deref(),
            Some(&data[..]),
            "{enc}"
        );
    }
    assert_eq!(base64url_decode(b"_-8").as_deref(), Some(&[0xff, 0xef][..]));
    assert_eq!(
        base64url_decode(b"AAE=").as_deref(),
        Some(&[0, 1][..]),
        "padding tolerated"
    );
    assert_eq!(base64url_decode(b"/+8"), None);
    assert_eq!(base64url_decode(b"AA=A"), None);
}

#[test]
fn client_settings_decode_to_the_config() {
    let config = Config::default();
    let v = settings_header(&config);
    assert_eq!(
        decode_settings(v.as_bytes()),
        Some(proto::settings::initial_params(true, &config))
    );
}

#[tokio::test]
async fn client_reads_101_and_keeps_what_follows() {
    let (mut server, client) = tokio::io::duplex(1 << 16);
    let req = Request::get("http://example.com:81/p?q").body(()).unwrap();
    let task = tokio::spawn(async move {
        upgrade_h2c(client, &req, &Config::default(), &H2cLimits::default()).await
    });
    let mut buf = vec![0u8; 4096];
    let n = server.read(&mut buf).await.unwrap();
    let sent = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(sent.starts_with("GET /p?q HTTP/1.1\r\nHost: example.com:81\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: "), "{sent}");
    server.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nNEXT").await.unwrap();
    let mut io = task.await.unwrap().unwrap();
    let mut got = [0u8; 4];
    io.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"NEXT");
}

#[tokio::test]
async fn client_reports_a_refusal_with_its_status() {
    let (mut server, client) = tokio::io::duplex(1 << 16);
    let req = Request::get("http://h/").body(()).unwrap();
    let task = tokio::spawn(async move {
        upgrade_h2c(client, &req, &Config::default(), &H2cLimits::default()).await
    });
    let mut buf = vec![0u8; 4096];
    let _ = server.read(&mut buf).await.unwrap();
    server
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        .await
        .unwrap();
    let r = task.await.unwrap();
    assert!(
        matches!(r, Err(H2cError::NotUpgraded(StatusCode::OK))),
        "{r:?}"
    );
    let post = Request::post("http://h/").body(()).unwrap();
    let (_s, c) = tokio::io::duplex(64);
    let r = upgrade_h2c(c, &post, &Config::default(), &H2cLimits::default()).await;
    assert!(matches!(r, Err(H2cError::InvalidRequest(_))), "{r:?}");
}
