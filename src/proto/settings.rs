//! The settings in effect on each side (RFC 9113 §6.5.2) and the checks on
//! values (§6.5.2 ranges).

use crate::frame::{
    ErrorCode, Setting, DEFAULT_INITIAL_WINDOW_SIZE, DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE,
    MAX_WINDOW_SIZE,
};
use crate::hpack::DEFAULT_TABLE_SIZE;

use super::Config;

/// One side's settings, starting from the RFC defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsState {
    /// SETTINGS_HEADER_TABLE_SIZE: the most the other side's HPACK encoder
    /// may use for this side's decoder table (RFC 7541 §4.2). Default 4,096.
    pub header_table_size: u32,
    /// SETTINGS_ENABLE_PUSH: whether this side accepts PUSH_PROMISE (only a
    /// client's value matters, §8.4). Default true.
    pub enable_push: bool,
    /// `u32::MAX` until the side says otherwise (no limit, §6.5.2).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: the flow-control window, in bytes, this
    /// side grants each new stream for receiving (§6.9.2). Default 65,535.
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame payload, in bytes, this
    /// side accepts (§4.2). Default 16,384.
    pub max_frame_size: u32,
    /// `u32::MAX` until the side says otherwise (unlimited, §6.5.2).
    pub max_header_list_size: u32,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3): this side accepts
    /// extended CONNECT with `:protocol`. Default false.
    pub enable_connect_protocol: bool,
}

impl Default for SettingsState {
    fn default() -> Self {
        SettingsState {
            header_table_size: DEFAULT_TABLE_SIZE as u32,
            enable_push: true,
            max_concurrent_streams: u32::MAX,
            initial_window_size: DEFAULT_INITIAL_WINDOW_SIZE,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: u32::MAX,
            enable_connect_protocol: false,
        }
    }
}

/// A value outside what §6.5.2 allows: the error code to use.
pub fn check_value(s: &Setting) -> Result<(), (ErrorCode, &'static str)> {
    match *s {
        Setting::InitialWindowSize(n) if n > MAX_WINDOW_SIZE => Err((
            ErrorCode::FLOW_CONTROL_ERROR,
            "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
        )),
        Setting::MaxFrameSize(n) if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&n) => {
            Err((
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS_MAX_FRAME_SIZE out of range",
            ))
        }
        _ => Ok(()),
    }
}

/// The SETTINGS we send first (RFC 9113 §3.4): our configuration, in a
/// fixed order. ENABLE_PUSH is only sent by clients (a server has no use for
/// it and MUST NOT send 1, §6.5.2).
pub fn initial_params(client: bool, c: &Config) -> Vec<Setting> {
    let mut v = Vec::with_capacity(7);
    if c.header_table_size != DEFAULT_TABLE_SIZE as u32 {
        v.push(Setting::HeaderTableSize(c.header_table_size));
    }
    if client {
        v.push(Setting::EnablePush(c.enable_push));
    }
    v.push(Setting::MaxConcurrentStreams(c.max_concurrent_streams));
    if c.initial_window_size != DEFAULT_INITIAL_WINDOW_SIZE {
        v.push(Setting::InitialWindowSize(
            c.initial_window_size.min(MAX_WINDOW_SIZE),
        ));
    }
    if c.max_frame_size != DEFAULT_MAX_FRAME_SIZE {
        v.push(Setting::MaxFrameSize(
            c.max_frame_size
                .clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE),
        ));
    }
    v.push(Setting::MaxHeaderListSize(c.max_header_list_size));
    if c.enable_connect_protocol {
        v.push(Setting::EnableConnectProtocol(true));
    }
    // RFC 9218 §2.1: we ignore the RFC 7540 scheme (PRIORITY frames and
    // HEADERS priority fields) and schedule by RFC 9218 priorities.
    v.push(Setting::NoRfc7540Priorities(true));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s6_5_2_initial_window_size_above_max_is_flow_control_error() {
        assert_eq!(
            check_value(&Setting::InitialWindowSize(MAX_WINDOW_SIZE + 1))
                .unwrap_err()
                .0,
            ErrorCode::FLOW_CONTROL_ERROR
        );
        assert!(check_value(&Setting::InitialWindowSize(MAX_WINDOW_SIZE)).is_ok());
    }

    #[test]
    fn s6_5_2_max_frame_size_out_of_range_is_protocol_error() {
        for n in [0, 16_383, MAX_MAX_FRAME_SIZE + 1] {
            assert_eq!(
                check_value(&Setting::MaxFrameSize(n)).unwrap_err().0,
                ErrorCode::PROTOCOL_ERROR
            );
        }
        assert!(check_value(&Setting::MaxFrameSize(16_384)).is_ok());
        assert!(check_value(&Setting::MaxFrameSize(MAX_MAX_FRAME_SIZE)).is_ok());
    }

    #[test]
    fn rfc9218_s2_1_both_roles_send_no_rfc7540_priorities_1() {
        let c = Config::default();
        for client in [false, true] {
            let p = initial_params(client, &c);
            assert_eq!(p.last(), Some(&Setting::NoRfc7540Priorities(true)));
        }
    }

    #[test]
    fn rfc8441_s3_enable_connect_protocol_sent_only_when_configured() {
        let on = Setting::EnableConnectProtocol(true);
        assert!(!initial_params(false, &Config::default()).contains(&on));
        let c = Config {
            enable_connect_protocol: true,
            ..Config::default()
        };
        assert!(initial_params(false, &c).contains(&on));
    }

    #[test]
    fn s6_5_2_server_never_advertises_enable_push() {
        let c = Config::default();
        assert!(!initial_params(false, &c)
            .iter()
            .any(|s| matches!(s, Setting::EnablePush(_))));
        assert!(initial_params(true, &c).contains(&Setting::EnablePush(true)));
    }
}
