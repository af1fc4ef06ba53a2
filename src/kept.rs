//! Values remembered by key, at most a fixed number: when full, the memory is emptied and
//! fills again. For results that are dear to compute and asked for again and again (a
//! verified token, a page token's fingerprint), where the keys come from callers and so
//! must not grow the memory without bound. Emptying costs one recomputation a key; an
//! LRU would cost bookkeeping on every hit.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct Kept<K, V> {
    map: Mutex<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Hash + Eq, V: Clone> Kept<K, V> {
    /// Remembers at most `capacity` values.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { map: Mutex::default(), capacity }
    }

    /// The value kept for `key`.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map().get(key).cloned()
    }

    /// Forgets `key`.
    pub(crate) fn remove<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.map().remove(key);
    }

    /// Keeps `value` for `key`, emptying the memory first if it is full.
    pub(crate) fn insert(&self, key: K, value: V) {
        let mut map = self.map();
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(key, value);
    }

    /// How many values are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}
