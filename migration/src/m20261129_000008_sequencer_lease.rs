//! The sequencer's lease (issue 18): one row naming the replica that numbers events, a
//! fencing token that grows with every change of holder, and when the lease expires.
//! `GET_LOCK` is node-local on a Galera cluster; a row written in transactions is not:
//! certification lets one of two competing claims commit. The row itself is written by
//! the first sequencer (`INSERT IGNORE`), not seeded here.

use sea_orm_migration::prelude::*;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum SequencerLease {
    Table,
    Id,
    Holder,
    Token,
    ExpiresAt,
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
                    .table(SequencerLease::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(SequencerLease::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(SequencerLease::Holder).string_len(64).not_null())
                    .col(ColumnDef::new(SequencerLease::Token).big_integer().not_null())
                    .col(ts(b, SequencerLease::ExpiresAt).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SequencerLease::Table).to_owned()).await
    }
}
