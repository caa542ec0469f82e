//! `Session`: HTTP2.jl's shape (`put_act!`, `take_evt!`) for code that is not
//! an actor. (Skeleton: implemented by the actor layer.)
//!
//! Contract: `Session::new(io, role, config)` (must be called inside an actix
//! system / `actix_rt`), `put_act(Action)` returns at once,
//! `take_evt().await -> Option<Event>`, `next_free_stream_identifier().await`,
//! `close()`. `Action` and `Event` mirror HTTP2.jl's `Act*`/`Evt*` with stream
//! ids: `Action::{SendHeaders{id, head, end_stream}, SendData{id, data,
//! end_stream}, SendTrailers{id, trailers}, Promise{id, promised_id, request},
//! Reset{id, code}, Ping, GoAway{code}}`, `Event::{RecvHeaders{id, head,
//! end_stream}, RecvData{id, data, end_stream}, RecvTrailers{id, trailers},
//! Promise{id, promised_id, request}, Reset{id, code, remote}, GoAway{..},
//! PingAck{rtt}, Error{..}, Closed{reason}}`.

/// See the module docs.
pub struct Session {
    _private: (),
}
