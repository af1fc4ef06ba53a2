//! Sign-in tokens: refresh-token chains (one per sign-in, rotated on use, the whole chain
//! revoked when a spent token comes back) and one-time set-password tokens. Tokens arrive
//! hashed; this module never sees one in the clear.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};

use super::credentials::{Account, Credential, bump_generation, identity, revoke_refresh_of, set_hash};
use super::entity::{credential, refresh_token as token, set_password_token};
use super::{Repo, found};
use crate::error::AppResult;

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

pub(super) async fn insert_refresh(
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

impl Repo {
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

    /// Revokes the refresh-token family of the presented token (sign-out); false when the
    /// token is unknown.
    pub async fn revoke_refresh_family(&self, presented: &str, now: DateTime<Utc>) -> AppResult<bool> {
        let row = token::Entity::find().filter(token::Column::TokenHash.eq(presented)).one(&self.db).await?;
        let Some(row) = row else { return Ok(false) };
        token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(now))
            .filter(token::Column::Family.eq(row.family.as_str()))
            .filter(token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(true)
    }

    /// Stores a one-time set-password token (hashed) for `account`.
    pub async fn issue_set_password(
        &self,
        account: Account,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let txn = self.begin().await?;
        let c = identity(&txn, account).await?;
        let am = set_password_token::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            credential_id: Set(c.id),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        };
        set_password_token::Entity::insert(am).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Spends the set-password token hashed `presented` and sets the password of its
    /// account, as [`Repo::set_password`] does; None when the token is unknown, spent or
    /// expired. A disabled account stays disabled.
    #[tracing::instrument(skip_all)]
    pub async fn set_password_with_token(
        &self,
        presented: &str,
        password_hash: &str,
        refresh: &NewRefresh,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Credential>> {
        use set_password_token::Column as C;
        let txn = self.begin().await?;
        let Some(t) =
            set_password_token::Entity::find().filter(C::TokenHash.eq(presented)).lock_exclusive().one(&txn).await?
        else {
            return Ok(None);
        };
        if t.used_at.is_some() || t.expires_at <= now {
            return Ok(None);
        }
        set_password_token::Entity::update_many()
            .col_expr(C::UsedAt, Expr::value(now))
            .filter(C::Id.eq(t.id))
            .exec(&txn)
            .await?;
        let c: Credential =
            found(credential::Entity::find_by_id(t.credential_id).one(&txn).await?, "credential", t.credential_id)?
                .into();
        let Some(account) = c.account() else { return Ok(None) };
        set_hash(&txn, c.id, password_hash, now).await?;
        bump_generation(&txn, account).await?;
        revoke_refresh_of(&txn, c.id, now).await?;
        if !c.disabled {
            insert_refresh(&txn, c.id, refresh, now).await?;
        }
        let c = found(credential::Entity::find_by_id(c.id).one(&txn).await?, "credential", c.id)?;
        txn.commit().await?;
        Ok(Some(c.into()))
    }
}
