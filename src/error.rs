//! One error type for the whole service and its one mapping to a gRPC status.
//!
//! Callers' mistakes carry a message saying what to fix (and, for bad fields, a
//! `google.rpc.BadRequest`); database and internal failures are logged with their whole
//! chain and reach the caller as a short generic message that leaks no SQL.

use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use crate::domain::error::FieldViolation;
use crate::domain::error::{DomainError, describe};

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more fields are not valid.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The named resource does not exist.
    #[error("{resource} {id} not found")]
    NotFound {
        /// The kind of resource.
        resource: &'static str,
        /// Its id.
        id: i64,
    },
    /// A unique field already holds this value.
    #[error("{message}")]
    AlreadyExists {
        /// The field that must be unique.
        field: String,
        /// What clashed.
        message: String,
    },
    /// The call carries no valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but its role may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A workflow rule forbids the change now.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent change won (stale etag).
    #[error("{0}")]
    Aborted(String),
    /// The transaction lost a lock or certification conflict (MySQL 1213 or 1205, a Galera
    /// certification failure at commit, SQLite busy): nothing was written, and the whole
    /// transaction can run again ([`crate::repo::retry_conflicts`]); ABORTED if it keeps losing.
    #[error("{0}")]
    Conflict(String),
    /// A position outside what the server can serve (WatchQueue resume points).
    #[error("{0}")]
    OutOfRange(String),
    /// The caller is too slow or asks too much.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The server is shutting down; the caller should reconnect elsewhere.
    #[error("{0}")]
    ShuttingDown(String),
    /// The database cannot be reached; the call can be retried.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// A database failure that is not the caller's doing.
    #[error("database error")]
    Database(#[source] DbErr),
    /// A bug or broken invariant.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(violations) => AppError::InvalidArgument(violations),
            DomainError::NotFound { resource, id } => AppError::NotFound { resource, id },
            DomainError::Forbidden(m) => AppError::PermissionDenied(m),
            DomainError::Precondition(m) => AppError::FailedPrecondition(m),
            DomainError::Bug(m) => AppError::Internal(m),
        }
    }
}

impl AppError {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        AppError::InvalidArgument(vec![FieldViolation { field: field.into(), description: description.into() }])
    }

    /// Turns a unique-key violation into `ALREADY_EXISTS` on `field`; other errors map as usual.
    pub fn unique_violation(err: DbErr, field: &str, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::AlreadyExists { field: field.to_owned(), message: message.into() }
            }
            _ => AppError::from(err),
        }
    }
}

/// True when the error means the database could not be reached, not that a statement failed.
fn is_connectivity(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)
        ),
        _ => false,
    }
}

/// True when the statement lost a lock conflict (MySQL deadlock 1213 or lock wait timeout
/// 1205, SQLite busy): nothing was changed and the same call can be retried.
fn is_conflict(err: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return false;
    };
    let Some(db) = e.as_database_error() else { return false };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(my.number(), 1205 | 1213);
    }
    matches!(db.code().as_deref(), Some("5" | "517"))
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if is_connectivity(&err) {
            AppError::Unavailable(err)
        } else if is_conflict(&err) {
            tracing::warn!(error = %chain(&err), "transaction lost a lock conflict");
            AppError::Conflict("a concurrent change conflicted with this one; retry the call".into())
        } else {
            AppError::Database(err)
        }
    }
}

/// An error of a statement sent with sqlx directly (the sequencer's held connection, the
/// reads of `repo::direct`), as sea-orm reports the same error of its own statements, so
/// that it maps to the same status (a pool timeout or a lost connection to UNAVAILABLE).
pub(crate) fn sqlx_db_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(err)))
}

/// As [`sqlx_db_err`], for a statement that reads no rows (sea-orm's `execute`).
pub(crate) fn sqlx_exec_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(err)))
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        sqlx_db_err(err).into()
    }
}

/// A column that could not be read from a raw query's row: the database's own error, or a
/// NULL where the query promised a value (a bug in the query, so INTERNAL).
impl From<sea_orm::TryGetError> for AppError {
    fn from(err: sea_orm::TryGetError) -> Self {
        match err {
            sea_orm::TryGetError::DbErr(e) => e.into(),
            sea_orm::TryGetError::Null(column) => AppError::Internal(format!("column {column} was NULL")),
        }
    }
}

/// An error with its chain of causes, `outer: cause: root`, for log lines.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// Logs an internal failure with its chain of causes.
fn log_chain(err: &dyn std::error::Error) {
    tracing::error!(error = %chain(err), "request failed");
}

impl From<DomainError> for Status {
    fn from(err: DomainError) -> Self {
        Status::from(AppError::from(err))
    }
}

impl From<AppError> for Status {
    fn from(err: AppError) -> Self {
        match err {
            AppError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let message = format!("invalid request: {}", describe(&violations));
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            e @ AppError::NotFound { .. } => Status::not_found(e.to_string()),
            AppError::AlreadyExists { field, message } => {
                let details = ErrorDetails::with_resource_info(field, String::new(), String::new(), message.clone());
                Status::with_error_details(Code::AlreadyExists, message, details)
            }
            AppError::Unauthenticated(m) => Status::unauthenticated(m),
            AppError::PermissionDenied(m) => Status::permission_denied(m),
            AppError::FailedPrecondition(m) => Status::failed_precondition(m),
            AppError::Aborted(m) | AppError::Conflict(m) => Status::aborted(m),
            AppError::OutOfRange(m) => Status::out_of_range(m),
            AppError::ResourceExhausted(m) => Status::resource_exhausted(m),
            AppError::ShuttingDown(m) => Status::unavailable(m),
            e @ AppError::Unavailable(_) => {
                log_chain(&e);
                Status::unavailable("the database is unavailable; retry shortly")
            }
            e @ (AppError::Database(_) | AppError::Internal(_)) => {
                log_chain(&e);
                Status::internal(INTERNAL_MESSAGE)
            }
        }
    }
}

/// The message of every INTERNAL status this service writes; any other INTERNAL comes from
/// the transport (see [`crate::grpc::malformed`]).
pub const INTERNAL_MESSAGE: &str = "internal error; it has been logged";

/// The result of every fallible operation of the service.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_bad_request_details() {
        let status = Status::from(AppError::invalid("customer.email", "must be a valid email address"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request detail");
        assert_eq!(bad.field_violations[0].field, "customer.email");
        assert!(status.message().contains("customer.email"));
    }

    #[test]
    fn connectivity_errors_are_unavailable_and_others_internal_without_sql() {
        let status = Status::from(AppError::from(DbErr::Conn(RuntimeErr::Internal("refused".into()))));
        assert_eq!(status.code(), Code::Unavailable);
        let status = Status::from(AppError::from(DbErr::Custom("SELECT secret FROM x".into())));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
    }

    #[test]
    fn not_found_and_precondition_map_to_their_codes() {
        assert_eq!(Status::from(AppError::NotFound { resource: "ticket", id: 7 }).code(), Code::NotFound);
        assert_eq!(Status::from(AppError::FailedPrecondition("no".into())).code(), Code::FailedPrecondition);
        assert_eq!(Status::from(AppError::Aborted("stale".into())).code(), Code::Aborted);
    }
}
