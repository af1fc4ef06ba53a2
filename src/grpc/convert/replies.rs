//! ReplyService requests into validated inputs, and quick replies and suggestions on the wire.

use super::requests::{etag, has, id, mask_paths, resource};
use super::timestamp;
use crate::domain::reply::{self, NewQuickReply, QuickReply, QuickReplyPatch, Suggestion};
use crate::domain::validate::{self as v, Checker};
use crate::error::AppResult;
use crate::pb;

use super::requests::Update;

/// A quick reply to save.
pub fn new_quick_reply(r: Option<pb::QuickReply>) -> AppResult<NewQuickReply> {
    let mut c = Checker::new();
    let q = resource(&mut c, "quick_reply", r);
    let department_id = id(&mut c, "quick_reply.department_id", q.department_id);
    let title = c.take("quick_reply.title", v::required_text(&q.title, reply::TITLE_MAX));
    let body = c.take("quick_reply.body", reply::body(&q.body));
    c.finish()?;
    Ok(NewQuickReply { department_id, title: title.unwrap_or_default(), body: body.unwrap_or_default() })
}

/// Changes to a quick reply.
pub fn quick_reply_update(req: pb::UpdateQuickReplyRequest) -> AppResult<Update<QuickReplyPatch>> {
    let mut c = Checker::new();
    let q = resource(&mut c, "quick_reply", req.quick_reply);
    let id = id(&mut c, "quick_reply.id", q.id);
    let etag = etag(&mut c, "quick_reply.etag", &q.etag);
    let paths = mask_paths(&mut c, req.update_mask, "quick_reply", &["title", "body"], |p| match p {
        "title" => !q.title.is_empty(),
        _ => !q.body.is_empty(),
    });
    let mut patch = QuickReplyPatch::default();
    if has(&paths, "title") {
        patch.title = c.take("quick_reply.title", v::required_text(&q.title, reply::TITLE_MAX));
    }
    if has(&paths, "body") {
        patch.body = c.take("quick_reply.body", reply::body(&q.body));
    }
    c.finish()?;
    Ok(Update { id, patch, etag })
}

/// A delete's id and optional etag.
pub fn quick_reply_delete(req: &pb::DeleteQuickReplyRequest) -> AppResult<(i64, Option<i64>)> {
    let mut c = Checker::new();
    let id = id(&mut c, "id", req.id);
    let etag = etag(&mut c, "etag", &req.etag);
    c.finish()?;
    Ok((id, etag))
}

/// A draft's ticket and quick reply.
pub fn draft(req: &pb::DraftReplyRequest) -> AppResult<(i64, i64)> {
    let mut c = Checker::new();
    let ticket = id(&mut c, "ticket_id", req.ticket_id);
    let reply = id(&mut c, "quick_reply_id", req.quick_reply_id);
    c.finish()?;
    Ok((ticket, reply))
}

impl From<QuickReply> for pb::QuickReply {
    fn from(q: QuickReply) -> Self {
        pb::QuickReply {
            id: q.id,
            department_id: q.department_id,
            title: q.title,
            body: q.body,
            create_time: Some(timestamp(q.created_at)),
            update_time: Some(timestamp(q.updated_at)),
            etag: q.version.to_string(),
        }
    }
}

impl From<Suggestion> for pb::ReplySuggestion {
    fn from(s: Suggestion) -> Self {
        pb::ReplySuggestion {
            body: s.body,
            source_ticket_id: s.source_ticket_id,
            first_reply_count: s.first_reply_count as i32,
            resolved_without_follow_up_count: s.resolved_without_follow_up_count as i32,
            relevance: s.relevance,
        }
    }
}
