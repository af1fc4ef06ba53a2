//! The event log's SQL: the outbox write inside each change's transaction, the
//! sequencer's numbering, and the readers' queries.
//!
//! Why a sequencer: AUTO_INCREMENT ids are taken at insert time, not at commit, so id 11
//! can be visible before id 10 commits, and a reader of "everything above the last id"
//! would skip 10 for ever. So writers insert events with no sequence, and one sequencer at
//! a time (see `crate::events::sequencer`) numbers the *committed* unnumbered rows in id
//! order, in one transaction per batch, starting right after the highest sequence. Every
//! reader therefore sees a dense prefix 1..=N of numbered events, in the order the
//! sequencer saw them commit; an uncommitted or rolled-back event is never numbered.
//! Two changes to one ticket are numbered in the order they happened, because each
//! writes its event last, after locking the ticket row.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use super::Repo;
use super::entity::{queue_event as row, queue_state, ticket};
use super::prebuilt::PrebuiltInsert;
use super::ticket_rows;
use super::txn::Txn;
use crate::domain::access::TicketScope;
use crate::domain::call::{Call, Signal};
use crate::domain::event::payload::{self, TicketV1};
use crate::domain::event::{EventKind, Placement, QueueEvent, QueueFilter};
use crate::domain::history::{self, Change};
use crate::domain::{Level, Status, Ticket};
use crate::error::{AppError, AppResult};

/// A ticket row in the events' stored form (see [`payload`]).
fn stored_ticket(m: &ticket::Model) -> TicketV1 {
    TicketV1 {
        v: payload::CURRENT,
        id: m.id,
        customer_id: m.customer_id,
        department_id: m.department_id,
        category: m.category.as_str().to_owned(),
        subject: m.subject.clone(),
        description: m.description.clone(),
        severity: m.severity.as_str().to_owned(),
        impact: m.impact,
        status: m.status.as_str().to_owned(),
        priority_score: m.priority_score,
        priority_level: m.priority_level.as_str().to_owned(),
        severity_points: m.severity_points,
        tier_points: m.tier_points,
        impact_points: m.impact_points,
        aging_points: m.aging_points,
        assigned_agent_id: m.assigned_agent_id,
        assignment_reason: m.assignment_reason.map(|r| r.as_str().to_owned()),
        first_response_due_at: m.first_response_due_at,
        resolution_due_at: m.resolution_due_at,
        first_response_breached: m.first_response_breached,
        resolution_breached: m.resolution_breached,
        rating: m.rating,
        feedback: m.feedback.map(|f| f.as_str().to_owned()),
        last_response: m.last_response.clone(),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        first_response_at: m.first_response_at,
        resolved_at: m.resolved_at,
        closed_at: m.closed_at,
    }
}

/// Writes the event of a change in the change's own transaction, and the ticket's history
/// entries for it; call it last, after the rows it describes are changed. `before` is the
/// ticket row before the change.
pub(crate) async fn record(
    txn: &Txn,
    kind: EventKind,
    before: Option<&ticket::Model>,
    after: &ticket::Model,
    log_id: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut batch = Batch::new(now);
    batch.change(kind, before, after, log_id)?;
    batch.write(txn).await
}

/// The events of a change and their history entries, kept until [`Batch::write`] writes
/// them in one INSERT for the events and one for the entries, in the order they were
/// added: a change that makes two events (AddLog's ticket update and its message) pays
/// the round trips once. Write it last, as [`record`] is.
#[must_use = "nothing is written until `write`"]
pub(crate) struct Batch {
    now: DateTime<Utc>,
    events: Vec<row::ActiveModel>,
    entries: Vec<(i64, Change)>,
}

impl Batch {
    pub(crate) fn new(now: DateTime<Utc>) -> Self {
        Self { now, events: Vec::new(), entries: Vec::new() }
    }

    /// The time of the change: every event and entry of the batch is stamped with it.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Adds the event of a change from `before` (none: just opened) to `after`, and the
    /// history entries for what changed.
    pub(crate) fn change(
        &mut self,
        kind: EventKind,
        before: Option<&ticket::Model>,
        after: &ticket::Model,
        log_id: Option<i64>,
    ) -> AppResult<()> {
        self.events.push(event_row(kind, before, after, log_id, self.now)?);
        let before = before.map(ticket_rows::history_facts);
        let changes = history::changes(before.as_ref(), &ticket_rows::history_facts(after));
        self.entries.extend(changes.into_iter().map(|c| (after.id, c)));
        Ok(())
    }

