//! How many WatchQueue streams one caller holds open: each is a subscriber the server keeps
//! for hours, so a caller gets a bounded number (a setting), and one more is
//! RESOURCE_EXHAUSTED naming the limit. A [`StreamPermit`] lives as long as its stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{AppError, AppResult};

/// The open streams of every caller.
#[derive(Debug, Clone)]
pub struct StreamLimit {
    max: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream of one caller; dropping it closes the slot.
#[derive(Debug)]
pub struct StreamPermit {
    subject: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl StreamLimit {
    /// At most `max` streams per caller.
    pub fn new(max: usize) -> Self {
        Self { max: max.max(1), open: Arc::default() }
    }

    /// A slot for one more stream of `subject`, or RESOURCE_EXHAUSTED.
    pub fn acquire(&self, subject: &str) -> AppResult<StreamPermit> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(subject.to_owned()).or_insert(0);
        if *count >= self.max {
            return Err(AppError::ResourceExhausted(format!(
                "you hold {} WatchQueue streams already, the most one caller may (SUPPORT_MAX_STREAMS_PER_PRINCIPAL); \
                 close one, or filter one stream more broadly",
                self.max
            )));
        }
        *count += 1;
        Ok(StreamPermit { subject: subject.to_owned(), open: self.open.clone() })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.subject) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.subject);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_holds_at_most_its_limit_and_a_closed_stream_frees_its_slot() {
        let limit = StreamLimit::new(2);
        let a = limit.acquire("customer:1").unwrap();
        let _b = limit.acquire("customer:1").unwrap();
        assert!(matches!(limit.acquire("customer:1"), Err(AppError::ResourceExhausted(_))));
        assert!(limit.acquire("customer:2").is_ok(), "others are not affected");
        drop(a);
        assert!(limit.acquire("customer:1").is_ok());
    }
}
