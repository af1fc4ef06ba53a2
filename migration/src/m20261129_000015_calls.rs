//! Voice calls and live chat (issue 20): the `calls` table, each department's choice to
//! let customers call, a `detail` on events for the calls and signals they carry, and the
//! `handovers` an agent who was OFF sees on return, and the `replicas` that pass typing
//! indicators to each other.
//!
//! One live call per ticket is the unique `live_ticket_id`: the ticket's id while the call
//! rings or runs, NULL once it has ended (both engines let NULLs repeat).

use sea_orm_migration::prelude::*;

use crate::ts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    TicketId,
    DepartmentId,
    CallerKind,
    CallerId,
    CalleeKind,
    CalleeId,
    State,
    Outcome,
    EndReason,
    LiveTicketId,
    Signals,
    AfterSequence,
    CreatedAt,
    RingDeadline,
    AnsweredAt,
    EndedAt,
    CallerSeenAt,
    CalleeSeenAt,
}

/// Tickets handed over from an agent who was OFF, until that agent returns and sees them.
#[derive(DeriveIden)]
enum Handovers {
    Table,
    Id,
    AgentId,
    TicketId,
    ToAgentId,
    CreatedAt,
}

/// The live replicas and where they listen, for typing indicators passed between them.
#[derive(DeriveIden)]
enum Replicas {
    Table,
    Id,
    Address,
    SeenAt,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    CustomerCalls,
}

#[derive(DeriveIden)]
enum QueueEvents {
    Table,
    Detail,
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
                    .table(Calls::Table)
                    .col(ColumnDef::new(Calls::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Calls::TicketId).big_integer().not_null())
                    .col(ColumnDef::new(Calls::DepartmentId).big_integer().not_null())
                    .col(ColumnDef::new(Calls::CallerKind).string_len(16).not_null())
                    .col(ColumnDef::new(Calls::CallerId).big_integer().not_null())
                    .col(ColumnDef::new(Calls::CalleeKind).string_len(16).not_null())
                    .col(ColumnDef::new(Calls::CalleeId).big_integer().not_null())
                    .col(ColumnDef::new(Calls::State).string_len(16).not_null())
                    .col(ColumnDef::new(Calls::Outcome).string_len(16).null())
                    .col(ColumnDef::new(Calls::EndReason).string_len(200).null())
                    .col(ColumnDef::new(Calls::LiveTicketId).big_integer().null())
                    .col(ColumnDef::new(Calls::Signals).integer().not_null().default(0))
                    .col(ColumnDef::new(Calls::AfterSequence).big_integer().not_null())
                    .col(ts(b, Calls::CreatedAt).not_null())
                    .col(ts(b, Calls::RingDeadline).not_null())
                    .col(ts(b, Calls::AnsweredAt).null())
                    .col(ts(b, Calls::EndedAt).null())
                    .col(ts(b, Calls::CallerSeenAt).not_null())
                    .col(ts(b, Calls::CalleeSeenAt).null())
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ux_calls_live_ticket", vec![Calls::LiveTicketId], true),
            ("ix_calls_ticket", vec![Calls::TicketId, Calls::Id], false),
            ("ix_calls_state", vec![Calls::State, Calls::RingDeadline], false),
            ("ix_calls_caller", vec![Calls::CallerKind, Calls::CallerId], false),
            ("ix_calls_callee", vec![Calls::CalleeKind, Calls::CalleeId], false),
        ] {
            let mut index = Index::create().name(name).table(Calls::Table).to_owned();
            for c in cols {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Handovers::Table)
                    .col(ColumnDef::new(Handovers::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Handovers::AgentId).big_integer().not_null())
                    .col(ColumnDef::new(Handovers::TicketId).big_integer().not_null())
                    .col(ColumnDef::new(Handovers::ToAgentId).big_integer().null())
                    .col(ts(b, Handovers::CreatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_handovers_agent").table(Handovers::Table).col(Handovers::AgentId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Replicas::Table)
                    .col(ColumnDef::new(Replicas::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Replicas::Address).string_len(255).not_null())
                    .col(ts(b, Replicas::SeenAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Departments::Table)
                    .add_column(ColumnDef::new(Departments::CustomerCalls).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(QueueEvents::Table)
                    .add_column(ColumnDef::new(QueueEvents::Detail).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(QueueEvents::Table).drop_column(QueueEvents::Detail).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Departments::Table).drop_column(Departments::CustomerCalls).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Replicas::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Handovers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Calls::Table).to_owned()).await
    }
}
