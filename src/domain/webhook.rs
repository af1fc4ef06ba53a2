//! Outbound webhooks: subscriptions, which events they want, how a delivery attempt's
//! answer is judged, and how long to wait before the next one.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::{EventKind, QueueEvent};

/// The longest URL, in bytes.
pub const URL_MAX: usize = 2048;

/// A subscription to the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// The kinds wanted; empty means every kind.
    pub kinds: Vec<EventKind>,
    /// Only this department's tickets.
    pub department_id: Option<i64>,
    /// Whether events are delivered.
    pub active: bool,
    /// Why the service disabled it.
    pub disabled_reason: String,
    /// The last sequence delivered or skipped.
    pub cursor: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Version (the etag).
    pub version: i64,
}

impl Webhook {
    /// Whether `event` is one this subscription wants. WebRTC signals are for the call's
    /// parties only and are never delivered.
    pub fn wants(&self, event: &QueueEvent) -> bool {
        event.kind != super::event::EventKind::CallSignal
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind))
            && self.department_id.is_none_or(|d| d == event.ticket.department_id)
    }
}

/// A subscription to create (validated).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewWebhook {
    /// URL.
    pub url: String,
    /// Kinds.
    pub kinds: Vec<EventKind>,
    /// Department filter.
    pub department_id: Option<i64>,
    /// Active.
    pub active: bool,
    /// Deliver after this sequence (None: from the next event written).
    pub after_sequence: Option<i64>,
}

/// Changes to a subscription (validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// A new URL.
    pub url: Option<String>,
    /// New kinds.
    pub kinds: Option<Vec<EventKind>>,
    /// A new department filter (Some(None): none).
    pub department_id: Option<Option<i64>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// How a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Failed so far; tried again later.
    Retrying,
    /// Delivered.
    Succeeded,
    /// Given up.
    Failed,
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Id.
    pub id: i64,
    /// The subscription.
    pub webhook_id: i64,
    /// The event.
    pub sequence: i64,
    /// How it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i32,
    /// The last HTTP status (0: none).
    pub last_status_code: i32,
    /// The last error.
    pub last_error: String,
    /// When it is tried again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Asked for by RedeliverWebhookEvent.
    pub manual: bool,
    /// First attempt.
    pub created_at: DateTime<Utc>,
    /// Last attempt.
    pub updated_at: DateTime<Utc>,
}

/// The `webhook-id` header of an event: the same on every attempt and every redelivery,
/// so a receiver can drop what it has already handled.
pub fn message_id(sequence: i64) -> String {
    format!("evt_{sequence}")
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered(u16),
    /// 410 Gone: the receiver wants no more; the subscription is disabled at once.
    Gone,
    /// Anything else: another status, a timeout, a refused connection or address.
    Failed {
        /// The status, if one came.
        status: Option<u16>,
        /// What went wrong, in words.
        error: String,
    },
}

impl Attempt {
    /// Judges an HTTP status.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Attempt::Delivered(status),
            410 => Attempt::Gone,
            _ => Attempt::Failed { status: Some(status), error: format!("the endpoint answered {status}") },
        }
    }
}

/// How retries are spaced and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// How long an event may keep failing before the subscription is disabled.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts: doubling from `base` up to `max`, times
    /// `jitter` (drawn by the caller from 0.5..1.5, so retries of many subscriptions spread).
    pub fn backoff(&self, attempts: i32, jitter: f64) -> Duration {
        let doubled = self.base.saturating_mul(1u32 << attempts.clamp(1, 31).saturating_sub(1).min(30) as u32);
        doubled.min(self.max).mul_f64(jitter.clamp(0.5, 1.5))
    }

    /// Whether an event failing since `since` has failed for too long at `now`.
    pub fn exhausted(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - since).to_std().unwrap_or_default() >= self.give_up_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_judged() {
        assert_eq!(Attempt::from_status(204), Attempt::Delivered(204));
        assert_eq!(Attempt::from_status(410), Attempt::Gone);
        assert!(matches!(Attempt::from_status(503), Attempt::Failed { status: Some(503), .. }));
        assert!(matches!(Attempt::from_status(301), Attempt::Failed { .. }), "redirects are not followed");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_gives_up() {
        let p = RetryPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            give_up_after: Duration::from_secs(3600),
        };
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(60));
        assert_eq!(p.backoff(2, 0.5), Duration::from_secs(1));
        assert_eq!(p.backoff(2, 9.0), Duration::from_secs(3), "jitter is held to 0.5-1.5");
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(!p.exhausted(t, t + chrono::Duration::minutes(59)));
        assert!(p.exhausted(t, t + chrono::Duration::minutes(60)));
    }
}
