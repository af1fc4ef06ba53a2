//! Requests on the wire into validated domain inputs. Every bad field is reported at
//! once, by its path in the request.

use prost_types::FieldMask;

use super::{optional, required};
use crate::domain::validate::{self as v, Checker};
use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::pb;

/// A validated update: which resource, what changes, and the etag it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update<P> {
    /// The resource id.
    pub id: i64,
    /// The changes.
    pub patch: P,
    /// The caller's etag, if sent.
    pub etag: Option<i64>,
}

/// The maximum length of names.
const NAME_MAX: usize = 100;

pub(super) fn resource<T: Default>(c: &mut Checker, field: &str, r: Option<T>) -> T {
    if r.is_none() {
        c.fail(field, "is required");
    }
    r.unwrap_or_default()
}

/// The paths of an update mask, checked against `allowed`. An empty mask means every
/// allowed field that the request populates (AIP-134).
pub(super) fn mask_paths(
    c: &mut Checker,
    mask: Option<FieldMask>,
    prefix: &str,
    allowed: &[&str],
    populated: impl Fn(&str) -> bool,
) -> Vec<String> {
    let given = mask.map(|m| m.paths).unwrap_or_default();
    if given.is_empty() {
        let paths: Vec<String> = allowed.iter().filter(|p| populated(p)).map(|p| (*p).to_owned()).collect();
        if paths.is_empty() {
            c.fail("update_mask", format!("names no field to change; set it to some of: {}", allowed.join(", ")));
        }
        return paths;
    }
    let mut paths = Vec::new();
    for p in given {
        let bare = p.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')).unwrap_or(&p).to_owned();
        if allowed.contains(&bare.as_str()) {
            paths.push(bare);
        } else {
            c.fail("update_mask", format!("cannot change {p:?}; changeable fields: {}", allowed.join(", ")));
        }
    }
    paths
}

pub(super) fn has(paths: &[String], p: &str) -> bool {
    paths.iter().any(|x| x == p)
}

pub(super) fn etag(c: &mut Checker, field: &str, value: &str) -> Option<i64> {
    c.take(field, v::etag(value)).flatten()
}

pub(super) fn id(c: &mut Checker, field: &str, value: i64) -> i64 {
    c.take(field, v::id(value)).unwrap_or_default()
}

/// Validates a positive id alone (Get-style requests).
pub fn resource_id(field: &str, value: i64) -> AppResult<i64> {
    let mut c = Checker::new();
    let id = id(&mut c, field, value);
    c.finish()?;
    Ok(id)
}

/// Validates an optional request id.
pub fn request_id(value: &str) -> AppResult<Option<String>> {
    v::request_id(value).map_err(|e| AppError::invalid("request_id", e))
}

/// Validates a page request.
pub fn page(size: i32, token: &str) -> AppResult<PageRequest> {
    PageRequest::parse(size, token).map_err(|e| AppError::invalid("page_size", e))
}

/// A department to create.
pub fn new_department(d: Option<pb::Department>) -> AppResult<NewDepartment> {
    let mut c = Checker::new();
    let d = resource(&mut c, "department", d);
    let name = c.take("department.name", v::required_text(&d.name, NAME_MAX));
    let description = c.take("department.description", v::optional_text(&d.description, 1000));
    let mode = required(&mut c, "department.conversation_mode", d.conversation_mode);
    c.finish()?;
    Ok(NewDepartment {
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        mode: mode.unwrap_or(ConversationMode::Ticket),
        customer_calls: d.customer_calls,
    })
}

/// Changes to a department.
pub fn department_update(req: pb::UpdateDepartmentRequest) -> AppResult<Update<DepartmentPatch>> {
    let mut c = Checker::new();
    let d = resource(&mut c, "department", req.department);
    let id = id(&mut c, "department.id", d.id);
    let etag = etag(&mut c, "department.etag", &d.etag);
    let paths = mask_paths(
        &mut c,
        req.update_mask,
        "department",
        &["name", "description", "conversation_mode", "customer_calls"],
        |p| match p {
            "name" => !d.name.is_empty(),
            "description" => !d.description.is_empty(),
            "customer_calls" => d.customer_calls,
            _ => d.conversation_mode != 0,
        },
    );
    let mut patch = DepartmentPatch::default();
    if has(&paths, "name") {
        patch.name = c.take("department.name", v::required_text(&d.name, NAME_MAX));
    }
    if has(&paths, "description") {
        patch.description = c.take("department.description", v::optional_text(&d.description, 1000));
    }
    if has(&paths, "conversation_mode") {
        patch.mode = required(&mut c, "department.conversation_mode", d.conversation_mode);
    }
    if has(&paths, "customer_calls") {
        patch.customer_calls = Some(d.customer_calls);
    }
    c.finish()?;
    Ok(Update { id, patch, etag })
}

