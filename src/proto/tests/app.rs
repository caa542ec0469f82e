//! The application slot (`Stream::app`): the one stream table carries what
//! the layer above keeps per stream, and hands it over in the stream's
//! terminal event when the protocol forgets the stream (§5.1 "closed").

use super::*;

/// A server with a `&str` slot per stream, SETTINGS exchanged.
fn server_app() -> (Connection<&'static str>, Peer) {
    let mut s = Connection::with_app(Role::Server, Config::default(), t0());
    s.recv_frame(settings(vec![]), t0()).unwrap();
    s.recv_frame(settings_ack(), t0()).unwrap();
    s.poll_transmit(&mut BytesMut::new(), usize::MAX, t0());
    while s.poll_event().is_some() {}
    (s, Peer::new())
}

#[test]
fn s5_1_slot_moves_into_closed_event_and_is_found_there_until_polled() {
    let (mut s, mut p) = server_app();
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.set_app(StreamId(1), "one").unwrap();
    s.recv_frame(data(1, b"abc", true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), true, t0())
        .unwrap();
    assert_eq!(s.stream_state(StreamId(1)), None, "closed and forgotten");
    // Forgotten by the protocol, but its events are not taken yet: the
    // slot is reachable through the queued terminal event.
    assert_eq!(s.app(StreamId(1)), Some(&"one"));
    *s.app_mut(StreamId(1)).unwrap() = "uno";
    assert_eq!(s.apps().count(), 1);
    assert!(matches!(s.poll_event(), Some(Event::RecvHeaders { .. })));
    assert!(matches!(s.poll_event(), Some(Event::RecvData { .. })));
    assert!(matches!(
        s.poll_event(),
        Some(Event::Finished {
            id: StreamId(1),
            app: Some("uno")
        })
    ));
    assert_eq!(s.app(StreamId(1)), None, "the event's taker owns it now");
    assert_eq!(s.set_app(StreamId(1), "late"), Err("late"));
}

#[test]
fn s5_1_slot_goes_with_the_peers_reset() {
    let (mut s, mut p) = server_app();
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    // Set while the HEADERS event is still queued, as the actor layer does.
    s.set_app(StreamId(1), "one").unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(matches!(
        evs[..],
        [
            Event::RecvHeaders { .. },
            Event::RecvReset {
                id: StreamId(1),
                code: ErrorCode::CANCEL,
                remote: true,
                app: Some("one")
            }
        ]
    ));
}

#[test]
fn s5_1_slot_set_after_the_stream_ended_still_reaches_its_terminal_event() {
    // The layer above learns of a stream from its HEADERS event; the peer
    // may have reset it already (both events queued): the slot set then
    // lands in the Reset event, so nothing is left behind.
    let (mut s, mut p) = server_app();
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    assert_eq!(s.stream_state(StreamId(1)), None);
    s.set_app(StreamId(1), "one").unwrap();
    assert_eq!(s.take_apps(), vec![(StreamId(1), "one")]);
    assert_eq!(s.app(StreamId(1)), None);
}

#[test]
fn slot_of_a_reset_stream_must_be_taken_first() {
    let (mut s, mut p) = server_app();
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.recv_frame(headers(3, p.block(POST), false), t0())
        .unwrap();
    s.set_app(StreamId(1), "one").unwrap();
    s.set_app(StreamId(3), "three").unwrap();
    assert_eq!(s.take_app(StreamId(1)), Some("one"));
    s.reset(StreamId(1), ErrorCode::CANCEL, t0()).unwrap();
    s.reset(StreamId(3), ErrorCode::CANCEL, t0()).unwrap();
    assert_eq!(s.apps().count(), 0, "reset drops the slot");
    assert_eq!(s.set_app(StreamId(5), "idle"), Err("idle"));
}
