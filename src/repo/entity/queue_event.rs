//! The `queue_events` table: the event log behind WatchQueue.
use sea_orm::entity::prelude::*;

use crate::domain::event::EventKind;
use crate::domain::{Level, Status};

/// A row of `queue_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "queue_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sequence: Option<i64>,
    pub kind: EventKind,
    pub ticket_id: i64,
    pub log_id: Option<i64>,
    /// The ticket after the change: the JSON of a `tickets` row.
    #[sea_orm(column_type = "Text")]
    pub ticket: String,
    /// The call (CALL_UPDATED) or the signal (CALL_SIGNAL), as JSON.
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub before_status: Option<Status>,
    pub before_department_id: Option<i64>,
    pub before_agent_id: Option<i64>,
    pub before_level: Option<Level>,
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
