//! Property tests of the state machine: arbitrary sequences of peer frames
//! (valid and invalid, with real and garbage field blocks) and user actions
//! never panic, the output always decodes as frames, `wants_transmit` is
//! false after an unlimited `poll_transmit` (no spinning), a connection
//! error is final, and arbitrary bytes through the codec are handled.

use bytes::{Bytes, BytesMut};
use h2actor::frame::*;
use h2actor::hpack;
use h2actor::proto::{Config, Connection, Event, Head, Role};
use h2actor::transport::FrameCodec;
use proptest::prelude::*;
use std::time::Instant;
use tokio_util::codec::Decoder;

#[derive(Debug, Clone)]
enum Op {
    /// A request/response/trailer block from the peer's encoder.
    Headers {
        id: u32,
        kind: u8,
        end_stream: bool,
        split: Option<usize>,
    },
    /// A field block of garbage bytes.
    Garbage {
        id: u32,
        block: Vec<u8>,
    },
    Data {
        id: u32,
        len: usize,
        end_stream: bool,
        pad: Option<u8>,
    },
    Window {
        id: u32,
        inc: u32,
    },
    Rst {
        id: u32,
        code: u32,
    },
    Settings(Vec<Setting>),
    SettingsAck,
    Ping(bool),
    GoAway(u32),
    Priority(u32),
    Push {
        id: u32,
        promised: u32,
    },
    Unknown(u32),
    /// User actions.
    Respond {
        id: u32,
        end_stream: bool,
    },
    Send {
        id: u32,
        len: usize,
        end_stream: bool,
    },
    Release {
        id: u32,
        n: usize,
    },
    Reset {
        id: u32,
    },
    Open,
    Request {
        id: u32,
        end_stream: bool,
    },
    Transmit(usize),
}

enum OpKind {
    User,
    Peer,
}

fn id() -> impl Strategy<Value = u32> {
    prop_oneof![0..12u32, Just(0x7fff_ffff)]
}

fn setting() -> impl Strategy<Value = Setting> {
    prop_oneof![
        (0..8192u32).prop_map(Setting::HeaderTableSize),
        any::<bool>().prop_map(Setting::EnablePush),
        (0..10u32).prop_map(Setting::MaxConcurrentStreams),
        prop_oneof![0..70_000u32, Just(MAX_WINDOW_SIZE)].prop_map(Setting::InitialWindowSize),
        (DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).prop_map(Setting::MaxFrameSize),
        (0..1000u32).prop_map(Setting::MaxHeaderListSize),
        any::<bool>().prop_map(Setting::EnableConnectProtocol),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (id(), 0..6u8, any::<bool>(), proptest::option::of(0..40usize))
            .prop_map(|(id, kind, end_stream, split)| Op::Headers { id, kind, end_stream, split }),
        1 => (id(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(id, block)| Op::Garbage { id, block }),
        4 => (id(), prop_oneof![0..100usize, 16_000..70_000usize], any::<bool>(), proptest::option::of(any::<u8>()))
            .prop_map(|(id, len, end_stream, pad)| Op::Data { id, len, end_stream, pad }),
        2 => (id(), prop_oneof![0..100u32, Just(MAX_WINDOW_SIZE)]).prop_map(|(id, inc)| Op::Window { id, inc }),
        1 => (id(), 0..14u32).prop_map(|(id, code)| Op::Rst { id, code }),
        1 => proptest::collection::vec(setting(), 0..4).prop_map(Op::Settings),
        1 => Just(Op::SettingsAck),
        1 => any::<bool>().prop_map(Op::Ping),
        1 => id().prop_map(Op::GoAway),
        1 => id().prop_map(Op::Priority),
        1 => (id(), id()).prop_map(|(id, promised)| Op::Push { id, promised }),
        1 => id().prop_map(Op::Unknown),
        3 => (id(), any::<bool>()).prop_map(|(id, end_stream)| Op::Respond { id, end_stream }),
        3 => (id(), 0..100_000usize, any::<bool>()).prop_map(|(id, len, end_stream)| Op::Send { id, len, end_stream }),
        2 => (id(), 0..100_000usize).prop_map(|(id, n)| Op::Release { id, n }),
        1 => id().prop_map(|id| Op::Reset { id }),
        2 => Just(Op::Open),
        2 => (id(), any::<bool>()).prop_map(|(id, end_stream)| Op::Request { id, end_stream }),
        3 => prop_oneof![Just(usize::MAX), 0..50_000usize].prop_map(Op::Transmit),
    ]
}

fn block(enc: &mut hpack::Encoder, kind: u8) -> Bytes {
    let fields: &[(&str, &str)] = match kind {
        0 => &[
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "a"),
            (":path", "/"),
        ],
        1 => &[
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/"),
            ("content-length", "10"),
        ],
        2 => &[(":status", "200")],
        3 => &[(":status", "103")],
        4 => &[("x-trailer", "1")],
        _ => &[(":method", "GET"), ("Bad", "x")],
    };
    let mut dst = BytesMut::new();
    enc.encode(
        fields.iter().map(|(n, v)| hpack::FieldRef {
            name: n.as_bytes(),
            value: v.as_bytes(),
            sensitive: false,
        }),
        &mut dst,
    );
    dst.freeze()
}

