//! The `ticket_assignments` table: the history of who got which ticket, and why.
use sea_orm::entity::prelude::*;

use crate::domain::AssignmentReason;

/// A row of `ticket_assignments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ticket_id: i64,
    pub agent_id: i64,
    pub reason: AssignmentReason,
    pub assigned_by: String,
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