/// A customer to create.
pub fn new_customer(cu: Option<pb::Customer>) -> AppResult<NewCustomer> {
    let mut c = Checker::new();
    let cu = resource(&mut c, "customer", cu);
    let first_name = c.take("customer.first_name", v::required_text(&cu.first_name, NAME_MAX));
    let last_name = c.take("customer.last_name", v::required_text(&cu.last_name, NAME_MAX));
    let email = c.take("customer.email", v::email(&cu.email));
    let phone = c.take("customer.phone", v::phone(&cu.phone));
    let location = c.take("customer.location", v::optional_text(&cu.location, 200));
    let tier = optional(&mut c, "customer.tier", cu.tier);
    c.finish()?;
    Ok(NewCustomer {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        phone: phone.unwrap_or_default(),
        location: location.unwrap_or_default(),
        tier: tier.unwrap_or(Tier::Free),
    })
}

/// Changes to a customer.
pub fn customer_update(req: pb::UpdateCustomerRequest) -> AppResult<Update<CustomerPatch>> {
    let mut c = Checker::new();
    let cu = resource(&mut c, "customer", req.customer);
    let id = id(&mut c, "customer.id", cu.id);
    let etag = etag(&mut c, "customer.etag", &cu.etag);
    let allowed = ["first_name", "last_name", "email", "phone", "location", "tier", "email_opt_out"];
    let paths = mask_paths(&mut c, req.update_mask, "customer", &allowed, |p| match p {
        "email_opt_out" => cu.email_opt_out,
        "first_name" => !cu.first_name.is_empty(),
        "last_name" => !cu.last_name.is_empty(),
        "email" => !cu.email.is_empty(),
        "phone" => !cu.phone.is_empty(),
        "location" => !cu.location.is_empty(),
        _ => cu.tier != 0,
    });
    let mut patch = CustomerPatch::default();
    if has(&paths, "first_name") {
        patch.first_name = c.take("customer.first_name", v::required_text(&cu.first_name, NAME_MAX));
    }
    if has(&paths, "last_name") {
        patch.last_name = c.take("customer.last_name", v::required_text(&cu.last_name, NAME_MAX));
    }
    if has(&paths, "email") {
        patch.email = c.take("customer.email", v::email(&cu.email));
    }
    if has(&paths, "phone") {
        patch.phone = c.take("customer.phone", v::phone(&cu.phone));
    }
    if has(&paths, "location") {
        patch.location = c.take("customer.location", v::optional_text(&cu.location, 200));
    }
    if has(&paths, "tier") {
        patch.tier = required(&mut c, "customer.tier", cu.tier);
    }
    if has(&paths, "email_opt_out") {
        patch.email_opt_out = Some(cu.email_opt_out);
    }
    c.finish()?;
    Ok(Update { id, patch, etag })
}

/// An agent to create.
pub fn new_agent(a: Option<pb::Agent>) -> AppResult<NewAgent> {
    let mut c = Checker::new();
    let a = resource(&mut c, "agent", a);
    let first_name = c.take("agent.first_name", v::required_text(&a.first_name, NAME_MAX));
    let last_name = c.take("agent.last_name", v::required_text(&a.last_name, NAME_MAX));
    let email = c.take("agent.email", v::email(&a.email));
    let phone = c.take("agent.phone", v::phone(&a.phone));
    let department_id = id(&mut c, "agent.department_id", a.department_id);
    let role = optional(&mut c, "agent.role", a.role);
    let availability = optional(&mut c, "agent.availability", a.availability);
    c.finish()?;
    Ok(NewAgent {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        phone: phone.unwrap_or_default(),
        department_id,
        role: role.unwrap_or(AgentRole::Agent),
        availability: availability.unwrap_or(Availability::Active),
    })
}

/// Changes to an agent.
pub fn agent_update(req: pb::UpdateAgentRequest) -> AppResult<Update<AgentPatch>> {
    let mut c = Checker::new();
    let a = resource(&mut c, "agent", req.agent);
    let id = id(&mut c, "agent.id", a.id);
    let etag = etag(&mut c, "agent.etag", &a.etag);
    let allowed = ["first_name", "last_name", "email", "phone", "department_id", "role"];
    let paths = mask_paths(&mut c, req.update_mask, "agent", &allowed, |p| match p {
        "first_name" => !a.first_name.is_empty(),
        "last_name" => !a.last_name.is_empty(),
        "email" => !a.email.is_empty(),
        "phone" => !a.phone.is_empty(),
        "department_id" => a.department_id != 0,
        _ => a.role != 0,
    });
    let mut patch = AgentPatch::default();
    if has(&paths, "first_name") {
        patch.first_name = c.take("agent.first_name", v::required_text(&a.first_name, NAME_MAX));
    }
    if has(&paths, "last_name") {
        patch.last_name = c.take("agent.last_name", v::required_text(&a.last_name, NAME_MAX));
    }
    if has(&paths, "email") {
        patch.email = c.take("agent.email", v::email(&a.email));
    }
    if has(&paths, "phone") {
        patch.phone = c.take("agent.phone", v::phone(&a.phone));
    }
    if has(&paths, "department_id") {
        patch.department_id = c.take("agent.department_id", v::id(a.department_id));
    }
    if has(&paths, "role") {
        patch.role = required(&mut c, "agent.role", a.role);
    }
    c.finish()?;
    Ok(Update { id, patch, etag })
}
