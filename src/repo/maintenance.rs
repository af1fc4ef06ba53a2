//! Background maintenance of open tickets: aging re-scores, and SLA breach flags.
//!
//! Each write records its event (PRIORITY_CHANGED, SLA_BREACHED) in the same transaction.
//! Both scan open tickets in id order, a batch at a time, and write a ticket only when
//! something changed, with an optimistic version check (`WHERE id = ? AND version = ?`),
//! so they never block callers and a ticket changed meanwhile is simply seen next run.
//! Several replicas may run them at once: the version check makes the work idempotent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use super::entity::{customer, ticket as row};
use super::ticket_rows;
use super::txn::Txn;
use super::{Repo, events, found};
use crate::domain::event::EventKind;
use crate::domain::priority::PriorityInputs;
use crate::domain::sla;
use crate::domain::{Status, Tier};
use crate::error::AppResult;

const BATCH: u64 = 500;

/// An update of one ticket that applies only if it is still at the version read, and
/// moves it to the next version.
fn versioned_update(t: &row::Model, now: DateTime<Utc>) -> sea_orm::UpdateMany<row::Entity> {
    row::Entity::update_many()
        .col_expr(row::Column::Version, Expr::value(t.version + 1))
        .col_expr(row::Column::UpdatedAt, Expr::value(now))
        .filter(row::Column::Id.eq(t.id))
        .filter(row::Column::Version.eq(t.version))
}

fn open_statuses() -> [Status; 2] {
    [Status::Open, Status::InProgress]
}

impl Repo {
    /// Records the event of a job's optimistic write and commits, or rolls back when the
    /// version check found the ticket changed meanwhile. Returns 1 if written.
    async fn finish_job_write(
        &self,
        txn: Txn,
        written: u64,
        before: &row::Model,
        kind: EventKind,
        now: DateTime<Utc>,
    ) -> AppResult<u64> {
        if written != 1 {
            txn.rollback().await?;
            return Ok(0);
        }
        let after = found(row::Entity::find_by_id(before.id).one(&txn).await?, "ticket", before.id)?;
        events::record(&txn, kind, Some(before), &after, None, now).await?;
        self.commit(txn).await?;
        Ok(1)
    }

    /// Re-scores open tickets as they age; returns how many changed.
    #[tracing::instrument(skip_all)]
    pub async fn age_open_tickets(&self, now: DateTime<Utc>) -> AppResult<u64> {
        use row::Column as C;
        let policy = &self.rules.policy;
        let (mut after, mut changed) = (0i64, 0u64);
        loop {
            let batch = row::Entity::find()
                .filter(C::Status.is_in(open_statuses()))
                .filter(C::Id.gt(after))
                .order_by_asc(C::Id)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            let Some(last) = batch.last() else { return Ok(changed) };
            after = last.id;
            let customer_ids: Vec<i64> = batch.iter().map(|t| t.customer_id).collect();
            let tiers: HashMap<i64, Tier> = customer::Entity::find()
                .select_only()
                .columns([customer::Column::Id, customer::Column::Tier])
                .filter(customer::Column::Id.is_in(customer_ids))
                .into_tuple::<(i64, Tier)>()
                .all(&self.db)
                .await?
                .into_iter()
                .collect();
            for t in &batch {
                let Some(tier) = tiers.get(&t.customer_id) else { continue };
                let inputs =
                    PriorityInputs { severity: t.severity, tier: *tier, impact: t.impact, opened_at: t.created_at };
                let p = policy.score(&inputs, now);
                if p.score == t.priority_score && p.level == t.priority_level {
                    continue;
                }
                let (fr_due, res_due) = policy.sla.due(p.level, t.created_at);
                let txn = self.begin().await?;
                let written = versioned_update(t, now)
                    .col_expr(C::PriorityScore, Expr::value(p.score))
                    .col_expr(C::PriorityLevel, Expr::value(p.level))
                    .col_expr(C::SeverityPoints, Expr::value(p.severity_points))
                    .col_expr(C::TierPoints, Expr::value(p.tier_points))
                    .col_expr(C::ImpactPoints, Expr::value(p.impact_points))
                    .col_expr(C::AgingPoints, Expr::value(p.aging_points))
                    .col_expr(C::FirstResponseDueAt, Expr::value(fr_due))
                    .col_expr(C::ResolutionDueAt, Expr::value(res_due))
                    .exec(&txn)
                    .await?;
                changed +=
                    self.finish_job_write(txn, written.rows_affected, t, EventKind::PriorityChanged, now).await?;
            }
            if (batch.len() as u64) < BATCH {
                return Ok(changed);
            }
        }
    }

    /// Flags open tickets whose SLA due times passed with the target unmet; returns how
    /// many tickets gained a flag.
    #[tracing::instrument(skip_all)]
    pub async fn mark_sla_breaches(&self, now: DateTime<Utc>) -> AppResult<u64> {
        use row::Column as C;
        let late_reply = Condition::all()
            .add(C::FirstResponseBreached.eq(false))
            .add(C::FirstResponseAt.is_null())
            .add(C::FirstResponseDueAt.lt(now));
        let late_resolution = Condition::all().add(C::ResolutionBreached.eq(false)).add(C::ResolutionDueAt.lt(now));
        let due = row::Entity::find()
            .filter(C::Status.is_in(open_statuses()))
            .filter(Condition::any().add(late_reply).add(late_resolution))
            .order_by_asc(C::Id)
            .all(&self.db)
            .await?;
        let mut flagged = 0;
        for t in due {
            let txn = self.begin().await?;
            let ticket = ticket_rows::to_domain(t.clone())?;
            let (first, resolution) =
                sla::breaches(&ticket.sla, ticket.status, ticket.first_response_at, ticket.resolved_at, now);
            let written = versioned_update(&t, now)
                .col_expr(C::FirstResponseBreached, Expr::value(first))
                .col_expr(C::ResolutionBreached, Expr::value(resolution))
                .exec(&txn)
                .await?;
            flagged += self.finish_job_write(txn, written.rows_affected, &t, EventKind::SlaBreached, now).await?;
        }
        Ok(flagged)
    }
}
