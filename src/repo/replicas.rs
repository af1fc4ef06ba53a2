//! The replicas' registry: each live replica's address, for passing typing indicators.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::OnConflict};

use super::Repo;
use super::entity::replica as row;
use crate::error::AppResult;

/// The most replicas read (a cluster has a handful).
const MAX_REPLICAS: u64 = 256;

impl Repo {
    /// Writes (or refreshes) this replica's row.
    pub async fn announce_replica(&self, id: &str, address: &str, now: DateTime<Utc>) -> AppResult<()> {
        let am = row::ActiveModel { id: Set(id.to_owned()), address: Set(address.to_owned()), seen_at: Set(now) };
        row::Entity::insert(am)
            .on_conflict(
                OnConflict::column(row::Column::Id)
                    .update_columns([row::Column::Address, row::Column::SeenAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        // Replicas long gone are forgotten.
        row::Entity::delete_many()
            .filter(row::Column::SeenAt.lt(now - chrono::Duration::hours(1)))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The replicas seen since `since`: (id, address).
    pub async fn replicas_seen_since(&self, since: DateTime<Utc>) -> AppResult<Vec<(String, String)>> {
        Ok(row::Entity::find()
            .select_only()
            .columns([row::Column::Id, row::Column::Address])
            .filter(row::Column::SeenAt.gte(since))
            .limit(MAX_REPLICAS)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Removes this replica's row (it is stopping).
    pub async fn forget_replica(&self, id: &str) -> AppResult<()> {
        row::Entity::delete_by_id(id.to_owned()).exec(&self.db).await?;
        Ok(())
    }
}
