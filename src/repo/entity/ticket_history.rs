//! The `ticket_history` table: each change to a ticket, as long as the ticket is kept.
use sea_orm::entity::prelude::*;

/// A row of `ticket_history`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ticket_id: i64,
    pub created_at: DateTimeUtc,
    /// Whether the ticket's customer may see it.
    pub public: bool,
    /// The change's kind, as in `detail`.
    pub kind: String,
    /// The change as JSON (`domain::history::Change`).
    #[sea_orm(column_type = "Text")]
    pub detail: String,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
