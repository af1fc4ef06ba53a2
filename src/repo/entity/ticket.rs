//! The `tickets` table.
use sea_orm::entity::prelude::*;

/// A row of `tickets`.
/// Serializable: a change event stores the row as it is after the change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub department_id: i64,
    pub category: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub severity: String,
    pub impact: i32,
    pub status: String,
    pub priority_score: i32,
    pub priority_level: String,
    pub severity_points: i32,
    pub tier_points: i32,
    pub impact_points: i32,
    pub aging_points: i32,
    pub assigned_agent_id: Option<i64>,
    pub assignment_reason: Option<String>,
    pub first_response_due_at: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub rating: Option<i32>,
    pub feedback: Option<String>,
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
