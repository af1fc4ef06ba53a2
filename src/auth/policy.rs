//! The per-resource rules that go beyond a role (a customer acts as themselves, an agent
//! on their own availability and on customers they serve); which role may make which call
//! is [`super::table`], applied by the auth layer.
//! Which tickets a caller sees is [`crate::domain::access::TicketScope`], applied by the
//! data layer in its queries.

use crate::domain::access::{Principal, Role};
use crate::domain::{CustomerPatch, SenderKind, Visibility};
use crate::error::{AppError, AppResult};

/// The customer id a customer may act on: their own. Any other id does not exist for them.
pub fn own_customer(who: &Principal, id: i64) -> AppResult<()> {
    match who.customer_id {
        Some(own) if who.role == Role::Customer && own != id => Err(AppError::NotFound { resource: "customer", id }),
        _ => Ok(()),
    }
}

/// Who may change which of a customer's fields. The tier sets priorities and the email is
/// the customer's sign-in, so: customers change their own contact details and email;
/// agents change contact details only (names, phone, location); supervisors also the
/// tier; admins and services everything. Agents are further held to customers with a
/// ticket in their scope (checked by the handler against the data).
pub fn customer_patch(who: &Principal, patch: &CustomerPatch) -> AppResult<()> {
    let denied = |m: &str| Err(AppError::PermissionDenied(m.to_owned()));
    match who.role {
        Role::Customer if patch.tier.is_some() => denied("a customer's tier is set by staff; leave tier out"),
        Role::Agent if patch.email_opt_out.is_some() => denied("whether to get email is the customer's choice"),
        Role::Agent if patch.tier.is_some() || patch.email.is_some() => denied(
            "agents change a customer's names, phone and location; a supervisor changes the tier, \
             the customer or an admin the email",
        ),
        Role::Supervisor if patch.email.is_some() => {
            denied("a customer's email is their sign-in: the customer or an admin changes it")
        }
        _ => Ok(()),
    }
}

/// Supervisors issue set-password tokens for customers only; an agent's account is for
/// admins and services (a supervisor could otherwise take over a fellow agent's sign-in).
pub fn set_password_for(who: &Principal, agent_account: bool) -> AppResult<()> {
    if agent_account && who.role == Role::Supervisor {
        return Err(AppError::PermissionDenied(
            "set-password tokens for agents are issued by an admin; supervisors issue them for customers".into(),
        ));
    }
    Ok(())
}

/// Agents change only their own availability; supervisors, admins and services anyone's.
pub fn own_agent(who: &Principal, id: i64) -> AppResult<()> {
    if who.role == Role::Agent && who.agent_id != Some(id) {
        return Err(AppError::PermissionDenied(format!(
            "agents change only their own availability; agent {id} is not you (ask a supervisor)"
        )));
    }
    Ok(())
}

/// Agents and supervisors reach their own department's quick replies; admins and services
/// every department's.
pub fn own_department(who: &Principal, department_id: i64) -> AppResult<()> {
    match (who.role, who.department_id) {
        (Role::Agent | Role::Supervisor, Some(own)) if own != department_id => Err(AppError::PermissionDenied(
            format!("quick replies of department {department_id} are for its staff; yours is department {own}"),
        )),
        (Role::Customer, _) => Err(AppError::PermissionDenied("quick replies are for staff".into())),
        _ => Ok(()),
    }
}

/// The sender a customer or agent writes as (None for admins and services, who relay
/// messages from anyone).
pub fn me(who: &Principal) -> Option<(SenderKind, i64)> {
    match (who.role, who.customer_id, who.agent_id) {
        (Role::Customer, Some(c), _) => Some((SenderKind::Customer, c)),
        (Role::Agent | Role::Supervisor, _, Some(a)) => Some((SenderKind::Agent, a)),
        _ => None,
    }
}

/// Customers and agents write as themselves only; customers write no internal notes.
pub fn check_sender(who: &Principal, kind: SenderKind, id: i64, visibility: Visibility) -> AppResult<()> {
    let Some((my_kind, my_id)) = me(who) else { return Ok(()) };
    if who.role == Role::Customer && visibility == Visibility::Internal {
        return Err(AppError::PermissionDenied("customers cannot write internal notes; use PUBLIC".into()));
    }
    if (kind, id) != (my_kind, my_id) {
        return Err(AppError::PermissionDenied(format!(
            "you write as {my_kind} {my_id}; leave sender_kind and sender_id empty or set them to yourself"
        )));
    }
    Ok(())
}

/// The side a reader marks messages read for: customers only as the customer.
pub fn reader(who: &Principal, kind: SenderKind) -> AppResult<SenderKind> {
    match who.role {
        Role::Customer if kind != SenderKind::Customer => {
            Err(AppError::PermissionDenied("customers mark messages read as CUSTOMER".into()))
        }
        _ => Ok(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentRole;

    #[test]
    fn people_write_as_themselves() {
        let customer = Principal::customer(1);
        assert_eq!(me(&customer), Some((SenderKind::Customer, 1)));
        assert!(check_sender(&customer, SenderKind::Customer, 1, Visibility::Public).is_ok());
        assert!(check_sender(&customer, SenderKind::Agent, 3, Visibility::Public).is_err());
        assert!(check_sender(&customer, SenderKind::Customer, 1, Visibility::Internal).is_err());
        let agent = Principal::agent(2, AgentRole::Agent, 1);
        assert!(check_sender(&agent, SenderKind::Agent, 2, Visibility::Internal).is_ok());
        assert!(check_sender(&agent, SenderKind::Agent, 9, Visibility::Public).is_err());
        let service = Principal::named(Role::Service, "mail");
        assert_eq!(me(&service), None);
        assert!(check_sender(&service, SenderKind::Customer, 7, Visibility::Public).is_ok());
    }
}
