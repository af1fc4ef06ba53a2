//! Sign-in data: credentials, refresh-token chains and service-wide secrets. Passwords and
//! refresh tokens arrive already hashed; this module never sees a secret in the clear.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect, SqlErr,
    sea_query::{Expr, ExprTrait},
};

use super::entity::refresh_token as token;
use super::entity::{agent, credential, service_secret};
use super::txn::Txn;
use super::{Repo, found};
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
    /// Tokens minted before this generation no longer work.
    pub generation: i64,
    /// Whether an admin disabled the account.
    pub disabled: bool,
}

impl Credential {
    /// Whether a password was ever set (people created by staff have none until they use
    /// a set-password token).
    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }

    /// The person it signs in.
    pub fn account(&self) -> Option<Account> {
        match (self.customer_id, self.agent_id) {
            (Some(id), _) => Some(Account::Customer(id)),
            (None, Some(id)) => Some(Account::Agent(id)),
            (None, None) => None,
        }
    }
}

impl From<credential::Model> for Credential {
    fn from(m: credential::Model) -> Self {
        Self {
            id: m.id,
            password_hash: m.password_hash,
            customer_id: m.customer_id,
            agent_id: m.agent_id,
            generation: m.generation,
            disabled: m.disabled_at.is_some(),
        }
    }
}

/// A person who signs in: a customer or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    /// A customer, by id.
    Customer(i64),
    /// An agent (of any role), by id.
    Agent(i64),
}

impl Account {
    fn filter(self) -> sea_orm::sea_query::SimpleExpr {
        match self {
            Account::Customer(id) => credential::Column::CustomerId.eq(id),
            Account::Agent(id) => credential::Column::AgentId.eq(id),
        }
    }

    fn resource(self) -> (&'static str, i64) {
        match self {
            Account::Customer(id) => ("customer", id),
            Account::Agent(id) => ("agent", id),
        }
    }
}

pub(super) const EMAIL_TAKEN: &str =
    "an account with this email already exists (a customer or an agent); sign in instead";

