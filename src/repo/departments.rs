//! Departments.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::entity::department as row;
use super::idempotency::IdempotencyKey;
use super::{Repo, check_version, found, paging};
use crate::domain::{Department, DepartmentPatch, NewDepartment, Page, PageRequest};
use crate::error::{AppError, AppResult};

const TAKEN: &str = "a department with this name already exists; choose another name";

pub(crate) fn to_domain(m: row::Model) -> AppResult<Department> {
    Ok(Department {
        id: m.id,
        mode: m.conversation_mode,
        customer_calls: m.customer_calls,
        name: m.name,
        description: m.description,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl Repo {
    /// Creates a department; a duplicate name is ALREADY_EXISTS.
    #[tracing::instrument(skip_all)]
    pub async fn create_department(
        &self,
        new: &NewDepartment,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> AppResult<Department> {
        if let Some(id) = self.replayed(key).await? {
            return self.get_department(id).await;
        }
        let txn = self.begin().await?;
        let am = row::ActiveModel {
            name: Set(new.name.clone()),
            description: Set(new.description.clone()),
            conversation_mode: Set(new.mode),
            customer_calls: Set(new.customer_calls),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = row::Entity::insert(am)
            .exec(&txn)
            .await
            .map_err(|e| AppError::unique_violation(e, "department.name", TAKEN))?
            .last_insert_id;
        let id = self.commit_idempotent(txn, key, id, now).await?;
        self.get_department(id).await
    }

    /// One department.
    #[tracing::instrument(skip_all, fields(department_id = id))]
    pub async fn get_department(&self, id: i64) -> AppResult<Department> {
        to_domain(found(row::Entity::find_by_id(id).one(&self.db).await?, "department", id)?)
    }

    /// A page of departments by id.
    pub async fn list_departments(&self, page: &PageRequest) -> AppResult<Page<Department>> {
        let fp = paging::fingerprint(&"departments");
        let mut q = row::Entity::find().order_by_asc(row::Column::Id).limit(page.size + 1);
        if let Some(t) = &page.token {
            q = q.filter(row::Column::Id.gt(paging::int(&paging::decode(t, &fp)?, 0)?));
        }
        let rows = q.all(&self.db).await?;
        let (rows, next_token) = paging::page(rows, page.size, |r| vec![Value::from(r.id)], &fp);
        Ok(Page { items: rows.into_iter().map(to_domain).collect::<AppResult<_>>()?, next_token })
    }

    /// Applies a patch under optimistic concurrency.
    #[tracing::instrument(skip_all, fields(department_id = id))]
    pub async fn update_department(
        &self,
        id: i64,
        patch: &DepartmentPatch,
        etag: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<Department> {
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "department", id)?;
        check_version("department", etag, current.version)?;
        let version = current.version + 1;
        let mut am = current.into_active_model();
        if let Some(v) = &patch.name {
            am.name = Set(v.clone());
        }
        if let Some(v) = &patch.description {
            am.description = Set(v.clone());
        }
        if let Some(v) = patch.mode {
            am.conversation_mode = Set(v);
        }
        if let Some(v) = patch.customer_calls {
            am.customer_calls = Set(v);
        }
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await.map_err(|e| AppError::unique_violation(e, "department.name", TAKEN))?;
        txn.commit().await?;
        to_domain(m)
    }
}
