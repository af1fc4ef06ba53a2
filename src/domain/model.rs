//! The resources as the service knows them, and the validated inputs that change them.

use chrono::{DateTime, Utc};

use super::priority::Priority;
use super::types::*;

/// An organisational unit owning tickets and agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Turn-taking on its tickets.
    pub mode: ConversationMode,
    /// Whether customers may call its agents.
    pub customer_calls: bool,
    /// Optimistic-concurrency version (the etag).
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A ticket handed over from an agent who was OFF, as that agent is told on return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The ticket.
    pub ticket_id: i64,
    /// Its subject.
    pub subject: String,
    /// Who got it then; None: it waited in the department's backlog.
    pub to_agent_id: Option<i64>,
    /// Who has it now.
    pub assigned_agent_id: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A validated department to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDepartment {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Turn-taking on its tickets.
    pub mode: ConversationMode,
    /// Whether customers may call its agents.
    pub customer_calls: bool,
}

/// Validated changes to a department; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartmentPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New mode.
    pub mode: Option<ConversationMode>,
    /// Whether customers may call its agents.
    pub customer_calls: Option<bool>,
}

/// A person or company that opens tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Id.
    pub id: i64,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Unique, lower-cased email.
    pub email: String,
    /// Phone, possibly empty.
    pub phone: String,
    /// Location, possibly empty.
    pub location: String,
    /// Plan.
    pub tier: Tier,
    /// No email, by the customer's choice.
    pub email_opt_out: bool,
    /// Version (the etag).
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A validated customer to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Lower-cased email.
    pub email: String,
    /// Phone, possibly empty.
    pub phone: String,
    /// Location, possibly empty.
    pub location: String,
    /// Plan.
    pub tier: Tier,
}

/// Validated changes to a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New location.
    pub location: Option<String>,
    /// New tier (re-scores the customer's open tickets).
    pub tier: Option<Tier>,
    /// Opt out of (or back into) email.
    pub email_opt_out: Option<bool>,
}

/// A member of support staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Id.
    pub id: i64,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Unique, lower-cased email.
    pub email: String,
    /// Phone, possibly empty.
    pub phone: String,
    /// Department.
    pub department_id: i64,
    /// Role.
    pub role: AgentRole,
    /// Availability.
    pub availability: Availability,
    /// Version (the etag).
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A validated agent to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgent {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Lower-cased email.
    pub email: String,
    /// Phone, possibly empty.
    pub phone: String,
    /// Department.
    pub department_id: i64,
    /// Role.
    pub role: AgentRole,
    /// Availability.
    pub availability: Availability,
}

/// Validated changes to an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentPatch {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New department.
    pub department_id: Option<i64>,
    /// New role.
    pub role: Option<AgentRole>,
}

/// An agent's assigned tickets counted by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The agent.
    pub agent_id: i64,
    /// Count per status, in workflow order, zeros included.
    pub counts: Vec<(Status, i64)>,
}

/// Service-level due times and breach flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sla {
    /// First public agent reply due.
    pub first_response_due: Option<DateTime<Utc>>,
    /// Resolution due.
    pub resolution_due: Option<DateTime<Utc>>,
    /// First response missed.
    pub first_response_breached: bool,
    /// Resolution missed.
    pub resolution_breached: bool,
}

/// A customer's request for help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Id.
    pub id: i64,
    /// The customer who opened it.
    pub customer_id: i64,
    /// The owning department.
    pub department_id: i64,
    /// Category.
    pub category: Category,
    /// Summary.
    pub subject: String,
    /// The customer's first message.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Impact 1-5.
    pub impact: i32,
    /// Workflow status.
    pub status: Status,
    /// Score, level and breakdown.
    pub priority: Priority,
    /// Assigned agent.
    pub assigned_agent_id: Option<i64>,
    /// Why the agent got it.
    pub assignment_reason: Option<AssignmentReason>,
    /// SLA.
    pub sla: Sla,
    /// Rating on close.
    pub rating: Option<i32>,
    /// Feedback on close.
    pub feedback: Option<Feedback>,
    /// The latest public message.
    pub last_response: String,
    /// Version (the etag).
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// First public agent reply.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Last resolution.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Close.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A validated ticket to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The customer.
    pub customer_id: i64,
    /// The department.
    pub department_id: i64,
    /// Category.
    pub category: Category,
    /// Summary.
    pub subject: String,
    /// First message.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Impact 1-5.
    pub impact: i32,
}

#[cfg(test)]
impl NewTicket {
    /// A new ticket for unit tests: a major bug report of customer 7 in department 2.
    pub(crate) fn sample() -> Self {
        Self {
            customer_id: 7,
            department_id: 2,
            category: Category::BugReport,
            subject: "Checkout fails".into(),
            description: "The pay button answers 500.".into(),
            severity: Severity::Major,
            impact: 3,
        }
    }
}

/// Validated changes to a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    /// New subject.
    pub subject: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<Category>,
    /// New severity (re-scores).
    pub severity: Option<Severity>,
    /// New impact (re-scores).
    pub impact: Option<i32>,
    /// New department.
    pub department_id: Option<i64>,
}

/// The order of a ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TicketOrder {
    /// Score descending, create time, id.
    #[default]
    Priority,
    /// Create time descending, id descending.
    CreateTime,
}

/// Which tickets a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TicketFilter {
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this level.
    pub level: Option<Level>,
    /// Only this department's.
    pub department_id: Option<i64>,
    /// Only this agent's.
    pub assigned_agent_id: Option<i64>,
}

/// Metadata of a stored attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// A file to attach to a new message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A message on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Id.
    pub id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// Writer kind.
    pub sender_kind: SenderKind,
    /// Writer id (None for SYSTEM).
    pub sender_id: Option<i64>,
    /// The agent's display name for an agent's message; empty otherwise.
    pub sender_name: String,
    /// Text.
    pub body: String,
    /// Who may read it.
    pub visibility: Visibility,
    /// Delivery.
    pub delivery_status: DeliveryStatus,
    /// Attached files.
    pub attachments: Vec<AttachmentMeta>,
    /// Time written.
    pub created_at: DateTime<Utc>,
}

/// A validated message to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLog {
    /// Ticket.
    pub ticket_id: i64,
    /// Writer kind (CUSTOMER or AGENT).
    pub sender_kind: SenderKind,
    /// Writer id.
    pub sender_id: i64,
    /// Text.
    pub body: String,
    /// Who may read it.
    pub visibility: Visibility,
    /// Files.
    pub attachments: Vec<NewAttachment>,
}
