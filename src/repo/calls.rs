//! Voice calls: the `calls` rows, and the events and records their changes write.
//!
//! Every change locks the call's row, asks [`crate::domain::call`] whether the move is
//! allowed, writes the row and a CALL_UPDATED event (the parties' relays and WatchQueue
//! read it, on any replica) in one transaction. A call that ends also leaves its record on
//! the ticket: a public SYSTEM message (who called whom, the outcome, the start and the
//! talk time), with its MESSAGE_ADDED event and history entry. Signals are CALL_SIGNAL
//! events, addressed to one party; the log's retention prunes them like every event.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, sea_query::Expr,
};

use super::entity::{agent, call as row, customer, department};
use super::events::{self, Detail};
use super::txn::Txn;
use super::{Repo, found, paging, ticket_rows};
use crate::domain::access::{Principal, TicketScope};
use crate::domain::call::{self, Call, CallState, CallViewer, Move, Party, Side, Signal, SignalPayload};
use crate::domain::{Page, PageRequest, SenderKind};
use crate::error::{AppError, AppResult};

/// The display names of `parties`, two queries at most.
async fn names(conn: &impl ConnectionTrait, parties: &[Party]) -> AppResult<HashMap<Party, String>> {
    let ids = |kind: SenderKind| {
        let mut v: Vec<i64> = parties.iter().filter(|p| p.kind == kind).map(|p| p.id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut out = HashMap::new();
    let agents = ids(SenderKind::Agent);
    if !agents.is_empty() {
        let found: Vec<(i64, String, String)> = agent::Entity::find()
            .select_only()
            .columns([agent::Column::Id, agent::Column::FirstName, agent::Column::LastName])
            .filter(agent::Column::Id.is_in(agents))
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(found.into_iter().map(|(id, f, l)| (Party::agent(id), format!("{f} {l}"))));
    }
    let customers = ids(SenderKind::Customer);
    if !customers.is_empty() {
        let found: Vec<(i64, String, String)> = customer::Entity::find()
            .select_only()
            .columns([customer::Column::Id, customer::Column::FirstName, customer::Column::LastName])
            .filter(customer::Column::Id.is_in(customers))
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(found.into_iter().map(|(id, f, l)| (Party::customer(id), format!("{f} {l}"))));
    }
    Ok(out)
}

fn parties(m: &row::Model) -> (Party, Party) {
    (Party { kind: m.caller_kind, id: m.caller_id }, Party { kind: m.callee_kind, id: m.callee_id })
}

fn to_domain(m: row::Model, names: &HashMap<Party, String>) -> Call {
    let (caller, callee) = parties(&m);
    Call {
        id: m.id,
        ticket_id: m.ticket_id,
        department_id: m.department_id,
        caller,
        callee,
        caller_name: names.get(&caller).cloned().unwrap_or_default(),
        callee_name: names.get(&callee).cloned().unwrap_or_default(),
        state: m.state,
        outcome: m.outcome,
        end_reason: m.end_reason,
        signals: m.signals,
        created_at: m.created_at,
        ring_deadline: m.ring_deadline,
        answered_at: m.answered_at,
        ended_at: m.ended_at,
        after_sequence: m.after_sequence,
    }
}

/// One call with its parties' names.
async fn load(conn: &impl ConnectionTrait, m: row::Model) -> AppResult<Call> {
    let (caller, callee) = parties(&m);
    let names = names(conn, &[caller, callee]).await?;
    Ok(to_domain(m, &names))
}

/// The call's row, locked for the transaction.
async fn lock(txn: &Txn, id: i64) -> AppResult<row::Model> {
    found(row::Entity::find_by_id(id).lock_exclusive().one(txn).await?, "call", id)
}

/// Applies `m` to the locked call `current` and writes what follows: the row, the event
/// and, when it ends, the ticket's record.
async fn change(txn: &Txn, current: row::Model, m: &Move, by: Option<Side>, now: DateTime<Utc>) -> AppResult<Call> {
    let before = load(txn, current.clone()).await?;
    let next = call::apply(&before, m, by, now)?;
    let mut am = current.into_active_model();
    am.state = Set(next.state);
    am.outcome = Set(next.outcome);
    am.end_reason = Set(next.reason.clone());
    if next.state == CallState::Active {
        am.answered_at = Set(Some(now));
        am.callee_seen_at = Set(Some(now));
    }
    if next.state == CallState::Ended {
        am.ended_at = Set(Some(now));
        am.live_ticket_id = Set(None);
    }
    let m = am.update(txn).await?;
    let after = Call {
        state: m.state,
        outcome: m.outcome,
        end_reason: m.end_reason.clone(),
        answered_at: m.answered_at,
        ended_at: m.ended_at,
        ..before
    };
    let t = ticket_rows::read(txn, after.ticket_id).await?;
    events::record_call(txn, &t, Detail::Call(&after), now).await?;
    if after.state == CallState::Ended {
        super::logs::system_message(txn, &t, after.record(), now).await?;
    }
    Ok(after)
}

/// Ends an agent's live calls as FAILED (the agent went OFF), in the caller's transaction.
pub(crate) async fn fail_agent_calls(txn: &Txn, agent_id: i64, reason: &str, now: DateTime<Utc>) -> AppResult<()> {
    use row::Column as C;
    let mine = |kind: C, id: C| Condition::all().add(kind.eq(SenderKind::Agent)).add(id.eq(agent_id));
    let live = row::Entity::find()
        .filter(C::LiveTicketId.is_not_null())
        .filter(Condition::any().add(mine(C::CallerKind, C::CallerId)).add(mine(C::CalleeKind, C::CalleeId)))
        .lock_exclusive()
        .all(txn)
        .await?;
    for c in live {
        change(txn, c, &Move::Fail(reason.into()), None, now).await?;
    }
    Ok(())
}

impl Repo {
    /// Rings the other party of a ticket for `caller`, until `ring` has passed.
    #[tracing::instrument(skip_all, fields(ticket_id))]
    pub async fn start_call(
        &self,
        ticket_id: i64,
        caller: Party,
        scope: &TicketScope,
        ring: Duration,
        now: DateTime<Utc>,
    ) -> AppResult<Call> {
        let txn = self.begin().await?;
        let t = ticket_rows::lock(&txn, ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let d = found(department::Entity::find_by_id(t.department_id).one(&txn).await?, "department", t.department_id)?;
        let placement = call::Placement {
            status: t.status,
            customer_id: t.customer_id,
            agent_id: t.assigned_agent_id,
            customer_calls: d.customer_calls,
        };
        let agent_id = if caller.kind == SenderKind::Agent { Some(caller.id) } else { t.assigned_agent_id };
        let availability = match agent_id {
            Some(id) => agent::Entity::find_by_id(id).one(&txn).await?.map(|a| (id, a.availability)),
            None => None,
        };
        let callee =
            call::callee(ticket_id, caller, &placement, |id| availability.filter(|(a, _)| *a == id).map(|(_, av)| av))?;
        if let Some(live) = row::Entity::find().filter(row::Column::LiveTicketId.eq(ticket_id)).one(&txn).await? {
            return Err(already_live(ticket_id, live.id));
        }
        let am = row::ActiveModel {
            ticket_id: Set(ticket_id),
            department_id: Set(t.department_id),
            caller_kind: Set(caller.kind),
            caller_id: Set(caller.id),
            callee_kind: Set(callee.kind),
            callee_id: Set(callee.id),
            state: Set(CallState::Ringing),
            outcome: Set(None),
            end_reason: Set(None),
            live_ticket_id: Set(Some(ticket_id)),
            signals: Set(0),
            after_sequence: Set(events::max_sequence(&txn).await?),
            created_at: Set(now),
            ring_deadline: Set(now + ring),
            answered_at: Set(None),
            ended_at: Set(None),
            caller_seen_at: Set(now),
            callee_seen_at: Set(None),
            ..Default::default()
        };
        let id = match row::Entity::insert(am).exec(&txn).await {
            Ok(r) => r.last_insert_id,
            // Another call on the ticket committed between the check and the insert.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(already_live(ticket_id, 0));
            }
            Err(e) => return Err(e.into()),
        };
        let m = found(row::Entity::find_by_id(id).one(&txn).await?, "call", id)?;
        let c = load(&txn, m).await?;
        events::record_call(&txn, &t, Detail::Call(&c), now).await?;
        self.commit(txn).await?;
        Ok(c)
    }

    /// The callee accepts or declines.
    pub async fn answer_call(&self, id: i64, who: &Principal, accept: bool, now: DateTime<Utc>) -> AppResult<Call> {
        let txn = self.begin().await?;
        let current = self.visible(&txn, id, who).await?;
        let side = load(&txn, current.clone()).await?.side_of_caller(who)?;
        let m = if accept { Move::Accept } else { Move::Decline };
        let c = change(&txn, current, &m, Some(side), now).await?;
        self.commit(txn).await?;
        Ok(c)
    }

    /// A party hangs up.
    pub async fn end_call(&self, id: i64, who: &Principal, now: DateTime<Utc>) -> AppResult<Call> {
        let txn = self.begin().await?;
        let current = self.visible(&txn, id, who).await?;
        let side = load(&txn, current.clone()).await?.side_of_caller(who)?;
        let c = change(&txn, current, &Move::HangUp(side), Some(side), now).await?;
        self.commit(txn).await?;
        Ok(c)
    }

    /// Ends a live call as FAILED for `reason`; nothing if it has already ended.
    pub async fn fail_call(&self, id: i64, reason: &str, now: DateTime<Utc>) -> AppResult<Option<Call>> {
        let txn = self.begin().await?;
        let current = lock(&txn, id).await?;
        if current.state == CallState::Ended {
            return Ok(None);
        }
        let c = change(&txn, current, &Move::Fail(reason.into()), None, now).await?;
        self.commit(txn).await?;
        Ok(Some(c))
    }

    /// The call, if `who` may see it (NOT_FOUND otherwise, as for a call that does not exist).
    pub async fn get_call(&self, id: i64, who: &Principal) -> AppResult<Call> {
        let m = found(row::Entity::find_by_id(id).one(&self.db).await?, "call", id)?;
        let c = load(&self.db, m).await?;
        if !CallViewer::of(who).sees(&c) {
            return Err(AppError::NotFound { resource: "call", id });
        }
        Ok(c)
    }

    /// A ticket's calls that `who` may see, newest first.
    pub async fn list_calls(&self, ticket_id: i64, who: &Principal, page: &PageRequest) -> AppResult<Page<Call>> {
        let t = ticket_rows::read(&self.db, ticket_id).await?;
        ticket_rows::check_scope(&who.ticket_scope(), &t)?;
        let fp = paging::fingerprint(&ticket_id);
        let mut q = row::Entity::find().filter(row::Column::TicketId.eq(ticket_id)).order_by_desc(row::Column::Id);
        if let Some(token) = &page.token {
            q = q.filter(row::Column::Id.lt(paging::int(&paging::decode(token, &fp)?, 0)?));
        }
        let viewer = CallViewer::of(who);
        // Rows the viewer may not see are skipped; a page reads at most this many.
        let mut rows = q.limit(page.size * 4 + 1).all(&self.db).await?;
        let more = rows.len() as u64 > page.size * 4;
        rows.truncate((page.size * 4) as usize);
        let all_parties: Vec<Party> = rows.iter().flat_map(|m| <[Party; 2]>::from(parties(m))).collect();
        let names = names(&self.db, &all_parties).await?;
        let mut items = Vec::new();
        let mut last = None;
        for m in rows {
            last = Some(m.id);
            let c = to_domain(m, &names);
            if viewer.sees(&c) {
                items.push(c);
            }
            if items.len() as u64 == page.size {
                break;
            }
        }
        let next = items.len() as u64 == page.size || more;
        let next_token = match (next, last) {
            (true, Some(id)) => Some(paging::encode(vec![id.into()], &fp)),
            _ => None,
        };
        Ok(Page { items, next_token })
    }

    /// Relays `payload` from `who` to the other party of call `id`.
    pub async fn send_signal(
        &self,
        id: i64,
        who: &Principal,
        payload: SignalPayload,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let txn = self.begin().await?;
        let current = self.visible(&txn, id, who).await?;
        let c = load(&txn, current.clone()).await?;
        let side = c.side_of_caller(who)?;
        call::may_signal(&c, side, &payload)?;
        let mut am = current.into_active_model();
        am.signals = Set(c.signals + 1);
        am.update(&txn).await?;
        let signal = Signal { call_id: id, from: c.party(side), to: c.other(side), payload };
        let t = ticket_rows::read(&txn, c.ticket_id).await?;
        events::record_call(&txn, &t, Detail::Signal(&signal), now).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Notes that `side`'s relay of call `id` is alive at `now`.
    pub async fn touch_call(&self, id: i64, side: Side, now: DateTime<Utc>) -> AppResult<()> {
        let column = match side {
            Side::Caller => row::Column::CallerSeenAt,
            Side::Callee => row::Column::CalleeSeenAt,
        };
        row::Entity::update_many()
            .col_expr(column, Expr::value(now))
            .filter(row::Column::Id.eq(id))
            .filter(row::Column::LiveTicketId.is_not_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Ends the calls that rang out (MISSED) and those whose relay was last seen before
    /// `now - stale` (FAILED: its replica died with it). Returns how many ended.
    pub async fn sweep_calls(&self, now: DateTime<Utc>, stale: Duration) -> AppResult<u64> {
        use row::Column as C;
        let seen_before = now - stale;
        let due: Vec<i64> = row::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(C::LiveTicketId.is_not_null())
            .filter(
                Condition::any()
                    .add(Condition::all().add(C::State.eq(CallState::Ringing)).add(C::RingDeadline.lte(now)))
                    .add(C::CallerSeenAt.lt(seen_before))
                    .add(C::CalleeSeenAt.lt(seen_before)),
            )
            .limit(1_000)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut ended = 0;
        for id in due {
            let txn = self.begin().await?;
            let current = lock(&txn, id).await?;
            if current.state == CallState::Ended {
                continue;
            }
            let m = if current.state == CallState::Ringing && current.ring_deadline <= now {
                Move::RangOut
            } else {
                let side = if current.caller_seen_at < seen_before { "caller" } else { "callee" };
                Move::Fail(format!("the {side}'s relay was lost"))
            };
            change(&txn, current, &m, None, now).await?;
            self.commit(txn).await?;
            ended += 1;
        }
        Ok(ended)
    }

    /// The call's locked row if `who` may see it.
    async fn visible(&self, txn: &Txn, id: i64, who: &Principal) -> AppResult<row::Model> {
        let m = lock(txn, id).await?;
        let c = load(txn, m.clone()).await?;
        if !CallViewer::of(who).sees(&c) {
            return Err(AppError::NotFound { resource: "call", id });
        }
        Ok(m)
    }
}

fn already_live(ticket_id: i64, call_id: i64) -> AppError {
    let which = if call_id > 0 { format!(" (call {call_id})") } else { String::new() };
    AppError::FailedPrecondition(format!(
        "ticket {ticket_id} already has a live call{which}; end it before placing another"
    ))
}
