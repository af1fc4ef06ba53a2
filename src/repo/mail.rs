//! The mailer's cursor in the event log and the events it has mailed.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::Repo;
use super::entity::{mail_sent, mail_state};
use crate::error::AppResult;

impl Repo {
    /// The mailer's cursor, set to the latest sequence the first time (mail starts with the
    /// next event, not with the history).
    pub async fn mail_cursor(&self) -> AppResult<i64> {
        if let Some(Some(at)) = mail_state::Entity::find_by_id(1).one(&self.db).await?.map(|s| s.delivered_through) {
            return Ok(at);
        }
        let latest = self.latest_sequence().await?;
        let row = mail_state::ActiveModel { id: Set(1), delivered_through: Set(Some(latest)) };
        // Two mailers starting at once: the second insert finds the row and changes nothing.
        mail_state::Entity::insert(row)
            .on_conflict(sea_orm::sea_query::OnConflict::column(mail_state::Column::Id).do_nothing().to_owned())
            .try_insert()
            .exec(&self.db)
            .await?;
        let state = mail_state::Entity::find_by_id(1).one(&self.db).await?;
        Ok(state.and_then(|s| s.delivered_through).unwrap_or(latest))
    }

    /// Whether event `sequence` was mailed already.
    pub async fn mailed(&self, sequence: i64) -> AppResult<bool> {
        Ok(mail_sent::Entity::find_by_id(sequence).one(&self.db).await?.is_some())
    }

    /// Moves the cursor from `from` to `to`, noting `sent` (the event mailed, and to whom)
    /// in the same transaction; false when the cursor had moved (another mailer).
    pub async fn mail_done(
        &self,
        from: i64,
        to: i64,
        sent: Option<(i64, &str)>,
        now: DateTime<Utc>,
    ) -> AppResult<bool> {
        let txn = self.begin().await?;
        if let Some((sequence, recipient)) = sent {
            let row = mail_sent::ActiveModel {
                sequence: Set(sequence),
                recipient: Set(recipient.to_owned()),
                sent_at: Set(now),
            };
            mail_sent::Entity::insert(row)
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(mail_sent::Column::Sequence).do_nothing().to_owned(),
                )
                .try_insert()
                .exec(&txn)
                .await?;
        }
        let moved = mail_state::Entity::update_many()
            .col_expr(mail_state::Column::DeliveredThrough, Expr::value(to))
            .filter(mail_state::Column::Id.eq(1))
            .filter(mail_state::Column::DeliveredThrough.eq(from))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        txn.commit().await?;
        Ok(moved)
    }
}
