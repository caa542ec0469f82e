//! `Session`: HTTP2.jl's `put_act!` / `take_evt!` shape, client against
//! server, over `tokio::io::duplex`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2actor::actor::{
    CloseReason, Closed, Event, Promise, RecvData, RecvHeaders, RecvPromise, RecvReset,
    RecvTrailers, Reset, SendData, SendHeaders, SendTrailers, Session,
};
use h2actor::proto::Config;
use h2actor::{Connection, ErrorCode, Head, Role, StreamId};
use http::{HeaderMap, HeaderValue, Request, Response};

fn get(path: &str) -> Head {
    Head::Request(
        Request::get(format!("http://localhost{path}"))
            .body(())
            .unwrap(),
    )
}

fn ok() -> Head {
    Head::Response(Response::new(()))
}

async fn take(s: &mut Session) -> Event {
    tokio::time::timeout(Duration::from_secs(10), s.take_evt())
        .await
        .expect("event timed out")
        .expect("session ended")
}

/// The server of HTTP2.jl's README, ported: answer every request with a
/// head and a body; `/big` sends `n` bytes, `/push` pushes `/pushed`
/// first, `/trailers` ends with trailers.
async fn serve(mut s: Session, big: usize) {
    while let Some(ev) = s.take_evt().await {
        let Event::RecvHeaders(RecvHeaders {
            id,
            head: Head::Request(req),
            ..
        }) = ev
        else {
            continue;
        };
        match req.uri().path() {
            "/big" => {
                s.put_act(
                    id,
                    SendHeaders {
                        head: ok(),
                        end_stream: false,
                    },
                )
                .await
                .expect("headers");
                let body: Bytes = (0..big).map(|i| (i % 251) as u8).collect::<Vec<_>>().into();
                s.put_act(
                    id,
                    SendData {
                        data: body,
                        end_stream: true,
                    },
                )
                .await
                .expect("data");
            }
            "/push" => {
                let promised_id = s
                    .put_act(
                        id,
                        Promise {
                            request: Request::get("http://localhost/pushed").body(()).unwrap(),
                        },
                    )
                    .await
                    .expect("promise");
                s.put_act(
                    id,
                    SendHeaders {
                        head: ok(),
                        end_stream: false,
                    },
                )
                .await
                .expect("headers");
                s.put_act(
                    id,
                    SendData {
                        data: Bytes::from_static(b"page"),
                        end_stream: true,
                    },
                )
                .await
                .expect("data");
                s.put_act(
                    promised_id,
                    SendHeaders {
                        head: ok(),
                        end_stream: false,
                    },
                )
                .await
                .expect("pushed headers");
                s.put_act(
                    promised_id,
                    SendData {
                        data: Bytes::from_static(b"pushed"),
                        end_stream: true,
                    },
                )
                .await
                .expect("pushed data");
            }
            "/trailers" => {
                s.put_act(
                    id,
                    SendHeaders {
                        head: ok(),
                        end_stream: false,
                    },
                )
                .await
                .expect("headers");
                s.put_act(
                    id,
                    SendData {
                        data: Bytes::from_static(b"body"),
                        end_stream: false,
                    },
                )
                .await
                .expect("data");
                let mut t = HeaderMap::new();
                t.insert("x-trailer-test", HeaderValue::from_static("ok"));
                s.put_act(id, SendTrailers { trailers: t })
                    .await
                    .expect("trailers");
            }
            _ => {
                s.put_act(
                    id,
                    SendHeaders {
                        head: ok(),
                        end_stream: false,
                    },
                )
                .await
                .expect("headers");
                s.put_act(
                    id,
                    SendData {
                        data: Bytes::from_static(b"hello world\n"),
                        end_stream: true,
                    },
                )
                .await
                .expect("data");
            }
        }
    }
}

fn pair(cfg: Config, big: usize) -> Session {
    let (a, b) = tokio::io::duplex(64 << 10);
    let server = Session::new(a, Connection::builder(Role::Server).config(cfg.clone()));
    actix_rt::spawn(serve(server, big));
    Session::new(b, Connection::builder(Role::Client).config(cfg))
}

/// Takes events of stream `id` until its end; returns (status, body).
async fn response(s: &mut Session, id: StreamId) -> (u16, BytesMut) {
    let mut status = 0;
    let mut body = BytesMut::new();
    loop {
        match take(s).await {
            Event::RecvHeaders(RecvHeaders {
                id: i,
                head: Head::Response(r),
                end_stream,
                ..
            }) if i == id => {
                status = r.status().as_u16();
                if end_stream {
                    return (status, body);
                }
            }
            Event::RecvData(RecvData {
                id: i,
                data,
                end_stream,
                ..
            }) if i == id => {
                body.extend_from_slice(&data);
                if end_stream {
                    return (status, body);
                }
            }
            Event::RecvTrailers(RecvTrailers { id: i, .. }) if i == id => return (status, body),
            // Our actions' errors come back from `put_act` at once; a stream
            // that fails later shows as a reset.
            Event::RecvReset(RecvReset { id: i, code, .. }) if i == id => panic!("reset: {code:?}"),
            _ => {}
        }
    }
}

#[actix_rt::test]
async fn session_client_gets_the_servers_response() {
    let mut c = pair(Config::default(), 0);
    let id = c.next_free_stream_identifier().await.unwrap();
    assert_eq!(id, StreamId(1));
    c.put_act(
        id,
        SendHeaders {
            head: get("/"),
            end_stream: true,
        },
    )
    .await
    .unwrap();
    let (status, body) = response(&mut c, id).await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"hello world\n");
}

