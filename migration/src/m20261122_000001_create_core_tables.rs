//! The core schema: departments, customers, agents, tickets, logs, attachments and
//! idempotency records, with their keys and the indexes the queries use.

use sea_orm_migration::prelude::*;

use crate::ts;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    Name,
    Description,
    ConversationMode,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    FirstName,
    LastName,
    Email,
    Phone,
    Location,
    Tier,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    FirstName,
    LastName,
    Email,
    Phone,
    DepartmentId,
    Role,
    Availability,
    LastAssignedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    CustomerId,
    DepartmentId,
    Category,
    Subject,
    Description,
    Severity,
    Impact,
    Status,
    PriorityScore,
    PriorityLevel,
    SeverityPoints,
    TierPoints,
    ImpactPoints,
    AgingPoints,
    AssignedAgentId,
    AssignmentReason,
    FirstResponseDueAt,
    ResolutionDueAt,
    FirstResponseBreached,
    ResolutionBreached,
    Rating,
    Feedback,
    LastResponse,
    Version,
    CreatedAt,
    UpdatedAt,
    FirstResponseAt,
    ResolvedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Logs {
    Table,
    Id,
    TicketId,
    SenderKind,
    SenderId,
    Body,
    Visibility,
    DeliveryStatus,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    LogId,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    Content,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Scope,
    RequestId,
    Fingerprint,
    ResourceId,
    CreatedAt,
}

/// A column for file contents: LONGBLOB on MySQL (BLOB stops at 64 KiB).
fn bytes<T: IntoIden>(backend: DatabaseBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DatabaseBackend::MySql => def.custom(Alias::new("LONGBLOB")),
        _ => def.blob(),
    };
    def
}

fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().auto_increment().primary_key().to_owned()
}

fn text<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

