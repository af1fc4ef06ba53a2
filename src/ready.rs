//! What is set once the service is ready: the gate and the services fill [`Slot`]s, and a
//! call that comes before is [`starting`] (UNAVAILABLE).

use std::sync::{Arc, OnceLock};

use tonic::Status;

/// The UNAVAILABLE answer of a call that came before the service was ready.
pub fn starting() -> Status {
    Status::unavailable("the service is starting (connecting to its database); retry shortly")
}

/// A value set once, when the service is ready.
#[derive(Debug)]
pub struct Slot<T>(Arc<OnceLock<T>>);

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self(Arc::new(OnceLock::new()))
    }
}

impl<T> Slot<T> {
    /// The value, once ready.
    pub fn get(&self) -> Option<&T> {
        self.0.get()
    }

    /// Sets the value (a second fill is ignored).
    pub fn fill(&self, value: T) {
        let _ = self.0.set(value);
    }
}
