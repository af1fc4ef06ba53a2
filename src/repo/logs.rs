//! Messages on tickets and their attachments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, SelectStatement},
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::entity::{agent, attachment, department, log as row, ticket};
use super::idempotency::IdempotencyKey;
use super::prebuilt::{Prebuilt, PrebuiltInsert};
use super::ticket_rows;
use super::txn::Txn;
use super::{Repo, events, found, paging};
use crate::domain::access::TicketScope;
use crate::domain::event::EventKind;
use crate::domain::history;
use crate::domain::ticket::{Command, Message};
use crate::domain::*;
use crate::error::AppResult;

type MetaRow = (i64, i64, String, String, i64, String);

fn to_domain(m: row::Model, attachments: Vec<AttachmentMeta>, names: &HashMap<i64, String>) -> AppResult<Log> {
    let sender_name = match (m.sender_kind, m.sender_id) {
        (SenderKind::Agent, Some(id)) => names.get(&id).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    Ok(Log {
        id: m.id,
        ticket_id: m.ticket_id,
        sender_kind: m.sender_kind,
        sender_id: m.sender_id,
        sender_name,
        body: m.body,
        visibility: m.visibility,
        delivery_status: m.delivery_status,
        attachments,
        created_at: m.created_at,
    })
}

/// The most messages one MarkRead moves (a later call moves the rest).
const MAX_MARKED: u64 = 1_000;

/// What a new message on ticket `t` needs besides the ticket, in one statement: the
/// department's conversation mode; who wrote the latest public message, if anyone (the
/// service's own messages, such as call records, are nobody's turn); and, when an agent
/// sends it, the agent's name (NOT_FOUND when there is no such agent).
async fn message_context(
    txn: &Txn,
    t: &ticket::Model,
    new: &NewLog,
) -> AppResult<(ConversationMode, Option<SenderKind>, String)> {
    type Row = (ConversationMode, Option<SenderKind>, Option<String>, Option<String>);
    let agent = (new.sender_kind == SenderKind::Agent).then_some(new.sender_id);
    let (ticket_id, department_id, agent_or_0) = (t.id, t.department_id, agent.unwrap_or(0));
    let values = message_context_values(ticket_id, department_id, agent_or_0);
    let row = MESSAGE_CONTEXT.one(txn, values, || message_context_select(ticket_id, department_id, agent_or_0)).await?;
    let row = row.map(|r| r.try_get_many_by_index::<Row>()).transpose()?;
    let (mode, last_public, first, last) = found(row, "department", t.department_id)?;
    let sender_name = match agent {
        Some(id) => {
            let (first, last) = found(first.zip(last), "agent", id)?;
            format!("{first} {last}")
        }
        None => String::new(),
    };
    Ok((mode, last_public, sender_name))
}

static MESSAGE_CONTEXT: Prebuilt = Prebuilt::new();

/// A message's INSERT, built once ([`PrebuiltInsert`]).
static INSERT: PrebuiltInsert = PrebuiltInsert::new();

/// The row of a new message, sent at `now`.
fn message_row(new: &NewLog, now: DateTime<Utc>) -> row::ActiveModel {
    row::ActiveModel {
        ticket_id: Set(new.ticket_id),
        sender_kind: Set(new.sender_kind),
        sender_id: Set(Some(new.sender_id)),
        body: Set(new.body.clone()),
        visibility: Set(new.visibility),
        delivery_status: Set(DeliveryStatus::Sent),
        created_at: Set(now),
        ..Default::default()
    }
}

/// [`message_context`]'s SELECT, built once ([`Prebuilt`]); `agent_or_0` is the sending
/// agent, or 0 (no agent) when a customer sends.
fn message_context_select(ticket_id: i64, department_id: i64, agent_or_0: i64) -> SelectStatement {
    let last_public = Expr::cust_with_values(
        "(SELECT sender_kind FROM logs WHERE ticket_id = ? AND visibility = ? AND sender_kind <> ? \
         ORDER BY id DESC LIMIT 1)",
        [sea_orm::Value::from(ticket_id), Visibility::Public.into(), SenderKind::System.into()],
    );
    let name =
        |column: &str| Expr::cust_with_values(format!("(SELECT {column} FROM agents WHERE id = ?)"), [agent_or_0]);
    department::Entity::find_by_id(department_id)
        .select_only()
        .column(department::Column::ConversationMode)
        .column_as(last_public, "last_public")
        .column_as(name("first_name"), "first_name")
        .column_as(name("last_name"), "last_name")
        .limit(1)
        .into_query()
}

/// [`message_context_select`]'s values, in the order of their placeholders.
fn message_context_values(ticket_id: i64, department_id: i64, agent_or_0: i64) -> Vec<sea_orm::Value> {
    vec![
        ticket_id.into(),
        Visibility::Public.into(),
        SenderKind::System.into(),
        agent_or_0.into(),
        agent_or_0.into(),
        department_id.into(),
        1u64.into(),
    ]
}

/// Writes a public message of the service's own on ticket `t` (a call's record, a
/// handover), with its MESSAGE_ADDED event and history entry. It is nobody's turn and
/// changes nothing else on the ticket.
pub(crate) async fn system_message(txn: &Txn, t: &ticket::Model, body: String, now: DateTime<Utc>) -> AppResult<()> {
    let am = row::ActiveModel {
        ticket_id: Set(t.id),
        sender_kind: Set(SenderKind::System),
        sender_id: Set(None),
        body: Set(body),
        visibility: Set(Visibility::Public),
        delivery_status: Set(DeliveryStatus::Sent),
        created_at: Set(now),
        ..Default::default()
    };
    let log_id = row::Entity::insert(am).exec(txn).await?.last_insert_id;
    let mut batch = events::Batch::new(now);
    batch.change(EventKind::MessageAdded, Some(t), t, Some(log_id))?;
    let entry = history::Change::Message {
        log_id,
        sender: SenderKind::System,
        sender_id: None,
        visibility: Visibility::Public,
    };
    batch.entry(t.id, entry);
    batch.write(txn).await
}

/// Stores a message's attachments; returns their metadata.
async fn insert_attachments(txn: &Txn, log_id: i64, uploads: &[NewAttachment]) -> AppResult<Vec<AttachmentMeta>> {
    let mut attachments = Vec::with_capacity(uploads.len());
    for a in uploads {
        let mut meta = AttachmentMeta {
            id: 0,
            file_name: a.file_name.clone(),
            content_type: a.content_type.clone(),
            size_bytes: a.content.len() as i64,
            sha256: hex_sha256(&a.content),
        };
        let am = attachment::ActiveModel {
            log_id: Set(log_id),
            file_name: Set(meta.file_name.clone()),
            content_type: Set(meta.content_type.clone()),
            size_bytes: Set(meta.size_bytes),
            sha256: Set(meta.sha256.clone()),
            content: Set(a.content.clone()),
            ..Default::default()
        };
        meta.id = attachment::Entity::insert(am).exec(txn).await?.last_insert_id;
        attachments.push(meta);
    }
    Ok(attachments)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Repo {
    /// Adds a message. The sender must be the ticket's customer or an existing agent; a
    /// CLOSED ticket takes no messages. A public message becomes the ticket's
    /// `last_response`; the first public agent reply moves OPEN to IN_PROGRESS and stamps
    /// the first-response time; a customer reply reopens a RESOLVED ticket.
    #[tracing::instrument(skip_all, fields(ticket_id = new.ticket_id))]
    pub async fn add_log(
        &self,
        new: &NewLog,
        key: Option<&IdempotencyKey>,
        scope: &TicketScope,
        now: DateTime<Utc>,
    ) -> AppResult<Log> {
        if let Some(id) = self.replayed(key).await? {
            return self.get_log(id).await;
        }
        let txn = self.begin().await?;
        let t = ticket_rows::lock(&txn, new.ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let t = match new.sender_kind {
            SenderKind::Customer => super::assignment::hand_over_if_off(&txn, t, &self.rules, now).await?,
            _ => t,
        };
        let (mode, last_public, sender_name) = message_context(&txn, &t, new).await?;
        let message = Message {
            sender: new.sender_kind,
            sender_id: new.sender_id,
            visibility: new.visibility,
            body: new.body.clone(),
            mode,
            last_public,
        };
        // The ticket's event and the message's are written together, after the message.
        let mut batch = events::Batch::new(now);
        let (after, _) = self.decide_into(&txn, t, &Command::Message(message), &mut batch).await?;
        let log_id = INSERT.exec_one(&txn, message_row(new, now)).await?;
        let attachments = insert_attachments(&txn, log_id, &new.attachments).await?;
        super::search::index_message(&txn, new.ticket_id, new.visibility, &new.body).await?;
        batch.change(EventKind::MessageAdded, Some(&after), &after, Some(log_id))?;
        let message = history::Change::Message {
            log_id,
            sender: new.sender_kind,
            sender_id: Some(new.sender_id),
            visibility: new.visibility,
        };
        batch.entry(new.ticket_id, message);
        batch.write(&txn).await?;
        let id = self.commit_idempotent(txn, key, log_id, now).await?;
        if id != log_id {
            // A concurrent call with the same request id won: answer with its message.
            return self.get_log(id).await;
        }
        // The message as stored, from what was written (no read-back round trips).
        Ok(Log {
            id: log_id,
            ticket_id: new.ticket_id,
            sender_kind: new.sender_kind,
            sender_id: Some(new.sender_id),
            sender_name,
            body: new.body.clone(),
            visibility: new.visibility,
            delivery_status: DeliveryStatus::Sent,
            attachments,
            created_at: now,
        })
    }

    /// Messages by id, with their attachments' metadata, in two queries.
    pub(crate) async fn logs_by_ids(&self, ids: &[i64]) -> AppResult<Vec<Log>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = row::Entity::find().filter(row::Column::Id.is_in(ids.iter().copied())).all(&self.db).await?;
        let mut metas = self.attachment_metas(ids).await?;
        let names = self.agent_names(&rows).await?;
        rows.into_iter()
            .map(|r| {
                let a = metas.remove(&r.id).unwrap_or_default();
                to_domain(r, a, &names)
            })
            .collect()
    }

    /// One message with its attachments' metadata.
    pub async fn get_log(&self, id: i64) -> AppResult<Log> {
        let m = found(row::Entity::find_by_id(id).one(&self.db).await?, "log", id)?;
        let mut metas = self.attachment_metas(&[id]).await?;
        let names = self.agent_names(std::slice::from_ref(&m)).await?;
        to_domain(m, metas.remove(&id).unwrap_or_default(), &names)
    }

    /// The display names of the agents who wrote `rows`, in one query.
    async fn agent_names(&self, rows: &[row::Model]) -> AppResult<HashMap<i64, String>> {
        let mut ids: Vec<i64> =
            rows.iter().filter(|r| r.sender_kind == SenderKind::Agent).filter_map(|r| r.sender_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Vec<(i64, String, String)> = agent::Entity::find()
            .select_only()
            .columns([agent::Column::Id, agent::Column::FirstName, agent::Column::LastName])
            .filter(agent::Column::Id.is_in(ids))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(found.into_iter().map(|(id, first, last)| (id, format!("{first} {last}"))).collect())
    }

    async fn attachment_metas(
        &self,
        log_ids: &[i64],
    ) -> AppResult<std::collections::HashMap<i64, Vec<AttachmentMeta>>> {
        use attachment::Column as C;
        let mut by_log = std::collections::HashMap::new();
        if log_ids.is_empty() {
            return Ok(by_log);
        }
        let rows: Vec<MetaRow> = attachment::Entity::find()
            .select_only()
            .columns([C::Id, C::LogId, C::FileName, C::ContentType, C::SizeBytes, C::Sha256])
            .filter(C::LogId.is_in(log_ids.iter().copied()))
            .order_by_asc(C::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        for (id, log_id, file_name, content_type, size_bytes, sha256) in rows {
            by_log.entry(log_id).or_insert_with(Vec::new).push(AttachmentMeta {
                id,
                file_name,
                content_type,
                size_bytes,
                sha256,
            });
        }
        Ok(by_log)
    }

    /// A page of a ticket's messages, oldest first: one query for the messages and one for
    /// their attachments' metadata.
    #[tracing::instrument(skip_all, fields(ticket_id))]
    pub async fn list_logs(
        &self,
        ticket_id: i64,
        include_internal: bool,
        page: &PageRequest,
        scope: &TicketScope,
    ) -> AppResult<Page<Log>> {
        let t = ticket_rows::read(&self.db, ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let include_internal = include_internal && scope.sees_internal();
        let fp = paging::fingerprint(&(ticket_id, include_internal));
        let mut q = row::Entity::find()
            .filter(row::Column::TicketId.eq(ticket_id))
            .order_by_asc(row::Column::Id)
            .limit(page.size + 1);
        if !include_internal {
            q = q.filter(row::Column::Visibility.eq(Visibility::Public));
        }
        if let Some(t) = &page.token {
            q = q.filter(row::Column::Id.gt(paging::int(&paging::decode(t, &fp)?, 0)?));
        }
        let rows = q.all(&self.db).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut metas = self.attachment_metas(&ids).await?;
        let names = self.agent_names(&rows).await?;
        let logs = rows
            .into_iter()
            .map(|r| {
                let a = metas.remove(&r.id).unwrap_or_default();
                to_domain(r, a, &names)
            })
            .collect::<AppResult<Vec<_>>>()?;
        let weight = |l: &Log| {
            l.body.len()
                + 256
                + l.attachments.iter().map(|a| a.file_name.len() + a.content_type.len() + 128).sum::<usize>()
        };
        let (items, next_token) = paging::page_within(logs, page.size, |l| vec![Value::from(l.id)], &fp, weight);
        Ok(Page { items, next_token })
    }

    /// One attachment with its bytes.
    #[tracing::instrument(skip_all, fields(attachment_id = id))]
    pub async fn get_attachment(&self, id: i64, scope: &TicketScope) -> AppResult<(AttachmentMeta, Vec<u8>)> {
        let a = found(attachment::Entity::find_by_id(id).one(&self.db).await?, "attachment", id)?;
        let log = found(row::Entity::find_by_id(a.log_id).one(&self.db).await?, "attachment", id)?;
        let t = found(ticket_rows::one(ticket::Entity::find_by_id(log.ticket_id), &self.db).await?, "attachment", id)?;
        if !scope.admits(t.customer_id, t.department_id, t.assigned_agent_id)
            || (log.visibility != Visibility::Public && !scope.sees_internal())
        {
            return Err(scope.refusal("attachment", id).into());
        }
        let meta = AttachmentMeta {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
        };
        Ok((meta, a.content))
    }

    /// Marks the other side's messages on a ticket as READ, up to `up_to` (all if None).
    #[tracing::instrument(skip_all, fields(ticket_id))]
    pub async fn mark_read(
        &self,
        ticket_id: i64,
        up_to: Option<i64>,
        reader: SenderKind,
        scope: &TicketScope,
        now: DateTime<Utc>,
    ) -> AppResult<u64> {
        use row::Column as C;
        let t = ticket_rows::read(&self.db, ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let written_by = match reader {
            SenderKind::Customer => SenderKind::Agent,
            _ => SenderKind::Customer,
        };
        let mut q = row::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(C::TicketId.eq(ticket_id))
            .filter(C::SenderKind.eq(written_by))
            .filter(C::DeliveryStatus.ne(DeliveryStatus::Read))
            .order_by_asc(C::Id)
            .limit(MAX_MARKED);
        if reader == SenderKind::Customer {
            q = q.filter(C::Visibility.eq(Visibility::Public));
        }
        if let Some(id) = up_to {
            q = q.filter(C::Id.lte(id));
        }
        let ids: Vec<i64> = q.into_tuple().all(&self.db).await?;
        self.advance_delivery(ticket_id, &ids, DeliveryStatus::Read, now).await
    }

    /// Moves messages `ids` of a ticket on to `to` (RECEIVED or READ; never back), each
    /// with a MESSAGE_UPDATED event so that its sender sees it live. Returns how many moved.
    pub async fn advance_delivery(
        &self,
        ticket_id: i64,
        ids: &[i64],
        to: DeliveryStatus,
        now: DateTime<Utc>,
    ) -> AppResult<u64> {
        use row::Column as C;
        if ids.is_empty() {
            return Ok(0);
        }
        let txn = self.begin().await?;
        // Events of one ticket are written under its row lock, so they number in order.
        let t = ticket_rows::lock(&txn, ticket_id).await?;
        let behind: Vec<DeliveryStatus> = DeliveryStatus::ALL.iter().copied().filter(|s| *s < to).collect();
        let moving: Vec<i64> = row::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(C::TicketId.eq(ticket_id))
            .filter(C::Id.is_in(ids.iter().copied()))
            .filter(C::DeliveryStatus.is_in(behind))
            .into_tuple()
            .all(&txn)
            .await?;
        if moving.is_empty() {
            return Ok(0);
        }
        row::Entity::update_many()
            .col_expr(C::DeliveryStatus, Expr::value(to))
            .filter(C::Id.is_in(moving.iter().copied()))
            .exec(&txn)
            .await?;
        for id in &moving {
            events::record_unchanged(&txn, EventKind::MessageUpdated, &t, Some(*id), now).await?;
        }
        self.commit(txn).await?;
        Ok(moving.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_inserted_with_the_statement_built_for_its_row() {
        for (sender_kind, visibility) in
            [(SenderKind::Customer, Visibility::Public), (SenderKind::Agent, Visibility::Internal)]
        {
            let new = NewLog {
                ticket_id: 7,
                sender_kind,
                sender_id: 3,
                body: "It works again.".into(),
                visibility,
                attachments: Vec::new(),
            };
            assert!(INSERT.is_rebuilt_by(&[message_row(&new, Utc::now())]));
        }
    }

    #[test]
    fn a_message_context_sends_the_select_built_for_its_values() {
        for (ticket_id, department_id, agent_or_0) in [(7, 2, 0), (1 << 40, 9, 31)] {
            let values = message_context_values(ticket_id, department_id, agent_or_0);
            assert!(MESSAGE_CONTEXT.is_rebuilt_by(values, || message_context_select(
                ticket_id,
                department_id,
                agent_or_0
            )));
        }
    }
}