    /// Adds a history entry of ticket `ticket_id` that has no event of its own.
    pub(crate) fn entry(&mut self, ticket_id: i64, change: Change) {
        self.entries.push((ticket_id, change));
    }

    /// Writes what was added since the last write, and empties the batch.
    pub(crate) async fn write(&mut self, txn: &Txn) -> AppResult<()> {
        if !self.events.is_empty() {
            INSERT.exec(txn, std::mem::take(&mut self.events)).await?;
        }
        super::history::write(txn, std::mem::take(&mut self.entries), self.now).await
    }
}

/// The events' INSERT, built once for each number of events ([`PrebuiltInsert`]).
static INSERT: PrebuiltInsert = PrebuiltInsert::new();

/// Writes an event of `kind` about ticket `t` that leaves the ticket as it is (a message's
/// delivery status), without history entries.
pub(crate) async fn record_unchanged(
    txn: &Txn,
    kind: EventKind,
    t: &ticket::Model,
    log_id: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    insert_unchanged(txn, kind, t, log_id, None, now).await
}

/// Writes the event of a call (CALL_UPDATED, with the call) or of a signal (CALL_SIGNAL)
/// on ticket `t`, in the caller's transaction. The ticket is unchanged; no history entry.
pub(crate) async fn record_call(txn: &Txn, t: &ticket::Model, detail: Detail<'_>, now: DateTime<Utc>) -> AppResult<()> {
    let (kind, json) = match detail {
        Detail::Call(c) => (EventKind::CallUpdated, serde_json::to_string(c)),
        Detail::Signal(s) => (EventKind::CallSignal, serde_json::to_string(s)),
    };
    let json = json.map_err(|e| AppError::Internal(format!("a call event could not be written: {e}")))?;
    insert_unchanged(txn, kind, t, None, Some(json), now).await
}

/// The event row of a change that leaves ticket `t` as it is: before and after alike.
async fn insert_unchanged(
    txn: &Txn,
    kind: EventKind,
    t: &ticket::Model,
    log_id: Option<i64>,
    detail: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let event = row::ActiveModel { detail: Set(detail), ..event_row(kind, Some(t), t, log_id, now)? };
    row::Entity::insert(event).exec(txn).await?;
    Ok(())
}

