//! Service-level targets: how soon a ticket at each priority level must get its first
//! public agent reply and be resolved. Due times are counted from the ticket's creation
//! and recomputed whenever its level changes; a breach, once recorded, stays recorded.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Level, Sla, Status};

/// Minutes allowed per level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Minutes for P0.
    pub p0: i64,
    /// Minutes for P1.
    pub p1: i64,
    /// Minutes for P2.
    pub p2: i64,
    /// Minutes for P3.
    pub p3: i64,
}

impl Targets {
    fn minutes(&self, level: Level) -> i64 {
        match level {
            Level::P0 => self.p0,
            Level::P1 => self.p1,
            Level::P2 => self.p2,
            Level::P3 => self.p3,
        }
    }
}

/// The SLA policy (the `[sla]` section of the policy file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaPolicy {
    /// Minutes to the first public agent reply: P0 15 min, P1 1 h, P2 4 h, P3 8 h.
    pub first_response_minutes: Targets,
    /// Minutes to resolution: P0 4 h, P1 8 h, P2 24 h, P3 72 h.
    pub resolution_minutes: Targets,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            first_response_minutes: Targets { p0: 15, p1: 60, p2: 240, p3: 480 },
            resolution_minutes: Targets { p0: 240, p1: 480, p2: 1440, p3: 4320 },
        }
    }
}

impl SlaPolicy {
    /// Checks that every target is positive.
    pub fn check(&self) -> Result<(), String> {
        let all = [self.first_response_minutes, self.resolution_minutes];
        if all.iter().any(|t| [t.p0, t.p1, t.p2, t.p3].iter().any(|m| *m <= 0)) {
            return Err("sla targets must be positive numbers of minutes".into());
        }
        Ok(())
    }

    /// The due times of a ticket created at `created_at` at `level`.
    pub fn due(&self, level: Level, created_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            created_at + Duration::minutes(self.first_response_minutes.minutes(level)),
            created_at + Duration::minutes(self.resolution_minutes.minutes(level)),
        )
    }
}

/// Whether a target due at `due` and met at `met` (not yet: None, judged at `now`) was
/// missed: the one rule of a breach.
pub fn late(due: Option<DateTime<Utc>>, met: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match (due, met) {
        (Some(due), Some(met)) => met > due,
        (Some(due), None) => now > due,
        (None, _) => false,
    }
}

/// What a ticket's SLA flags should be at `now`: a target is breached when its due time
/// has passed and it was not met in time. Flags already set stay set.
pub fn breaches(
    sla: &Sla,
    status: Status,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (bool, bool) {
    let late = |due, met| late(due, met, now);
    let awaiting_resolution = matches!(status, Status::Open | Status::InProgress);
    let first = sla.first_response_breached || late(sla.first_response_due, first_response_at);
    let resolution = sla.resolution_breached
        || (awaiting_resolution && late(sla.resolution_due, None))
        || (!awaiting_resolution && late(sla.resolution_due, resolved_at));
    (first, resolution)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn due_times_and_breaches() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let policy = SlaPolicy::default();
        let (fr, res) = policy.due(Level::P1, t0);
        assert_eq!((fr - t0, res - t0), (Duration::hours(1), Duration::hours(8)));
        let sla = Sla { first_response_due: Some(fr), resolution_due: Some(res), ..Sla::default() };
        assert_eq!(breaches(&sla, Status::Open, None, None, t0 + Duration::minutes(59)), (false, false));
        assert_eq!(breaches(&sla, Status::Open, None, None, t0 + Duration::minutes(61)), (true, false));
        let replied = Some(t0 + Duration::minutes(30));
        assert_eq!(breaches(&sla, Status::InProgress, replied, None, t0 + Duration::hours(9)), (false, true));
        let resolved = Some(t0 + Duration::hours(2));
        assert_eq!(breaches(&sla, Status::Resolved, replied, resolved, t0 + Duration::days(9)), (false, false));
        assert!(SlaPolicy::default().check().is_ok());
    }
}
