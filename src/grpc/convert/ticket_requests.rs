//! Ticket and message requests into validated domain inputs.

use super::requests::Update;
use super::{optional, required};
use crate::domain::call::CallViewer;
use crate::domain::event::QueueFilter;
use crate::domain::limits::Limits;
use crate::domain::validate::{self as v, Checker};
use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::events::watch::WatchRequest;
use crate::pb;
use crate::repo::search::TicketSearch;

const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 10_000;
const FILE_NAME_MAX: usize = 255;

/// A `statuses` filter: at most the limit's count, each a status, sorted, without repeats.
fn statuses(c: &mut Checker, given: &[i32], limits: &Limits) -> AppResult<Vec<Status>> {
    if given.len() > limits.filter_values {
        return Err(too_many("statuses", given.len(), limits.filter_values, "SUPPORT_MAX_FILTER_VALUES"));
    }
    let mut statuses = Vec::new();
    for (i, s) in given.iter().enumerate() {
        if let Some(s) = required(c, &format!("statuses[{i}]"), *s)
            && !statuses.contains(&s)
        {
            statuses.push(s);
        }
    }
    statuses.sort();
    Ok(statuses)
}

/// Search results per page by default, and at most.
const SEARCH_PAGE_SIZE: u64 = 20;
const SEARCH_MAX_PAGE_SIZE: u64 = 100;

/// A full-text search, its words taken from the query (see `domain::search::terms`).
pub fn ticket_search(r: &pb::SearchTicketsRequest, limits: &Limits) -> AppResult<(TicketSearch, PageRequest)> {
    let mut c = Checker::new();
    let statuses = statuses(&mut c, &r.statuses, limits)?;
    let terms = c.take("query", crate::domain::search::terms(&r.query));
    let page = c.take("page_size", PageRequest::parse(r.page_size, &r.page_token));
    let department_id = match r.department_id {
        0 => None,
        d => c.take("department_id", v::id(d)),
    };
    let level = optional(&mut c, "priority_level", r.priority_level);
    let mut time = |field: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(|t| c.take(field, super::timestamp_to_domain(t)))
    };
    let created_after = time("created_after", &r.created_after);
    let created_before = time("created_before", &r.created_before);
    if let (Some(a), Some(b)) = (created_after, created_before)
        && a >= b
    {
        c.fail("created_before", "must be later than created_after");
    }
    c.finish()?;
    let mut page = page.unwrap_or(PageRequest { size: SEARCH_PAGE_SIZE, token: None });
    page.size = if r.page_size == 0 { SEARCH_PAGE_SIZE } else { page.size.min(SEARCH_MAX_PAGE_SIZE) };
    let search = TicketSearch {
        terms: terms.unwrap_or_default(),
        statuses,
        department_id,
        level,
        created_after,
        created_before,
    };
    Ok((search, page))
}

/// A ticket to open.
pub fn new_ticket(r: &pb::CreateTicketRequest) -> AppResult<NewTicket> {
    let mut c = Checker::new();
    let customer_id = c.take("customer_id", v::id(r.customer_id));
    let department_id = c.take("department_id", v::id(r.department_id));
    let category = required(&mut c, "category", r.category);
    let subject = c.take("subject", v::required_text(&r.subject, SUBJECT_MAX));
    let description = c.take("description", v::required_text(&r.description, BODY_MAX));
    let severity = required(&mut c, "severity", r.severity);
    let impact = c.take("impact", v::impact(r.impact));
    c.finish()?;
    // Every Option is Some once the checker passed.
    Ok(NewTicket {
        customer_id: customer_id.unwrap_or_default(),
        department_id: department_id.unwrap_or_default(),
        category: category.unwrap_or(Category::Other),
        subject: subject.unwrap_or_default(),
        description: description.unwrap_or_default(),
        severity: severity.unwrap_or(Severity::Minor),
        impact: impact.unwrap_or(1),
    })
}

