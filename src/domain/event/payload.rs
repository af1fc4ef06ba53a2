//! The stored form of the ticket an event carries: a format of its own, versioned, so that
//! events written by one release decode in the next (the log keeps 72 hours of them), and
//! a change to the tables never changes it.
//!
//! - Version 1, the first: a JSON object of the ticket's fields with enum values by their
//!   stored names. Written by releases before the version tag existed without a `"v"`
//!   member (it was the `tickets` row serialised), and since with `"v": 1`.
//!
//! A new version adds a struct, and [`decode`] reads it by the tag; writers move to it once
//! every replica decodes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::priority::Priority;
use crate::domain::{AssignmentReason, Category, Feedback, Level, Severity, Sla, Status, Ticket};

/// The version [`encode`] writes.
pub const CURRENT: u32 = 1;

/// Version 1 of a stored ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketV1 {
    /// The version tag, [`CURRENT`] when written; absent (so 1) in what was written before
    /// the tag existed. It is a field, first, so that one JSON pass reads it with the rest
    /// (a first pass read the tag alone, then a second the ticket).
    #[serde(default = "first_version")]
    pub v: u32,
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Department.
    pub department_id: i64,
    /// Category, by stored name.
    pub category: String,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: String,
    /// Severity, by stored name.
    pub severity: String,
    /// Impact.
    pub impact: i32,
    /// Status, by stored name.
    pub status: String,
    /// Priority score.
    pub priority_score: i32,
    /// Priority level, by stored name.
    pub priority_level: String,
    /// Breakdown: severity.
    pub severity_points: i32,
    /// Breakdown: tier.
    pub tier_points: i32,
    /// Breakdown: impact.
    pub impact_points: i32,
    /// Breakdown: aging.
    pub aging_points: i32,
    /// Assigned agent.
    pub assigned_agent_id: Option<i64>,
    /// Assignment reason, by stored name.
    pub assignment_reason: Option<String>,
    /// SLA: first response due.
    #[serde(serialize_with = "rfc3339::option")]
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// SLA: resolution due.
    #[serde(serialize_with = "rfc3339::option")]
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// SLA: first response breached.
    pub first_response_breached: bool,
    /// SLA: resolution breached.
    pub resolution_breached: bool,
    /// Rating.
    pub rating: Option<i32>,
    /// Feedback, by stored name.
    pub feedback: Option<String>,
    /// Latest public message.
    pub last_response: String,
    /// Version (etag).
    pub version: i64,
    /// Created.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    /// Updated.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
    /// First response.
    #[serde(serialize_with = "rfc3339::option")]
    pub first_response_at: Option<DateTime<Utc>>,
    /// Resolved.
    #[serde(serialize_with = "rfc3339::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed.
    #[serde(serialize_with = "rfc3339::option")]
    pub closed_at: Option<DateTime<Utc>>,
}

const fn first_version() -> u32 {
    1
}

#[derive(Deserialize)]
struct Version {
    #[serde(default = "first_version")]
    v: u32,
}

/// The stored text of a ticket, in the current version (its `v` says which).
pub fn encode(ticket: &TicketV1) -> DomainResult<String> {
    serde_json::to_string(ticket).map_err(|e| DomainError::Bug(format!("encoding an event's ticket: {e}")))
}

/// The ticket of a stored text, in any version this release knows. The text is read as
/// the current version at once; only when that fails is its tag read alone, to tell a
/// newer version from a broken text.
pub fn decode(text: &str) -> DomainResult<Ticket> {
    let unknown =
        |v: u32| DomainError::Bug(format!("an event's stored ticket is in version {v}, unknown to this release"));
    match serde_json::from_str::<TicketV1>(text) {
        Ok(ticket) if ticket.v == 1 => ticket.try_into(),
        Ok(ticket) => Err(unknown(ticket.v)),
        Err(e) => match serde_json::from_str::<Version>(text) {
            Ok(Version { v }) if v != 1 => Err(unknown(v)),
            _ => Err(DomainError::Bug(format!("an event's stored ticket does not decode: {e}"))),
        },
    }
}

