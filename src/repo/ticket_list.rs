//! Reading tickets: one by id, and the filtered queue in a stable order with keyset paging.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Value};

use super::entity::ticket as row;
use super::prebuilt::PrebuiltShapes;
use super::ticket_rows::{self, to_domain, within};
use super::{Repo, paging};
use crate::domain::access::TicketScope;
use crate::domain::{Page, PageRequest, Ticket, TicketFilter, TicketOrder};
use crate::error::AppResult;

impl Repo {
    /// One ticket.
    #[tracing::instrument(skip_all, fields(ticket_id = id))]
    pub async fn get_ticket(&self, id: i64) -> AppResult<Ticket> {
        to_domain(ticket_rows::read(&self.db, id).await?)
    }

    /// A filtered page of tickets in a stable order, in one query.
    pub async fn list_tickets(
        &self,
        filter: &TicketFilter,
        order: TicketOrder,
        page: &PageRequest,
        scope: &TicketScope,
    ) -> AppResult<Page<Ticket>> {
        let fp = FINGERPRINTS.of((filter.clone(), order));
        let after = page.token.as_ref().map(|t| After::decode(order, &paging::decode(t, &fp)?)).transpose()?;
        let list = List { filter, order, scope, after, limit: page.size + 1 };
        let rows = LISTS.all(&self.db, list.shape(), list.values(), || list.select().into_query()).await?;
        let rows = ticket_rows::decode_all(&rows)?;
        let weight = |r: &row::Model| r.subject.len() + r.description.len() + r.last_response.len() + 512;
        let (rows, next_token) = paging::page_within(rows, page.size, paging_key(order), &fp, weight);
        Ok(Page { items: rows.into_iter().map(to_domain).collect::<AppResult<_>>()?, next_token })
    }
}

/// The fingerprints of the filters and orders listed lately: formatting and hashing them
/// cost a list about 15,000 instructions (BENCHMARKS.md, issue 21, item 43).
static FINGERPRINTS: paging::Fingerprints<(TicketFilter, TicketOrder)> = paging::Fingerprints::new();

/// The list's SELECT, one text for each shape of filters ([`PrebuiltShapes`]): building it
/// anew, its thirty columns and the filters, cost a list about 34,000 instructions.
static LISTS: PrebuiltShapes = PrebuiltShapes::new();

/// One list's query.
struct List<'a> {
    filter: &'a TicketFilter,
    order: TicketOrder,
    scope: &'a TicketScope,
    /// Where the previous page ended.
    after: Option<After>,
    limit: u64,
}

impl List<'_> {
    /// The SELECT, as sea-orm builds it.
    fn select(&self) -> Select<row::Entity> {
        use row::Column as C;
        let filter = self.filter;
        let mut q = row::Entity::find().limit(self.limit);
        if let Some(within) = within(self.scope) {
            q = q.filter(within);
        }
        if let Some(v) = filter.customer_id {
            q = q.filter(C::CustomerId.eq(v));
        }
        if !filter.statuses.is_empty() {
            q = q.filter(C::Status.is_in(filter.statuses.iter().copied()));
        }
        if let Some(v) = filter.severity {
            q = q.filter(C::Severity.eq(v));
        }
        if let Some(v) = filter.level {
            q = q.filter(C::PriorityLevel.eq(v));
        }
        if let Some(v) = filter.department_id {
            q = q.filter(C::DepartmentId.eq(v));
        }
        if let Some(v) = filter.assigned_agent_id {
            q = q.filter(C::AssignedAgentId.eq(v));
        }
        if let Some(after) = &self.after {
            q = q.filter(after.condition());
        }
        match self.order {
            TicketOrder::Priority => q.order_by_desc(C::PriorityScore).order_by_asc(C::CreatedAt).order_by_asc(C::Id),
            TicketOrder::CreateTime => q.order_by_desc(C::CreatedAt).order_by_desc(C::Id),
        }
    }

    /// What tells [`List::select`]'s text apart: which clauses it has, and how many
    /// statuses (at most the statuses there are, as the request's are distinct).
    fn shape(&self) -> u64 {
        let filter = self.filter;
        let scope = match self.scope {
            TicketScope::All => 0,
            TicketScope::Customer(_) => 1,
            TicketScope::Agent { .. } => 2,
        };
        let present = [
            filter.customer_id.is_some(),
            filter.severity.is_some(),
            filter.level.is_some(),
            filter.department_id.is_some(),
            filter.assigned_agent_id.is_some(),
            self.after.is_some(),
            self.order == TicketOrder::CreateTime,
        ];
        let flags = present.iter().enumerate().fold(0, |bits, (i, &on)| bits | (u64::from(on) << i));
        scope | flags << 2 | (filter.statuses.len() as u64) << 16
    }

    /// [`List::select`]'s values, in the order of their placeholders.
    fn values(&self) -> Vec<Value> {
        let filter = self.filter;
        let mut values = Vec::with_capacity(16);
        match *self.scope {
            TicketScope::All => {}
            TicketScope::Customer(c) => values.push(c.into()),
            TicketScope::Agent { agent_id, department_id } => values.extend([department_id.into(), agent_id.into()]),
        }
        values.extend(filter.customer_id.map(Value::from));
        values.extend(filter.statuses.iter().map(|&s| Value::from(s)));
        values.extend(filter.severity.map(Value::from));
        values.extend(filter.level.map(Value::from));
        values.extend(filter.department_id.map(Value::from));
        values.extend(filter.assigned_agent_id.map(Value::from));
        if let Some(after) = &self.after {
            values.extend(after.values());
        }
        values.push(self.limit.into());
        values
    }
}