fn fk(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
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
                    .table(Departments::Table)
                    .col(id(Departments::Id))
                    .col(text(Departments::Name, 100).unique_key())
                    .col(text(Departments::Description, 1000))
                    .col(text(Departments::ConversationMode, 16))
                    .col(ColumnDef::new(Departments::Version).big_integer().not_null())
                    .col(ts(b, Departments::CreatedAt).not_null())
                    .col(ts(b, Departments::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(id(Customers::Id))
                    .col(text(Customers::FirstName, 100))
                    .col(text(Customers::LastName, 100))
                    .col(text(Customers::Email, 254).unique_key())
                    .col(text(Customers::Phone, 32))
                    .col(text(Customers::Location, 200))
                    .col(text(Customers::Tier, 16))
                    .col(ColumnDef::new(Customers::Version).big_integer().not_null())
                    .col(ts(b, Customers::CreatedAt).not_null())
                    .col(ts(b, Customers::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(id(Agents::Id))
                    .col(text(Agents::FirstName, 100))
                    .col(text(Agents::LastName, 100))
                    .col(text(Agents::Email, 254).unique_key())
                    .col(text(Agents::Phone, 32))
                    .col(ColumnDef::new(Agents::DepartmentId).big_integer().not_null())
                    .col(text(Agents::Role, 16))
                    .col(text(Agents::Availability, 16))
                    .col(ts(b, Agents::LastAssignedAt).null())
                    .col(ColumnDef::new(Agents::Version).big_integer().not_null())
                    .col(ts(b, Agents::CreatedAt).not_null())
                    .col(ts(b, Agents::UpdatedAt).not_null())
                    .foreign_key(
                        &mut fk((Agents::Table, Agents::DepartmentId), (Departments::Table, Departments::Id))
                            .name("fk_agents_department")
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        create_tickets(manager, b).await?;
        create_logs(manager, b).await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(id(IdempotencyKeys::Id))
                    .col(text(IdempotencyKeys::Scope, 64))
                    .col(text(IdempotencyKeys::RequestId, 128))
                    .col(text(IdempotencyKeys::Fingerprint, 64))
                    .col(ColumnDef::new(IdempotencyKeys::ResourceId).big_integer().not_null())
                    .col(ts(b, IdempotencyKeys::CreatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        create_indexes(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            Attachments::Table.into_iden(),
            Logs::Table.into_iden(),
            Tickets::Table.into_iden(),
            Agents::Table.into_iden(),
            Customers::Table.into_iden(),
            Departments::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn create_tickets(manager: &SchemaManager<'_>, b: DatabaseBackend) -> Result<(), DbErr> {
    let int = |c: Tickets| ColumnDef::new(c).integer().not_null().to_owned();
    let flag = |c: Tickets| ColumnDef::new(c).boolean().not_null().to_owned();
    manager
        .create_table(
            Table::create()
                .table(Tickets::Table)
                .col(id(Tickets::Id))
                .col(ColumnDef::new(Tickets::CustomerId).big_integer().not_null())
                .col(ColumnDef::new(Tickets::DepartmentId).big_integer().not_null())
                .col(text(Tickets::Category, 32))
                .col(text(Tickets::Subject, 200))
                .col(ColumnDef::new(Tickets::Description).text().not_null())
                .col(text(Tickets::Severity, 16))
                .col(int(Tickets::Impact))
                .col(text(Tickets::Status, 16))
                .col(int(Tickets::PriorityScore))
                .col(text(Tickets::PriorityLevel, 4))
                .col(int(Tickets::SeverityPoints))
                .col(int(Tickets::TierPoints))
                .col(int(Tickets::ImpactPoints))
                .col(int(Tickets::AgingPoints))
                .col(ColumnDef::new(Tickets::AssignedAgentId).big_integer().null())
                .col(ColumnDef::new(Tickets::AssignmentReason).string_len(32).null())
                .col(ts(b, Tickets::FirstResponseDueAt).null())
                .col(ts(b, Tickets::ResolutionDueAt).null())
                .col(flag(Tickets::FirstResponseBreached))
                .col(flag(Tickets::ResolutionBreached))
                .col(ColumnDef::new(Tickets::Rating).integer().null())
                .col(ColumnDef::new(Tickets::Feedback).string_len(16).null())
                .col(ColumnDef::new(Tickets::LastResponse).text().not_null())
                .col(ColumnDef::new(Tickets::Version).big_integer().not_null())
                .col(ts(b, Tickets::CreatedAt).not_null())
                .col(ts(b, Tickets::UpdatedAt).not_null())
                .col(ts(b, Tickets::FirstResponseAt).null())
                .col(ts(b, Tickets::ResolvedAt).null())
                .col(ts(b, Tickets::ClosedAt).null())
                .foreign_key(
                    &mut fk((Tickets::Table, Tickets::CustomerId), (Customers::Table, Customers::Id))
                        .name("fk_tickets_customer")
                        .to_owned(),
                )
                .foreign_key(
                    &mut fk((Tickets::Table, Tickets::DepartmentId), (Departments::Table, Departments::Id))
                        .name("fk_tickets_department")
                        .to_owned(),
                )
                .foreign_key(
                    &mut fk((Tickets::Table, Tickets::AssignedAgentId), (Agents::Table, Agents::Id))
                        .name("fk_tickets_agent")
                        .to_owned(),
                )
                // The queue order: status, then score descending, create time and id.
                .to_owned(),
        )
        .await
}

async fn create_logs(manager: &SchemaManager<'_>, b: DatabaseBackend) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Logs::Table)
                .col(id(Logs::Id))
                .col(ColumnDef::new(Logs::TicketId).big_integer().not_null())
                .col(text(Logs::SenderKind, 16))
                .col(ColumnDef::new(Logs::SenderId).big_integer().null())
                .col(ColumnDef::new(Logs::Body).text().not_null())
                .col(text(Logs::Visibility, 16))
                .col(text(Logs::DeliveryStatus, 16))
                .col(ts(b, Logs::CreatedAt).not_null())
                .foreign_key(
                    &mut fk((Logs::Table, Logs::TicketId), (Tickets::Table, Tickets::Id))
                        .name("fk_logs_ticket")
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(Attachments::Table)
                .col(id(Attachments::Id))
                .col(ColumnDef::new(Attachments::LogId).big_integer().not_null())
                .col(text(Attachments::FileName, 255))
                .col(text(Attachments::ContentType, 255))
                .col(ColumnDef::new(Attachments::SizeBytes).big_integer().not_null())
                .col(text(Attachments::Sha256, 64))
                .col(bytes(b, Attachments::Content).not_null())
                .foreign_key(
                    &mut fk((Attachments::Table, Attachments::LogId), (Logs::Table, Logs::Id))
                        .name("fk_attachments_log")
                        .to_owned(),
                )
                .to_owned(),
        )
        .await
}

/// The secondary indexes, each serving a query of the data layer.
async fn create_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let indexes = [
        Index::create()
            .name("idx_customers_tier")
            .table(Customers::Table)
            .col(Customers::Tier)
            .col(Customers::Id)
            .to_owned(),
        Index::create()
            .name("idx_agents_department")
            .table(Agents::Table)
            .col(Agents::DepartmentId)
            .col(Agents::Availability)
            .col(Agents::Id)
            .to_owned(),
        Index::create()
            .name("uq_idempotency_scope_request")
            .table(IdempotencyKeys::Table)
            .unique()
            .col(IdempotencyKeys::Scope)
            .col(IdempotencyKeys::RequestId)
            .to_owned(),
        // The queue order: status, then score descending, create time and id.
        Index::create()
            .name("idx_tickets_queue")
            .table(Tickets::Table)
            .col(Tickets::Status)
            .col((Tickets::PriorityScore, IndexOrder::Desc))
            .col(Tickets::CreatedAt)
            .col(Tickets::Id)
            .to_owned(),
        Index::create()
            .name("idx_tickets_customer")
            .table(Tickets::Table)
            .col(Tickets::CustomerId)
            .col(Tickets::CreatedAt)
            .to_owned(),
        Index::create()
            .name("idx_tickets_agent")
            .table(Tickets::Table)
            .col(Tickets::AssignedAgentId)
            .col(Tickets::Status)
            .to_owned(),
        Index::create()
            .name("idx_tickets_department")
            .table(Tickets::Table)
            .col(Tickets::DepartmentId)
            .col(Tickets::Status)
            .to_owned(),
        Index::create()
            .name("idx_tickets_created")
            .table(Tickets::Table)
            .col(Tickets::CreatedAt)
            .col(Tickets::Id)
            .to_owned(),
        Index::create().name("idx_logs_ticket").table(Logs::Table).col(Logs::TicketId).col(Logs::Id).to_owned(),
        Index::create()
            .name("idx_attachments_log")
            .table(Attachments::Table)
            .col(Attachments::LogId)
            .col(Attachments::Id)
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}