/// A time written as chrono's `Serialize` writes it (RFC 3339 in UTC, `Z`, and 0, 3, 6 or
/// 9 digits of a second, as many as are not zero), but straight into a buffer: chrono's
/// goes through `fmt` and serde_json escapes its text a character at a time, half of an
/// event's encoding (about 10,000 instructions of a created ticket's 20,000).
mod rfc3339 {
    use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
    use serde::{Serialize as _, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        match Text::of(t) {
            Some(text) => s.serialize_str(text.as_str()),
            // A year past 9999 or a leap second: chrono's own, which writes them.
            None => t.serialize(s),
        }
    }

    pub(super) fn option<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// `2026-03-02T09:05:00.123456789Z` at the longest.
    pub(super) struct Text {
        bytes: [u8; 30],
        len: usize,
    }

    impl Text {
        /// The text of `t`; none for a year outside 0..=9999 or a leap second.
        pub(super) fn of(t: &DateTime<Utc>) -> Option<Self> {
            let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
            let nanos = Some(t.nanosecond()).filter(|n| *n < 1_000_000_000)?;
            let mut text = Self { bytes: [0; 30], len: 0 };
            text.digits(year, 4);
            for (separator, value) in
                [(b'-', t.month()), (b'-', t.day()), (b'T', t.hour()), (b':', t.minute()), (b':', t.second())]
            {
                text.push(separator);
                text.digits(value, 2);
            }
            let (fraction, width) = match nanos {
                0 => (0, 0),
                n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
                n if n % 1_000 == 0 => (n / 1_000, 6),
                n => (n, 9),
            };
            if width > 0 {
                text.push(b'.');
                text.digits(fraction, width);
            }
            text.push(b'Z');
            Some(text)
        }

        pub(super) fn as_str(&self) -> &str {
            // Only ASCII digits and separators are written.
            std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
        }

        fn push(&mut self, byte: u8) {
            self.bytes[self.len] = byte;
            self.len += 1;
        }

