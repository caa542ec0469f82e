//! The application slot: what the layer above keeps per stream, on the
//! stream while the protocol keeps it, then in its terminal event.

use std::collections::VecDeque;

use crate::frame::StreamId;
use crate::proto::Event;

use super::Connection;

impl<A> Connection<A> {
    // ------------------------------------------------ the application slot
    //
    // A stream's slot lives on the stream while the protocol keeps it. When
    // the protocol forgets the stream (both sides done, or reset) the slot
    // moves into the stream's terminal event (`Reset`/`Closed`); until that
    // event is polled, the accessors below find it there, so events queued
    // before it (DATA, trailers) still reach the slot. The event queue is
    // short: the actor layer drains it after every call.

    /// The slot of `id` held by its queued terminal event, if the protocol
    /// has forgotten the stream and the event is not polled yet.
    fn terminal_slot(&self, id: StreamId) -> Option<&Option<A>> {
        self.events.iter().find_map(|ev| match ev {
            Event::RecvReset { id: i, app, .. } | Event::Finished { id: i, app } if *i == id => {
                Some(app)
            }
            _ => None,
        })
    }

    fn terminal_slot_mut(&mut self, id: StreamId) -> Option<&mut Option<A>> {
        terminal_slot_mut(&mut self.events, id)
    }

    /// The application's slot of stream `id`, if set: on the stream, or in
    /// its terminal event not yet polled.
    pub fn app(&self, id: StreamId) -> Option<&A> {
        match self.streams.get(&id.0) {
            Some(s) => s.app.as_ref(),
            None => self.terminal_slot(id)?.as_ref(),
        }
    }

    /// [`Connection::app`], mutably.
    pub fn app_mut(&mut self, id: StreamId) -> Option<&mut A> {
        // Disjoint fields: one lookup on the hot path (DATA, DataSent).
        let Connection {
            streams, events, ..
        } = self;
        match streams.get_mut(&id.0) {
            Some(s) => s.app.as_mut(),
            None => terminal_slot_mut(events, id)?.as_mut(),
        }
    }

    /// Sets the slot of stream `id` (on the stream, or in its terminal event
    /// not yet polled). `Err(app)` if the protocol knows no such stream.
    pub fn set_app(&mut self, id: StreamId, app: A) -> Result<(), A> {
        if let Some(s) = self.streams.get_mut(&id.0) {
            s.app = Some(app);
            return Ok(());
        }
        match self.terminal_slot_mut(id) {
            Some(slot) => {
                *slot = Some(app);
                Ok(())
            }
            None => Err(app),
        }
    }

    /// Takes the slot of stream `id` out (before a [`Connection::reset`],
    /// which drops it).
    pub fn take_app(&mut self, id: StreamId) -> Option<A> {
        if let Some(s) = self.streams.get_mut(&id.0) {
            return s.app.take();
        }
        self.terminal_slot_mut(id)?.take()
    }

    /// Every slot set, with its stream's id (streams and unpolled terminal
    /// events).
    pub fn apps(&self) -> impl Iterator<Item = (StreamId, &A)> + '_ {
        let on_streams = self
            .streams
            .iter()
            .filter_map(|(&id, s)| Some((StreamId(id), s.app.as_ref()?)));
        let in_events = self.events.iter().filter_map(|ev| match ev {
            Event::RecvReset { id, app, .. } | Event::Finished { id, app } => {
                Some((*id, app.as_ref()?))
            }
            _ => None,
        });
        on_streams.chain(in_events)
    }

    /// Takes every slot out (the connection is over for the layer above).
    pub fn take_apps(&mut self) -> Vec<(StreamId, A)> {
        let mut out: Vec<(StreamId, A)> = self
            .streams
            .values_mut()
            .filter_map(|s| Some((StreamId(s.id), s.app.take()?)))
            .collect();
        out.extend(self.events.iter_mut().filter_map(|ev| match ev {
            Event::RecvReset { id, app, .. } | Event::Finished { id, app } => {
                Some((*id, app.take()?))
            }
            _ => None,
        }));
        out
    }
}

/// The slot held by the queued terminal event of `id`, if any.
fn terminal_slot_mut<A>(events: &mut VecDeque<Event<A>>, id: StreamId) -> Option<&mut Option<A>> {
    events.iter_mut().find_map(|ev| match ev {
        Event::RecvReset { id: i, app, .. } | Event::Finished { id: i, app } if *i == id => {
            Some(app)
        }
        _ => None,
    })
}
