//! The history of assignments: which agent got a ticket, why, and who or what decided.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum TicketAssignments {
    Table,
    Id,
    TicketId,
    AgentId,
    Reason,
    AssignedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tickets {
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
        let mut created = ColumnDef::new(TicketAssignments::CreatedAt);
        match manager.get_database_backend() {
            DatabaseBackend::MySql => created.custom(Alias::new("DATETIME(6)")),
            _ => created.date_time(),
        };
        manager
            .create_table(
                Table::create()
                    .table(TicketAssignments::Table)
                    .col(ColumnDef::new(TicketAssignments::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(TicketAssignments::TicketId).big_integer().not_null())
                    .col(ColumnDef::new(TicketAssignments::AgentId).big_integer().not_null())
                    .col(ColumnDef::new(TicketAssignments::Reason).string_len(32).not_null())
                    .col(ColumnDef::new(TicketAssignments::AssignedBy).string_len(128).not_null())
                    .col(created.not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assignments_ticket")
                            .from(TicketAssignments::Table, TicketAssignments::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assignments_agent")
                            .from(TicketAssignments::Table, TicketAssignments::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assignments_ticket")
                    .table(TicketAssignments::Table)
                    .col(TicketAssignments::TicketId)
                    .col(TicketAssignments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assignments_agent")
                    .table(TicketAssignments::Table)
                    .col(TicketAssignments::AgentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TicketAssignments::Table).to_owned()).await
    }
}
