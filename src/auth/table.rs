//! Who may call what, declared once: every RPC's path with the roles that may call it and
//! the scope rule that then narrows what it reaches. The auth layer applies the roles to
//! every call before any handler runs, so a handler cannot forget them; the scope rules
//! are applied by the data layer ([`crate::domain::access::TicketScope`]) and the
//! per-resource checks of [`super::policy`]. A unit test fails when the contract holds an
//! RPC without an entry here.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::domain::access::Role;

/// Who may make a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (signing up and in).
    Open,
    /// A token of one of these roles.
    Roles(&'static [Role]),
}

/// What a permitted caller then reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything the call is about (directory reads, admin work, reports).
    Unscoped,
    /// The tickets of the caller's [`crate::domain::access::TicketScope`], and their messages.
    Tickets,
    /// Customers reach their own record only; staff any (agents' changes limited to contact
    /// details of customers with a ticket they see).
    OwnCustomer,
    /// Agents change their own availability only; supervisors and admins anyone's.
    OwnAgent,
    /// Agents and supervisors reach their own department's quick replies; admins and
    /// services any department's (`policy::own_department`).
    OwnDepartment,
    /// A call: its two parties; supervisors of its department, admins and services see it
    /// too (`domain::call::CallViewer`).
    Calls,
    /// The caller's own account (their password).
    OwnAccount,
    /// The account a token or credential presented in the request names.
    Presented,
}

/// One RPC's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Who may call.
    pub access: Access,
    /// What they then reach.
    pub scope: Scope,
}

const EVERYONE: &[Role] = &[Role::Customer, Role::Agent, Role::Supervisor, Role::Admin, Role::Service];
const STAFF: &[Role] = Role::STAFF;
const ADMINS: &[Role] = &[Role::Admin, Role::Service];
const MANAGERS: &[Role] = &[Role::Supervisor, Role::Admin, Role::Service];
/// The customer's close, with their rating; admins and services may relay it.
const CLOSERS: &[Role] = &[Role::Customer, Role::Admin, Role::Service];
/// People with a password; operators' and services' tokens have none.
const PEOPLE: &[Role] = &[Role::Customer, Role::Agent, Role::Supervisor];

const fn rule(access: Access, scope: Scope) -> Rule {
    Rule { access, scope }
}

use Access::{Open, Roles};
use Scope::*;

/// Every RPC of `support.v1`, by service.
pub const TABLE: &[(&str, &str, Rule)] = &[
    ("DepartmentService", "CreateDepartment", rule(Roles(ADMINS), Unscoped)),
    ("DepartmentService", "GetDepartment", rule(Roles(EVERYONE), Unscoped)),
    ("DepartmentService", "ListDepartments", rule(Roles(EVERYONE), Unscoped)),
    ("DepartmentService", "UpdateDepartment", rule(Roles(ADMINS), Unscoped)),
    ("CustomerService", "CreateCustomer", rule(Roles(STAFF), Unscoped)),
    ("CustomerService", "GetCustomer", rule(Roles(EVERYONE), OwnCustomer)),
    ("CustomerService", "ListCustomers", rule(Roles(EVERYONE), OwnCustomer)),
    ("CustomerService", "UpdateCustomer", rule(Roles(EVERYONE), OwnCustomer)),
    ("AgentService", "CreateAgent", rule(Roles(ADMINS), Unscoped)),
    ("AgentService", "GetAgent", rule(Roles(STAFF), Unscoped)),
    ("AgentService", "ListAgents", rule(Roles(STAFF), Unscoped)),
    ("AgentService", "UpdateAgent", rule(Roles(ADMINS), Unscoped)),
    ("AgentService", "SetAgentAvailability", rule(Roles(STAFF), OwnAgent)),
    ("AgentService", "GetAgentWorkload", rule(Roles(STAFF), Unscoped)),
    ("TicketService", "CreateTicket", rule(Roles(EVERYONE), Tickets)),
    ("TicketService", "GetTicket", rule(Roles(EVERYONE), Tickets)),
    ("TicketService", "ListTickets", rule(Roles(EVERYONE), Tickets)),
    ("TicketService", "UpdateTicket", rule(Roles(STAFF), Tickets)),
    ("TicketService", "UpdateTicketStatus", rule(Roles(STAFF), Tickets)),
    ("TicketService", "AssignTicket", rule(Roles(STAFF), Tickets)),
    ("TicketService", "CloseTicket", rule(Roles(CLOSERS), Tickets)),
    ("TicketService", "GetAllowedTransitions", rule(Roles(EVERYONE), Tickets)),
    ("TicketService", "WatchQueue", rule(Roles(EVERYONE), Tickets)),
    ("TicketService", "SearchTickets", rule(Roles(EVERYONE), Tickets)),
    ("TicketService", "GetTicketHistory", rule(Roles(EVERYONE), Tickets)),
    ("LogService", "AddLog", rule(Roles(EVERYONE), Tickets)),
    ("LogService", "ListLogs", rule(Roles(EVERYONE), Tickets)),
    ("LogService", "MarkRead", rule(Roles(EVERYONE), Tickets)),
    ("LogService", "GetAttachment", rule(Roles(EVERYONE), Tickets)),
    ("LogService", "SendTyping", rule(Roles(PEOPLE), Tickets)),
    // Replica to replica, with a service token of the cluster's signing key.
    ("LogService", "RelayTyping", rule(Roles(&[Role::Service]), Unscoped)),
    ("AuthService", "Register", rule(Open, Presented)),
    ("AuthService", "Login", rule(Open, Presented)),
    ("AuthService", "Refresh", rule(Open, Presented)),
    ("AuthService", "Logout", rule(Open, Presented)),
    ("AuthService", "SetPasswordWithToken", rule(Open, Presented)),
    ("AuthService", "SetAgentPassword", rule(Roles(ADMINS), Unscoped)),
    ("AuthService", "ChangePassword", rule(Roles(PEOPLE), OwnAccount)),
    // For customers; agents' accounts are for admins and services (`policy::set_password_for`).
    ("AuthService", "IssueSetPasswordToken", rule(Roles(MANAGERS), Unscoped)),
    ("AuthService", "SetAccountEnabled", rule(Roles(ADMINS), Unscoped)),
    ("ReplyService", "CreateQuickReply", rule(Roles(MANAGERS), OwnDepartment)),
    ("ReplyService", "GetQuickReply", rule(Roles(STAFF), OwnDepartment)),
    ("ReplyService", "ListQuickReplies", rule(Roles(STAFF), OwnDepartment)),
    ("ReplyService", "UpdateQuickReply", rule(Roles(MANAGERS), OwnDepartment)),
    ("ReplyService", "DeleteQuickReply", rule(Roles(MANAGERS), OwnDepartment)),
    ("ReplyService", "DraftReply", rule(Roles(STAFF), Tickets)),
    ("ReplyService", "SuggestReplies", rule(Roles(STAFF), Tickets)),
    ("CallService", "StartCall", rule(Roles(PEOPLE), Tickets)),
    ("CallService", "AnswerCall", rule(Roles(PEOPLE), Calls)),
    ("CallService", "EndCall", rule(Roles(PEOPLE), Calls)),
    ("CallService", "GetCall", rule(Roles(EVERYONE), Calls)),
    ("CallService", "ListCalls", rule(Roles(EVERYONE), Calls)),
    ("CallService", "SendCallSignal", rule(Roles(PEOPLE), Calls)),
    ("CallService", "JoinCall", rule(Roles(PEOPLE), Calls)),
    // TURN relays media, so its credentials go to those who take part in calls.
    ("CallService", "GetIceServers", rule(Roles(PEOPLE), Unscoped)),
    ("WebhookService", "CreateWebhook", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "GetWebhook", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "ListWebhooks", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "UpdateWebhook", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "DeleteWebhook", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "ListWebhookDeliveries", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "RedeliverWebhookEvent", rule(Roles(ADMINS), Unscoped)),
    ("WebhookService", "ReplayWebhook", rule(Roles(ADMINS), Unscoped)),
    ("ReportService", "GetResolutionTimeReport", rule(Roles(MANAGERS), Unscoped)),
    ("ReportService", "GetAgentsPerTicketReport", rule(Roles(MANAGERS), Unscoped)),
    ("ReportService", "GetAgentReport", rule(Roles(MANAGERS), Unscoped)),
    ("ReportService", "GetFirstResponseReport", rule(Roles(MANAGERS), Unscoped)),
    ("ReportService", "GetBacklogReport", rule(Roles(MANAGERS), Unscoped)),
];

