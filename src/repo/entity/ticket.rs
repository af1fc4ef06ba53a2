//! The `tickets` table.
use sea_orm::entity::prelude::*;
use sea_orm::sqlx::Row as _;
use sea_orm::sqlx::mysql::MySqlRow;

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
/// 40 % of a ListTickets call. On MySQL each cell is decoded by sqlx itself, as a raw sqlx
/// caller would: sea-orm's by-index getters cost 7,400 instructions a row against sqlx's
/// 4,100 (BENCHMARKS.md, issue 21, the sixth session).
#[derive(Debug)]
pub struct ByPosition(pub Model);

impl sea_orm::FromQueryResult for ByPosition {
    fn from_query_result(res: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        let row = match res.try_as_mysql_row() {
            Some(row) => Row::MySql(row),
            None => Row::Any(res),
        };
        let mut column = 0..;
        let mut next = move || column.next().unwrap_or_default();
        // A struct expression evaluates its fields in the order written: the table's.
        Ok(ByPosition(Model {
            id: row.cell(next())?,
            customer_id: row.cell(next())?,
            department_id: row.cell(next())?,
            category: row.cell(next())?,
            subject: row.cell(next())?,
            description: row.cell(next())?,
            severity: row.cell(next())?,
            impact: row.cell(next())?,
            status: row.cell(next())?,
            priority_score: row.cell(next())?,
            priority_level: row.cell(next())?,
            severity_points: row.cell(next())?,
            tier_points: row.cell(next())?,
            impact_points: row.cell(next())?,
            aging_points: row.cell(next())?,
            assigned_agent_id: row.cell(next())?,
            assignment_reason: row.cell(next())?,
            first_response_due_at: row.cell(next())?,
            resolution_due_at: row.cell(next())?,
            first_response_breached: row.cell(next())?,
            resolution_breached: row.cell(next())?,
            rating: row.cell(next())?,
            feedback: row.cell(next())?,
            last_response: row.cell(next())?,
            version: row.cell(next())?,
            created_at: row.cell(next())?,
            updated_at: row.cell(next())?,
            first_response_at: row.cell(next())?,
            resolved_at: row.cell(next())?,
            closed_at: row.cell(next())?,
        }))
    }
}

/// A result row: sqlx's own on MySQL, or sea-orm's (SQLite).
enum Row<'a> {
    MySql(&'a MySqlRow),
    Any(&'a QueryResult),
}

impl Row<'_> {
    fn cell<T: Cell>(&self, index: usize) -> Result<T, DbErr> {
        match self {
            Row::MySql(row) => T::from_mysql(row, index),
            Row::Any(res) => T::from_any(res, index),
        }
    }
}

/// A column type [`ByPosition`] reads: by sqlx from a MySQL row, by sea-orm from any.
trait Cell: sea_orm::TryGetable {
    fn from_mysql(row: &MySqlRow, index: usize) -> Result<Self, DbErr>;

    fn from_any(res: &QueryResult, index: usize) -> Result<Self, DbErr> {
        res.try_get_by_index(index)
    }
}

fn undecodable(index: usize, e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Type(format!("tickets column {index}: {e}"))
}

fn parsed<T>(text: &str, parse: fn(&str) -> Option<T>, name: &str) -> Result<T, DbErr> {
    parse(text).ok_or_else(|| DbErr::Type(format!("unexpected stored {name}: {text:?}")))
}

/// Types sqlx decodes as they are.
macro_rules! decoded {
    ($($t:ty),+) => {$(
        impl Cell for $t {
            fn from_mysql(row: &MySqlRow, index: usize) -> Result<Self, DbErr> {
                row.try_get(index).map_err(|e| undecodable(index, e))
            }
        }
    )+};
}

decoded!(i64, i32, bool, String, DateTimeUtc, Option<i64>, Option<i32>, Option<DateTimeUtc>);

/// The domain's enums, stored as their names (`entity::enums`), read without a copy.
macro_rules! stored {
    ($($t:ident),+) => {$(
        impl Cell for $t {
            fn from_mysql(row: &MySqlRow, index: usize) -> Result<Self, DbErr> {
                let text: &str = row.try_get(index).map_err(|e| undecodable(index, e))?;
                parsed(text, $t::parse, stringify!($t))
            }
        }

        impl Cell for Option<$t> {
            fn from_mysql(row: &MySqlRow, index: usize) -> Result<Self, DbErr> {
                let text: Option<&str> = row.try_get(index).map_err(|e| undecodable(index, e))?;
                text.map(|text| parsed(text, $t::parse, stringify!($t))).transpose()
            }
        }
    )+};
}

stored!(Category, Severity, Status, Level, AssignmentReason, Feedback);

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
