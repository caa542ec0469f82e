//! End to end: a client `Connection` piped into a server `Connection`.

use super::*;

/// Sends `body` from the client as a POST, echoes it back from the server,
/// releasing capacity as the user would, with small windows.
fn echo(pair: &mut Pair, body: Vec<u8>) {
    let id = pair.client.open_stream().unwrap();
    let req = Request::post("http://example.com/echo").body(()).unwrap();
    pair.client
        .send_headers(id, Head::Request(req), false, t0())
        .unwrap();
    let mut to_send = Bytes::from(body.clone());
    let mut received_by_server = Vec::new();
    let mut received_by_client = Vec::new();
    let mut client_done = false;
    let mut server_started = false;
    let mut server_end_queued = false;
    for _ in 0..100_000 {
        // the client feeds its body in chunks, as the send buffer allows
        if !to_send.is_empty() {
            let n = to_send.len().min(10_000);
            let chunk = to_send.split_to(n);
            let last = to_send.is_empty();
            pair.client.send_data(id, chunk, last, t0()).unwrap();
        }
        pair.pump();
        for e in pair.take_server() {
            match e {
                Event::RecvHeaders { id: sid, .. } => {
                    assert_eq!(sid, id);
                    pair.server
                        .send_headers(sid, response(200), false, t0())
                        .unwrap();
                    server_started = true;
                }
                Event::RecvData {
                    id: sid,
                    data,
                    end_stream,
                } => {
                    received_by_server.extend_from_slice(&data);
                    pair.server.release_capacity(sid, data.len());
                    pair.server.send_data(sid, data, end_stream, t0()).unwrap();
                    server_end_queued |= end_stream;
                }
                _ => {}
            }
        }
        for e in pair.take_client() {
            if let Event::RecvData {
                id: cid,
                data,
                end_stream,
            } = e
            {
                received_by_client.extend_from_slice(&data);
                pair.client.release_capacity(cid, data.len());
                client_done |= end_stream;
            }
        }
        if client_done {
            break;
        }
    }
    assert!(server_started && server_end_queued);
    assert_eq!(received_by_server.len(), body.len());
    assert!(received_by_client == body, "echoed body differs");
}

fn find_request(evs: &[Event]) -> (StreamId, &Request<()>, bool) {
    evs.iter()
        .find_map(|e| match e {
            Event::RecvHeaders {
                id,
                head,
                end_stream,
            } => match &**head {
                Head::Request(r) => Some((*id, r, *end_stream)),
                Head::Response(_) => None,
            },
            _ => None,
        })
        .expect("a request")
}

#[test]
fn e2e_get_request_and_response_with_body() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/hello"), true, t0())
        .unwrap();
    pair.pump();
    let sev = pair.take_server();
    let (sid, req, end) = find_request(&sev);
    assert_eq!(sid, id);
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri(), "http://example.com/hello");
    assert!(end);
    let resp = Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(())
        .unwrap();
    pair.server
        .send_headers(sid, Head::Response(resp), false, t0())
        .unwrap();
    pair.server
        .send_data(sid, Bytes::from_static(b"hello world\n"), true, t0())
        .unwrap();
    pair.pump();
    let cev = pair.take_client();
    let resp = cev
        .iter()
        .find_map(|e| match e {
            Event::RecvHeaders { head, .. } => match &**head {
                Head::Response(r) => Some(r),
                Head::Request(_) => None,
            },
            _ => None,
        })
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(body_of(&cev, id), (b"hello world\n".to_vec(), true));
    assert!(cev
        .iter()
        .any(|e| matches!(e, Event::Finished { id: i, .. } if *i == id)));
    assert!(pair
        .take_server()
        .iter()
        .any(|e| matches!(e, Event::Finished { id: i, .. } if *i == sid)));
    assert_eq!(pair.client.active_streams(), 0);
    assert_eq!(pair.server.active_streams(), 0);
}

#[test]
fn e2e_post_echo_of_a_large_body_with_small_windows() {
    let small = Config {
        initial_window_size: 1024,
        connection_window_size: 65_535,
        ..Config::default()
    };
    let mut pair = Pair::new(small.clone(), small);
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    echo(&mut pair, body);
}

#[test]
fn e2e_post_echo_with_default_windows() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    echo(&mut pair, body);
}

