//! A ticket's history (issue 22): one row per change, kept as long as the ticket, apart
//! from the event log and its 72-hour retention. `detail` holds the change as JSON (the
//! service's `domain::history::Change`); `public` says whether the ticket's customer may
//! see it. Existing tickets get what can be rebuilt: their opening, their assignments
//! (from `ticket_assignments`) and their messages; earlier status and priority changes
//! were not kept anywhere and stay unknown.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum TicketHistory {
    Table,
    Id,
    TicketId,
    CreatedAt,
    Public,
    Kind,
    Detail,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
}

/// The rebuilt entries, oldest first, in the JSON the service writes (JSON_OBJECT is
/// json_object on SQLite; both take the same arguments).
const FILL: &str = "INSERT INTO ticket_history (ticket_id, created_at, public, kind, detail)
SELECT ticket_id, at, public, kind, detail FROM (
    SELECT id AS ticket_id, created_at AS at, 0 AS n, id AS k, 1 AS public, 'OPENED' AS kind,
        JSON_OBJECT('kind', 'OPENED', 'department_id', department_id, 'status', 'OPEN') AS detail
    FROM tickets
    UNION ALL
    SELECT ticket_id, created_at, 1, id, 0, 'ASSIGNMENT',
        JSON_OBJECT('kind', 'ASSIGNMENT',
            'before', LAG(agent_id) OVER (PARTITION BY ticket_id ORDER BY id),
            'after', agent_id, 'reason', reason)
    FROM ticket_assignments
    UNION ALL
    SELECT ticket_id, created_at, 2, id, CASE WHEN visibility = 'PUBLIC' THEN 1 ELSE 0 END, 'MESSAGE',
        JSON_OBJECT('kind', 'MESSAGE', 'log_id', id, 'sender', sender_kind, 'sender_id', sender_id,
            'visibility', visibility)
    FROM logs
) rebuilt ORDER BY at, n, k";

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(TicketHistory::Table)
                    .col(ColumnDef::new(TicketHistory::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(TicketHistory::TicketId).big_integer().not_null())
                    .col(ts(backend, TicketHistory::CreatedAt).not_null())
                    .col(ColumnDef::new(TicketHistory::Public).boolean().not_null())
                    .col(ColumnDef::new(TicketHistory::Kind).string_len(24).not_null())
                    .col(ColumnDef::new(TicketHistory::Detail).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_history_ticket")
                            .from(TicketHistory::Table, TicketHistory::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_history_ticket")
                    .table(TicketHistory::Table)
                    .col(TicketHistory::TicketId)
                    .col(TicketHistory::Id)
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared(FILL).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TicketHistory::Table).to_owned()).await
    }
}
