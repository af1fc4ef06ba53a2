//! `support.v1.WebhookService`: subscriptions, their deliveries, redelivery and replay.

use tonic::Request;

use super::convert::{requests as req, webhooks as conv};
use super::{RpcResult, State, caller, convert, ok};
use crate::error::AppError;
use crate::notify::sign;
use crate::pb::{self, webhook_service_server::WebhookService};
use crate::repo::idempotency::IdempotencyKey;
use crate::repo::retry_conflicts;

/// The webhook service.
#[derive(Debug, Clone)]
pub struct WebhookApi(pub State);

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook(&self, request: Request<pb::CreateWebhookRequest>) -> RpcResult<pb::CreateWebhookResponse> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let new = conv::new_webhook(&r, self.0.webhooks.allow())?;
        let key = IdempotencyKey::new(&who.subject, "CreateWebhook", convert::request_id(&r, &r.request_id)?, &new);
        let sealer = self.0.webhooks.sealer();
        let sealed = sealer.seal(&sign::new_secret()).map_err(AppError::Internal)?;
        let (w, stored) =
            retry_conflicts(|| self.0.repo.create_webhook(&new, &sealed, key.as_ref(), self.0.clock.now())).await?;
        // A replayed request's subscription holds the secret the first call sealed.
        let secret = sealer.open(&stored).map_err(AppError::Internal)?;
        ok(pb::CreateWebhookResponse { webhook: Some(w.into()), secret })
    }

    async fn get_webhook(&self, request: Request<pb::GetWebhookRequest>) -> RpcResult<pb::GetWebhookResponse> {
        caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        ok(pb::GetWebhookResponse { webhook: Some(self.0.repo.get_webhook(id).await?.into()) })
    }

    async fn list_webhooks(&self, request: Request<pb::ListWebhooksRequest>) -> RpcResult<pb::ListWebhooksResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let page = self.0.repo.list_webhooks(&req::page(r.page_size, &r.page_token)?).await?;
        ok(pb::ListWebhooksResponse {
            webhooks: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn update_webhook(&self, request: Request<pb::UpdateWebhookRequest>) -> RpcResult<pb::UpdateWebhookResponse> {
        caller(&request)?;
        let u = conv::webhook_update(request.into_inner(), self.0.webhooks.allow())?;
        let w = retry_conflicts(|| self.0.repo.update_webhook(u.id, &u.patch, u.etag, self.0.clock.now())).await?;
        ok(pb::UpdateWebhookResponse { webhook: Some(w.into()) })
    }

    async fn delete_webhook(&self, request: Request<pb::DeleteWebhookRequest>) -> RpcResult<pb::DeleteWebhookResponse> {
        caller(&request)?;
        let id = req::resource_id("id", request.into_inner().id)?;
        retry_conflicts(|| self.0.repo.delete_webhook(id)).await?;
        ok(pb::DeleteWebhookResponse {})
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> RpcResult<pb::ListWebhookDeliveriesResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let id = req::resource_id("webhook_id", r.webhook_id)?;
        let page = self.0.repo.list_deliveries(id, &req::page(r.page_size, &r.page_token)?).await?;
        ok(pb::ListWebhookDeliveriesResponse {
            deliveries: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn redeliver_webhook_event(
        &self,
        request: Request<pb::RedeliverWebhookEventRequest>,
    ) -> RpcResult<pb::RedeliverWebhookEventResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let (id, sequence) = conv::webhook_event(r.webhook_id, r.sequence, "sequence", false)?;
        let delivery = self.0.webhooks.redeliver(id, sequence).await?;
        ok(pb::RedeliverWebhookEventResponse { delivery: Some(delivery.into()) })
    }

    async fn replay_webhook(&self, request: Request<pb::ReplayWebhookRequest>) -> RpcResult<pb::ReplayWebhookResponse> {
        caller(&request)?;
        let r = request.into_inner();
        let (id, after) = conv::webhook_event(r.webhook_id, r.after_sequence, "after_sequence", true)?;
        let w = retry_conflicts(|| self.0.repo.replay_webhook(id, after, self.0.clock.now())).await?;
        ok(pb::ReplayWebhookResponse { webhook: Some(w.into()) })
    }
}
