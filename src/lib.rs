//! # h2actor
//!
//! HTTP/2 (RFC 9113, HPACK RFC 7541) where every connection is an actix actor
//! and every stream is a child actor.
//!
//! | module | owns |
//! |---|---|
//! | [`frame`] | typed frames, decode/encode, the `FrameCodec` |
//! | [`hpack`] | header compression contexts |
//! | [`proto`] | the protocol state machine, without I/O |
//! | [`actor`] | the `Connection` and `Stream` actors, messages, `Session` |
#![warn(missing_docs)]
#![allow(missing_docs)] // removed once every layer has landed

pub mod actor;
pub mod frame;
pub mod hpack;
pub mod proto;

pub use frame::{ErrorCode, StreamId};
pub use proto::{Head, Role};
