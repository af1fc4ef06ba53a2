//! Who is calling and which tickets they may see: the roles, the principal a token names,
//! and the ticket scope that every ticket query, ticket write and streamed event is
//! narrowed by. Pure rules; tokens and the enforcement point live in `crate::auth`.

use super::error::{DomainError, DomainResult};
use super::model::Ticket;
use super::types::{AgentRole, stored_enum};

stored_enum!(
    /// What a caller is, as named in its token.
    Role {
        /// A customer: their own tickets and public messages only.
        Customer => "customer",
        /// An agent: their department's tickets and the tickets assigned to them.
        Agent => "agent",
        /// A supervisor: every ticket.
        Supervisor => "supervisor",
        /// An administrator: everything, including departments, agents and credentials.
        Admin => "admin",
        /// An internal service: everything.
        Service => "service",
    }
);

impl Role {
    /// The staff roles (everyone but customers).
    pub const STAFF: &'static [Role] = &[Role::Agent, Role::Supervisor, Role::Admin, Role::Service];

    /// The role an agent signs in with.
    pub fn of_agent(role: AgentRole) -> Self {
        match role {
            AgentRole::Agent => Role::Agent,
            AgentRole::Supervisor => Role::Supervisor,
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// A stable name for logs and rate limits: `customer:7`, `agent:3`, `service:billing`.
    pub subject: String,
    /// The customer, for the customer role.
    pub customer_id: Option<i64>,
    /// The agent, for the agent and supervisor roles.
    pub agent_id: Option<i64>,
    /// The agent's department, for the agent and supervisor roles.
    pub department_id: Option<i64>,
}

impl Principal {
    /// A customer.
    pub fn customer(id: i64) -> Self {
        Self {
            role: Role::Customer,
            subject: format!("customer:{id}"),
            customer_id: Some(id),
            agent_id: None,
            department_id: None,
        }
    }

    /// An agent or supervisor of a department.
    pub fn agent(id: i64, role: AgentRole, department_id: i64) -> Self {
        Self {
            role: Role::of_agent(role),
            subject: format!("agent:{id}"),
            customer_id: None,
            agent_id: Some(id),
            department_id: Some(department_id),
        }
    }

    /// An operator or internal caller named `name` (admin or service).
    pub fn named(role: Role, name: &str) -> Self {
        Self { role, subject: format!("{role}:{name}"), customer_id: None, agent_id: None, department_id: None }
    }

    /// True for every role but customer.
    pub fn is_staff(&self) -> bool {
        self.role != Role::Customer
    }

    /// The tickets this caller may see.
    pub fn ticket_scope(&self) -> TicketScope {
        match (self.role, self.customer_id, self.agent_id, self.department_id) {
            (Role::Customer, Some(c), _, _) => TicketScope::Customer(c),
            (Role::Agent, _, Some(agent_id), Some(department_id)) => TicketScope::Agent { agent_id, department_id },
            (Role::Supervisor | Role::Admin | Role::Service, ..) => TicketScope::All,
            // A token without the ids its role needs sees nothing.
            _ => TicketScope::Customer(0),
        }
    }
}

/// The tickets a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketScope {
    /// Every ticket (supervisors, admins, services).
    All,
    /// One customer's tickets; anything else does not exist for them.
    Customer(i64),
    /// A department's tickets plus those assigned to one agent.
    Agent {
        /// The agent.
        agent_id: i64,
        /// The agent's department.
        department_id: i64,
    },
}

impl TicketScope {
    /// May the caller see a ticket of this customer, in this department, with this agent?
    pub fn admits(&self, customer_id: i64, department_id: i64, agent_id: Option<i64>) -> bool {
        match *self {
            TicketScope::All => true,
            TicketScope::Customer(c) => c == customer_id,
            TicketScope::Agent { agent_id: a, department_id: d } => d == department_id || agent_id == Some(a),
        }
    }

    /// May the caller see this ticket?
    pub fn admits_ticket(&self, t: &Ticket) -> bool {
        self.admits(t.customer_id, t.department_id, t.assigned_agent_id)
    }

    /// Internal notes are for staff only.
    pub fn sees_internal(&self) -> bool {
        !matches!(self, TicketScope::Customer(_))
    }

    /// Ok when the caller may see ticket `id`; otherwise NOT_FOUND for a customer (the
    /// ticket does not exist for them) and PERMISSION_DENIED for staff.
    pub fn check(&self, id: i64, customer_id: i64, department_id: i64, agent_id: Option<i64>) -> DomainResult<()> {
        if self.admits(customer_id, department_id, agent_id) {
            return Ok(());
        }
        Err(self.refusal("ticket", id))
    }

    /// The refusal for a resource outside this scope.
    pub fn refusal(&self, resource: &'static str, id: i64) -> DomainError {
        match self {
            TicketScope::Customer(_) => DomainError::NotFound { resource, id },
            TicketScope::Agent { department_id, .. } => DomainError::Forbidden(format!(
                "{resource} {id} is outside your scope: agents see the tickets of their department \
                 ({department_id}) and the tickets assigned to them"
            )),
            TicketScope::All => DomainError::Bug(format!("{resource} {id} refused to an unrestricted caller")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_admit_their_own_tickets_only() {
        let customer = Principal::customer(7).ticket_scope();
        assert!(customer.admits(7, 1, None));
        assert!(!customer.admits(8, 1, None));
        let agent = Principal::agent(3, AgentRole::Agent, 1).ticket_scope();
        assert!(agent.admits(9, 1, None), "own department");
        assert!(agent.admits(9, 2, Some(3)), "assigned to them elsewhere");
        assert!(!agent.admits(9, 2, Some(4)));
        assert_eq!(Principal::agent(3, AgentRole::Supervisor, 1).ticket_scope(), TicketScope::All);
        assert_eq!(Principal::named(Role::Service, "billing").ticket_scope(), TicketScope::All);
    }

    #[test]
    fn refusals_hide_from_customers_and_explain_to_staff() {
        let e = TicketScope::Customer(7).check(5, 8, 1, None).unwrap_err();
        assert!(matches!(e, DomainError::NotFound { resource: "ticket", id: 5 }));
        let e = TicketScope::Agent { agent_id: 3, department_id: 1 }.check(5, 8, 2, None).unwrap_err();
        assert!(matches!(e, DomainError::Forbidden(_)));
        assert!(!TicketScope::Customer(7).sees_internal());
        assert!(TicketScope::Agent { agent_id: 3, department_id: 1 }.sees_internal());
    }
}
