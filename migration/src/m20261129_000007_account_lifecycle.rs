//! Accounts that hold up (the outside review, issue 14):
//! - one identity per person: every customer and agent has a credential row from the
//!   start (an empty password hash until a password is set), so the credentials' unique
//!   email is one namespace for customers and agents alike; existing people get theirs;
//! - sign-in emails compare exactly on MySQL (`utf8mb4_bin`): the default collation
//!   ignores accents, so `victïm@x` found `victim@x`'s account;
//! - a token generation and a disabled time per credential, with an index on the update
//!   time that replicas poll to learn of revocations;
//! - one-time set-password tokens (invites and resets);
//! - request ids scoped to the principal that sent them (AIP-155).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Credentials {
    Table,
    Id,
    Generation,
    DisabledAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SetPasswordTokens {
    Table,
    Id,
    TokenHash,
    CredentialId,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Principal,
    Scope,
    RequestId,
}

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let db = manager.get_connection();
        if b == DatabaseBackend::MySql {
            db.execute_unprepared(
                "ALTER TABLE credentials MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
            )
            .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Credentials::Table)
                    .add_column(ColumnDef::new(Credentials::Generation).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Credentials::Table).add_column(ts(b, Credentials::DisabledAt).null()).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credentials_updated")
                    .table(Credentials::Table)
                    .col(Credentials::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        // Everyone who has no credential gets one without a password. A person whose email
        // another person's credential already holds (the bug this fixes) is skipped.
        let ignore = if b == DatabaseBackend::MySql { "INSERT IGNORE" } else { "INSERT OR IGNORE" };
        for (table, column) in [("customers", "customer_id"), ("agents", "agent_id")] {
            db.execute_unprepared(&format!(
                "{ignore} INTO credentials (email, password_hash, {column}, created_at, updated_at, generation) \
                 SELECT p.email, '', p.id, p.created_at, p.updated_at, 0 FROM {table} p \
                 WHERE NOT EXISTS (SELECT 1 FROM credentials c WHERE c.{column} = p.id)"
            ))
            .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SetPasswordTokens::Table)
                    .col(ColumnDef::new(SetPasswordTokens::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(SetPasswordTokens::TokenHash).string_len(64).not_null())
                    .col(ColumnDef::new(SetPasswordTokens::CredentialId).big_integer().not_null())
                    .col(ts(b, SetPasswordTokens::ExpiresAt).not_null())
                    .col(ts(b, SetPasswordTokens::UsedAt).null())
                    .col(ts(b, SetPasswordTokens::CreatedAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_set_password_tokens_credential")
                            .from(SetPasswordTokens::Table, SetPasswordTokens::CredentialId)
                            .to(Credentials::Table, Credentials::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_set_password_tokens_hash")
                    .table(SetPasswordTokens::Table)
                    .col(SetPasswordTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(ColumnDef::new(IdempotencyKeys::Principal).string_len(128).not_null().default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name("uq_idempotency_scope_request").table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_idempotency_principal_request")
                    .table(IdempotencyKeys::Table)
                    .unique()
                    .col(IdempotencyKeys::Principal)
                    .col(IdempotencyKeys::Scope)
                    .col(IdempotencyKeys::RequestId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("uq_idempotency_principal_request").table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_idempotency_scope_request")
                    .table(IdempotencyKeys::Table)
                    .unique()
                    .col(IdempotencyKeys::Scope)
                    .col(IdempotencyKeys::RequestId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(IdempotencyKeys::Table).drop_column(IdempotencyKeys::Principal).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(SetPasswordTokens::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_credentials_updated").table(Credentials::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Credentials::Table).drop_column(Credentials::DisabledAt).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Credentials::Table).drop_column(Credentials::Generation).to_owned())
            .await?;
        // Credentials without a password (added by `up`) stay: they sign nobody in.
        Ok(())
    }
}