/// Changes to a ticket.
pub fn ticket_update(req: pb::UpdateTicketRequest) -> AppResult<Update<TicketPatch>> {
    let mut c = Checker::new();
    if req.ticket.is_none() {
        c.fail("ticket", "is required");
    }
    let t = req.ticket.unwrap_or_default();
    let id = c.take("ticket.id", v::id(t.id)).unwrap_or_default();
    let etag = c.take("ticket.etag", v::etag(&t.etag)).flatten();
    let allowed = ["subject", "description", "category", "severity", "impact", "department_id"];
    let given = req.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut paths: Vec<String> = Vec::new();
    if given.is_empty() {
        let populated = [
            !t.subject.is_empty(),
            !t.description.is_empty(),
            t.category != 0,
            t.severity != 0,
            t.impact != 0,
            t.department_id != 0,
        ];
        paths = allowed.iter().zip(populated).filter(|(_, p)| *p).map(|(a, _)| (*a).to_owned()).collect();
        if paths.is_empty() {
            c.fail("update_mask", format!("names no field to change; set it to some of: {}", allowed.join(", ")));
        }
    }
    for p in given {
        let bare = p.strip_prefix("ticket.").unwrap_or(&p).to_owned();
        if allowed.contains(&bare.as_str()) {
            paths.push(bare);
        } else {
            c.fail("update_mask", format!("cannot change {p:?}; changeable fields: {}", allowed.join(", ")));
        }
    }
    let has = |p: &str| paths.iter().any(|x| x == p);
    let mut patch = TicketPatch::default();
    if has("subject") {
        patch.subject = c.take("ticket.subject", v::required_text(&t.subject, SUBJECT_MAX));
    }
    if has("description") {
        patch.description = c.take("ticket.description", v::required_text(&t.description, BODY_MAX));
    }
    if has("category") {
        patch.category = required(&mut c, "ticket.category", t.category);
    }
    if has("severity") {
        patch.severity = required(&mut c, "ticket.severity", t.severity);
    }
    if has("impact") {
        patch.impact = c.take("ticket.impact", v::impact(t.impact));
    }
    if has("department_id") {
        patch.department_id = c.take("ticket.department_id", v::id(t.department_id));
    }
    c.finish()?;
    Ok(Update { id, patch, etag })
}

/// A ticket list's filter, order and page.
pub fn ticket_query(
    r: &pb::ListTicketsRequest,
    limits: &Limits,
) -> AppResult<(TicketFilter, TicketOrder, PageRequest)> {
    let mut c = Checker::new();
    let statuses = statuses(&mut c, &r.statuses, limits)?;
    let page = c.take("page_size", PageRequest::parse(r.page_size, &r.page_token));
    let positive = |c: &mut Checker, field: &str, value: i64| match value {
        0 => None,
        v => c.take(field, v::id(v)),
    };
    let filter = TicketFilter {
        customer_id: positive(&mut c, "customer_id", r.customer_id),
        statuses,
        severity: optional(&mut c, "severity", r.severity),
        level: optional(&mut c, "priority_level", r.priority_level),
        department_id: positive(&mut c, "department_id", r.department_id),
        assigned_agent_id: positive(&mut c, "assigned_agent_id", r.assigned_agent_id),
    };
    let order = match pb::TicketOrder::try_from(r.order_by) {
        Ok(pb::TicketOrder::CreateTime) => TicketOrder::CreateTime,
        Ok(_) => TicketOrder::Priority,
        Err(_) => {
            c.fail("order_by", "must be PRIORITY or CREATE_TIME");
            TicketOrder::Priority
        }
    };
    c.finish()?;
    Ok((filter, order, page.unwrap_or(PageRequest { size: DEFAULT_PAGE_SIZE, token: None })))
}