/// Writes everything and checks the output decodes and nothing is left.
fn transmit(c: &mut Connection, limit: usize) {
    let mut buf = BytesMut::new();
    c.poll_transmit(&mut buf, limit, Instant::now());
    if buf.starts_with(PREFACE) {
        let _ = buf.split_to(PREFACE.len());
    }
    loop {
        match Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!("our output does not decode: {e}"),
        }
    }
    assert!(buf.is_empty(), "partial frame in our output");
    if limit == usize::MAX {
        assert!(
            !c.wants_transmit(),
            "wants_transmit after an unlimited poll"
        );
    }
}

fn run(role: Role, ops: Vec<Op>) {
    let config = Config {
        max_concurrent_streams: 4,
        initial_window_size: 65_535,
        connection_window_size: 100_000,
        max_header_list_size: 500,
        ..Config::default()
    };
    let mut c = Connection::new(role, config, Instant::now());
    let mut enc = hpack::Encoder::default();
    let _ = c.recv_frame(Frame::Settings(Settings::default()), Instant::now());
    let mut failed = false;
    for op in ops {
        let op_kind = if matches!(
            op,
            Op::Respond { .. }
                | Op::Send { .. }
                | Op::Release { .. }
                | Op::Reset { .. }
                | Op::Open
                | Op::Request { .. }
                | Op::Transmit(_)
        ) {
            OpKind::User
        } else {
            OpKind::Peer
        };
        let r = match op {
            Op::Headers {
                id,
                kind,
                end_stream,
                split,
            } => {
                let b = block(&mut enc, kind);
                match split {
                    Some(at) if at < b.len() => c
                        .recv_frame(
                            Frame::Headers(Headers {
                                stream_id: StreamId(id),
                                block: b.slice(..at),
                                end_stream,
                                end_headers: false,
                                priority: None,
                                pad_len: None,
                            }),
                            Instant::now(),
                        )
                        .and_then(|_| {
                            c.recv_frame(
                                Frame::Continuation(Continuation {
                                    stream_id: StreamId(id),
                                    block: b.slice(at..),
                                    end_headers: true,
                                }),
                                Instant::now(),
                            )
                        }),
                    _ => c.recv_frame(
                        Frame::Headers(Headers {
                            stream_id: StreamId(id),
                            block: b,
                            end_stream,
                            end_headers: true,
                            priority: None,
                            pad_len: None,
                        }),
                        Instant::now(),
                    ),
                }
            }
            Op::Garbage { id, block } => c.recv_frame(
                Frame::Headers(Headers {
                    stream_id: StreamId(id),
                    block: Bytes::from(block),
                    end_stream: false,
                    end_headers: true,
                    priority: None,
                    pad_len: None,
                }),
                Instant::now(),
            ),
            Op::Data {
                id,
                len,
                end_stream,
                pad,
            } => c.recv_frame(
                Frame::Data(Data {
                    stream_id: StreamId(id),
                    data: Bytes::from(vec![0u8; len]),
                    end_stream,
                    pad_len: pad,
                }),
                Instant::now(),
            ),
            Op::Window { id, inc } => c.recv_frame(
                Frame::WindowUpdate(WindowUpdate {
                    stream_id: StreamId(id),
                    increment: inc,
                }),
                Instant::now(),
            ),
            Op::Rst { id, code } => c.recv_frame(
                Frame::RstStream(RstStream {
                    stream_id: StreamId(id),
                    error_code: ErrorCode(code),
                }),
                Instant::now(),
            ),
            Op::Settings(params) => c.recv_frame(
                Frame::Settings(Settings { ack: false, params }),
                Instant::now(),
            ),
            Op::SettingsAck => c.recv_frame(Frame::Settings(Settings::ack()), Instant::now()),
            Op::Ping(ack) => c.recv_frame(
                Frame::Ping(Ping {
                    ack,
                    payload: [1; 8],
                }),
                Instant::now(),
            ),
            Op::GoAway(last) => c.recv_frame(
                Frame::GoAway(GoAway {
                    last_stream_id: StreamId(last),
                    error_code: ErrorCode::NO_ERROR,
                    debug_data: Bytes::new(),
                }),
                Instant::now(),
            ),
            Op::Priority(id) => c.recv_frame(
                Frame::Priority(Priority {
                    stream_id: StreamId(id),
                    spec: PrioritySpec {
                        dependency: StreamId(0),
                        exclusive: false,
                        weight: 1,
                    },
                }),
                Instant::now(),
            ),
            Op::Push { id, promised } => {
                let b = block(&mut enc, 0);
                c.recv_frame(
                    Frame::PushPromise(PushPromise {
                        stream_id: StreamId(id),
                        promised_id: StreamId(promised),
                        block: b,
                        end_headers: true,
                        pad_len: None,
                    }),
                    Instant::now(),
                )
            }
            Op::Unknown(id) => c.recv_frame(
                Frame::Unknown(Unknown {
                    kind: 0xee,
                    flags: 0,
                    stream_id: StreamId(id),
                    payload: Bytes::new(),
                }),
                Instant::now(),
            ),
            Op::Respond { id, end_stream } => {
                let _ = c.send_headers(
                    StreamId(id),
                    Head::Response(http::Response::new(())),
                    end_stream,
                    Instant::now(),
                );
                let _ = c.push_promise(
                    StreamId(id),
                    http::Request::get("http://a/p").body(()).unwrap(),
                );
                Ok(())
            }
            Op::Send {
                id,
                len,
                end_stream,
            } => {
                let _ = c.send_data(
                    StreamId(id),
                    Bytes::from(vec![1u8; len]),
                    end_stream,
                    Instant::now(),
                );
                Ok(())
            }
            Op::Release { id, n } => {
                c.release_capacity(StreamId(id), n);
                Ok(())
            }
            Op::Reset { id } => {
                let _ = c.reset(StreamId(id), ErrorCode::CANCEL, Instant::now());
                Ok(())
            }
            Op::Open => {
                let _ = c.open_stream();
                Ok(())
            }
            Op::Request { id, end_stream } => {
                let _ = c.send_headers(
                    StreamId(id),
                    Head::Request(http::Request::get("http://a/").body(()).unwrap()),
                    end_stream,
                    Instant::now(),
                );
                Ok(())
            }
            Op::Transmit(limit) => {
                transmit(&mut c, limit);
                Ok(())
            }
        };
        while let Some(ev) = c.poll_event() {
            if let Event::RecvData { id, data, .. } = ev {
                c.release_capacity(id, data.len());
            }
        }
        let user_op = matches!(op_kind, OpKind::User);
        if failed && !user_op {
            assert!(r.is_err(), "a connection error is final");
        }
        if r.is_err() {
            failed = true;
            assert!(c.is_finished());
        }
    }
    transmit(&mut c, usize::MAX);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn server_never_panics_and_output_stays_valid(ops in proptest::collection::vec(op(), 0..40)) {
        run(Role::Server, ops);
    }

    #[test]
    fn client_never_panics_and_output_stays_valid(ops in proptest::collection::vec(op(), 0..40)) {
        run(Role::Client, ops);
    }

    #[test]
    fn arbitrary_bytes_through_codec_and_state_machine_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..400)
    ) {
        let mut c = Connection::new(Role::Server, Config::default(), Instant::now());
        let mut codec = FrameCodec::server(c.local_max_frame_size());
        let mut buf = BytesMut::from(&PREFACE[..]);
        // a valid SETTINGS first half of the time
        if input.first().is_some_and(|b| b & 1 == 0) {
            Frame::Settings(Settings::default()).encode(&mut buf);
        }
        buf.extend_from_slice(&input);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(Ok(f))) => {
                    if c.recv_frame(f, Instant::now()).is_err() {
                        break;
                    }
                }
                Ok(Some(Err(e))) => {
                    if c.recv_malformed(e, Instant::now()).is_err() {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        transmit(&mut c, usize::MAX);
    }
}
