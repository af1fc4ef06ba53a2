//! Outbound webhooks (issue 19): subscriptions with their cursor in the event log and their
//! signing secret, and one row per event delivered (or being retried) to a subscription.

use sea_orm_migration::prelude::*;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    EventKinds,
    DepartmentId,
    Active,
    DisabledReason,
    Secret,
    DeliveredThrough,
    NextAttemptAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    Sequence,
    State,
    Attempts,
    LastStatusCode,
    LastError,
    NextAttemptAt,
    Manual,
    CreatedAt,
    UpdatedAt,
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
                    .table(Webhooks::Table)
                    .col(ColumnDef::new(Webhooks::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Webhooks::Url).string_len(2048).not_null())
                    .col(ColumnDef::new(Webhooks::EventKinds).string_len(255).not_null())
                    .col(ColumnDef::new(Webhooks::DepartmentId).big_integer().null())
                    .col(ColumnDef::new(Webhooks::Active).boolean().not_null())
                    .col(ColumnDef::new(Webhooks::DisabledReason).string_len(512).not_null())
                    .col(ColumnDef::new(Webhooks::Secret).string_len(64).not_null())
                    .col(ColumnDef::new(Webhooks::DeliveredThrough).big_integer().not_null())
                    .col(ts(b, Webhooks::NextAttemptAt).null())
                    .col(ts(b, Webhooks::CreatedAt).not_null())
                    .col(ts(b, Webhooks::UpdatedAt).not_null())
                    .col(ColumnDef::new(Webhooks::Version).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(ColumnDef::new(WebhookDeliveries::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(WebhookDeliveries::WebhookId).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::State).string_len(16).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Attempts).integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::LastStatusCode).integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::LastError).string_len(512).not_null())
                    .col(ts(b, WebhookDeliveries::NextAttemptAt).null())
                    .col(ColumnDef::new(WebhookDeliveries::Manual).boolean().not_null())
                    .col(ts(b, WebhookDeliveries::CreatedAt).not_null())
                    .col(ts(b, WebhookDeliveries::UpdatedAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_webhook")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_event")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::Sequence)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Webhooks::Table).to_owned()).await
    }
}
