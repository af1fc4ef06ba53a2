//! Customer email (issue 19): each customer's opt-out, and the mailer's cursor in the event
//! log with the events it has mailed (idempotency by event: one mail per event).

use sea_orm_migration::prelude::*;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    EmailOptOut,
}

#[derive(DeriveIden)]
enum MailState {
    Table,
    Id,
    DeliveredThrough,
}

#[derive(DeriveIden)]
enum MailSent {
    Table,
    Sequence,
    Recipient,
    SentAt,
}

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .alter_table(
                Table::alter()
                    .table(Customers::Table)
                    .add_column(ColumnDef::new(Customers::EmailOptOut).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailState::Table)
                    .col(ColumnDef::new(MailState::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(MailState::DeliveredThrough).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailSent::Table)
                    .col(ColumnDef::new(MailSent::Sequence).big_integer().not_null().primary_key())
                    .col(ColumnDef::new(MailSent::Recipient).string_len(320).not_null())
                    .col(ts(b, MailSent::SentAt).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MailSent::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(MailState::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Customers::Table).drop_column(Customers::EmailOptOut).to_owned()).await
    }
}
