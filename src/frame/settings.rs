//! SETTINGS (RFC 9113 §6.5): parameters validated against the ranges of
//! §6.5.2, RFC 8441 §3 and RFC 9218 §2.1; unknown identifiers dropped.

use bytes::{BufMut, Bytes, BytesMut};

use super::{flags, kind, Error, ErrorCode, FrameHead, StreamId};
use super::{DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE, MAX_WINDOW_SIZE};

/// One known SETTINGS parameter, RFC 9113 §6.5.2 (+ RFC 8441 §3, RFC 9218 §2.1).
/// Unknown identifiers are dropped on decode, as §6.5.2 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1).
    HeaderTableSize(u32),
    /// SETTINGS_ENABLE_PUSH (0x2).
    EnablePush(bool),
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
    MaxConcurrentStreams(u32),
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4), at most 2^31-1.
    InitialWindowSize(u32),
    /// SETTINGS_MAX_FRAME_SIZE (0x5), 16,384..=16,777,215.
    MaxFrameSize(u32),
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6).
    MaxHeaderListSize(u32),
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8, RFC 8441 §3).
    EnableConnectProtocol(bool),
    /// SETTINGS_NO_RFC7540_PRIORITIES (0x9, RFC 9218 §2.1).
    NoRfc7540Priorities(bool),
}

/// Setting identifiers, RFC 9113 §6.5.2 (+ RFC 8441 §3, RFC 9218 §2.1).
#[allow(missing_docs)]
pub mod setting_id {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
    pub const NO_RFC7540_PRIORITIES: u16 = 0x9;
}

impl Setting {
    /// Validates one identifier/value pair. `Ok(None)` for an unknown
    /// identifier (ignored, §6.5.2); a value out of range is a connection
    /// error with the code the defining RFC names.
    pub fn from_id(id: u16, value: u32) -> Result<Option<Setting>, Error> {
        use setting_id::*;
        let flag = |what: &'static str| match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::protocol(what)),
        };
        Ok(Some(match id {
            HEADER_TABLE_SIZE => Setting::HeaderTableSize(value),
            // §6.5.2: any value other than 0 or 1 is PROTOCOL_ERROR.
            ENABLE_PUSH => Setting::EnablePush(flag("SETTINGS_ENABLE_PUSH not 0 or 1")?),
            MAX_CONCURRENT_STREAMS => Setting::MaxConcurrentStreams(value),
            INITIAL_WINDOW_SIZE => {
                // §6.5.2: above 2^31-1 is FLOW_CONTROL_ERROR.
                if value > MAX_WINDOW_SIZE {
                    return Err(Error::conn(
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                    ));
                }
                Setting::InitialWindowSize(value)
            }
            MAX_FRAME_SIZE => {
                // §6.5.2: outside 2^14..=2^24-1 is PROTOCOL_ERROR.
                if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) {
                    return Err(Error::protocol("SETTINGS_MAX_FRAME_SIZE out of range"));
                }
                Setting::MaxFrameSize(value)
            }
            MAX_HEADER_LIST_SIZE => Setting::MaxHeaderListSize(value),
            // RFC 8441 §3: "MUST" be 0 or 1.
            ENABLE_CONNECT_PROTOCOL => {
                Setting::EnableConnectProtocol(flag("SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1")?)
            }
            // RFC 9218 §2.1: other values are PROTOCOL_ERROR.
            NO_RFC7540_PRIORITIES => {
                Setting::NoRfc7540Priorities(flag("SETTINGS_NO_RFC7540_PRIORITIES not 0 or 1")?)
            }
            _ => return Ok(None),
        }))
    }

    /// The identifier and the value as on the wire.
    pub fn to_id(self) -> (u16, u32) {
        use setting_id::*;
        match self {
            Setting::HeaderTableSize(v) => (HEADER_TABLE_SIZE, v),
            Setting::EnablePush(b) => (ENABLE_PUSH, b as u32),
            Setting::MaxConcurrentStreams(v) => (MAX_CONCURRENT_STREAMS, v),
            Setting::InitialWindowSize(v) => (INITIAL_WINDOW_SIZE, v),
            Setting::MaxFrameSize(v) => (MAX_FRAME_SIZE, v),
            Setting::MaxHeaderListSize(v) => (MAX_HEADER_LIST_SIZE, v),
            Setting::EnableConnectProtocol(b) => (ENABLE_CONNECT_PROTOCOL, b as u32),
            Setting::NoRfc7540Priorities(b) => (NO_RFC7540_PRIORITIES, b as u32),
        }
    }
}

/// SETTINGS, RFC 9113 §6.5. Parameters in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The ACK flag (then `params` is empty).
    pub ack: bool,
    /// Known parameters in wire order (the last one of an id wins, §6.5.3).
    pub params: Vec<Setting>,
}

impl Settings {
    /// The acknowledgement of the peer's SETTINGS.
    pub fn ack() -> Settings {
        Settings {
            ack: true,
            params: Vec::new(),
        }
    }

    /// Validates and parses a SETTINGS payload (§6.5).
    pub fn load(head: FrameHead, payload: &Bytes) -> Result<Settings, Error> {
        if !head.stream_id.is_zero() {
            return Err(Error::protocol("SETTINGS on a stream other than 0"));
        }
        let ack = head.has(flags::ACK);
        if ack && !payload.is_empty() {
            return Err(Error::frame_size("SETTINGS ACK with a payload"));
        }
        if payload.len() % 6 != 0 {
            return Err(Error::frame_size("SETTINGS length not a multiple of 6"));
        }
        let mut params = Vec::with_capacity(payload.len() / 6);
        for p in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([p[0], p[1]]);
            let value = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
            if let Some(s) = Setting::from_id(id, value)? {
                params.push(s);
            }
        }
        Ok(Settings { ack, params })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.ack { flags::ACK } else { 0 };
        let len = 6 * self.params.len() as u32;
        dst.reserve(super::HEADER_LEN + len as usize);
        FrameHead::new(kind::SETTINGS, f, StreamId::ZERO, len).encode(dst);
        for s in &self.params {
            let (id, v) = s.to_id();
            dst.put_u16(id);
            dst.put_u32(v);
        }
    }
}
