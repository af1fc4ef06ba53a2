//! The `logs` table: messages on tickets.
use sea_orm::entity::prelude::*;

use crate::domain::{DeliveryStatus, SenderKind, Visibility};

/// A row of `logs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ticket_id: i64,
    pub sender_kind: SenderKind,
    pub sender_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub visibility: Visibility,
    pub delivery_status: DeliveryStatus,
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
