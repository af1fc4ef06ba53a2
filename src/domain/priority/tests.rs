use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn inputs(severity: Severity, tier: Tier, impact: i32) -> PriorityInputs {
    PriorityInputs { severity, tier, impact, opened_at: t0() }
}

#[test]
fn enterprise_critical_impact_5_is_15_p1() {
    let p = PriorityPolicy::default().score(&inputs(Severity::Critical, Tier::Enterprise, 5), t0());
    assert_eq!(p.score, 15);
    assert_eq!(p.level, Level::P1);
    assert_eq!((p.severity_points, p.tier_points, p.impact_points, p.aging_points), (5, 5, 5, 0));
}

#[test]
fn level_boundaries_land_exactly() {
    let policy = PriorityPolicy::default();
    assert_eq!(policy.level(5), Level::P3);
    assert_eq!(policy.level(6), Level::P2);
    assert_eq!(policy.level(10), Level::P2);
    assert_eq!(policy.level(11), Level::P1);
    assert_eq!(policy.level(15), Level::P1);
    assert_eq!(policy.level(16), Level::P0);
}

#[test]
fn p0_needs_aging() {
    let policy = PriorityPolicy::default();
    let top = inputs(Severity::Critical, Tier::Enterprise, 5);
    assert_eq!(policy.score(&top, t0()).level, Level::P1);
    let aged = policy.score(&top, t0() + Duration::hours(4));
    assert_eq!((aged.aging_points, aged.score, aged.level), (1, 16, Level::P0));
}

#[test]
fn aging_steps_and_caps() {
    let policy = PriorityPolicy::default();
    assert_eq!(policy.aging_points(t0(), t0() + Duration::minutes(239)), 0);
    assert_eq!(policy.aging_points(t0(), t0() + Duration::hours(8)), 2);
    assert_eq!(policy.aging_points(t0(), t0() + Duration::days(30)), 5);
    assert_eq!(policy.aging_points(t0(), t0() - Duration::hours(8)), 0, "clock skew never subtracts");
}

#[test]
fn bad_policies_are_refused() {
    let mut policy = PriorityPolicy::default();
    policy.thresholds.p1 = policy.thresholds.p0;
    assert!(policy.check().is_err());
    let mut policy = PriorityPolicy::default();
    policy.aging.every_hours = 0;
    assert!(policy.check().is_err());
    assert!(PriorityPolicy::default().check().is_ok());
}

#[test]
fn policy_loads_from_toml_with_defaults_for_the_rest() {
    let policy: PriorityPolicy = toml::from_str("[aging]\nevery_hours = 2\n").unwrap();
    assert_eq!(policy.aging.every_hours, 2);
    assert_eq!(policy.severity, SeverityWeights::default());
    assert_eq!(policy.impact_multiplier, 1);
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

/// Rank of a severity from least to most severe.
fn sev_rank(s: Severity) -> u8 {
    match s {
        Severity::Minor => 0,
        Severity::Major => 1,
        Severity::Critical => 2,
    }
}

fn tier_rank(t: Tier) -> u8 {
    match t {
        Tier::Free => 0,
        Tier::Paid => 1,
        Tier::Enterprise => 2,
    }
}

proptest! {
    #[test]
    fn each_input_raises_the_score_monotonically(
        s1 in severity(), s2 in severity(), t1 in tier(), t2 in tier(),
        i1 in 1..=5i32, i2 in 1..=5i32, h1 in 0..200i64, h2 in 0..200i64,
    ) {
        let policy = PriorityPolicy::default();
        let now = t0() + Duration::hours(200);
        let base = PriorityInputs { severity: s1, tier: t1, impact: i1, opened_at: now - Duration::hours(h1) };
        let a = policy.score(&base, now).score;
        if sev_rank(s2) >= sev_rank(s1) {
            let raised = PriorityInputs { severity: s2, ..base };
            prop_assert!(policy.score(&raised, now).score >= a);
        }
        if tier_rank(t2) >= tier_rank(t1) {
            let raised = PriorityInputs { tier: t2, ..base };
            prop_assert!(policy.score(&raised, now).score >= a);
        }
        if i2 >= i1 {
            let raised = PriorityInputs { impact: i2, ..base };
            prop_assert!(policy.score(&raised, now).score >= a);
        }
        if h2 >= h1 {
            let raised = PriorityInputs { opened_at: now - Duration::hours(h2), ..base };
            prop_assert!(policy.score(&raised, now).score >= a);
        }
    }

    #[test]
    fn score_is_the_sum_of_its_breakdown_and_level_matches(
        s in severity(), t in tier(), i in 1..=5i32, h in 0..500i64,
    ) {
        let policy = PriorityPolicy::default();
        let p = policy.score(&PriorityInputs { severity: s, tier: t, impact: i, opened_at: t0() }, t0() + Duration::hours(h));
        prop_assert_eq!(p.score, p.severity_points + p.tier_points + p.impact_points + p.aging_points);
        prop_assert_eq!(p.level, policy.level(p.score));
        if p.aging_points == 0 {
            prop_assert!(p.level != Level::P0);
        }
    }
}
