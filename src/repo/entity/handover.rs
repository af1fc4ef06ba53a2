//! The `handovers` table: tickets handed over from an agent who was OFF, kept until that
//! agent returns and is told.
use sea_orm::entity::prelude::*;

/// A row of `handovers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "handovers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The agent who was OFF.
    pub agent_id: i64,
    pub ticket_id: i64,
    /// Who got the ticket; None: it waited in the department's backlog.
    pub to_agent_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