/// The unnumbered event row of a change from `before` (none: just opened) to `after`.
fn event_row(
    kind: EventKind,
    before: Option<&ticket::Model>,
    after: &ticket::Model,
    log_id: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<row::ActiveModel> {
    Ok(row::ActiveModel {
        sequence: Set(None),
        kind: Set(kind),
        ticket_id: Set(after.id),
        log_id: Set(log_id),
        ticket: Set(payload::encode(&stored_ticket(after))?),
        before_status: Set(before.map(|b| b.status)),
        before_department_id: Set(before.map(|b| b.department_id)),
        before_agent_id: Set(before.and_then(|b| b.assigned_agent_id)),
        before_level: Set(before.map(|b| b.priority_level)),
        created_at: Set(now),
        ..Default::default()
    })
}

/// What a call event carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Detail<'a> {
    /// The call after a change.
    Call(&'a Call),
    /// A signal.
    Signal(&'a Signal),
}

/// The call or signal stored with an event of `kind`.
fn detail(kind: EventKind, json: Option<&str>) -> AppResult<(Option<Call>, Option<Signal>)> {
    let bad = |e: serde_json::Error| AppError::Internal(format!("a stored {kind} event does not decode: {e}"));
    Ok(match (kind, json) {
        (EventKind::CallUpdated, Some(j)) => (Some(serde_json::from_str(j).map_err(bad)?), None),
        (EventKind::CallSignal, Some(j)) => (None, Some(serde_json::from_str(j).map_err(bad)?)),
        _ => (None, None),
    })
}

/// A consistent snapshot of the queue for a fresh subscriber.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The matching open tickets, in queue order.
    pub tickets: Vec<Ticket>,
    /// The highest sequence numbered when the snapshot was read.
    pub sequence: i64,
    /// Events already committed (so reflected in `tickets`) but not numbered yet: their
    /// numbers will be above `sequence`, and the subscriber must not get them again.
    pub pending: HashSet<i64>,
}

fn placement(m: &row::Model) -> Option<Placement> {
    let (Some(status), Some(department_id), Some(level)) = (m.before_status, m.before_department_id, m.before_level)
    else {
        return None;
    };
    Some(Placement { ticket_id: m.ticket_id, status, department_id, agent_id: m.before_agent_id, level })
}

pub(super) async fn max_sequence(conn: &impl ConnectionTrait) -> AppResult<i64> {
    let max: Option<Option<i64>> =
        row::Entity::find().select_only().column_as(row::Column::Sequence.max(), "m").into_tuple().one(conn).await?;
    Ok(max.flatten().unwrap_or(0))
}

impl Repo {
    /// The highest numbered sequence.
    pub async fn latest_sequence(&self) -> AppResult<i64> {
        max_sequence(&self.db).await
    }

    /// The highest sequence pruned from the log; resuming from below it is impossible.
    pub async fn pruned_through(&self) -> AppResult<i64> {
        Ok(queue_state::Entity::find_by_id(1).one(&self.db).await?.map_or(0, |s| s.pruned_through))
    }

    /// Up to `limit` numbered events after `after`, in sequence order, with their messages.
    pub async fn events_after(&self, after: i64, limit: u64) -> AppResult<Vec<QueueEvent>> {
        let rows = row::Entity::find()
            .filter(row::Column::Sequence.gt(after))
            .order_by_asc(row::Column::Sequence)
            .limit(limit)
            .all(&self.db)
            .await?;
        let log_ids: Vec<i64> = rows.iter().filter_map(|r| r.log_id).collect();
        let mut logs: HashMap<i64, crate::domain::Log> =
            self.logs_by_ids(&log_ids).await?.into_iter().map(|l| (l.id, l)).collect();
        rows.into_iter()
            .map(|r| {
                let before = placement(&r);
                let ticket = payload::decode(&r.ticket)?;
                let (call, signal) = detail(r.kind, r.detail.as_deref())?;
                Ok(QueueEvent {
                    id: r.id,
                    sequence: r.sequence.unwrap_or_default(),
                    kind: r.kind,
                    time: r.created_at,
                    ticket,
                    log: r.log_id.and_then(|id| logs.remove(&id)),
                    before,
                    call,
                    signal,
                })
            })
            .collect()
    }

    /// The matching open tickets and the sequence they reflect, read in one snapshot.
    pub async fn queue_snapshot(&self, filter: &QueueFilter, scope: &TicketScope) -> AppResult<Snapshot> {
        let txn = Txn::begin_snapshot(&self.db).await?;
        // The first read fixes the snapshot; everything below sees the same moment.
        let sequence = max_sequence(&txn).await?;
        let pending: Vec<i64> = row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .filter(row::Column::Sequence.is_null())
            .into_tuple()
            .all(&txn)
            .await?;
        use ticket::Column as C;
        let mut q = ticket::Entity::find().filter(C::Status.ne(Status::Closed));
        if let Some(within) = ticket_rows::within(scope) {
            q = q.filter(within);
        }
        if let Some(d) = filter.department_id {
            q = q.filter(C::DepartmentId.eq(d));
        }
        if let Some(a) = filter.agent_id {
            q = q.filter(C::AssignedAgentId.eq(a));
        }
        if let Some(min) = filter.min_level {
            let levels: Vec<Level> = Level::ALL.iter().filter(|l| **l <= min).copied().collect();
            q = q.filter(C::PriorityLevel.is_in(levels));
        }
        if let Some(t) = filter.ticket_id {
            q = q.filter(C::Id.eq(t));
        }
        let rows = q.order_by_desc(C::PriorityScore).order_by_asc(C::CreatedAt).order_by_asc(C::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(Snapshot {
            tickets: rows.into_iter().map(ticket_rows::to_domain).collect::<AppResult<_>>()?,
            sequence,
            pending: pending.into_iter().collect(),
        })
    }

    /// Deletes numbered events written before `before`, oldest first, at most `batch` per
    /// transaction (a Galera write set stays small and no applier stalls behind one huge
    /// delete after a long pause); returns how many.
    pub async fn prune_events(&self, before: DateTime<Utc>, batch: u64) -> AppResult<u64> {
        let cut: Option<Option<i64>> = row::Entity::find()
            .select_only()
            .column_as(row::Column::Sequence.max(), "m")
            .filter(row::Column::CreatedAt.lt(before))
            .filter(row::Column::Sequence.is_not_null())
            .into_tuple()
            .one(&self.db)
            .await?;
        let Some(cut) = cut.flatten() else { return Ok(0) };
        let mut gone = 0;
        loop {
            let txn = self.begin().await?;
            // The batch's last sequence: the `batch`-th numbered event up to the cut.
            let last: Option<i64> = row::Entity::find()
                .select_only()
                .column(row::Column::Sequence)
                .filter(row::Column::Sequence.lte(cut))
                .order_by_asc(row::Column::Sequence)
                .offset(batch.max(1) - 1)
                .limit(1)
                .into_tuple()
                .one(&txn)
                .await?;
            let through = last.unwrap_or(cut);
            gone +=
                row::Entity::delete_many().filter(row::Column::Sequence.lte(through)).exec(&txn).await?.rows_affected;
            queue_state::Entity::update_many()
                .col_expr(queue_state::Column::PrunedThrough, Expr::value(through))
                .filter(queue_state::Column::Id.eq(1))
                .filter(queue_state::Column::PrunedThrough.lt(through))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            if through >= cut {
                return Ok(gone);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ticket row in progress, assigned.
    fn sample() -> ticket::Model {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2, 9, 0, 0).unwrap();
        ticket::Model {
            id: 3,
            customer_id: 7,
            department_id: 2,
            category: crate::domain::Category::BugReport,
            subject: "Checkout fails".into(),
            description: "The pay button answers 500.".into(),
            severity: crate::domain::Severity::Major,
            impact: 3,
            status: Status::InProgress,
            priority_score: 9,
            priority_level: Level::P2,
            severity_points: 3,
            tier_points: 3,
            impact_points: 3,
            aging_points: 0,
            assigned_agent_id: Some(4),
            assignment_reason: Some(crate::domain::AssignmentReason::AutoLeastLoaded),
            first_response_due_at: Some(at),
            resolution_due_at: None,
            first_response_breached: false,
            resolution_breached: false,
            rating: None,
            feedback: None,
            last_response: "Looking into it.".into(),
            version: 3,
            created_at: at,
            updated_at: at,
            first_response_at: Some(at),
            resolved_at: None,
            closed_at: None,
        }
    }

    /// The stored form written for a row decodes to the ticket the row is (the previous
    /// release's form, the row serialised, is `domain::event::payload`'s frozen sample).
    #[test]
    fn a_rows_stored_form_decodes_to_its_ticket() {
        let row = sample();
        let new = payload::encode(&stored_ticket(&row)).unwrap();
        assert_eq!(payload::decode(&new).unwrap(), ticket_rows::to_domain(row).unwrap());
    }

    #[test]
    fn events_and_their_history_entries_are_inserted_with_the_statements_built_for_their_rows() {
        let before = sample();
        let after = ticket::Model { status: Status::Resolved, assigned_agent_id: None, version: 4, ..before.clone() };
        let now = before.created_at;
        let mut batch = Batch::new(now);
        batch.change(EventKind::TicketCreated, None, &before, None).unwrap();
        batch.change(EventKind::TicketUpdated, Some(&before), &after, Some(9)).unwrap();
        for n in [1, 2] {
            assert!(INSERT.is_rebuilt_by(&batch.events[..n]), "{n} events");
        }
        let entries = super::super::history::rows(batch.entries.clone(), now).unwrap();
        assert!(entries.len() > 2, "an opening, a status and an assignment");
        for n in 1..=entries.len() {
            assert!(super::super::history::INSERT.is_rebuilt_by(&entries[..n]), "{n} entries");
        }
        // A row that sets another column than the kept ones is built afresh.
        let detailed = row::ActiveModel { detail: Set(Some("{}".into())), ..batch.events[0].clone() };
        assert!(INSERT.is_rebuilt_by(&[detailed]));
    }
}
