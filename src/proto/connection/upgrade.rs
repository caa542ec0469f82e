//! HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2; RFC 9113 §3.1 deprecates it
//! but peers still use it): the upgrade request becomes stream 1.

use crate::frame::{Setting, StreamId};

use super::{recount, Connection};
use crate::proto::settings;
use crate::proto::stream::{RecvPhase, SendPhase, Stream, StreamState};
use crate::proto::{Role, UserError};

impl<A> Connection<A> {
    /// HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2): the upgrade request becomes
    /// stream 1, half-closed (local) for the client and half-closed
    /// (remote) for the server, whose response comes on it. Call right
    /// after [`Connection::new`], before any frame.
    ///
    /// A server passes the client's `HTTP2-Settings` (decoded): they apply
    /// at once and are acknowledged by the 101 response itself, not by a
    /// SETTINGS ACK; the client's preface SETTINGS still follows. A client
    /// passes `None`. `head_request`: the upgrade request was a HEAD (its
    /// response carries no content).
    pub fn upgrade(
        &mut self,
        http2_settings: Option<Vec<Setting>>,
        head_request: bool,
    ) -> Result<StreamId, UserError> {
        self.check_usable()?;
        if self.next_local_id > 2 || self.last_peer_id != 0 || self.peer_settings_seen {
            return Err(UserError::InvalidState {
                id: StreamId(1),
                state: "upgrade after the connection started",
            });
        }
        if let Some(params) = http2_settings {
            if self.role != Role::Server {
                return Err(UserError::WrongRole(Role::Server));
            }
            for p in &params {
                settings::check_value(p).map_err(|(_, r)| UserError::Malformed(r))?;
            }
            self.apply_peer(&params)
                .map_err(|_| UserError::Malformed("invalid HTTP2-Settings"))?;
        }
        let state = match self.role {
            Role::Client => StreamState::HalfClosedLocal,
            Role::Server => StreamState::HalfClosedRemote,
        };
        let mut s = Stream::boxed(
            1,
            state,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        s.head_request = head_request;
        match self.role {
            Role::Client => {
                s.send_phase = SendPhase::Body;
                s.end_queued = true;
                s.end_sent = true;
                self.next_local_id = 3;
                self.last_local_sent = 1;
            }
            Role::Server => {
                s.recv_phase = RecvPhase::Body;
                s.peer_initiated = true;
                self.last_peer_id = 1;
            }
        }
        recount(&mut self.counts, self.role, &mut s);
        self.insert_stream(1, s);
        Ok(StreamId(1))
    }
}
