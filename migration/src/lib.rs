//! Schema migrations of Support Service, one file per change (sea-orm-cli layout).
//! They never import the service's entities and never seed data.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_core_tables;
mod m20261122_000002_create_ticket_assignments;
mod m20261122_000003_create_queue_events;
mod m20261122_000004_create_credentials;
mod m20261122_000005_create_report_indexes;
mod m20261122_000006_create_queue_order_indexes;
mod m20261129_000007_account_lifecycle;
mod m20261129_000008_sequencer_lease;
mod m20261129_000009_ticket_search;
mod m20261129_000010_unnumbered_events;
mod m20261129_000011_ticket_history;
mod m20261129_000012_quick_replies;
mod m20261129_000013_webhooks;
mod m20261129_000014_mail;
mod m20261129_000015_calls;
mod m20261207_000016_sealed_webhook_secrets;

/// A timestamp column with microsecond precision on every backend (DATETIME(6) on MySQL).
pub(crate) fn ts<T: IntoIden>(backend: sea_orm_migration::sea_orm::DatabaseBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        sea_orm_migration::sea_orm::DatabaseBackend::MySql => def.custom(Alias::new("DATETIME(6)")),
        _ => def.date_time(),
    };
    def
}

/// Every migration, in the order they apply.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_core_tables::Migration),
            Box::new(m20261122_000002_create_ticket_assignments::Migration),
            Box::new(m20261122_000003_create_queue_events::Migration),
            Box::new(m20261122_000004_create_credentials::Migration),
            Box::new(m20261122_000005_create_report_indexes::Migration),
            Box::new(m20261122_000006_create_queue_order_indexes::Migration),
            Box::new(m20261129_000007_account_lifecycle::Migration),
            Box::new(m20261129_000008_sequencer_lease::Migration),
            Box::new(m20261129_000009_ticket_search::Migration),
            Box::new(m20261129_000010_unnumbered_events::Migration),
            Box::new(m20261129_000011_ticket_history::Migration),
            Box::new(m20261129_000012_quick_replies::Migration),
            Box::new(m20261129_000013_webhooks::Migration),
            Box::new(m20261129_000014_mail::Migration),
            Box::new(m20261129_000015_calls::Migration),
            Box::new(m20261207_000016_sealed_webhook_secrets::Migration),
        ]
    }
}
