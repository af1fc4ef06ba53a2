//! Idempotent creates (AIP-155): the first result of a `request_id` is remembered in the
//! same transaction as the create, and a retry returns it instead of creating again.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::entity::idempotency_key as key;
use super::{Repo, paging};
use crate::error::{AppError, AppResult};

/// A caller's idempotency key for one kind of create.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// Who sent it: request ids are the sender's own (AIP-155), so one caller's id never
    /// finds, or reveals, another caller's result.
    pub principal: String,
    /// The kind of create, e.g. `CreateTicket`.
    pub scope: &'static str,
    /// The caller's request id.
    pub request_id: String,
    /// A fingerprint of the validated request, to refuse reuse with other content.
    pub fingerprint: String,
}

impl IdempotencyKey {
    /// `principal`'s key for `request`, if the caller sent a request id.
    pub fn new(
        principal: &str,
        scope: &'static str,
        request_id: Option<String>,
        request: &impl std::fmt::Debug,
    ) -> Option<Self> {
        request_id.map(|request_id| Self {
            principal: principal.to_owned(),
            scope,
            request_id,
            fingerprint: paging::fingerprint(request),
        })
    }
}

async fn lookup(conn: &impl ConnectionTrait, k: &IdempotencyKey) -> AppResult<Option<i64>> {
    let row = key::Entity::find()
        .filter(key::Column::Principal.eq(k.principal.as_str()))
        .filter(key::Column::Scope.eq(k.scope))
        .filter(key::Column::RequestId.eq(k.request_id.as_str()))
        .one(conn)
        .await?;
    match row {
        Some(r) if r.fingerprint != k.fingerprint => Err(AppError::invalid(
            "request_id",
            "was already used for a different request; use a new request_id for a new request",
        )),
        Some(r) => Ok(Some(r.resource_id)),
        None => Ok(None),
    }
}

impl Repo {
    /// The id created by an earlier call with the same key, if any.
    pub(crate) async fn replayed(&self, k: Option<&IdempotencyKey>) -> AppResult<Option<i64>> {
        match k {
            Some(k) => lookup(&self.db, k).await,
            None => Ok(None),
        }
    }

    /// Remembers the key beside the created `id` and commits. If a concurrent call with the
    /// same key committed first, rolls back and returns that call's id instead.
    pub(crate) async fn commit_idempotent(
        &self,
        txn: DatabaseTransaction,
        k: Option<&IdempotencyKey>,
        id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<i64> {
        let Some(k) = k else {
            self.commit(txn).await?;
            return Ok(id);
        };
        let row = key::ActiveModel {
            principal: Set(k.principal.clone()),
            scope: Set(k.scope.to_owned()),
            request_id: Set(k.request_id.clone()),
            fingerprint: Set(k.fingerprint.clone()),
            resource_id: Set(id),
            created_at: Set(now),
            ..Default::default()
        };
        match key::Entity::insert(row).exec(&txn).await {
            Ok(_) => {
                self.commit(txn).await?;
                Ok(id)
            }
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                txn.rollback().await?;
                let txn = self.begin().await?;
                let first = lookup(&txn, k).await?;
                txn.commit().await?;
                first.ok_or_else(|| AppError::Aborted("a concurrent request with this request_id failed; retry".into()))
            }
            Err(e) => Err(e.into()),
        }
    }
}
