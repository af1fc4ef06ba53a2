//! The sequencer's read of unnumbered events in id order, as an index: (sequence, id). The
//! unique index on `sequence` alone left MariaDB walking the primary key past every
//! numbered event in each round; with 300,000 unnumbered events (a bulk load, a long stop)
//! a round's read took 2.3 s, with this index 13 ms (docs/scaling.md).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum QueueEvents {
    Table,
    Sequence,
    Id,
}

const NAME: &str = "idx_queue_events_unnumbered";

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(QueueEvents::Table)
                    .col(QueueEvents::Sequence)
                    .col(QueueEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(NAME).table(QueueEvents::Table).to_owned()).await
    }
}
