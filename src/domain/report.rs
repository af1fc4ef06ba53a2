//! The support manager's reports as values: durations in whole seconds (so that MySQL and
//! SQLite agree to the second) with exact sums, from which averages are derived.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::types::Level;

/// Which tickets a report covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportScope {
    /// Tickets created at or after this time.
    pub start: Option<DateTime<Utc>>,
    /// Tickets created before this time.
    pub end: Option<DateTime<Utc>>,
    /// Only this department's tickets.
    pub department_id: Option<i64>,
}

/// Count, minimum, maximum and sum of a set of durations in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationStats {
    /// How many values.
    pub count: i64,
    /// The shortest, in seconds.
    pub min_secs: i64,
    /// The longest, in seconds.
    pub max_secs: i64,
    /// The sum, in seconds.
    pub total_secs: i64,
}

impl DurationStats {
    /// Folds another set into this one.
    pub fn merge(&mut self, other: &DurationStats) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        self.min_secs = self.min_secs.min(other.min_secs);
        self.max_secs = self.max_secs.max(other.max_secs);
        self.total_secs += other.total_secs;
        self.count += other.count;
    }

    /// The mean, to the nanosecond; None for an empty set.
    pub fn average(&self) -> Option<Duration> {
        let (count, total) = (u128::try_from(self.count).ok()?, u128::try_from(self.total_secs).ok()?);
        if count == 0 {
            return None;
        }
        let nanos = total * 1_000_000_000 / count;
        Some(Duration::new((nanos / 1_000_000_000) as u64, (nanos % 1_000_000_000) as u32))
    }
}

/// Resolution times of one month (by the tickets' creation month, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyResolution {
    /// "YYYY-MM".
    pub month: String,
    /// From the first message to the last.
    pub first_to_last_message: DurationStats,
    /// From creation to resolution.
    pub create_to_resolve: DurationStats,
}

/// Resolution times of resolved and closed tickets, overall and per month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolutionReport {
    /// From the first message to the last.
    pub first_to_last_message: DurationStats,
    /// From creation to resolution (or close, for a ticket closed without resolving).
    pub create_to_resolve: DurationStats,
    /// Per creation month, oldest first.
    pub months: Vec<MonthlyResolution>,
}

/// One agent's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentFigures {
    /// The agent.
    pub agent_id: i64,
    /// Distinct tickets the agent wrote on.
    pub tickets_handled: i64,
    /// Ratings of closed tickets assigned to the agent.
    pub rating_count: i64,
    /// Lowest rating.
    pub rating_min: i32,
    /// Sum of ratings.
    pub rating_sum: i64,
    /// Highest rating.
    pub rating_max: i32,
    /// Calls placed.
    pub calls_made: i64,
    /// Calls to the agent that the agent accepted.
    pub calls_answered: i64,
    /// Talk time of the agent's accepted calls, in seconds.
    pub talk_seconds: i64,
}

impl AgentFigures {
    /// The mean rating; 0 without ratings.
    pub fn rating_average(&self) -> f64 {
        if self.rating_count == 0 { 0.0 } else { self.rating_sum as f64 / self.rating_count as f64 }
    }
}

/// Open tickets of one department at one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogRow {
    /// The department.
    pub department_id: i64,
    /// The level.
    pub level: Level,
    /// OPEN or IN_PROGRESS tickets.
    pub open: i64,
    /// Of those, how many missed an SLA target.
    pub breached: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_stats_and_exact_averages() {
        let mut a = DurationStats { count: 2, min_secs: 10, max_secs: 20, total_secs: 30 };
        a.merge(&DurationStats { count: 1, min_secs: 5, max_secs: 5, total_secs: 5 });
        assert_eq!(a, DurationStats { count: 3, min_secs: 5, max_secs: 20, total_secs: 35 });
        assert_eq!(a.average(), Some(Duration::new(11, 666_666_666)));
        assert_eq!(DurationStats::default().average(), None);
        let mut empty = DurationStats::default();
        empty.merge(&a);
        assert_eq!(empty, a);
    }
}