/// Where the previous page ended: its last row's sort key.
enum After {
    Priority { score: i64, created: DateTime<Utc>, id: i64 },
    CreateTime { created: DateTime<Utc>, id: i64 },
}

impl After {
    /// The key a page token carries, for `order`.
    fn decode(order: TicketOrder, key: &[serde_json::Value]) -> AppResult<After> {
        Ok(match order {
            TicketOrder::Priority => After::Priority {
                score: paging::int(key, 0)?,
                created: paging::time(key, 1)?,
                id: paging::int(key, 2)?,
            },
            TicketOrder::CreateTime => After::CreateTime { created: paging::time(key, 0)?, id: paging::int(key, 1)? },
        })
    }

    /// The rows strictly after it.
    fn condition(&self) -> Condition {
        use row::Column as C;
        match *self {
            After::Priority { score, created, id } => Condition::any()
                .add(C::PriorityScore.lt(score))
                .add(Condition::all().add(C::PriorityScore.eq(score)).add(C::CreatedAt.gt(created)))
                .add(Condition::all().add(C::PriorityScore.eq(score)).add(C::CreatedAt.eq(created)).add(C::Id.gt(id))),
            After::CreateTime { created, id } => Condition::any()
                .add(C::CreatedAt.lt(created))
                .add(Condition::all().add(C::CreatedAt.eq(created)).add(C::Id.lt(id))),
        }
    }

    /// [`After::condition`]'s values, in the order of their placeholders.
    fn values(&self) -> Vec<Value> {
        match *self {
            After::Priority { score, created, id } => {
                vec![score.into(), score.into(), created.into(), score.into(), created.into(), id.into()]
            }
            After::CreateTime { created, id } => vec![created.into(), created.into(), id.into()],
        }
    }
}

fn time_value(t: &DateTime<Utc>) -> serde_json::Value {
    serde_json::Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The sort key of a row in `order`, for page tokens.
fn paging_key(order: TicketOrder) -> impl Fn(&row::Model) -> Vec<serde_json::Value> {
    move |r| match order {
        TicketOrder::Priority => {
            vec![r.priority_score.into(), time_value(&r.created_at), r.id.into()]
        }
        TicketOrder::CreateTime => vec![time_value(&r.created_at), r.id.into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Level, Severity, Status};

    /// Every shape of list sends the SELECT sea-orm builds for it, with its values in
    /// place, and no two texts share a shape.
    #[test]
    fn a_list_sends_the_select_built_for_its_filters() {
        let created = "2026-12-07T10:11:12.123456Z".parse().unwrap();
        let scopes = [TicketScope::All, TicketScope::Customer(3), TicketScope::Agent { agent_id: 4, department_id: 5 }];
        let statuses = [vec![], vec![Status::Open], vec![Status::Open, Status::InProgress, Status::Resolved]];
        let mut texts = std::collections::HashMap::new();
        for scope in &scopes {
            for (i, statuses) in statuses.iter().enumerate() {
                for bits in 0..32u32 {
                    let on = |b: u32| bits & (1 << b) != 0;
                    let filter = TicketFilter {
                        customer_id: on(0).then_some(11),
                        statuses: statuses.clone(),
                        severity: on(1).then_some(Severity::Major),
                        level: on(2).then_some(Level::P2),
                        department_id: on(3).then_some(12),
                        assigned_agent_id: on(4).then_some(13),
                    };
                    for order in [TicketOrder::Priority, TicketOrder::CreateTime] {
                        let afters = match order {
                            TicketOrder::Priority => [None, Some(After::Priority { score: 70, created, id: 9 })],
                            TicketOrder::CreateTime => [None, Some(After::CreateTime { created, id: 9 })],
                        };
                        for after in afters {
                            let list = List { filter: &filter, order, scope, after, limit: 51 + i as u64 };
                            let build = || list.select().into_query();
                            assert!(LISTS.is_rebuilt_by(list.shape(), list.values(), build), "{scope:?} {filter:?}");
                            let text = sea_orm::DbBackend::MySql.build(&build()).sql;
                            assert_eq!(texts.insert(list.shape(), text.clone()).unwrap_or(text.clone()), text);
                        }
                    }
                }
            }
        }
        assert_eq!(texts.len(), 3 * 3 * 32 * 2 * 2);
    }
}