#[actix_rt::test]
async fn session_large_body_is_released_as_events_are_taken() {
    // 1 KiB stream windows: the body only flows because take_evt gives the
    // bytes back.
    let cfg = Config {
        initial_window_size: 1024,
        connection_window_size: 65_535,
        ..Config::default()
    };
    let n = 1 << 20;
    let mut c = pair(cfg, n);
    let id = c.next_free_stream_identifier().await.unwrap();
    c.put_act(
        id,
        SendHeaders {
            head: get("/big"),
            end_stream: true,
        },
    )
    .await
    .unwrap();
    let (_, body) = response(&mut c, id).await;
    assert_eq!(body.len(), n);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
}

#[actix_rt::test]
async fn session_concurrent_streams() {
    let mut c = pair(Config::default(), 0);
    let mut ids = Vec::new();
    for _ in 0..20 {
        let id = c.next_free_stream_identifier().await.unwrap();
        c.put_act(
            id,
            SendHeaders {
                head: get("/"),
                end_stream: true,
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    let mut done = 0;
    while done < ids.len() {
        if let Event::RecvData(RecvData {
            end_stream: true, ..
        }) = take(&mut c).await
        {
            done += 1;
        }
    }
}

#[actix_rt::test]
async fn session_push_promise_and_pushed_response() {
    let mut c = pair(Config::default(), 0);
    let id = c.next_free_stream_identifier().await.unwrap();
    c.put_act(
        id,
        SendHeaders {
            head: get("/push"),
            end_stream: true,
        },
    )
    .await
    .unwrap();
    let mut promised = None;
    let mut ended = 0;
    let mut pushed = BytesMut::new();
    while ended < 2 {
        match take(&mut c).await {
            Event::RecvPromise(RecvPromise {
                id: i,
                promised_id,
                request,
                ..
            }) => {
                assert_eq!(i, id);
                assert_eq!(promised_id, StreamId(2));
                assert_eq!(request.uri().path(), "/pushed");
                promised = Some(promised_id);
            }
            Event::RecvData(RecvData {
                id: i,
                data,
                end_stream,
                ..
            }) => {
                if Some(i) == promised {
                    pushed.extend_from_slice(&data);
                }
                if end_stream {
                    ended += 1;
                }
            }
            Event::RecvReset(r) => panic!("{r:?}"),
            _ => {}
        }
    }
    assert_eq!(&pushed[..], b"pushed");
}

#[actix_rt::test]
async fn session_trailers() {
    let mut c = pair(Config::default(), 0);
    let id = c.next_free_stream_identifier().await.unwrap();
    c.put_act(
        id,
        SendHeaders {
            head: get("/trailers"),
            end_stream: true,
        },
    )
    .await
    .unwrap();
    loop {
        if let Event::RecvTrailers(RecvTrailers { trailers, .. }) = take(&mut c).await {
            assert_eq!(trailers.get("x-trailer-test").unwrap(), "ok");
            break;
        }
    }
}

#[actix_rt::test]
async fn session_ping_answers_with_ping_ack() {
    let mut c = pair(Config::default(), 0);
    // The answer comes back from `ping` itself (no PingAck event any more).
    let rtt = tokio::time::timeout(Duration::from_secs(10), c.ping())
        .await
        .expect("ping timed out")
        .expect("ping");
    assert!(rtt < Duration::from_secs(2));
}

#[actix_rt::test]
async fn session_action_on_unknown_stream_is_an_error_event() {
    let mut c = pair(Config::default(), 0);
    // The error comes back from `put_act` at once (no Error event any more).
    let r = c
        .put_act(
            StreamId(99),
            SendData {
                data: Bytes::from_static(b"x"),
                end_stream: true,
            },
        )
        .await;
    assert!(r.is_err(), "{r:?}");
}

#[actix_rt::test]
async fn session_close_ends_with_closed_then_none() {
    let mut c = pair(Config::default(), 0);
    let id = c.next_free_stream_identifier().await.unwrap();
    c.put_act(
        id,
        SendHeaders {
            head: get("/"),
            end_stream: true,
        },
    )
    .await
    .unwrap();
    let _ = response(&mut c, id).await;
    c.close();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), c.take_evt())
            .await
            .unwrap()
        {
            Some(Event::Closed(Closed { reason, .. })) => {
                assert_eq!(reason, CloseReason::Done);
                break;
            }
            Some(_) => {}
            None => panic!("no Closed"),
        }
    }
    let end = tokio::time::timeout(Duration::from_secs(5), c.take_evt())
        .await
        .unwrap();
    assert!(end.is_none());
}

#[actix_rt::test]
async fn session_reset_reaches_the_peer() {
    let (a, b) = tokio::io::duplex(64 << 10);
    let mut server = Session::new(a, Connection::builder(Role::Server));
    let mut c = Session::new(b, Connection::builder(Role::Client));
    let id = c.next_free_stream_identifier().await.unwrap();
    c.put_act(
        id,
        SendHeaders {
            head: get("/"),
            end_stream: false,
        },
    )
    .await
    .unwrap();
    match take(&mut server).await {
        Event::RecvHeaders(RecvHeaders { id: i, .. }) => assert_eq!(i, id),
        other => panic!("{other:?}"),
    }
    c.put_act(
        id,
        Reset {
            code: ErrorCode::CANCEL,
        },
    )
    .await
    .unwrap();
    match take(&mut server).await {
        Event::RecvReset(RecvReset {
            id: i,
            code,
            remote,
            ..
        }) => {
            assert_eq!(i, id);
            assert_eq!(code, ErrorCode::CANCEL);
            assert!(remote);
        }
        other => panic!("{other:?}"),
    }
}
