//! The priority engine: score = severity weight + tier weight + impact weight + aging.
//!
//! Everything is configuration ([`PriorityPolicy`], loadable from a TOML file); the
//! defaults are the seed design's. With them the highest score without aging is 15
//! (P1), so P0 (>= 16) is reached only by a ticket that has waited.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Level, Severity, Tier};

/// Points per severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityWeights {
    /// Points for CRITICAL.
    pub critical: i32,
    /// Points for MAJOR.
    pub major: i32,
    /// Points for MINOR.
    pub minor: i32,
}

impl Default for SeverityWeights {
    fn default() -> Self {
        Self { critical: 5, major: 3, minor: 1 }
    }
}

/// Points per customer tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierWeights {
    /// Points for ENTERPRISE.
    pub enterprise: i32,
    /// Points for PAID.
    pub paid: i32,
    /// Points for FREE.
    pub free: i32,
}

impl Default for TierWeights {
    fn default() -> Self {
        Self { enterprise: 5, paid: 3, free: 1 }
    }
}

/// Points for the time a ticket has been open: `points` per full `every_hours`, at most `max_points`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Aging {
    /// The length of one aging step, in hours (at least 1).
    pub every_hours: i64,
    /// Points per step.
    pub points: i32,
    /// The cap on aging points.
    pub max_points: i32,
}

impl Default for Aging {
    /// +1 per 4 hours open, capped at +5 (a day in the queue lifts any ticket by a level).
    fn default() -> Self {
        Self { every_hours: 4, points: 1, max_points: 5 }
    }
}

/// The lowest score of each level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Lowest score of P0.
    pub p0: i32,
    /// Lowest score of P1.
    pub p1: i32,
    /// Lowest score of P2.
    pub p2: i32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { p0: 16, p1: 11, p2: 6 }
    }
}

/// The whole policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityPolicy {
    /// Severity weights.
    pub severity: SeverityWeights,
    /// Tier weights.
    pub tier: TierWeights,
    /// Impact 1-5 counts as `impact * impact_multiplier`.
    pub impact_multiplier: i32,
    /// Aging.
    pub aging: Aging,
    /// Level thresholds.
    pub thresholds: Thresholds,
    /// Service-level targets per level.
    pub sla: super::sla::SlaPolicy,
}

/// The inputs of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityInputs {
    /// The ticket's severity.
    pub severity: Severity,
    /// The customer's tier.
    pub tier: Tier,
    /// The ticket's impact, 1-5.
    pub impact: i32,
    /// When the ticket was opened.
    pub opened_at: DateTime<Utc>,
}

/// A computed priority and the points that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Priority {
    /// The sum of the points.
    pub score: i32,
    /// The band the score falls in.
    pub level: Level,
    /// Points from severity.
    pub severity_points: i32,
    /// Points from tier.
    pub tier_points: i32,
    /// Points from impact.
    pub impact_points: i32,
    /// Points from aging.
    pub aging_points: i32,
}

impl Default for PriorityPolicy {
    /// The seed design: CRITICAL 5 / MAJOR 3 / MINOR 1, ENTERPRISE 5 / PAID 3 / FREE 1,
    /// impact counts as itself, +1 per 4 h open up to +5, P0 >= 16, P1 >= 11, P2 >= 6.
    fn default() -> Self {
        Self {
            severity: SeverityWeights::default(),
            tier: TierWeights::default(),
            impact_multiplier: 1,
            aging: Aging::default(),
            thresholds: Thresholds::default(),
            sla: super::sla::SlaPolicy::default(),
        }
    }
}

impl PriorityPolicy {
    /// Checks that the policy makes sense; returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let t = &self.thresholds;
        if !(t.p0 > t.p1 && t.p1 > t.p2) {
            return Err(format!("thresholds must fall strictly: p0 {} > p1 {} > p2 {}", t.p0, t.p1, t.p2));
        }
        if self.aging.every_hours < 1 || self.aging.points < 0 || self.aging.max_points < 0 {
            return Err("aging.every_hours must be >= 1, points and max_points >= 0".into());
        }
        let weights = [
            self.severity.critical,
            self.severity.major,
            self.severity.minor,
            self.tier.enterprise,
            self.tier.paid,
            self.tier.free,
            self.impact_multiplier,
        ];
        if weights.iter().any(|w| *w < 0) {
            return Err("weights must not be negative".into());
        }
        self.sla.check()
    }

    /// Scores a ticket as of `now`.
    pub fn score(&self, inputs: &PriorityInputs, now: DateTime<Utc>) -> Priority {
        let severity_points = match inputs.severity {
            Severity::Critical => self.severity.critical,
            Severity::Major => self.severity.major,
            Severity::Minor => self.severity.minor,
        };
        let tier_points = match inputs.tier {
            Tier::Enterprise => self.tier.enterprise,
            Tier::Paid => self.tier.paid,
            Tier::Free => self.tier.free,
        };
        let impact_points = inputs.impact * self.impact_multiplier;
        let aging_points = self.aging_points(inputs.opened_at, now);
        let score = severity_points + tier_points + impact_points + aging_points;
        Priority { score, level: self.level(score), severity_points, tier_points, impact_points, aging_points }
    }

    /// The aging points of a ticket opened at `opened_at`, as of `now`.
    pub fn aging_points(&self, opened_at: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
        let hours = (now - opened_at).num_hours().max(0);
        let steps = hours / self.aging.every_hours.max(1);
        let points = steps.saturating_mul(i64::from(self.aging.points));
        points.min(i64::from(self.aging.max_points)) as i32
    }

    /// The level a score falls in.
    pub fn level(&self, score: i32) -> Level {
        let t = &self.thresholds;
        if score >= t.p0 {
            Level::P0
        } else if score >= t.p1 {
            Level::P1
        } else if score >= t.p2 {
            Level::P2
        } else {
            Level::P3
        }
    }
}

#[cfg(test)]
mod tests;
