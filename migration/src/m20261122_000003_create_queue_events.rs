//! The event log behind WatchQueue: one row per change, written in the change's own
//! transaction with no sequence; a single sequencer numbers committed rows afterwards.
//! `queue_state` keeps the highest pruned sequence, so a resume from before it is refused.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum QueueEvents {
    Table,
    Id,
    Sequence,
    Kind,
    TicketId,
    LogId,
    Ticket,
    BeforeStatus,
    BeforeDepartmentId,
    BeforeAgentId,
    BeforeLevel,
    CreatedAt,
}

#[derive(DeriveIden)]
enum QueueState {
    Table,
    Id,
    PrunedThrough,
}

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mysql = manager.get_database_backend() == DatabaseBackend::MySql;
        let mut created = ColumnDef::new(QueueEvents::CreatedAt);
        if mysql {
            created.custom(Alias::new("DATETIME(6)"));
        } else {
            created.date_time();
        }
        let mut ticket = ColumnDef::new(QueueEvents::Ticket);
        if mysql {
            ticket.custom(Alias::new("MEDIUMTEXT"));
        } else {
            ticket.text();
        }
        manager
            .create_table(
                Table::create()
                    .table(QueueEvents::Table)
                    .col(ColumnDef::new(QueueEvents::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(QueueEvents::Sequence).big_integer().null())
                    .col(ColumnDef::new(QueueEvents::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(QueueEvents::TicketId).big_integer().not_null())
                    .col(ColumnDef::new(QueueEvents::LogId).big_integer().null())
                    .col(ticket.not_null())
                    .col(ColumnDef::new(QueueEvents::BeforeStatus).string_len(16).null())
                    .col(ColumnDef::new(QueueEvents::BeforeDepartmentId).big_integer().null())
                    .col(ColumnDef::new(QueueEvents::BeforeAgentId).big_integer().null())
                    .col(ColumnDef::new(QueueEvents::BeforeLevel).string_len(4).null())
                    .col(created.not_null())
                    .to_owned(),
            )
            .await?;
        // Readers scan by sequence; the sequencer finds unnumbered rows (NULL) in id order.
        manager
            .create_index(
                Index::create()
                    .name("uq_queue_events_sequence")
                    .table(QueueEvents::Table)
                    .unique()
                    .col(QueueEvents::Sequence)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_queue_events_created")
                    .table(QueueEvents::Table)
                    .col(QueueEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QueueState::Table)
                    .col(ColumnDef::new(QueueState::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(QueueState::PrunedThrough).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert
            .into_table(QueueState::Table)
            .columns([QueueState::Id, QueueState::PrunedThrough])
            .values([1.into(), 0.into()])
            .map_err(|e| DbErr::Migration(e.to_string()))?;
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(QueueState::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(QueueEvents::Table).to_owned()).await
    }
}
