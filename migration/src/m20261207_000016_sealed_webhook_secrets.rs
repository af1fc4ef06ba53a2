//! Webhook secrets are stored sealed (`src/auth/sealing.rs`): `sealed:1:`, a key id and
//! the base64 of a nonce, the secret and a tag, about 140 characters where a plain secret
//! had 50. MySQL's column widens to 255; SQLite does not hold a text column to its length.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Secret,
}

// The trait's own signatures elide SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::MySql {
            return Ok(());
        }
        let secret = ColumnDef::new(Webhooks::Secret).string_len(255).not_null().to_owned();
        manager.alter_table(Table::alter().table(Webhooks::Table).modify_column(secret).to_owned()).await
    }

    /// Leaves the column wide: the narrower one cannot hold a sealed secret, and a wider
    /// one holds all the narrower did.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
