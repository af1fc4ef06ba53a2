//! Sign-in data: credentials, refresh-token chains and service-wide secrets. Passwords and
//! refresh tokens arrive already hashed; this module never sees a secret in the clear.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, SqlErr,
    sea_query::Expr,
};

use super::customers::insert_customer;
use super::entity::{agent, credential, refresh_token as token, service_secret};
use super::{Repo, found};
use crate::domain::{Customer, NewCustomer};
use crate::error::{AppError, AppResult};

/// A stored credential and whom it signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Id.
    pub id: i64,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// The customer it signs in, if a customer.
    pub customer_id: Option<i64>,
    /// The agent it signs in, if staff.
    pub agent_id: Option<i64>,
}

impl From<credential::Model> for Credential {
    fn from(m: credential::Model) -> Self {
        Self { id: m.id, password_hash: m.password_hash, customer_id: m.customer_id, agent_id: m.agent_id }
    }
}

/// A refresh token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefresh {
    /// The chain it belongs to (one per sign-in).
    pub family: String,
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Rotated: the presented token is spent and `next` is stored.
    Rotated(Credential),
    /// No such token, or its chain was revoked.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Already rotated once: its whole chain is now revoked.
    Reused,
}

const EMAIL_TAKEN: &str = "an account with this email already exists; sign in instead";

async fn insert_refresh(
    conn: &impl ConnectionTrait,
    credential_id: i64,
    r: &NewRefresh,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let am = token::ActiveModel {
        credential_id: Set(credential_id),
        family: Set(r.family.clone()),
        token_hash: Set(r.token_hash.clone()),
        expires_at: Set(r.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    token::Entity::insert(am).exec(conn).await?;
    Ok(())
}

async fn insert_credential(
    txn: &DatabaseTransaction,
    email: &str,
    password_hash: &str,
    (customer_id, agent_id): (Option<i64>, Option<i64>),
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let am = credential::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        customer_id: Set(customer_id),
        agent_id: Set(agent_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(credential::Entity::insert(am)
        .exec(txn)
        .await
        .map_err(|e| AppError::unique_violation(e, "email", EMAIL_TAKEN))?
        .last_insert_id)
}

impl Repo {
    /// Creates a customer, their credential and their first refresh token, in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn register_customer(
        &self,
        new: &NewCustomer,
        password_hash: &str,
        refresh: &NewRefresh,
        now: DateTime<Utc>,
    ) -> AppResult<Customer> {
        let txn = self.begin().await?;
        let id = insert_customer(&txn, new, now).await.map_err(|e| match e {
            AppError::AlreadyExists { .. } => {
                AppError::AlreadyExists { field: "email".into(), message: EMAIL_TAKEN.into() }
            }
            other => other,
        })?;
        let credential = insert_credential(&txn, &new.email, password_hash, (Some(id), None), now).await?;
        insert_refresh(&txn, credential, refresh, now).await?;
        txn.commit().await?;
        self.get_customer(id).await
    }

    /// The credential that signs in with `email` (lower-cased), if any.
    pub async fn credential_by_email(&self, email: &str) -> AppResult<Option<Credential>> {
        let row = credential::Entity::find().filter(credential::Column::Email.eq(email)).one(&self.db).await?;
        Ok(row.map(Into::into))
    }

    /// Stores a refresh token starting a new chain (a sign-in).
    pub async fn issue_refresh(&self, credential_id: i64, refresh: &NewRefresh, now: DateTime<Utc>) -> AppResult<()> {
        insert_refresh(&self.db, credential_id, refresh, now).await
    }

    /// Spends the refresh token hashed `presented` and stores `next` in its chain. Only one
    /// of two concurrent presentations wins; presenting a spent token revokes its chain.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_refresh(&self, presented: &str, next: &NewRefresh, now: DateTime<Utc>) -> AppResult<Rotation> {
        use token::Column as C;
        let Some(row) = token::Entity::find().filter(C::TokenHash.eq(presented)).one(&self.db).await? else {
            return Ok(Rotation::Unknown);
        };
        if row.revoked_at.is_some() {
            return Ok(Rotation::Unknown);
        }
        if row.used_at.is_some() {
            self.revoke_family(&row.family, now).await?;
            return Ok(Rotation::Reused);
        }
        if row.expires_at <= now {
            return Ok(Rotation::Expired);
        }
        let txn = self.begin().await?;
        let spent = token::Entity::update_many()
            .col_expr(C::UsedAt, Expr::value(now))
            .filter(C::Id.eq(row.id))
            .filter(C::UsedAt.is_null())
            .filter(C::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if spent != 1 {
            txn.rollback().await?;
            self.revoke_family(&row.family, now).await?;
            return Ok(Rotation::Reused);
        }
        insert_refresh(&txn, row.credential_id, &NewRefresh { family: row.family.clone(), ..next.clone() }, now)
            .await?;
        let cred =
            found(credential::Entity::find_by_id(row.credential_id).one(&txn).await?, "credential", row.credential_id)?;
        txn.commit().await?;
        Ok(Rotation::Rotated(cred.into()))
    }

    async fn revoke_family(&self, family: &str, now: DateTime<Utc>) -> AppResult<()> {
        use token::Column as C;
        tracing::warn!(family, "a spent refresh token was presented again; revoking its chain");
        token::Entity::update_many()
            .col_expr(C::RevokedAt, Expr::value(now))
            .filter(C::Family.eq(family))
            .filter(C::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Sets (or replaces) the password an agent signs in with, under the agent's email.
    /// Replacing it revokes every refresh token the agent holds.
    #[tracing::instrument(skip_all, fields(agent_id))]
    pub async fn set_agent_password(&self, agent_id: i64, password_hash: &str, now: DateTime<Utc>) -> AppResult<()> {
        let txn = self.begin().await?;
        let a = found(agent::Entity::find_by_id(agent_id).one(&txn).await?, "agent", agent_id)?;
        let existing = credential::Entity::find().filter(credential::Column::AgentId.eq(agent_id)).one(&txn).await?;
        match existing {
            Some(c) => {
                credential::Entity::update_many()
                    .col_expr(credential::Column::PasswordHash, Expr::value(password_hash))
                    .col_expr(credential::Column::Email, Expr::value(a.email.clone()))
                    .col_expr(credential::Column::UpdatedAt, Expr::value(now))
                    .filter(credential::Column::Id.eq(c.id))
                    .exec(&txn)
                    .await
                    .map_err(|e| AppError::unique_violation(e, "email", EMAIL_TAKEN))?;
                token::Entity::update_many()
                    .col_expr(token::Column::RevokedAt, Expr::value(now))
                    .filter(token::Column::CredentialId.eq(c.id))
                    .filter(token::Column::RevokedAt.is_null())
                    .exec(&txn)
                    .await?;
            }
            None => {
                insert_credential(&txn, &a.email, password_hash, (None, Some(agent_id)), now).await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// The service-wide secret `name`, created from `make` the first time it is asked for.
    pub async fn service_secret(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let find = || service_secret::Entity::find_by_id(name.to_owned()).one(&self.db);
        if let Some(s) = find().await? {
            return Ok(s.value);
        }
        let am = service_secret::ActiveModel { name: Set(name.to_owned()), value: Set(make()), created_at: Set(now) };
        match service_secret::Entity::insert(am).exec(&self.db).await {
            Ok(_) => {}
            // Another process created it first: use theirs.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Err(e.into()),
        }
        found(find().await?, "service secret", 0).map(|s| s.value)
    }
}