pub(super) async fn set_hash(txn: &Txn, credential_id: i64, hash: &str, now: DateTime<Utc>) -> AppResult<()> {
    credential::Entity::update_many()
        .col_expr(credential::Column::PasswordHash, Expr::value(hash))
        .col_expr(credential::Column::UpdatedAt, Expr::value(now))
        .filter(credential::Column::Id.eq(credential_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Gives a new person their sign-in identity (no password yet). The credentials' email is
/// unique across customers and agents: one email, one person.
pub(crate) async fn insert_identity(
    txn: &Txn,
    email: &str,
    account: Account,
    field: &str,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let (customer_id, agent_id) = match account {
        Account::Customer(id) => (Some(id), None),
        Account::Agent(id) => (None, Some(id)),
    };
    let am = credential::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(String::new()),
        customer_id: Set(customer_id),
        agent_id: Set(agent_id),
        generation: Set(0),
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(credential::Entity::insert(am)
        .exec(txn)
        .await
        .map_err(|e| AppError::unique_violation(e, field, EMAIL_TAKEN))?
        .last_insert_id)
}

/// Moves a person's sign-in to their new email, in the transaction that changes it.
pub(crate) async fn move_identity(
    txn: &Txn,
    account: Account,
    email: &str,
    field: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    credential::Entity::update_many()
        .col_expr(credential::Column::Email, Expr::value(email))
        .col_expr(credential::Column::UpdatedAt, Expr::value(now))
        .filter(account.filter())
        .exec(txn)
        .await
        .map_err(|e| AppError::unique_violation(e, field, EMAIL_TAKEN))?;
    Ok(())
}

/// Makes every token minted for `account` so far stop working (a demotion, a move, a
/// disable or a new password), in the caller's transaction.
/// Stamped with real time whatever the workflow's clock: replicas poll it (token times are
/// real time, see [`crate::auth::token`]).
pub(crate) async fn bump_generation(txn: &Txn, account: Account) -> AppResult<()> {
    use credential::Column as C;
    credential::Entity::update_many()
        .col_expr(C::Generation, Expr::col(C::Generation).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(account.filter())
        .exec(txn)
        .await?;
    Ok(())
}

/// The credential of `account`, locked for the transaction.
pub(super) async fn identity(txn: &Txn, account: Account) -> AppResult<credential::Model> {
    let (resource, id) = account.resource();
    let row = credential::Entity::find().filter(account.filter()).lock_exclusive().one(txn).await?;
    row.ok_or_else(|| {
        AppError::FailedPrecondition(format!(
            "{resource} {id} has no sign-in identity (their email is another account's); change their email first"
        ))
    })
}

pub(super) async fn revoke_refresh_of(txn: &Txn, credential_id: i64, now: DateTime<Utc>) -> AppResult<()> {
    token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(now))
        .filter(token::Column::CredentialId.eq(credential_id))
        .filter(token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

impl Repo {
    /// The credential that signs in with `email` (lower-cased), if any.
    pub async fn credential_by_email(&self, email: &str) -> AppResult<Option<Credential>> {
        let row = credential::Entity::find().filter(credential::Column::Email.eq(email)).one(&self.db).await?;
        Ok(row.map(Into::into))
    }

    /// Sets (or replaces) the password `account` signs in with: the account's older tokens
    /// stop working (a new generation) and its refresh tokens are revoked.
    #[tracing::instrument(skip_all)]
    pub async fn set_password(
        &self,
        account: Account,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Credential> {
        let txn = self.begin().await?;
        let (resource, id) = account.resource();
        let exists = match account {
            Account::Customer(id) => super::entity::customer::Entity::find_by_id(id).one(&txn).await?.is_some(),
            Account::Agent(id) => agent::Entity::find_by_id(id).one(&txn).await?.is_some(),
        };
        if !exists {
            return Err(AppError::NotFound { resource, id });
        }
        let c = identity(&txn, account).await?;
        set_hash(&txn, c.id, password_hash, now).await?;
        bump_generation(&txn, account).await?;
        revoke_refresh_of(&txn, c.id, now).await?;
        let c = found(credential::Entity::find_by_id(c.id).one(&txn).await?, "credential", c.id)?;
        txn.commit().await?;
        Ok(c.into())
    }

    /// The standing (generation, disabled) of every account whose credential changed at or
    /// after `since` and whose tokens are restricted (a generation past 0, or disabled),
    /// with the latest change time seen.
    pub async fn standings_since(&self, since: DateTime<Utc>) -> AppResult<Vec<(Credential, DateTime<Utc>)>> {
        use credential::Column as C;
        let rows = credential::Entity::find()
            .filter(C::UpdatedAt.gte(since))
            .filter(sea_orm::Condition::any().add(C::Generation.gt(0)).add(C::DisabledAt.is_not_null()))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let at = m.updated_at;
                (Credential::from(m), at)
            })
            .collect())
    }

    /// Disables or enables `account`'s sign-in. Either way its tokens so far stop working
    /// and its refresh tokens are revoked.
    #[tracing::instrument(skip_all)]
    pub async fn set_enabled(&self, account: Account, enabled: bool) -> AppResult<Credential> {
        let now = Utc::now();
        let txn = self.begin().await?;
        let c = identity(&txn, account).await?;
        credential::Entity::update_many()
            .col_expr(credential::Column::DisabledAt, Expr::value(if enabled { None } else { Some(now) }))
            .filter(credential::Column::Id.eq(c.id))
            .exec(&txn)
            .await?;
        bump_generation(&txn, account).await?;
        revoke_refresh_of(&txn, c.id, now).await?;
        let c = found(credential::Entity::find_by_id(c.id).one(&txn).await?, "credential", c.id)?;
        txn.commit().await?;
        Ok(c.into())
    }

    /// The credential of `account`, if it has one.
    pub async fn credential_of(&self, account: Account) -> AppResult<Option<Credential>> {
        Ok(credential::Entity::find().filter(account.filter()).one(&self.db).await?.map(Into::into))
    }

    /// The service-wide secret `name`, if it was ever made.
    pub async fn stored_service_secret(&self, name: &str) -> AppResult<Option<String>> {
        Ok(service_secret::Entity::find_by_id(name.to_owned()).one(&self.db).await?.map(|s| s.value))
    }

    /// The service-wide secret `name`, created from `make` the first time it is asked for.
    pub async fn service_secret(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        if let Some(value) = self.stored_service_secret(name).await? {
            return Ok(value);
        }
        let am = service_secret::ActiveModel { name: Set(name.to_owned()), value: Set(make()), created_at: Set(now) };
        match service_secret::Entity::insert(am).exec(&self.db).await {
            Ok(_) => {}
            // Another process created it first: use theirs.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Err(e.into()),
        }
        found(self.stored_service_secret(name).await?, "service secret", 0)
    }
}
