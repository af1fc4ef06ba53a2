//! A ticket's history in `ticket_history`: written in the transaction of each change,
//! beside the change's event (see [`crate::domain::history`] for what an entry is).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use super::entity::ticket_history as row;
use super::prebuilt::PrebuiltInsert;
use super::txn::Txn;
use super::{Repo, paging, ticket_rows};
use crate::domain::access::TicketScope;
use crate::domain::history::{Change, Entry};
use crate::domain::{Page, PageRequest};
use crate::error::AppResult;

/// Writes `entries`, each a change to the ticket it names, in order, in one INSERT.
pub(crate) async fn write(txn: &Txn, entries: Vec<(i64, Change)>, now: DateTime<Utc>) -> AppResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    INSERT.exec(txn, rows(entries, now)?).await?;
    Ok(())
}

/// The rows of `entries`, written at `now`.
pub(super) fn rows(entries: Vec<(i64, Change)>, now: DateTime<Utc>) -> AppResult<Vec<row::ActiveModel>> {
    let mut rows = Vec::with_capacity(entries.len());
    for (ticket_id, change) in entries {
        rows.push(row::ActiveModel {
            ticket_id: Set(ticket_id),
            created_at: Set(now),
            public: Set(change.public()),
            kind: Set(change.kind().to_owned()),
            detail: Set(change.encode()?),
            ..Default::default()
        });
    }
    Ok(rows)
}

/// The entries' INSERT, built once for each number of entries ([`PrebuiltInsert`]).
pub(super) static INSERT: PrebuiltInsert = PrebuiltInsert::new();

impl Repo {
    /// A page of a ticket's history, oldest first; the customer's own entries only when
    /// the scope does not see internal ones.
    #[tracing::instrument(skip_all, fields(ticket_id))]
    pub async fn ticket_history(
        &self,
        ticket_id: i64,
        page: &PageRequest,
        scope: &TicketScope,
    ) -> AppResult<Page<Entry>> {
        let t = ticket_rows::read(&self.db, ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let everything = scope.sees_internal();
        let fp = paging::fingerprint(&(ticket_id, everything));
        let mut q = row::Entity::find()
            .filter(row::Column::TicketId.eq(ticket_id))
            .order_by_asc(row::Column::Id)
            .limit(page.size + 1);
        if !everything {
            q = q.filter(row::Column::Public.eq(true));
        }
        if let Some(token) = &page.token {
            q = q.filter(row::Column::Id.gt(paging::int(&paging::decode(token, &fp)?, 0)?));
        }
        let entries = q
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| Ok(Entry { id: r.id, at: r.created_at, change: Change::decode(&r.detail)? }))
            .collect::<AppResult<Vec<_>>>()?;
        let (items, next_token) = paging::page(entries, page.size, |e| vec![Value::from(e.id)], &fp);
        Ok(Page { items, next_token })
    }
}
