//! Notifications to the world outside, from the event log: signed webhooks, delivered at
//! least once and in order per subscription, and email to customers.
//!
//! - [`webhooks`]: the deliverer: one replica at a time (the sequencer's), a task per
//!   subscription due, retries with backoff, the cursor moved in the delivery's transaction.
//! - [`mail`]: email to customers: replies and resolutions, unless they opted out.
//! - [`guard`]: the addresses webhooks may reach.
//! - [`sign`]: Standard Webhooks signatures.
//! - [`body`]: the event as the proto's JSON.

pub mod body;
pub mod guard;
pub mod mail;
pub mod sign;
pub mod webhooks;

use std::time::Duration;

use crate::domain::webhook::RetryPolicy;

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Each attempt's limit, connecting included.
    pub timeout: Duration,
    /// Retry spacing and when to give up.
    pub retry: RetryPolicy,
    /// Hosts and networks allowed although private, and over plain http.
    pub allow: guard::AllowList,
    /// Attempts in flight to one host at once.
    pub per_host: usize,
    /// How often the deliverer looks for due subscriptions when no event arrives.
    pub poll: Duration,
}
