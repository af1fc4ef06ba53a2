//! Quick replies, the values their placeholders take for a ticket, and the past replies
//! suggestions are ranked from.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;

use super::entity::{agent, customer, department, log, quick_reply as row};
use super::idempotency::IdempotencyKey;
use super::{Repo, check_version, found, paging, ticket_rows};
use crate::domain::access::TicketScope;
use crate::domain::reply::{DraftContext, NewQuickReply, PastReply, QuickReply, QuickReplyPatch};
use crate::domain::{Page, PageRequest, SenderKind, Visibility};
use crate::error::{AppError, AppResult};

const TAKEN: &str = "this department already has a quick reply with this title; choose another title";
/// How many similar resolved tickets suggestions are drawn from.
const SIMILAR_TICKETS: u64 = 50;

fn to_domain(m: row::Model) -> QuickReply {
    QuickReply {
        id: m.id,
        department_id: m.department_id,
        title: m.title,
        body: m.body,
        created_at: m.created_at,
        updated_at: m.updated_at,
        version: m.version,
    }
}

impl Repo {
    /// Saves a quick reply; a title the department already has is ALREADY_EXISTS.
    #[tracing::instrument(skip_all)]
    pub async fn create_quick_reply(
        &self,
        new: &NewQuickReply,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> AppResult<QuickReply> {
        if let Some(id) = self.replayed(key).await? {
            return self.get_quick_reply(id).await;
        }
        let txn = self.begin().await?;
        let d = new.department_id;
        found(department::Entity::find_by_id(d).one(&txn).await?, "department", d)?;
        let am = row::ActiveModel {
            department_id: Set(d),
            title: Set(new.title.clone()),
            body: Set(new.body.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
            ..Default::default()
        };
        let id = row::Entity::insert(am)
            .exec(&txn)
            .await
            .map_err(|e| AppError::unique_violation(e, "quick_reply.title", TAKEN))?
            .last_insert_id;
        let id = self.commit_idempotent(txn, key, id, now).await?;
        self.get_quick_reply(id).await
    }

    /// One quick reply.
    #[tracing::instrument(skip_all, fields(quick_reply_id = id))]
    pub async fn get_quick_reply(&self, id: i64) -> AppResult<QuickReply> {
        Ok(to_domain(found(row::Entity::find_by_id(id).one(&self.db).await?, "quick reply", id)?))
    }

    /// A page of a department's quick replies by title.
    pub async fn list_quick_replies(&self, department_id: i64, page: &PageRequest) -> AppResult<Page<QuickReply>> {
        let fp = paging::fingerprint(&("quick replies", department_id));
        let mut q = row::Entity::find()
            .filter(row::Column::DepartmentId.eq(department_id))
            .order_by_asc(row::Column::Title)
            .order_by_asc(row::Column::Id)
            .limit(page.size + 1);
        if let Some(t) = &page.token {
            let key = paging::decode(t, &fp)?;
            let title = key.first().and_then(Value::as_str).map(str::to_owned);
            let title = title.ok_or_else(|| AppError::invalid("page_token", "is malformed"))?;
            let id = paging::int(&key, 1)?;
            q = q.filter(
                Condition::any()
                    .add(row::Column::Title.gt(title.clone()))
                    .add(Condition::all().add(row::Column::Title.eq(title)).add(row::Column::Id.gt(id))),
            );
        }
        let rows = q.all(&self.db).await?;
        let (rows, next_token) =
            paging::page(rows, page.size, |r| vec![Value::from(r.title.clone()), Value::from(r.id)], &fp);
        Ok(Page { items: rows.into_iter().map(to_domain).collect(), next_token })
    }

    /// Applies a patch under optimistic concurrency.
    #[tracing::instrument(skip_all, fields(quick_reply_id = id))]
    pub async fn update_quick_reply(
        &self,
        id: i64,
        patch: &QuickReplyPatch,
        etag: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<QuickReply> {
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "quick reply", id)?;
        check_version("quick reply", etag, current.version)?;
        let version = current.version + 1;
        let mut am = current.into_active_model();
        if let Some(v) = &patch.title {
            am.title = Set(v.clone());
        }
        if let Some(v) = &patch.body {
            am.body = Set(v.clone());
        }
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await.map_err(|e| AppError::unique_violation(e, "quick_reply.title", TAKEN))?;
        txn.commit().await?;
        Ok(to_domain(m))
    }

    /// Deletes a quick reply, if it still has `etag` when one is given.
    #[tracing::instrument(skip_all, fields(quick_reply_id = id))]
    pub async fn delete_quick_reply(&self, id: i64, etag: Option<i64>) -> AppResult<()> {
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "quick reply", id)?;
        check_version("quick reply", etag, current.version)?;
        row::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// A quick reply and the values of its placeholders for ticket `ticket_id` (in
    /// `scope`); `drafter` is the agent drafting, if the caller is one. The reply must be
    /// the ticket's department's.
    #[tracing::instrument(skip_all, fields(ticket_id, quick_reply_id))]
    pub async fn draft_context(
        &self,
        ticket_id: i64,
        quick_reply_id: i64,
        drafter: Option<i64>,
        scope: &TicketScope,
    ) -> AppResult<(QuickReply, DraftContext)> {
        let t = ticket_rows::read(&self.db, ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let reply = self.get_quick_reply(quick_reply_id).await?;
        if reply.department_id != t.department_id {
            return Err(AppError::FailedPrecondition(format!(
                "quick reply {quick_reply_id} belongs to department {}, ticket {ticket_id} to department {}; \
                 use one of the ticket's department",
                reply.department_id, t.department_id
            )));
        }
        let c = found(customer::Entity::find_by_id(t.customer_id).one(&self.db).await?, "customer", t.customer_id)?;
        let d =
            found(department::Entity::find_by_id(t.department_id).one(&self.db).await?, "department", t.department_id)?;
        let agent = match drafter.or(t.assigned_agent_id) {
            Some(a) => agent::Entity::find_by_id(a).one(&self.db).await?,
            None => None,
        };
        let (agent_first_name, agent_last_name) = agent.map(|a| (a.first_name, a.last_name)).unwrap_or_default();
        let context = DraftContext {
            customer_first_name: c.first_name,
            customer_last_name: c.last_name,
            agent_first_name,
            agent_last_name,
            ticket_id,
            ticket_subject: t.subject,
            department_name: d.name,
        };
        Ok((reply, context))
    }

    /// The first public agent replies of the resolved tickets in `scope` most similar to
    /// ticket `ticket_id`, with their tickets' similarity and whether the customer wrote
    /// again after them.
    #[tracing::instrument(skip_all, fields(ticket_id))]
    pub async fn past_replies(&self, ticket_id: i64, scope: &TicketScope) -> AppResult<Vec<PastReply>> {
        let t = ticket_rows::read(&self.db, ticket_id).await?;
        ticket_rows::check_scope(scope, &t)?;
        let terms = crate::domain::search::similarity_terms(&format!("{}\n{}", t.subject, t.description));
        let similar = self.similar_resolved(&terms, ticket_id, scope, SIMILAR_TICKETS).await?;
        if similar.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = similar.iter().map(|s| s.0).collect();
        let public = || {
            log::Entity::find()
                .select_only()
                .column(log::Column::TicketId)
                .column_as(log::Column::Id.min(), "first")
                .column_as(log::Column::Id.max(), "last")
                .filter(log::Column::TicketId.is_in(ids.iter().copied()))
                .filter(log::Column::Visibility.eq(Visibility::Public))
                .group_by(log::Column::TicketId)
        };
        let first_replies: Vec<(i64, i64, i64)> =
            public().filter(log::Column::SenderKind.eq(SenderKind::Agent)).into_tuple().all(&self.db).await?;
        let last_customer: HashMap<i64, i64> = public()
            .filter(log::Column::SenderKind.eq(SenderKind::Customer))
            .into_tuple::<(i64, i64, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|(ticket, _, last)| (ticket, last))
            .collect();
        let reply_ids: Vec<i64> = first_replies.iter().map(|r| r.1).collect();
        let mut bodies: HashMap<i64, String> = log::Entity::find()
            .select_only()
            .column(log::Column::Id)
            .column(log::Column::Body)
            .filter(log::Column::Id.is_in(reply_ids))
            .into_tuple::<(i64, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let first: HashMap<i64, i64> = first_replies.into_iter().map(|(ticket, first, _)| (ticket, first)).collect();
        let mut out = Vec::with_capacity(similar.len());
        for (ticket_id, relevance) in similar {
            let Some(&reply) = first.get(&ticket_id) else { continue };
            let Some(body) = bodies.remove(&reply) else { continue };
            let followed_up = last_customer.get(&ticket_id).is_some_and(|&last| last > reply);
            out.push(PastReply { ticket_id, relevance, body, followed_up });
        }
        Ok(out)
    }
}
