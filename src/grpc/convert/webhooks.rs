//! WebhookService requests into validated inputs, and subscriptions and deliveries on the wire.

use super::requests::{Update, etag, has, id, mask_paths, resource};
use super::{opt_timestamp, required, timestamp};
use crate::domain::event::EventKind;
use crate::domain::validate::Checker;
use crate::domain::webhook::{Delivery, DeliveryState, NewWebhook, Webhook, WebhookPatch};
use crate::error::AppResult;
use crate::notify::guard::AllowList;
use crate::pb;

/// At most this many kinds: there are seven.
const KINDS_MAX: usize = 16;

fn kinds(c: &mut Checker, given: &[i32]) -> Vec<EventKind> {
    if given.len() > KINDS_MAX {
        c.fail("webhook.event_kinds", format!("lists {} kinds; at most {KINDS_MAX}", given.len()));
        return Vec::new();
    }
    let mut kinds = Vec::new();
    for (i, k) in given.iter().enumerate() {
        if let Some(k) = required::<EventKind>(c, &format!("webhook.event_kinds[{i}]"), *k)
            && !kinds.contains(&k)
        {
            kinds.push(k);
        }
    }
    kinds.sort();
    kinds
}

fn department(c: &mut Checker, value: i64) -> Option<i64> {
    (value != 0).then(|| id(c, "webhook.department_id", value))
}

/// A subscription to create.
pub fn new_webhook(req: &pb::CreateWebhookRequest, allow: &AllowList) -> AppResult<NewWebhook> {
    let mut c = Checker::new();
    let w = resource(&mut c, "webhook", req.webhook.clone());
    let url = c.take("webhook.url", allow.check_url(&w.url));
    let kinds = kinds(&mut c, &w.event_kinds);
    let department_id = department(&mut c, w.department_id);
    if req.after_sequence < 0 {
        c.fail("after_sequence", "must not be negative (0: from the next event)");
    }
    c.finish()?;
    Ok(NewWebhook {
        url: url.unwrap_or_default(),
        kinds,
        department_id,
        active: w.active,
        after_sequence: (req.after_sequence > 0).then_some(req.after_sequence),
    })
}

/// Changes to a subscription.
pub fn webhook_update(req: pb::UpdateWebhookRequest, allow: &AllowList) -> AppResult<Update<WebhookPatch>> {
    let mut c = Checker::new();
    let w = resource(&mut c, "webhook", req.webhook);
    let id = id(&mut c, "webhook.id", w.id);
    let etag = etag(&mut c, "webhook.etag", &w.etag);
    let fields = ["url", "event_kinds", "department_id", "active"];
    let paths = mask_paths(&mut c, req.update_mask, "webhook", &fields, |p| match p {
        "url" => !w.url.is_empty(),
        "event_kinds" => !w.event_kinds.is_empty(),
        "department_id" => w.department_id != 0,
        _ => w.active,
    });
    let mut patch = WebhookPatch::default();
    if has(&paths, "url") {
        patch.url = c.take("webhook.url", allow.check_url(&w.url));
    }
    if has(&paths, "event_kinds") {
        patch.kinds = Some(kinds(&mut c, &w.event_kinds));
    }
    if has(&paths, "department_id") {
        patch.department_id = Some(department(&mut c, w.department_id));
    }
    if has(&paths, "active") {
        patch.active = Some(w.active);
    }
    c.finish()?;
    Ok(Update { id, patch, etag })
}

/// A subscription id and a sequence (RedeliverWebhookEvent, ReplayWebhook).
pub fn webhook_event(webhook_id: i64, sequence: i64, sequence_field: &str, zero_ok: bool) -> AppResult<(i64, i64)> {
    let mut c = Checker::new();
    let webhook = id(&mut c, "webhook_id", webhook_id);
    if sequence < 0 || (sequence == 0 && !zero_ok) {
        c.fail(sequence_field, "must be a sequence of the event log");
    }
    c.finish()?;
    Ok((webhook, sequence))
}

impl From<Webhook> for pb::Webhook {
    fn from(w: Webhook) -> Self {
        pb::Webhook {
            id: w.id,
            url: w.url,
            event_kinds: w.kinds.into_iter().map(|k| pb::QueueEventKind::from(k).into()).collect(),
            department_id: w.department_id.unwrap_or(0),
            active: w.active,
            disabled_reason: w.disabled_reason,
            cursor: w.cursor,
            create_time: Some(timestamp(w.created_at)),
            update_time: Some(timestamp(w.updated_at)),
            etag: w.version.to_string(),
        }
    }
}

impl From<Delivery> for pb::WebhookDelivery {
    fn from(d: Delivery) -> Self {
        let state = match d.state {
            DeliveryState::Retrying => pb::DeliveryState::Retrying,
            DeliveryState::Succeeded => pb::DeliveryState::Succeeded,
            DeliveryState::Failed => pb::DeliveryState::Failed,
        };
        pb::WebhookDelivery {
            id: d.id,
            webhook_id: d.webhook_id,
            sequence: d.sequence,
            message_id: crate::domain::webhook::message_id(d.sequence),
            state: state.into(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_time: opt_timestamp(d.next_attempt_at),
            manual: d.manual,
            create_time: Some(timestamp(d.created_at)),
            update_time: Some(timestamp(d.updated_at)),
        }
    }
}
