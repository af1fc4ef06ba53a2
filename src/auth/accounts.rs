//! Signing up and in: Register, Login, Refresh and staff passwords. Passwords are hashed
//! off the async runtime; a failed login never says which part was wrong, costs the same
//! time for an unknown email, and is throttled per account and per peer address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::password;
use super::token::Tokens;
use crate::domain::NewCustomer;
use crate::domain::access::Principal;
use crate::error::{AppError, AppResult};
use crate::repo::Repo;
use crate::repo::credentials::{Credential, NewRefresh, Rotation};

/// Tokens handed to a signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The bearer token.
    pub access_token: String,
    /// How long it lives.
    pub access_ttl: Duration,
    /// The token for Refresh.
    pub refresh_token: String,
}

/// How sign-in behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSettings {
    /// How long a refresh token works.
    pub refresh_ttl: Duration,
    /// Sign-in attempts per minute per account (and ten times that per peer address).
    pub attempts_per_minute: NonZeroU32,
}

/// Sign-up, sign-in and refresh.
#[derive(Clone)]
pub struct Accounts {
    repo: Repo,
    tokens: Arc<Tokens>,
    settings: AccountSettings,
    accounts: Arc<DefaultKeyedRateLimiter<String>>,
    peers: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").field("settings", &self.settings).finish_non_exhaustive()
    }
}

const WRONG: &str = "the email or the password is wrong";

impl Accounts {
    /// Accounts over `repo`, minting with `tokens`.
    pub fn new(repo: Repo, tokens: Arc<Tokens>, settings: AccountSettings) -> Self {
        let per_account = settings.attempts_per_minute;
        // Ten accounts' worth per address, so a shared office address still signs in.
        let per_peer = per_account.saturating_mul(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
        Self {
            repo,
            tokens,
            settings,
            accounts: Arc::new(RateLimiter::keyed(Quota::per_minute(per_account))),
            peers: Arc::new(RateLimiter::keyed(Quota::per_minute(per_peer))),
        }
    }

    /// The token minter.
    pub fn tokens(&self) -> &Arc<Tokens> {
        &self.tokens
    }

    /// A customer signs up: the customer, their credential and a first sign-in, in one transaction.
    pub async fn register(
        &self,
        new: NewCustomer,
        password: String,
        peer: Option<IpAddr>,
    ) -> AppResult<(i64, TokenPair)> {
        self.throttle_peer(peer, "sign-ups")?;
        let hash = hash_off_runtime(password).await?;
        let (refresh_token, refresh) = self.new_refresh()?;
        let customer = self.repo.register_customer(&new, &hash, &refresh, Utc::now()).await?;
        let access_token = self.tokens.mint(&Principal::customer(customer.id))?;
        Ok((customer.id, self.pair(access_token, refresh_token)))
    }

    /// Email and password to tokens; UNAUTHENTICATED without saying which part was wrong.
    pub async fn login(&self, email: &str, password: String, peer: Option<IpAddr>) -> AppResult<TokenPair> {
        self.throttle_peer(peer, "sign-in attempts")?;
        if self.accounts.check_key(&email.to_owned()).is_err() {
            return Err(AppError::ResourceExhausted(format!(
                "too many sign-in attempts for this account; wait a minute (at most {} a minute)",
                self.settings.attempts_per_minute
            )));
        }
        let credential = self.repo.credential_by_email(email).await?;
        let phc = credential.as_ref().map_or_else(|| password::decoy().to_owned(), |c| c.password_hash.clone());
        let matches = tokio::task::spawn_blocking(move || password::verify(&password, &phc))
            .await
            .map_err(|e| AppError::Internal(format!("password check failed: {e}")))?;
        let Some(credential) = credential.filter(|_| matches) else {
            tracing::info!("sign-in refused");
            return Err(AppError::Unauthenticated(WRONG.into()));
        };
        let who = self.principal(&credential).await?;
        let (refresh_token, refresh) = self.new_refresh()?;
        self.repo.issue_refresh(credential.id, &refresh, Utc::now()).await?;
        Ok(self.pair(self.tokens.mint(&who)?, refresh_token))
    }

    /// A refresh token to a new pair; the presented token stops working. Presenting a spent
    /// token again revokes every token of its sign-in.
    pub async fn refresh(&self, presented: &str) -> AppResult<TokenPair> {
        let (refresh_token, next) = self.new_refresh()?;
        match self.repo.rotate_refresh(&digest(presented), &next, Utc::now()).await? {
            Rotation::Rotated(credential) => {
                let who = self.principal(&credential).await?;
                Ok(self.pair(self.tokens.mint(&who)?, refresh_token))
            }
            Rotation::Unknown => Err(AppError::Unauthenticated("the refresh token is not valid; sign in again".into())),
            Rotation::Expired => Err(AppError::Unauthenticated("the refresh token has expired; sign in again".into())),
            Rotation::Reused => Err(AppError::Unauthenticated(
                "this refresh token was already used, so every token of its sign-in is now revoked; sign in again"
                    .into(),
            )),
        }
    }

    /// Sets the password an agent signs in with (their email); revokes their refresh tokens.
    pub async fn set_agent_password(&self, agent_id: i64, password: String) -> AppResult<()> {
        let hash = hash_off_runtime(password).await?;
        self.repo.set_agent_password(agent_id, &hash, Utc::now()).await
    }

    /// Who a credential signs in as, read afresh (an agent's role or department may change).
    async fn principal(&self, c: &Credential) -> AppResult<Principal> {
        match (c.customer_id, c.agent_id) {
            (Some(id), _) => Ok(Principal::customer(id)),
            (None, Some(id)) => {
                let a = self.repo.get_agent(id).await?;
                Ok(Principal::agent(a.id, a.role, a.department_id))
            }
            (None, None) => Err(AppError::Internal(format!("credential {} signs in nobody", c.id))),
        }
    }

    fn throttle_peer(&self, peer: Option<IpAddr>, what: &str) -> AppResult<()> {
        match peer {
            Some(ip) if self.peers.check_key(&ip).is_err() => {
                Err(AppError::ResourceExhausted(format!("too many {what} from your address; wait a minute")))
            }
            _ => Ok(()),
        }
    }

    /// A new refresh token (returned in the clear once) and what is stored of it.
    fn new_refresh(&self) -> AppResult<(String, NewRefresh)> {
        let token = random_token(32)?;
        let family = random_token(16)?;
        let ttl = chrono::Duration::from_std(self.settings.refresh_ttl).unwrap_or(chrono::Duration::days(30));
        let expires_at = Utc::now() + ttl;
        Ok((token.clone(), NewRefresh { family, token_hash: digest(&token), expires_at }))
    }

    fn pair(&self, access_token: String, refresh_token: String) -> TokenPair {
        TokenPair { access_token, access_ttl: self.tokens.access_ttl(), refresh_token }
    }
}

async fn hash_off_runtime(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))?
}

/// `n` random bytes, base64url.
fn random_token(n: usize) -> AppResult<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// How refresh tokens are stored: SHA-256, hex (they are random, so no salt is needed).
fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
