//! The live channels from the tailer to the subscribers: one for subscribers without a
//! department filter, and one per watched department, so an event wakes only the
//! subscribers that may want it. With one channel for all, every subscriber woke for
//! every event: 1,000 idle subscribers took 26 % of CreateTicket throughput
//! (`bench idle`, BENCHMARKS.md).
//!
//! A department channel carries only some sequences, so a subscriber cannot tell a
//! missed event from a gap in the sequence. Each message therefore carries `prev`, the
//! sequence sent before it on the same channel: a subscriber whose last sequence is below
//! `prev` missed something and reads it from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::SharedEvent;

/// A live event, and the sequence of the event sent before it on the same channel.
#[derive(Debug, Clone)]
pub struct Live {
    /// The previous sequence on this channel (everything up to it was sent before).
    pub prev: i64,
    /// The event.
    pub event: Arc<SharedEvent>,
}

#[derive(Debug)]
struct Channel {
    tx: broadcast::Sender<Live>,
    /// The last sequence sent on this channel.
    prev: i64,
}

#[derive(Debug)]
struct Inner {
    all: Channel,
    departments: HashMap<i64, Channel>,
    /// The last sequence the tailer published (or jumped to).
    position: i64,
}

/// The channels. The tailer publishes; subscribers subscribe.
#[derive(Debug)]
pub struct Fanout {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Fanout {
    /// Channels of `capacity` events each, starting after sequence `position`.
    pub fn new(capacity: usize, position: i64) -> Self {
        let capacity = capacity.max(16);
        let all = Channel { tx: broadcast::channel(capacity).0, prev: position };
        Self { capacity, inner: Mutex::new(Inner { all, departments: HashMap::new(), position }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Live events of `department` (and the events that move tickets out of it), or of
    /// every department.
    pub fn subscribe(&self, department: Option<i64>) -> broadcast::Receiver<Live> {
        let mut inner = self.lock();
        let Some(d) = department else {
            return inner.all.tx.subscribe();
        };
        let position = inner.position;
        let capacity = self.capacity;
        inner
            .departments
            .entry(d)
            .or_insert_with(|| Channel { tx: broadcast::channel(capacity).0, prev: position })
            .tx
            .subscribe()
    }

    /// Whether anyone is subscribed.
    pub fn watched(&self) -> bool {
        let mut inner = self.lock();
        inner.departments.retain(|_, c| c.tx.receiver_count() > 0);
        inner.all.tx.receiver_count() > 0 || !inner.departments.is_empty()
    }

    /// Sends `event` to the channel of all departments and to those of the departments the
    /// ticket was in before and is in after the change.
    pub fn publish(&self, event: Arc<SharedEvent>) {
        let mut inner = self.lock();
        let sequence = event.sequence;
        let send = |c: &mut Channel| {
            // No receiver is fine: nobody is watching that channel right now.
            let _ = c.tx.send(Live { prev: c.prev, event: event.clone() });
            c.prev = sequence;
        };
        send(&mut inner.all);
        let after = event.ticket.department_id;
        let before = event.before.as_ref().map(|b| b.department_id).filter(|d| *d != after);
        for d in [Some(after), before].into_iter().flatten() {
            if let Some(c) = inner.departments.get_mut(&d) {
                send(c);
            }
        }
        inner.position = sequence;
    }

    /// Ends every channel: its subscribers receive what was sent to them, then `Closed`,
    /// and end (the server stopping, or this replica losing its database). Subscribers
    /// from then on get new channels. Ending the streams this way costs a subscriber
    /// nothing while it waits; a token of its own to poll would cost a lock after every
    /// event.
    pub fn close(&self) {
        let mut inner = self.lock();
        let position = inner.position;
        inner.all = Channel { tx: broadcast::channel(self.capacity).0, prev: position };
        inner.departments.clear();
    }

    /// Moves every channel to `position` without sending what lies between (the tailer
    /// skipped reading while nobody watched); subscribers behind it read the gap from the
    /// database.
    pub fn jump(&self, position: i64) {
        let mut inner = self.lock();
        inner.all.prev = inner.all.prev.max(position);
        for c in inner.departments.values_mut() {
            c.prev = c.prev.max(position);
        }
        inner.position = inner.position.max(position);
    }
}