        /// The last `width` decimal digits of `value`, zero-padded.
        fn digits(&mut self, mut value: u32, width: usize) {
            for i in (0..width).rev() {
                self.bytes[self.len + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
            self.len += width;
        }
    }
}

fn parse<T>(what: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> DomainResult<T> {
    parse(value).ok_or_else(|| DomainError::Bug(format!("an event's stored ticket has {what} {value:?}")))
}

impl TryFrom<TicketV1> for Ticket {
    type Error = DomainError;

    fn try_from(t: TicketV1) -> DomainResult<Ticket> {
        Ok(Ticket {
            id: t.id,
            customer_id: t.customer_id,
            department_id: t.department_id,
            category: parse("category", &t.category, Category::parse)?,
            severity: parse("severity", &t.severity, Severity::parse)?,
            status: parse("status", &t.status, Status::parse)?,
            priority: Priority {
                score: t.priority_score,
                level: parse("priority level", &t.priority_level, Level::parse)?,
                severity_points: t.severity_points,
                tier_points: t.tier_points,
                impact_points: t.impact_points,
                aging_points: t.aging_points,
            },
            assignment_reason: t
                .assignment_reason
                .as_deref()
                .map(|r| parse("assignment reason", r, AssignmentReason::parse))
                .transpose()?,
            feedback: t.feedback.as_deref().map(|f| parse("feedback", f, Feedback::parse)).transpose()?,
            sla: Sla {
                first_response_due: t.first_response_due_at,
                resolution_due: t.resolution_due_at,
                first_response_breached: t.first_response_breached,
                resolution_breached: t.resolution_breached,
            },
            subject: t.subject,
            description: t.description,
            impact: t.impact,
            assigned_agent_id: t.assigned_agent_id,
            rating: t.rating,
            last_response: t.last_response,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            closed_at: t.closed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as the previous release wrote it: the `tickets` row, serialised, untagged.
    const WRITTEN_BEFORE_VERSIONS: &str = r#"{"id":3,"customer_id":7,"department_id":2,"category":"BUG_REPORT","subject":"Checkout fails","description":"The pay button answers 500.","severity":"MAJOR","impact":3,"status":"IN_PROGRESS","priority_score":9,"priority_level":"P2","severity_points":3,"tier_points":3,"impact_points":3,"aging_points":0,"assigned_agent_id":4,"assignment_reason":"AUTO_LEAST_LOADED","first_response_due_at":"2026-03-02T13:00:00Z","resolution_due_at":"2026-03-03T09:00:00Z","first_response_breached":false,"resolution_breached":false,"rating":null,"feedback":null,"last_response":"Looking into it.","version":3,"created_at":"2026-03-02T09:00:00Z","updated_at":"2026-03-02T09:05:00Z","first_response_at":"2026-03-02T09:05:00Z","resolved_at":null,"closed_at":null}"#;

    #[test]
    fn a_time_is_written_as_chronos_serialize_writes_it() {
        use chrono::TimeZone as _;
        let base = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 7).unwrap();
        let mut times = vec![
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        for nanos in [0, 1, 7, 999, 1_000, 120_000, 123_456, 1_000_000, 500_000_000, 123_456_789, 999_999_999] {
            times.push(base + chrono::Duration::nanoseconds(nanos));
        }
        for minutes in [0, 61, 1_439, 100_000, 5_000_000] {
            times.push(base + chrono::Duration::minutes(minutes) + chrono::Duration::microseconds(minutes * 7));
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, 1_500_000_000);
        times.push(leap.unwrap().and_utc());
        for t in times {
            #[derive(Serialize)]
            struct Ours(
                #[serde(serialize_with = "rfc3339::serialize")] DateTime<Utc>,
                #[serde(serialize_with = "rfc3339::option")] Option<DateTime<Utc>>,
                #[serde(serialize_with = "rfc3339::option")] Option<DateTime<Utc>>,
            );
            let chronos = serde_json::to_string(&(t, Some(t), None::<DateTime<Utc>>)).unwrap();
            assert_eq!(serde_json::to_string(&Ours(t, Some(t), None)).unwrap(), chronos, "{t:?}");
        }
        assert!(rfc3339::Text::of(&Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap()).is_none());
        assert_eq!(rfc3339::Text::of(&base).unwrap().as_str(), "2026-03-02T09:05:07Z");
    }

    #[test]
    fn a_payload_of_the_previous_release_decodes() {
        let t = decode(WRITTEN_BEFORE_VERSIONS).expect("the old format decodes");
        assert_eq!((t.id, t.status, t.priority.level), (3, Status::InProgress, Level::P2));
        assert_eq!(t.assignment_reason, Some(AssignmentReason::AutoLeastLoaded));
        assert_eq!(t.last_response, "Looking into it.");
    }

    #[test]
    fn the_current_version_round_trips_and_a_newer_one_is_refused() {
        let v1: TicketV1 = serde_json::from_str(WRITTEN_BEFORE_VERSIONS).unwrap();
        let text = encode(&v1).unwrap();
        assert!(text.starts_with(r#"{"v":1,"#), "{text}");
        assert_eq!(decode(&text).unwrap(), decode(WRITTEN_BEFORE_VERSIONS).unwrap());
        let newer = text.replacen(r#""v":1"#, r#""v":9"#, 1);
        assert!(matches!(decode(&newer), Err(DomainError::Bug(m)) if m.contains("version 9")));
        // A newer version whose fields no longer read as version 1's is named by its tag.
        let reshaped = text.replacen(r#""v":1,"id":3"#, r#""v":2,"id":"T-3""#, 1);
        assert!(matches!(decode(&reshaped), Err(DomainError::Bug(m)) if m.contains("version 2")), "{reshaped}");
        let broken = text.replacen(r#""id":3"#, r#""id":"T-3""#, 1);
        assert!(matches!(decode(&broken), Err(DomainError::Bug(m)) if m.contains("does not decode")));
    }
}
