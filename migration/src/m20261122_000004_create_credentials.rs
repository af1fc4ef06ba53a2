//! Sign-in: credentials (one per customer or agent, keyed by a unique email), the refresh
//! tokens issued to them (hashed; one chain per sign-in, so reuse of a rotated token can
//! revoke the whole chain), and a small key-value table for service-wide secrets (the
//! quick start's generated signing key).

use sea_orm_migration::prelude::*;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Credentials {
    Table,
    Id,
    Email,
    PasswordHash,
    CustomerId,
    AgentId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    CredentialId,
    Family,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServiceSecrets {
    Table,
    Name,
    Value,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Credentials::Table)
                    .col(ColumnDef::new(Credentials::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Credentials::Email).string_len(254).not_null())
                    .col(ColumnDef::new(Credentials::PasswordHash).string_len(255).not_null())
                    .col(ColumnDef::new(Credentials::CustomerId).big_integer().null())
                    .col(ColumnDef::new(Credentials::AgentId).big_integer().null())
                    .col(ts(b, Credentials::CreatedAt).not_null())
                    .col(ts(b, Credentials::UpdatedAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credentials_customer")
                            .from(Credentials::Table, Credentials::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credentials_agent")
                            .from(Credentials::Table, Credentials::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("uq_credentials_email", Credentials::Email),
            ("uq_credentials_customer", Credentials::CustomerId),
            ("uq_credentials_agent", Credentials::AgentId),
        ] {
            manager
                .create_index(Index::create().name(name).table(Credentials::Table).col(col).unique().to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(ColumnDef::new(RefreshTokens::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(RefreshTokens::CredentialId).big_integer().not_null())
                    .col(ColumnDef::new(RefreshTokens::Family).string_len(64).not_null())
                    .col(ColumnDef::new(RefreshTokens::TokenHash).string_len(64).not_null())
                    .col(ts(b, RefreshTokens::ExpiresAt).not_null())
                    .col(ts(b, RefreshTokens::UsedAt).null())
                    .col(ts(b, RefreshTokens::RevokedAt).null())
                    .col(ts(b, RefreshTokens::CreatedAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_credential")
                            .from(RefreshTokens::Table, RefreshTokens::CredentialId)
                            .to(Credentials::Table, Credentials::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_refresh_tokens_hash")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::Family)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_credential")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::CredentialId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServiceSecrets::Table)
                    .col(ColumnDef::new(ServiceSecrets::Name).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(ServiceSecrets::Value).string_len(255).not_null())
                    .col(ts(b, ServiceSecrets::CreatedAt).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ServiceSecrets::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RefreshTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Credentials::Table).to_owned()).await
    }
}
