//! Customers. A tier change re-scores the customer's open tickets in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::Rules;
use super::credentials::{Account, EMAIL_TAKEN, identity, insert_identity, move_identity, set_hash};
use super::entity::{customer as row, ticket};
use super::events;
use super::idempotency::IdempotencyKey;
use super::sign_in::{NewRefresh, insert_refresh};
use super::ticket_rows::{self, set_changes, update_row};
use super::txn::Txn;
use super::{Repo, check_version, found, paging};
use crate::domain::Status;
use crate::domain::access::TicketScope;
use crate::domain::event::EventKind;
use crate::domain::{Customer, CustomerPatch, NewCustomer, Page, PageRequest, Tier};
use crate::error::{AppError, AppResult};

const TAKEN: &str = "a customer with this email already exists";

pub(crate) fn to_domain(m: row::Model) -> AppResult<Customer> {
    Ok(Customer {
        id: m.id,
        tier: m.tier,
        first_name: m.first_name,
        last_name: m.last_name,
        email: m.email,
        phone: m.phone,
        location: m.location,
        email_opt_out: m.email_opt_out,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Which customers a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Only this (lower-cased) email.
    pub email: Option<String>,
    /// Only this tier.
    pub tier: Option<Tier>,
    /// Only this customer (a customer's own scope).
    pub only_id: Option<i64>,
}

/// Inserts a customer in `txn`; a duplicate email is ALREADY_EXISTS on `customer.email`.
pub(crate) async fn insert_customer(txn: &Txn, new: &NewCustomer, now: DateTime<Utc>) -> AppResult<i64> {
    let am = row::ActiveModel {
        first_name: Set(new.first_name.clone()),
        last_name: Set(new.last_name.clone()),
        email: Set(new.email.clone()),
        phone: Set(new.phone.clone()),
        location: Set(new.location.clone()),
        tier: Set(new.tier),
        email_opt_out: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let id = row::Entity::insert(am)
        .exec(txn)
        .await
        .map_err(|e| AppError::unique_violation(e, "customer.email", TAKEN))?
        .last_insert_id;
    insert_identity(txn, &new.email, Account::Customer(id), "customer.email", now).await?;
    Ok(id)
}

impl Repo {
    /// Creates a customer, their credential and their first refresh token, in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn register_customer(
        &self,
        new: &NewCustomer,
        password_hash: &str,
        refresh: &NewRefresh,
        now: DateTime<Utc>,
    ) -> AppResult<Customer> {
        let txn = self.begin().await?;
        let id = insert_customer(&txn, new, now).await.map_err(|e| match e {
            AppError::AlreadyExists { .. } => {
                AppError::AlreadyExists { field: "email".into(), message: EMAIL_TAKEN.into() }
            }
            other => other,
        })?;
        let credential = identity(&txn, Account::Customer(id)).await?.id;
        set_hash(&txn, credential, password_hash, now).await?;
        insert_refresh(&txn, credential, refresh, now).await?;
        txn.commit().await?;
        self.get_customer(id).await
    }

    /// Creates a customer; a duplicate email is ALREADY_EXISTS.
    #[tracing::instrument(skip_all)]
    pub async fn create_customer(
        &self,
        new: &NewCustomer,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> AppResult<Customer> {
        if let Some(id) = self.replayed(key).await? {
            return self.get_customer(id).await;
        }
        let txn = self.begin().await?;
        let id = insert_customer(&txn, new, now).await?;
        let id = self.commit_idempotent(txn, key, id, now).await?;
        self.get_customer(id).await
    }

    /// One customer.
    #[tracing::instrument(skip_all, fields(customer_id = id))]
    pub async fn get_customer(&self, id: i64) -> AppResult<Customer> {
        to_domain(found(row::Entity::find_by_id(id).one(&self.db).await?, "customer", id)?)
    }

    /// A filtered page of customers by id.
    pub async fn list_customers(&self, filter: &CustomerFilter, page: &PageRequest) -> AppResult<Page<Customer>> {
        let fp = paging::fingerprint(filter);
        let mut q = row::Entity::find().order_by_asc(row::Column::Id).limit(page.size + 1);
        if let Some(email) = &filter.email {
            q = q.filter(row::Column::Email.eq(email.as_str()));
        }
        if let Some(tier) = filter.tier {
            q = q.filter(row::Column::Tier.eq(tier));
        }
        if let Some(id) = filter.only_id {
            q = q.filter(row::Column::Id.eq(id));
        }
        if let Some(t) = &page.token {
            q = q.filter(row::Column::Id.gt(paging::int(&paging::decode(t, &fp)?, 0)?));
        }
        let rows = q.all(&self.db).await?;
        let (rows, next_token) = paging::page(rows, page.size, |r| vec![Value::from(r.id)], &fp);
        Ok(Page { items: rows.into_iter().map(to_domain).collect::<AppResult<_>>()?, next_token })
    }

    /// Does the customer have a ticket that `scope` sees?
    pub async fn customer_within(&self, id: i64, scope: &TicketScope) -> AppResult<bool> {
        use super::entity::ticket;
        let mut q =
            ticket::Entity::find().select_only().column(ticket::Column::Id).filter(ticket::Column::CustomerId.eq(id));
        if let Some(within) = super::ticket_rows::within(scope) {
            q = q.filter(within);
        }
        Ok(q.into_tuple::<i64>().one(&self.db).await?.is_some())
    }

    /// Applies a patch; a tier change re-scores the customer's open tickets.
    #[tracing::instrument(skip_all, fields(customer_id = id))]
    pub async fn update_customer(
        &self,
        id: i64,
        patch: &CustomerPatch,
        etag: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<Customer> {
        let txn = self.begin().await?;
        let current = found(row::Entity::find_by_id(id).lock_exclusive().one(&txn).await?, "customer", id)?;
        check_version("customer", etag, current.version)?;
        let version = current.version + 1;
        let old_tier = current.tier;
        let mut am = current.into_active_model();
        if let Some(v) = &patch.first_name {
            am.first_name = Set(v.clone());
        }
        if let Some(v) = &patch.last_name {
            am.last_name = Set(v.clone());
        }
        if let Some(v) = &patch.email {
            am.email = Set(v.clone());
        }
        if let Some(v) = &patch.phone {
            am.phone = Set(v.clone());
        }
        if let Some(v) = &patch.location {
            am.location = Set(v.clone());
        }
        if let Some(v) = patch.email_opt_out {
            am.email_opt_out = Set(v);
        }
        if let Some(v) = patch.tier {
            am.tier = Set(v);
        }
        am.version = Set(version);
        am.updated_at = Set(now);
        let m = am.update(&txn).await.map_err(|e| AppError::unique_violation(e, "customer.email", TAKEN))?;
        if let Some(email) = &patch.email {
            move_identity(&txn, Account::Customer(id), email, "customer.email", now).await?;
        }
        if let Some(tier) = patch.tier.filter(|t| *t != old_tier) {
            rescore_customer_tickets(&txn, id, tier, &self.rules, now).await?;
        }
        self.commit(txn).await?;
        to_domain(m)
    }
}

/// Re-scores a customer's open tickets after a tier change.
async fn rescore_customer_tickets(
    txn: &Txn,
    customer_id: i64,
    tier: Tier,
    rules: &Rules,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let policy = &rules.policy;
    // Bounded: the highest-priority tickets now, the rest by the maintenance job (which
    // scores every open ticket with its customer's tier), so one call writes a bounded
    // number of rows however many tickets the customer opened.
    let open = ticket::Entity::find()
        .filter(ticket::Column::CustomerId.eq(customer_id))
        .filter(ticket::Column::Status.ne(Status::Closed))
        .order_by_desc(ticket::Column::PriorityScore)
        .order_by_asc(ticket::Column::Id)
        .limit(rules.rescore_per_call)
        .lock_exclusive()
        .all(txn)
        .await?;
    if open.len() as u64 == rules.rescore_per_call {
        tracing::info!(
            customer_id,
            limit = rules.rescore_per_call,
            "tier change: the remaining open tickets are re-scored by the maintenance job"
        );
    }
    for m in open {
        let current = ticket_rows::to_domain(m.clone())?;
        let Some(next) = current.rescored(tier, policy, now) else { continue };
        let before = m.clone();
        let mut am = m.into_active_model();
        set_changes(&mut am, &current, &next);
        let after = update_row(txn, am).await?;
        events::record(txn, EventKind::PriorityChanged, Some(&before), &after, None, now).await?;
    }
    Ok(())
}
