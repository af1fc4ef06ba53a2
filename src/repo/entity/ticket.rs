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

/// A row decoded by position, for every read of whole tickets (`repo::ticket_rows::by_id`,
/// `one` and `all`): the columns of `Entity::find()`, which are the fields above in order.
/// The derived decoding finds each column by name and, for every NULL, formats that
/// name into an error it then drops: measured with callgrind, 12,800 instructions a row,
/// 40 % of a ListTickets call.
#[derive(Debug)]
pub struct ByPosition(pub Model);

impl sea_orm::FromQueryResult for ByPosition {
    fn from_query_result(res: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        let mut column = 0..;
        let mut next = move || column.next().unwrap_or_default();
        // A struct expression evaluates its fields in the order written: the table's.
        Ok(ByPosition(Model {
            id: res.try_get_by_index(next())?,
            customer_id: res.try_get_by_index(next())?,
            department_id: res.try_get_by_index(next())?,
            category: res.try_get_by_index(next())?,
            subject: res.try_get_by_index(next())?,
            description: res.try_get_by_index(next())?,
            severity: res.try_get_by_index(next())?,
            impact: res.try_get_by_index(next())?,
            status: res.try_get_by_index(next())?,
            priority_score: res.try_get_by_index(next())?,
            priority_level: res.try_get_by_index(next())?,
            severity_points: res.try_get_by_index(next())?,
            tier_points: res.try_get_by_index(next())?,
            impact_points: res.try_get_by_index(next())?,
            aging_points: res.try_get_by_index(next())?,
            assigned_agent_id: res.try_get_by_index(next())?,
            assignment_reason: res.try_get_by_index(next())?,
            first_response_due_at: res.try_get_by_index(next())?,
            resolution_due_at: res.try_get_by_index(next())?,
            first_response_breached: res.try_get_by_index(next())?,
            resolution_breached: res.try_get_by_index(next())?,
            rating: res.try_get_by_index(next())?,
            feedback: res.try_get_by_index(next())?,
            last_response: res.try_get_by_index(next())?,
            version: res.try_get_by_index(next())?,
            created_at: res.try_get_by_index(next())?,
            updated_at: res.try_get_by_index(next())?,
            first_response_at: res.try_get_by_index(next())?,
            resolved_at: res.try_get_by_index(next())?,
            closed_at: res.try_get_by_index(next())?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    /// [`ByPosition`] reads the columns in this order; a field moved or added in `Model`
    /// must be moved or added there too.
    #[test]
    fn the_select_lists_the_columns_in_the_order_by_position_reads_them() {
        let names: Vec<String> = Column::iter().map(|c| c.to_string()).collect();
        assert_eq!(
            names,
            [
                "id",
                "customer_id",
                "department_id",
                "category",
                "subject",
                "description",
                "severity",
                "impact",
                "status",
                "priority_score",
                "priority_level",
                "severity_points",
                "tier_points",
                "impact_points",
                "aging_points",
                "assigned_agent_id",
                "assignment_reason",
                "first_response_due_at",
                "resolution_due_at",
                "first_response_breached",
                "resolution_breached",
                "rating",
                "feedback",
                "last_response",
                "version",
                "created_at",
                "updated_at",
                "first_response_at",
                "resolved_at",
                "closed_at",
            ]
        );
    }
}