/// A message to add, with its attachments within `limits`.
pub fn new_log(r: pb::AddLogRequest, limits: &Limits) -> AppResult<NewLog> {
    // Counted before anything is looked at, so a request of a million attachments costs
    // no more than one of eleven.
    if r.attachments.len() > limits.attachments_per_message {
        return Err(too_many(
            "attachments",
            r.attachments.len(),
            limits.attachments_per_message,
            "SUPPORT_MAX_ATTACHMENTS_PER_MESSAGE",
        ));
    }
    let mut c = Checker::new();
    let ticket_id = c.take("ticket_id", v::id(r.ticket_id));
    let sender_kind = required::<SenderKind>(&mut c, "sender_kind", r.sender_kind);
    if sender_kind == Some(SenderKind::System) {
        c.fail("sender_kind", "must be CUSTOMER or AGENT; SYSTEM messages are written by the service");
    }
    let sender_id = c.take("sender_id", v::id(r.sender_id));
    let body = c.take("body", v::required_text(&r.body, BODY_MAX));
    let visibility = optional(&mut c, "visibility", r.visibility).unwrap_or(Visibility::Public);
    if sender_kind == Some(SenderKind::Customer) && visibility == Visibility::Internal {
        c.fail("visibility", "customers cannot write INTERNAL notes; use PUBLIC");
    }
    let total: usize = r.attachments.iter().map(|a| a.content.len()).sum();
    if total > limits.message_attachment_bytes {
        c.fail(
            "attachments",
            format!(
                "hold {total} bytes together; the limit is {} bytes a message (SUPPORT_MAX_MESSAGE_ATTACHMENT_BYTES)",
                limits.message_attachment_bytes
            ),
        );
    }
    let attachments = attachments(&mut c, r.attachments, limits);
    c.finish()?;
    Ok(NewLog {
        ticket_id: ticket_id.unwrap_or_default(),
        sender_kind: sender_kind.unwrap_or(SenderKind::Customer),
        sender_id: sender_id.unwrap_or_default(),
        body: body.unwrap_or_default(),
        visibility,
        attachments,
    })
}

/// A message's attachments, each checked against `limits` (violations into `c`).
fn attachments(c: &mut Checker, uploads: Vec<pb::AttachmentUpload>, limits: &Limits) -> Vec<NewAttachment> {
    let mut attachments = Vec::new();
    for (i, a) in uploads.into_iter().enumerate() {
        let name = c.take(&format!("attachments[{i}].file_name"), v::file_name(&a.file_name, FILE_NAME_MAX));
        let content_type = c.take(&format!("attachments[{i}].content_type"), v::optional_text(&a.content_type, 255));
        if a.content.len() > limits.attachment_bytes {
            c.fail(
                &format!("attachments[{i}].content"),
                format!(
                    "is {} bytes; the limit is {} bytes (SUPPORT_MAX_ATTACHMENT_BYTES)",
                    a.content.len(),
                    limits.attachment_bytes
                ),
            );
        }
        if let (Some(file_name), Some(content_type)) = (name, content_type) {
            attachments.push(NewAttachment {
                file_name,
                content_type: v::safe_content_type(&content_type),
                content: a.content,
            });
        }
    }
    attachments
}

/// INVALID_ARGUMENT for a repeated field over its limit, naming the field and the setting.
fn too_many(field: &str, count: usize, limit: usize, setting: &str) -> AppError {
    AppError::invalid(field, format!("has {count} items; the limit is {limit} ({setting})"))
}

/// A WatchQueue subscription; `viewer` is what the caller may see of calls.
pub fn watch_request(r: &pb::WatchQueueRequest, viewer: CallViewer) -> AppResult<WatchRequest> {
    let mut c = Checker::new();
    let positive = |c: &mut Checker, field: &str, value: i64| match value {
        0 => None,
        v => c.take(field, v::id(v)),
    };
    let filter = QueueFilter {
        department_id: positive(&mut c, "department_id", r.department_id),
        agent_id: positive(&mut c, "assigned_agent_id", r.assigned_agent_id),
        min_level: optional(&mut c, "min_priority_level", r.min_priority_level),
        ticket_id: positive(&mut c, "ticket_id", r.ticket_id),
        include_messages: r.include_messages,
        calls: r.include_calls.then_some(viewer),
        relay: None,
    };
    if r.resume_after < 0 {
        c.fail("resume_after", "must be 0 (start with a snapshot) or a sequence this service sent");
    }
    c.finish()?;
    Ok(WatchRequest { filter, resume_after: (r.resume_after > 0).then_some(r.resume_after) })
}
