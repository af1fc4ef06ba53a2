//! The `webhooks` table: subscriptions to the event log.
use sea_orm::entity::prelude::*;

/// A row of `webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub url: String,
    /// Stored kind names, comma-separated; empty for every kind.
    pub event_kinds: String,
    pub department_id: Option<i64>,
    pub active: bool,
    pub disabled_reason: String,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// The cursor: the last sequence delivered or skipped.
    pub delivered_through: i64,
    /// While the next event fails: when it is tried again.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
