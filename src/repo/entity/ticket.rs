//! The `tickets` table.
use sea_orm::entity::prelude::*;

use crate::domain::{AssignmentReason, Category, Feedback, Level, Severity, Status};

/// A row of `tickets`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub department_id: i64,
    pub category: Category,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub severity: Severity,
    pub impact: i32,
    pub status: Status,
    pub priority_score: i32,
    pub priority_level: Level,
    pub severity_points: i32,
    pub tier_points: i32,
    pub impact_points: i32,
    pub aging_points: i32,
    pub assigned_agent_id: Option<i64>,
    pub assignment_reason: Option<AssignmentReason>,
    pub first_response_due_at: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub rating: Option<i32>,
    pub feedback: Option<Feedback>,
    #[sea_orm(column_type = "Text")]
    pub last_response: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
