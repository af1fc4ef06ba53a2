//! Indexes for the reports: each report reads messages per ticket (first and last time,
//! which agents wrote) or per agent (which tickets they wrote on); these make those reads
//! index-only instead of visiting every message row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Logs {
    Table,
    TicketId,
    SenderKind,
    SenderId,
    CreatedAt,
}

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Resolution times: each ticket's first and last message, from the index alone.
        manager
            .create_index(
                Index::create()
                    .name("idx_logs_ticket_time")
                    .table(Logs::Table)
                    .col(Logs::TicketId)
                    .col(Logs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // Agents per ticket: which agents wrote on a ticket, read from the index alone.
        manager
            .create_index(
                Index::create()
                    .name("idx_logs_ticket_sender")
                    .table(Logs::Table)
                    .col(Logs::TicketId)
                    .col(Logs::SenderKind)
                    .col(Logs::SenderId)
                    .to_owned(),
            )
            .await?;
        // Tickets handled per agent.
        manager
            .create_index(
                Index::create()
                    .name("idx_logs_sender_ticket")
                    .table(Logs::Table)
                    .col(Logs::SenderKind)
                    .col(Logs::SenderId)
                    .col(Logs::TicketId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_logs_sender_ticket").table(Logs::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_logs_ticket_sender").table(Logs::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_logs_ticket_time").table(Logs::Table).to_owned()).await
    }
}
