//! Whether an account's tokens still work, known without a database round trip per call.
//!
//! Each credential has a token generation, bumped when its tokens must stop working (a new
//! password, a demotion, a move to another department, a disable), and a disabled flag.
//! Tokens carry the generation they were minted at. This process keeps, in memory, the
//! standing of every account whose tokens are restricted (generation past 0, or disabled):
//! written through when this process makes the change, and polled from the database for
//! changes made through other replicas (a short query on the credentials' update time,
//! once a poll interval). The auth layer compares each call's token with it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::domain::access::Principal;
use crate::error::AppError;
use crate::repo::Repo;
use crate::repo::credentials::{Account, Credential};

/// What is known of one account's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Standing {
    generation: i64,
    disabled: bool,
}

/// How far back each poll looks again, for transactions that commit after a later one.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(5);

/// The accounts whose tokens are restricted, shared by the auth layer and the accounts.
#[derive(Debug, Clone, Default)]
pub struct Standings {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<Account, Standing>,
    /// The latest change time read from the database.
    seen: Option<DateTime<Utc>>,
}

/// The account a principal signs in as (None for operators and services).
pub fn account_of(who: &Principal) -> Option<Account> {
    match (who.customer_id, who.agent_id) {
        (Some(id), _) => Some(Account::Customer(id)),
        (None, Some(id)) => Some(Account::Agent(id)),
        (None, None) => None,
    }
}

impl Standings {
    /// Ok when a token of `who` minted at `generation` still works.
    pub fn admit(&self, who: &Principal, generation: i64) -> Result<(), AppError> {
        let Some(account) = account_of(who) else { return Ok(()) };
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        match inner.accounts.get(&account) {
            Some(s) if s.disabled => Err(AppError::Unauthenticated("this account is disabled; ask an admin".into())),
            Some(s) if generation < s.generation => Err(AppError::Unauthenticated(
                "this access token was revoked (a new password, role, department or sign-out everywhere); \
                 sign in again"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// Records a credential as stored now (written through by this process).
    pub fn record(&self, c: &Credential) {
        if let Some(account) = c.account() {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            inner.accounts.insert(account, Standing { generation: c.generation, disabled: c.disabled });
        }
    }

    /// Reads the changes since the last poll (all restricted accounts the first time).
    pub async fn poll(&self, repo: &Repo) -> Result<usize, AppError> {
        let since = {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            inner.seen.map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t - OVERLAP)
        };
        let rows = repo.standings_since(since).await?;
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for (c, at) in &rows {
            if let Some(account) = c.account() {
                let fresh = Standing { generation: c.generation, disabled: c.disabled };
                let entry = inner.accounts.entry(account).or_insert(fresh);
                // Never go back: a write-through may be newer than a row read a moment ago.
                if fresh.generation >= entry.generation {
                    *entry = fresh;
                }
            }
            inner.seen = Some(inner.seen.map_or(*at, |s| s.max(*at)));
        }
        Ok(rows.len())
    }

    /// Polls every `every` until `stop`; a failed poll is logged and retried next time.
    pub async fn run(self, repo: Repo, every: Duration, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            if let Err(e) = self.poll(&repo).await {
                tracing::warn!(error = %crate::error::chain(&e), "reading account standings failed; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentRole;

    fn credential(agent: i64, generation: i64, disabled: bool) -> Credential {
        Credential {
            id: 1,
            password_hash: String::new(),
            customer_id: None,
            agent_id: Some(agent),
            generation,
            disabled,
        }
    }

    #[test]
    fn older_generations_and_disabled_accounts_are_refused() {
        let s = Standings::default();
        let who = Principal::agent(3, AgentRole::Agent, 1);
        assert!(s.admit(&who, 0).is_ok());
        s.record(&credential(3, 2, false));
        assert!(s.admit(&who, 1).is_err());
        assert!(s.admit(&who, 2).is_ok());
        s.record(&credential(3, 3, true));
        assert!(s.admit(&who, 3).is_err());
        assert!(s.admit(&Principal::agent(4, AgentRole::Agent, 1), 0).is_ok());
    }
}