#[test]
fn e2e_many_concurrent_streams_within_the_peer_limit() {
    let server_cfg = Config {
        max_concurrent_streams: 8,
        ..Config::default()
    };
    let mut pair = Pair::new(Config::default(), server_cfg);
    let mut opened = Vec::new();
    while pair.client.can_open_stream() {
        let id = pair.client.open_stream().unwrap();
        pair.client
            .send_headers(id, get_request("http://example.com/"), true, t0())
            .unwrap();
        opened.push(id);
    }
    assert_eq!(opened.len(), 8);
    pair.pump();
    let sev = pair.take_server();
    let reqs: Vec<StreamId> = sev
        .iter()
        .filter_map(|e| match e {
            Event::RecvHeaders { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(reqs, opened);
    for id in reqs {
        pair.server
            .send_headers(id, response(204), true, t0())
            .unwrap();
    }
    pair.pump();
    let closed = pair
        .take_client()
        .iter()
        .filter(|e| matches!(e, Event::Finished { .. }))
        .count();
    assert_eq!(closed, 8);
    assert!(pair.client.can_open_stream());
}

#[test]
fn e2e_trailers_reach_the_client() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/trailers"), true, t0())
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server
        .send_headers(id, response(200), false, t0())
        .unwrap();
    pair.server
        .send_data(id, Bytes::from_static(b"body"), false, t0())
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-trailer-test", HeaderValue::from_static("ok"));
    pair.server.send_trailers(id, t, t0()).unwrap();
    pair.pump();
    let cev = pair.take_client();
    assert!(cev.iter().any(
        |e| matches!(e, Event::RecvTrailers { trailers, .. } if trailers["x-trailer-test"] == "ok")
    ));
    assert_eq!(body_of(&cev, id), (b"body".to_vec(), true));
}

#[test]
fn e2e_server_push() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/push"), true, t0())
        .unwrap();
    pair.pump();
    pair.take_server();
    let promised = pair
        .server
        .push_promise(id, push_request("/pushed.css"))
        .unwrap();
    pair.server
        .send_headers(id, response(200), false, t0())
        .unwrap();
    pair.server
        .send_data(id, Bytes::from_static(b"page"), true, t0())
        .unwrap();
    pair.server
        .send_headers(promised, response(200), false, t0())
        .unwrap();
    pair.server
        .send_data(promised, Bytes::from_static(b"css"), true, t0())
        .unwrap();
    pair.pump();
    let cev = pair.take_client();
    assert!(
        matches!(&cev[0], Event::RecvPromise { promised_id, request, .. } if *promised_id == promised && request.uri().path() == "/pushed.css")
    );
    assert_eq!(body_of(&cev, id), (b"page".to_vec(), true));
    assert_eq!(body_of(&cev, promised), (b"css".to_vec(), true));
    assert_eq!(pair.client.active_streams(), 0);
    assert_eq!(pair.server.active_streams(), 0);
}

#[test]
fn e2e_reset_mid_body_leaves_the_connection_usable() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(
            id,
            get_request("http://example.com/bytes/1000000"),
            true,
            t0(),
        )
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server
        .send_headers(id, response(200), false, t0())
        .unwrap();
    pair.server
        .send_data(id, Bytes::from(vec![7u8; 3_000_000]), true, t0())
        .unwrap();
    // deliver part of it, then the client gives up
    transfer(&mut pair.server, &mut pair.client);
    pair.client.reset(id, ErrorCode::CANCEL, t0()).unwrap();
    pair.pump();
    assert!(pair.take_server().iter().any(
        |e| matches!(e, Event::RecvReset { id: i, code: ErrorCode::CANCEL, remote: true, .. } if *i == id)
    ));
    assert_eq!(pair.server.active_streams(), 0);
    // a second request goes through
    let id2 = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id2, get_request("http://example.com/"), true, t0())
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server
        .send_headers(id2, response(200), false, t0())
        .unwrap();
    pair.server
        .send_data(id2, Bytes::from_static(b"ok"), true, t0())
        .unwrap();
    pair.pump();
    assert_eq!(body_of(&pair.take_client(), id2), (b"ok".to_vec(), true));
}

#[test]
fn e2e_graceful_go_away() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server.go_away(ErrorCode::NO_ERROR, Bytes::new(), t0());
    pair.pump();
    assert!(pair
        .take_client()
        .iter()
        .any(|e| matches!(e, Event::GoAway { last_stream_id, .. } if *last_stream_id == id)));
    assert!(!pair.server.is_finished());
    pair.server
        .send_headers(id, response(200), true, t0())
        .unwrap();
    pair.pump();
    assert!(pair.server.is_finished());
    assert!(pair.client.is_finished());
}
