//! Quick replies (issue 22): each department's saved answers, titles unique within it.

use sea_orm_migration::prelude::*;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum QuickReplies {
    Table,
    Id,
    DepartmentId,
    Title,
    Body,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
}

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(QuickReplies::Table)
                    .col(ColumnDef::new(QuickReplies::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(QuickReplies::DepartmentId).big_integer().not_null())
                    .col(ColumnDef::new(QuickReplies::Title).string_len(100).not_null())
                    .col(ColumnDef::new(QuickReplies::Body).text().not_null())
                    .col(ts(backend, QuickReplies::CreatedAt).not_null())
                    .col(ts(backend, QuickReplies::UpdatedAt).not_null())
                    .col(ColumnDef::new(QuickReplies::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quick_replies_department")
                            .from(QuickReplies::Table, QuickReplies::DepartmentId)
                            .to(Departments::Table, Departments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_quick_replies_title")
                    .table(QuickReplies::Table)
                    .col(QuickReplies::DepartmentId)
                    .col(QuickReplies::Title)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(QuickReplies::Table).to_owned()).await
    }
}
