//! The domain's own errors: what a rule refuses, in the domain's words. The service maps
//! them once to its error type (`From<DomainError> for AppError`), and that to a gRPC
//! status; the domain itself knows neither.

/// A request field that is not valid, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The path of the field, e.g. `customer.email`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub description: String,
}

/// What a domain rule refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// One or more fields are not valid.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldViolation>),
    /// The resource does not exist for the caller.
    #[error("{resource} {id} not found")]
    NotFound {
        /// The kind of resource.
        resource: &'static str,
        /// Its id.
        id: i64,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A workflow rule forbids it now.
    #[error("{0}")]
    Precondition(String),
    /// A rule was asked something it cannot answer: a bug.
    #[error("{0}")]
    Bug(String),
}

/// Every violation, `field: description; …`.
pub fn describe(violations: &[FieldViolation]) -> String {
    violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
}

/// The result of a domain rule.
pub type DomainResult<T> = Result<T, DomainError>;
