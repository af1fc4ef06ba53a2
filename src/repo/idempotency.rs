//! Idempotent creates (AIP-155): the first result of a `request_id` is remembered in the
//! same transaction as the create, and a retry returns it instead of creating again.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::idempotency_key as key;
use super::txn::Txn;
use super::{Repo, paging};
use crate::error::{AppError, AppResult};

/// A request's id (AIP-155), validated, and the fingerprint of the request as sent.
#[derive(Debug, Clone)]
pub struct RequestId {
    /// The caller's request id.
    pub id: String,
    /// A fingerprint of the request as sent (its protobuf encoding, made by
    /// `grpc::convert::request_id`), to refuse reuse with other content; `v2:` and 16 hex
    /// digits.
    pub fingerprint: String,
}

/// A caller's idempotency key for one kind of create.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// Who sent it: request ids are the sender's own (AIP-155), so one caller's id never
    /// finds, or reveals, another caller's result.
    pub principal: String,
    /// The kind of create, e.g. `CreateTicket`.
    pub scope: &'static str,
    /// The caller's request id, with the request's fingerprint.
    pub request: RequestId,
    /// The fingerprint the service stored before version 2 (a hash of the validated
    /// request's debug form), still accepted for keys written by that code.
    pub legacy: String,
}

impl IdempotencyKey {
    /// `principal`'s key for a request validated as `validated`, if it carries a request id.
    pub fn new(
        principal: &str,
        scope: &'static str,
        request: Option<RequestId>,
        validated: &impl std::fmt::Debug,
    ) -> Option<Self> {
        request.map(|r| Self {
            principal: principal.to_owned(),
            scope,
            request: r,
            legacy: paging::fingerprint(validated),
        })
    }

    /// Whether a stored fingerprint is this request's, in any version.
    pub fn matches(&self, stored: &str) -> bool {
        stored == self.request.fingerprint || stored == self.legacy
    }
}

async fn lookup(conn: &impl ConnectionTrait, k: &IdempotencyKey) -> AppResult<Option<i64>> {
    let row = key::Entity::find()
        .filter(key::Column::Principal.eq(k.principal.as_str()))
        .filter(key::Column::Scope.eq(k.scope))
        .filter(key::Column::RequestId.eq(k.request.id.as_str()))
        .one(conn)
        .await?;
    match row {
        Some(r) if !k.matches(&r.fingerprint) => Err(AppError::invalid(
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
        txn: Txn,
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
            request_id: Set(k.request.id.clone()),
            fingerprint: Set(k.request.fingerprint.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewTicket;

    /// A key stored by the code before fingerprints were versioned still matches its retry.
    #[test]
    fn a_fingerprint_stored_by_the_previous_version_still_matches() {
        // What the service stored for this request before fingerprints were versioned.
        let stored_before = "3c837f66e9669872";
        let key = IdempotencyKey::new(
            "customer:7",
            "CreateTicket",
            Some(RequestId { id: "r1".into(), fingerprint: "v2:0123456789abcdef".into() }),
            &NewTicket::sample(),
        )
        .expect("a key");
        assert!(key.matches(stored_before), "{}", key.legacy);
        assert!(key.matches("v2:0123456789abcdef"));
        assert!(!key.matches("v2:fedcba9876543210"));
    }
}
