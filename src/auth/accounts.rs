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
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use sha2::{Digest, Sha256};

use super::password;
use super::standing::{Standings, account_of};
use super::token::Tokens;
use crate::domain::NewCustomer;
use crate::domain::access::Principal;
use crate::error::{AppError, AppResult};
use crate::observe::metrics::{ReasonLabels, SecurityMetrics};
use crate::repo::credentials::{Account, Credential};
use crate::repo::sign_in::{NewRefresh, Rotation};
use crate::repo::{Repo, retry_conflicts};

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
    /// How long a set-password token works.
    pub set_password_ttl: Duration,
}

/// A one-time set-password token, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPasswordToken {
    /// The token.
    pub token: String,
    /// When it stops working.
    pub expires_at: chrono::DateTime<Utc>,
}

/// Sign-up, sign-in and refresh.
#[derive(Clone)]
pub struct Accounts {
    repo: Repo,
    tokens: Arc<Tokens>,
    standings: Standings,
    settings: AccountSettings,
    accounts: Arc<DefaultKeyedRateLimiter<String>>,
    peers: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    failed_sign_ins: Family<ReasonLabels, Counter>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").field("settings", &self.settings).finish_non_exhaustive()
    }
}

const WRONG: &str = "the email or the password is wrong";

impl Accounts {
    /// Accounts over `repo`, minting with `tokens`, recording changes of standing in
    /// `standings` (which the auth layer reads).
    pub fn new(repo: Repo, tokens: Arc<Tokens>, standings: Standings, settings: AccountSettings) -> Self {
        let per_account = settings.attempts_per_minute;
        // Ten accounts' worth per address, so a shared office address still signs in.
        let per_peer = per_account.saturating_mul(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
        Self {
            repo,
            tokens,
            standings,
            settings,
            accounts: Arc::new(RateLimiter::keyed(Quota::per_minute(per_account))),
            peers: Arc::new(RateLimiter::keyed(Quota::per_minute(per_peer))),
            failed_sign_ins: Family::default(),
        }
    }

    /// Counts failed sign-ins into `security`.
    pub fn observe(&mut self, security: &SecurityMetrics) {
        self.failed_sign_ins = security.failed_sign_ins.clone();
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
        let customer = retry_conflicts(|| self.repo.register_customer(&new, &hash, &refresh, Utc::now())).await?;
        // A new account is at generation 0.
        let access_token = self.tokens.mint(&Principal::customer(customer.id))?;
        Ok((customer.id, self.pair(access_token, refresh_token)))
    }

    /// Email and password to tokens; UNAUTHENTICATED without saying which part was wrong.
    /// The per-account throttle is keyed on the credential found (or, for an unknown email,
    /// the email itself), so no spelling of an email gets a fresh bucket.
    pub async fn login(&self, email: &str, password: String, peer: Option<IpAddr>) -> AppResult<TokenPair> {
        let result = self.attempt_login(email, password, peer).await;
        let reason = match &result {
            Err(AppError::Unauthenticated(_)) => "refused",
            Err(AppError::ResourceExhausted(_)) => "throttled",
            _ => return result,
        };
        self.failed_sign_ins.get_or_create(&ReasonLabels { reason }).inc();
        result
    }

    async fn attempt_login(&self, email: &str, password: String, peer: Option<IpAddr>) -> AppResult<TokenPair> {
        self.throttle_peer(peer, "sign-in attempts")?;
        let credential = self.repo.credential_by_email(email).await?;
        let bucket = credential.as_ref().map_or_else(|| format!("email:{email}"), |c| format!("credential:{}", c.id));
        if self.accounts.check_key(&bucket).is_err() {
            return Err(AppError::ResourceExhausted(format!(
                "too many sign-in attempts for this account; wait a minute (at most {} a minute)",
                self.settings.attempts_per_minute
            )));
        }
        let credential = credential.filter(Credential::has_password);
        let phc = credential.as_ref().map_or_else(|| password::decoy().to_owned(), |c| c.password_hash.clone());
        let matches = tokio::task::spawn_blocking(move || password::verify(&password, &phc))
            .await
            .map_err(|e| AppError::Internal(format!("password check failed: {e}")))?;
        let Some(credential) = credential.filter(|_| matches) else {
            tracing::info!("sign-in refused");
            return Err(AppError::Unauthenticated(WRONG.into()));
        };
        if credential.disabled {
            return Err(AppError::Unauthenticated("this account is disabled; ask an admin".into()));
        }
        self.sign_in(&credential).await
    }

    /// The caller changes their own password, proving the current one. Every other token of
    /// the account stops working; the caller gets a new pair.
    pub async fn change_password(&self, who: &Principal, current: String, new: String) -> AppResult<TokenPair> {
        let account = account_of(who).ok_or_else(|| {
            AppError::FailedPrecondition("operators' and services' tokens have no password to change".into())
        })?;
        let credential = self.repo.credential_of(account).await?.filter(Credential::has_password).ok_or_else(|| {
            AppError::FailedPrecondition("this account has no password yet; use a set-password token".into())
        })?;
        if self.accounts.check_key(&format!("credential:{}", credential.id)).is_err() {
            return Err(AppError::ResourceExhausted(
                "too many password attempts for this account; wait a minute".into(),
            ));
        }
        let phc = credential.password_hash.clone();
        let matches = tokio::task::spawn_blocking(move || password::verify(&current, &phc))
            .await
            .map_err(|e| AppError::Internal(format!("password check failed: {e}")))?;
        if !matches {
            return Err(AppError::invalid("current_password", "is not your current password"));
        }
        let hash = hash_off_runtime(new).await?;
        let credential = retry_conflicts(|| self.repo.set_password(account, &hash, Utc::now())).await?;
        self.standings.record(&credential);
        self.sign_in(&credential).await
    }

    /// Signs out the sign-in of a refresh token (its family). Unknown tokens are fine.
    pub async fn logout(&self, presented: &str) -> AppResult<()> {
        let family = digest(presented);
        retry_conflicts(|| self.repo.revoke_refresh_family(&family, Utc::now())).await?;
        Ok(())
    }

    /// A one-time token that sets `account`'s password.
    pub async fn issue_set_password(&self, account: Account) -> AppResult<SetPasswordToken> {
        let token = random_token(32)?;
        let ttl = chrono::Duration::from_std(self.settings.set_password_ttl).unwrap_or(chrono::Duration::days(3));
        let now = Utc::now();
        let expires_at = now + ttl;
        let digested = digest(&token);
        retry_conflicts(|| self.repo.issue_set_password(account, &digested, expires_at, now)).await?;
        Ok(SetPasswordToken { token, expires_at })
    }

    /// Sets a password with a one-time token and signs in.
    pub async fn set_password_with_token(&self, token: &str, password: String) -> AppResult<TokenPair> {
        let hash = hash_off_runtime(password).await?;
        let (refresh_token, refresh) = self.new_refresh()?;
        let digested = digest(token);
        let credential = retry_conflicts(|| self.repo.set_password_with_token(&digested, &hash, &refresh, Utc::now()))
            .await?
            .ok_or_else(|| {
                AppError::Unauthenticated("the set-password token is not valid, was used or has expired".into())
            })?;
        self.standings.record(&credential);
        if credential.disabled {
            return Err(AppError::Unauthenticated("the password is set, but this account is disabled".into()));
        }
        let who = self.principal(&credential).await?;
        Ok(self.pair(self.tokens.mint_generation(&who, credential.generation)?, refresh_token))
    }

    /// Disables or enables an account; its tokens so far stop working at once.
    pub async fn set_enabled(&self, account: Account, enabled: bool) -> AppResult<()> {
        let credential = retry_conflicts(|| self.repo.set_enabled(account, enabled)).await?;
        self.standings.record(&credential);
        Ok(())
    }

    /// Reads `account`'s standing afresh, after a change that may have revoked its tokens.
    pub async fn reload_standing(&self, account: Account) -> AppResult<()> {
        if let Some(c) = self.repo.credential_of(account).await? {
            self.standings.record(&c);
        }
        Ok(())
    }

    /// A new sign-in for a credential: an access token at its generation and a refresh chain.
    async fn sign_in(&self, credential: &Credential) -> AppResult<TokenPair> {
        let who = self.principal(credential).await?;
        let (refresh_token, refresh) = self.new_refresh()?;
        retry_conflicts(|| self.repo.issue_refresh(credential.id, &refresh, Utc::now())).await?;
        Ok(self.pair(self.tokens.mint_generation(&who, credential.generation)?, refresh_token))
    }

    /// A refresh token to a new pair; the presented token stops working. Presenting a spent
    /// token again revokes every token of its sign-in.
    pub async fn refresh(&self, presented: &str) -> AppResult<TokenPair> {
        let (refresh_token, next) = self.new_refresh()?;
        let presented = digest(presented);
        match retry_conflicts(|| self.repo.rotate_refresh(&presented, &next, Utc::now())).await? {
            Rotation::Rotated(credential) if credential.disabled => {
                Err(AppError::Unauthenticated("this account is disabled; ask an admin".into()))
            }
            Rotation::Rotated(credential) => {
                let who = self.principal(&credential).await?;
                Ok(self.pair(self.tokens.mint_generation(&who, credential.generation)?, refresh_token))
            }
            Rotation::Unknown => Err(AppError::Unauthenticated("the refresh token is not valid; sign in again".into())),
            Rotation::Expired => Err(AppError::Unauthenticated("the refresh token has expired; sign in again".into())),
            Rotation::Reused => Err(AppError::Unauthenticated(
                "this refresh token was already used, so every token of its sign-in is now revoked; sign in again"
                    .into(),
            )),
        }
    }

    /// Sets the password an agent signs in with (their email); their tokens so far stop
    /// working and their refresh tokens are revoked.
    pub async fn set_agent_password(&self, agent_id: i64, password: String) -> AppResult<()> {
        let hash = hash_off_runtime(password).await?;
        let credential =
            retry_conflicts(|| self.repo.set_password(Account::Agent(agent_id), &hash, Utc::now())).await?;
        self.standings.record(&credential);
        Ok(())
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