/// The HTTP/2 path of an RPC: `/support.v1.<service>/<method>`.
pub fn path(service: &str, method: &str) -> String {
    format!("/support.v1.{service}/{method}")
}

static BY_PATH: LazyLock<HashMap<String, Rule>> =
    LazyLock::new(|| TABLE.iter().map(|(service, method, rule)| (path(service, method), *rule)).collect());

/// The rule of the RPC at `path`, if it is one of ours.
pub fn lookup(path: &str) -> Option<Rule> {
    BY_PATH.get(path).copied()
}

/// Paths that are not ours and need no token: health and reflection.
pub fn is_platform(path: &str) -> bool {
    ["/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Whether `role` may call the RPC at `path`.
pub fn may_call(role: Role, path: &str) -> bool {
    match lookup(path).map(|r| r.access) {
        Some(Access::Open) => true,
        Some(Access::Roles(roles)) => roles.contains(&role),
        None => false,
    }
}

/// The roles that may call a rule's RPC, for messages.
pub fn role_names(access: Access) -> String {
    match access {
        Access::Open => "anyone".into(),
        Access::Roles(roles) => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn every_rpc_of_the_contract_has_exactly_one_entry() {
        let set = prost_types::FileDescriptorSet::decode(crate::pb::FILE_DESCRIPTOR_SET).unwrap();
        let mut described = Vec::new();
        for file in set.file.iter().filter(|f| f.package() == "support.v1") {
            for service in &file.service {
                for method in &service.method {
                    described.push(path(service.name(), method.name()));
                }
            }
        }
        let missing: Vec<&String> = described.iter().filter(|p| lookup(p).is_none()).collect();
        assert!(missing.is_empty(), "RPCs without a rule: {missing:?}");
        assert_eq!(BY_PATH.len(), TABLE.len(), "no path twice");
        assert_eq!(described.len(), TABLE.len(), "no rule for an RPC that does not exist");
    }

    #[test]
    fn the_table_matches_the_contract() {
        let ticket = |m: &str| path("TicketService", m);
        assert!(may_call(Role::Customer, &ticket("CreateTicket")));
        assert!(!may_call(Role::Customer, &ticket("UpdateTicket")));
        assert!(may_call(Role::Agent, &ticket("UpdateTicketStatus")));
        assert!(!may_call(Role::Agent, &path("DepartmentService", "CreateDepartment")));
        assert!(!may_call(Role::Agent, &path("ReportService", "GetBacklogReport")));
        assert!(may_call(Role::Admin, &path("AuthService", "SetAgentPassword")));
        assert!(!may_call(Role::Admin, "/support.v1.TicketService/NoSuchCall"));
    }
}
