//! The `calls` table: voice calls on tickets.
use sea_orm::entity::prelude::*;

use crate::domain::SenderKind;
use crate::domain::call::{CallOutcome, CallState};

/// A row of `calls`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ticket_id: i64,
    pub department_id: i64,
    pub caller_kind: SenderKind,
    pub caller_id: i64,
    pub callee_kind: SenderKind,
    pub callee_id: i64,
    pub state: CallState,
    pub outcome: Option<CallOutcome>,
    pub end_reason: Option<String>,
    /// The ticket's id while the call is live (unique: one live call per ticket).
    pub live_ticket_id: Option<i64>,
    pub signals: i32,
    pub after_sequence: i64,
    pub created_at: DateTimeUtc,
    pub ring_deadline: DateTimeUtc,
    pub answered_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub caller_seen_at: DateTimeUtc,
    pub callee_seen_at: Option<DateTimeUtc>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
