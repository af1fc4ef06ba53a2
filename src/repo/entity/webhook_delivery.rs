//! The `webhook_deliveries` table: each event's delivery to a subscription.
use sea_orm::entity::prelude::*;

/// A row of `webhook_deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub webhook_id: i64,
    pub sequence: i64,
    /// RETRYING, SUCCEEDED or FAILED.
    pub state: String,
    pub attempts: i32,
    pub last_status_code: i32,
    pub last_error: String,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub manual: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
