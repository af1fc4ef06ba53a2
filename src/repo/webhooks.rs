//! Webhook subscriptions, their cursors and their deliveries.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use serde_json::Value;

use super::entity::{webhook as row, webhook_delivery as delivery};
use super::idempotency::IdempotencyKey;
use super::{Repo, check_version, found, paging};
use crate::domain::event::EventKind;
use crate::domain::webhook::{Delivery, DeliveryState, NewWebhook, Webhook, WebhookPatch};
use crate::domain::{Page, PageRequest};
use crate::error::{AppError, AppResult};

fn kinds_text(kinds: &[EventKind]) -> String {
    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
}

fn to_domain(m: row::Model) -> Webhook {
    Webhook {
        id: m.id,
        url: m.url,
        kinds: m.event_kinds.split(',').filter_map(EventKind::parse).collect(),
        department_id: m.department_id,
        active: m.active,
        disabled_reason: m.disabled_reason,
        cursor: m.delivered_through,
        created_at: m.created_at,
        updated_at: m.updated_at,
        version: m.version,
    }
}

fn state_text(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Retrying => "RETRYING",
        DeliveryState::Succeeded => "SUCCEEDED",
        DeliveryState::Failed => "FAILED",
    }
}

fn delivery_to_domain(m: delivery::Model) -> Delivery {
    Delivery {
        id: m.id,
        webhook_id: m.webhook_id,
        sequence: m.sequence,
        state: match m.state.as_str() {
            "SUCCEEDED" => DeliveryState::Succeeded,
            "FAILED" => DeliveryState::Failed,
            _ => DeliveryState::Retrying,
        },
        attempts: m.attempts,
        last_status_code: m.last_status_code,
        last_error: m.last_error,
        next_attempt_at: m.next_attempt_at,
        manual: m.manual,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// An attempt's result as the delivery records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The subscription.
    pub webhook_id: i64,
    /// The event.
    pub sequence: i64,
    /// How the delivery stands after it.
    pub state: DeliveryState,
    /// The HTTP status (0: none).
    pub status: i32,
    /// The error, empty on success.
    pub error: String,
    /// When to try again, while retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// A RedeliverWebhookEvent.
    pub manual: bool,
}

impl Repo {
    /// Saves a subscription with its secret as stored (sealed: [`crate::auth::sealing`]);
    /// its cursor starts at `after_sequence`, or at the latest sequence (deliver from the
    /// next event).
    pub async fn create_webhook(
        &self,
        new: &NewWebhook,
        secret: &str,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> AppResult<(Webhook, String)> {
        if let Some(id) = self.replayed(key).await? {
            return self.webhook_with_secret(id).await;
        }
        let cursor = match new.after_sequence {
            Some(s) => self.check_replayable(s).await?,
            None => self.latest_sequence().await?,
        };
        let txn = self.begin().await?;
        let am = row::ActiveModel {
            url: Set(new.url.clone()),
            event_kinds: Set(kinds_text(&new.kinds)),
            department_id: Set(new.department_id),
            active: Set(new.active),
            disabled_reason: Set(String::new()),
            secret: Set(secret.to_owned()),
            delivered_through: Set(cursor),
            next_attempt_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
            ..Default::default()
        };
        let id = row::Entity::insert(am).exec(&txn).await?.last_insert_id;
        let id = self.commit_idempotent(txn, key, id, now).await?;
        self.webhook_with_secret(id).await
    }

    /// A subscription and its secret as stored.
    pub async fn webhook_with_secret(&self, id: i64) -> AppResult<(Webhook, String)> {
        let m = found(row::Entity::find_by_id(id).one(&self.db).await?, "webhook", id)?;
        let secret = m.secret.clone();
        Ok((to_domain(m), secret))
    }

    /// One subscription.
    pub async fn get_webhook(&self, id: i64) -> AppResult<Webhook> {
        Ok(self.webhook_with_secret(id).await?.0)
    }

    /// A page of subscriptions by id.
    pub async fn list_webhooks(&self, page: &PageRequest) -> AppResult<Page<Webhook>> {
        let fp = paging::fingerprint(&"webhooks");
        let mut q = row::Entity::find().order_by_asc(row::Column::Id).limit(page.size + 1);
        if let Some(t) = &page.token {
            q = q.filter(row::Column::Id.gt(paging::int(&paging::decode(t, &fp)?, 0)?));
        }
        let rows = q.all(&self.db).await?;
        let (rows, next_token) = paging::page(rows, page.size, |r| vec![Value::from(r.id)], &fp);
        Ok(Page { items: rows.into_iter().map(to_domain).collect(), next_token })
    }

    /// Applies a patch under optimistic concurrency; activating clears the reason it was
    /// disabled and any wait before the next attempt.
    pub async fn update_webhook(
        &self,
        id: i64,
        patch: &WebhookPatch,
        etag: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<Webhook> {
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "webhook", id)?;
        check_version("webhook", etag, current.version)?;
        let version = current.version + 1;
        let mut am = current.into_active_model();
        if let Some(v) = &patch.url {
            am.url = Set(v.clone());
        }
        if let Some(v) = &patch.kinds {
            am.event_kinds = Set(kinds_text(v));
        }
        if let Some(v) = patch.department_id {
            am.department_id = Set(v);
        }
        if let Some(v) = patch.active {
            am.active = Set(v);
            if v {
                am.disabled_reason = Set(String::new());
                am.next_attempt_at = Set(None);
            }
        }
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await?;
        txn.commit().await?;
        Ok(to_domain(m))
    }

    /// Deletes a subscription and its deliveries.
    pub async fn delete_webhook(&self, id: i64) -> AppResult<()> {
        let txn = self.begin().await?;
        found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "webhook", id)?;
        delivery::Entity::delete_many().filter(delivery::Column::WebhookId.eq(id)).exec(&txn).await?;
        row::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Moves a subscription's cursor to `after` (which the log must still hold the next
    /// event of) and lets it be tried at once.
    pub async fn replay_webhook(&self, id: i64, after: i64, now: DateTime<Utc>) -> AppResult<Webhook> {
        let after = self.check_replayable(after).await?;
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "webhook", id)?;
        let version = current.version + 1;
        let mut am = current.into_active_model();
        am.delivered_through = Set(after);
        am.next_attempt_at = Set(None);
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await?;
        txn.commit().await?;
        Ok(to_domain(m))
    }

    /// `after` if delivery can resume after it: the log still holds the next event and
    /// `after` is not past the latest.
    async fn check_replayable(&self, after: i64) -> AppResult<i64> {
        let (pruned, latest) = (self.pruned_through().await?, self.latest_sequence().await?);
        if after < pruned || after > latest {
            return Err(AppError::OutOfRange(format!(
                "after_sequence {after} is outside the event log, which holds the events after {pruned} through {latest}"
            )));
        }
        Ok(after)
    }

    /// Active subscriptions due for delivery at `now`, with their secrets as stored.
    pub async fn due_webhooks(&self, now: DateTime<Utc>) -> AppResult<Vec<(Webhook, String)>> {
        let due = Condition::any().add(row::Column::NextAttemptAt.is_null()).add(row::Column::NextAttemptAt.lte(now));
        let rows = row::Entity::find()
            .filter(row::Column::Active.eq(true))
            .filter(due)
            .order_by_asc(row::Column::Id)
            .limit(10_000)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|m| (m.secret.clone(), m)).map(|(s, m)| (to_domain(m), s)).collect())
    }

    /// Every subscription's id and stored secret (at most 100,000), for sealing them again.
    pub async fn webhook_secrets(&self) -> AppResult<Vec<(i64, String)>> {
        let rows = row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .column(row::Column::Secret)
            .order_by_asc(row::Column::Id)
            .limit(100_000)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows)
    }

    /// Replaces subscription `id`'s stored secret `stored` by `sealed`, the same secret
    /// sealed again: false when it changed meanwhile (another replica sealed it first).
    pub async fn replace_webhook_secret(&self, id: i64, stored: &str, sealed: &str) -> AppResult<bool> {
        self.swap_webhook_column(id, row::Column::Secret, stored, sealed).await
    }

    /// Moves a cursor from `from` to `to` (events the filters skip): false when it moved
    /// meanwhile (a replay), so the caller starts again from the new place.
    pub async fn advance_webhook(&self, id: i64, from: i64, to: i64) -> AppResult<bool> {
        self.swap_webhook_column(id, row::Column::DeliveredThrough, from, to).await
    }

    /// Sets subscription `id`'s `column` to `to` if it still holds `from`: false when it
    /// changed meanwhile.
    async fn swap_webhook_column<V: Into<sea_orm::Value>>(
        &self,
        id: i64,
        column: row::Column,
        from: V,
        to: V,
    ) -> AppResult<bool> {
        let done = row::Entity::update_many()
            .col_expr(column, Expr::value(to))
            .filter(row::Column::Id.eq(id))
            .filter(column.eq(from))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// The in-order delivery of `sequence` to `id`, if one was attempted.
    pub async fn pending_delivery(&self, id: i64, sequence: i64) -> AppResult<Option<Delivery>> {
        let m = delivery::Entity::find()
            .filter(delivery::Column::WebhookId.eq(id))
            .filter(delivery::Column::Sequence.eq(sequence))
            .filter(delivery::Column::Manual.eq(false))
            .one(&self.db)
            .await?;
        Ok(m.map(delivery_to_domain))
    }

    /// Records an attempt and what it means for the subscription, in one transaction: on
    /// success of an in-order delivery the cursor moves from `cursor` to the event (false
    /// when it moved meanwhile); a retry sets when the subscription is next tried; a
    /// failure for good (or `disable` with its reason) deactivates it.
    pub async fn record_attempt(
        &self,
        a: &AttemptRecord,
        cursor: i64,
        disable: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Delivery> {
        let txn = self.begin().await?;
        let existing = if a.manual {
            None
        } else {
            delivery::Entity::find()
                .filter(delivery::Column::WebhookId.eq(a.webhook_id))
                .filter(delivery::Column::Sequence.eq(a.sequence))
                .filter(delivery::Column::Manual.eq(false))
                .lock_exclusive()
                .one(&txn)
                .await?
        };
        let error: String = a.error.chars().take(500).collect();
        let saved = match existing {
            Some(m) => {
                let attempts = m.attempts + 1;
                let mut am = m.into_active_model();
                am.attempts = Set(attempts);
                am.state = Set(state_text(a.state).into());
                am.last_status_code = Set(a.status);
                am.last_error = Set(error);
                am.next_attempt_at = Set(a.next_attempt_at);
                am.updated_at = Set(now);
                am.update(&txn).await?
            }
            None => {
                let am = delivery::ActiveModel {
                    webhook_id: Set(a.webhook_id),
                    sequence: Set(a.sequence),
                    state: Set(state_text(a.state).into()),
                    attempts: Set(1),
                    last_status_code: Set(a.status),
                    last_error: Set(error),
                    next_attempt_at: Set(a.next_attempt_at),
                    manual: Set(a.manual),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                };
                am.insert(&txn).await?
            }
        };
        if !a.manual {
            let mut update = row::Entity::update_many().filter(row::Column::Id.eq(a.webhook_id));
            update = match a.state {
                DeliveryState::Succeeded => update
                    .col_expr(row::Column::DeliveredThrough, Expr::value(a.sequence))
                    .col_expr(row::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
                    .filter(row::Column::DeliveredThrough.eq(cursor)),
                _ => update.col_expr(row::Column::NextAttemptAt, Expr::value(a.next_attempt_at)),
            };
            update.exec(&txn).await?;
        }
        if let Some(reason) = disable {
            let reason: String = reason.chars().take(500).collect();
            row::Entity::update_many()
                .col_expr(row::Column::Active, Expr::value(false))
                .col_expr(row::Column::DisabledReason, Expr::value(reason))
                .col_expr(row::Column::UpdatedAt, Expr::value(now))
                .filter(row::Column::Id.eq(a.webhook_id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(delivery_to_domain(saved))
    }

    /// A page of a subscription's deliveries, newest first.
    pub async fn list_deliveries(&self, webhook_id: i64, page: &PageRequest) -> AppResult<Page<Delivery>> {
        found(row::Entity::find_by_id(webhook_id).one(&self.db).await?, "webhook", webhook_id)?;
        let fp = paging::fingerprint(&("deliveries", webhook_id));
        let mut q = delivery::Entity::find()
            .filter(delivery::Column::WebhookId.eq(webhook_id))
            .order_by_desc(delivery::Column::Id)
            .limit(page.size + 1);
        if let Some(t) = &page.token {
            q = q.filter(delivery::Column::Id.lt(paging::int(&paging::decode(t, &fp)?, 0)?));
        }
        let rows = q.all(&self.db).await?;
        let (rows, next_token) = paging::page(rows, page.size, |r| vec![Value::from(r.id)], &fp);
        Ok(Page { items: rows.into_iter().map(delivery_to_domain).collect(), next_token })
    }
}
