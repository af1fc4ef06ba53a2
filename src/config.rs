//! Settings: defaults, overridden by environment variables, overridden by flags.
//! `support-service --help` lists every setting with its variable.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::auth::accounts::AccountSettings;
use crate::auth::layer::Rate;
use crate::auth::secret;
use crate::auth::token::Tokens;
use crate::domain::limits::Limits;
use crate::domain::priority::PriorityPolicy;
use crate::events::EventSettings;
use crate::repo::{DbSettings, Rules};

/// The embedded default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://support.db?mode=rwc";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// The default admin listen address (metrics and HTTP probes).
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9464";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "support-service", version, about = "Customer support over gRPC")]
pub struct Cli {
    /// Settings of the server.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do; serving is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Fill an empty database with a realistic, reproducible demo history.
    SeedDemo {
        /// Multiple of the seed's scale (34 agents, 123 customers, 377 tickets, 6,341 messages).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        scale: u32,
        /// The random seed: one seed, one dataset.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Tickets written at once (several help on MySQL; the dataset is the same).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
    },
    /// Print an access token for an operator or an internal service, signed with the
    /// configured secret (or the quick start's generated one).
    Token {
        /// The role of the caller.
        #[arg(long, value_enum)]
        role: TokenRole,
        /// A name for the caller, shown in logs and used for its rate limit.
        #[arg(long)]
        subject: String,
        /// Seconds the token lives.
        #[arg(long, default_value_t = 3_600)]
        ttl_secs: u64,
    },
}

/// The roles the `token` command mints for (customers and agents sign in with Login).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenRole {
    /// An operator: everything, including departments, agents and passwords.
    Admin,
    /// An internal service: everything.
    Service,
}

/// Everything the server can be told.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SUPPORT_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Address of the admin listener (`/metrics`, `/livez`, `/readyz`); `off` for none.
    #[arg(long, env = "SUPPORT_ADMIN_LISTEN", default_value = DEFAULT_ADMIN_LISTEN)]
    pub admin_listen: String,
    /// Database URL: sqlite://FILE?mode=rwc (embedded) or mysql://USER:PASS@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Maximum pooled connections (MySQL; SQLite uses one).
    #[arg(long, env = "SUPPORT_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Milliseconds a call waits for a pooled connection before UNAVAILABLE.
    #[arg(long, env = "SUPPORT_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub db_acquire_timeout_ms: u64,
    /// Milliseconds opening a connection may take.
    #[arg(long, env = "SUPPORT_DB_CONNECT_TIMEOUT_MS", default_value_t = 5_000)]
    pub db_connect_timeout_ms: u64,
    /// On a Galera node, each call first waits until the node has applied every write the
    /// cluster acknowledged before the call (one causality check per call), so a call sees
    /// what an earlier call wrote through any node. Ignored elsewhere.
    #[arg(long, env = "SUPPORT_DB_CAUSAL_READS", default_value_t = true, action = clap::ArgAction::Set)]
    pub db_causal_reads: bool,
    /// Seconds to keep retrying the database at start-up before giving up.
    #[arg(long, env = "SUPPORT_DB_STARTUP_TIMEOUT_SECS", default_value_t = 30)]
    pub db_startup_timeout_secs: u64,
    /// Apply pending migrations at start-up.
    #[arg(long, env = "SUPPORT_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate: bool,
    /// A TOML file with the priority policy (weights, aging, thresholds); defaults otherwise.
    #[arg(long, env = "SUPPORT_PRIORITY_POLICY")]
    pub priority_policy: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "SUPPORT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Milliseconds between database health checks.
    #[arg(long, env = "SUPPORT_HEALTH_INTERVAL_MS", default_value_t = 400)]
    pub health_interval_ms: u64,
    /// Threads that run calls (1 to 1,024); by default one per CPU this process may use.
    /// A replica given less than its machine's CPUs costs less a call with fewer
    /// (BENCHMARKS.md, "The fifth session on it", item 17); the Kubernetes manifest sets its CPU request.
    #[arg(long, env = "SUPPORT_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// Milliseconds in-flight calls get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "SUPPORT_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Assign new tickets automatically to the least-loaded ACTIVE agent of their department.
    #[arg(long, env = "SUPPORT_AUTO_ASSIGN", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_assign: bool,
    /// Open tickets an agent holds before automatic assignment passes them over (0: no limit).
    #[arg(long, env = "SUPPORT_AGENT_CAPACITY", default_value_t = 20)]
    pub agent_capacity: u32,
    /// Tickets one call re-scores itself (a customer's tier change, each a row and an event
    /// in its transaction); the maintenance job re-scores the rest on its next run.
    #[arg(long, env = "SUPPORT_MAX_RESCORED_PER_CALL", default_value_t = 200)]
    pub max_rescored_per_call: u64,
    /// The address other replicas reach this one at (host:port of the gRPC listener), for
    /// typing indicators; by default the listen address when it is a specific one.
    #[arg(long, env = "SUPPORT_ADVERTISE_ADDR")]
    pub advertise_addr: Option<String>,
    /// Seconds a call rings before it ends as MISSED.
    #[arg(long, env = "SUPPORT_CALL_RING_SECS", default_value_t = 30)]
    pub call_ring_secs: u64,
    /// STUN and TURN servers for calls' browsers, comma-separated (e.g.
    /// `stun:stun.example.com:3478,turn:turn.example.com:3478`); none: host candidates only,
    /// which connect parties on one network.
    #[arg(long, env = "SUPPORT_ICE_URLS", value_delimiter = ',')]
    pub ice_urls: Vec<String>,
    /// The TURN server's shared secret (coturn's `static-auth-secret`): each caller gets
    /// credentials of their own from it, per the TURN REST API.
    #[arg(long, env = "SUPPORT_TURN_SECRET", hide_env_values = true, value_parser = secret)]
    pub turn_secret: Option<SecretString>,
    /// Seconds a TURN credential lasts: longer than the longest call.
    #[arg(long, env = "SUPPORT_TURN_TTL_SECS", default_value_t = 86_400)]
    pub turn_ttl_secs: u64,
    /// Milliseconds between looks for calls that rang out or lost a relay.
    #[arg(long, env = "SUPPORT_CALL_SWEEP_MS", default_value_t = 1_000)]
    pub call_sweep_ms: u64,
    /// Milliseconds between runs of the aging and SLA-breach job.
    #[arg(long, env = "SUPPORT_MAINTENANCE_INTERVAL_MS", default_value_t = 60_000)]
    pub maintenance_interval_ms: u64,
    /// Milliseconds between a replica's looks for events numbered elsewhere.
    #[arg(long, env = "SUPPORT_WATCH_POLL_INTERVAL_MS", default_value_t = 50)]
    pub watch_poll_interval_ms: u64,
    /// Milliseconds between the sequencer's looks for events written through other replicas.
    #[arg(long, env = "SUPPORT_SEQUENCER_INTERVAL_MS", default_value_t = 20)]
    pub sequencer_interval_ms: u64,
    /// Milliseconds the sequencer's lease lasts unrenewed (renewed three times as often):
    /// the longest a dead sequencer goes unreplaced.
    #[arg(long, env = "SUPPORT_SEQUENCER_LEASE_MS", default_value_t = 3_000)]
    pub sequencer_lease_ms: u64,
    /// WatchQueue streams one caller (principal) may hold open at once.
    #[arg(long, env = "SUPPORT_MAX_STREAMS_PER_PRINCIPAL", default_value_t = 16)]
    pub max_streams_per_principal: usize,
    /// Milliseconds a call may take before DEADLINE_EXCEEDED (a shorter `grpc-timeout` wins),
    /// even on a hung database. WatchQueue's limit is on opening the stream.
    #[arg(long, env = "SUPPORT_CALL_DEADLINE_MS", default_value_t = 10_000)]
    pub call_deadline_ms: u64,
    /// Milliseconds a health check's database ping may take before NOT_SERVING.
    #[arg(long, env = "SUPPORT_HEALTH_PING_TIMEOUT_MS", default_value_t = 500)]
    pub health_ping_timeout_ms: u64,
    /// Events a WatchQueue subscriber may fall behind before RESOURCE_EXHAUSTED.
    #[arg(long, env = "SUPPORT_WATCH_BUFFER", default_value_t = 4096)]
    pub watch_buffer: usize,
    /// Milliseconds of quiet before a heartbeat.
    #[arg(long, env = "SUPPORT_WATCH_HEARTBEAT_MS", default_value_t = 5_000)]
    pub watch_heartbeat_ms: u64,
    /// Hours of events kept for resuming subscribers.
    #[arg(long, env = "SUPPORT_EVENT_RETENTION_HOURS", default_value_t = 72)]
    pub event_retention_hours: u64,
    /// Largest request message, in bytes.
    #[arg(long, env = "SUPPORT_MAX_REQUEST_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Largest attachment, in bytes (at most 4,000,000: it is read back in one message).
    #[arg(long, env = "SUPPORT_MAX_ATTACHMENT_BYTES", default_value_t = Limits::default().attachment_bytes)]
    pub max_attachment_bytes: usize,
    /// Attachments one message may carry.
    #[arg(long, env = "SUPPORT_MAX_ATTACHMENTS_PER_MESSAGE", default_value_t = Limits::default().attachments_per_message)]
    pub max_attachments_per_message: usize,
    /// Bytes of all the attachments of one message together.
    #[arg(long, env = "SUPPORT_MAX_MESSAGE_ATTACHMENT_BYTES", default_value_t = Limits::default().message_attachment_bytes)]
    pub max_message_attachment_bytes: usize,
    /// Values a repeated filter field may list (ListTickets `statuses`).
    #[arg(long, env = "SUPPORT_MAX_FILTER_VALUES", default_value_t = Limits::default().filter_values)]
    pub max_filter_values: usize,
    /// The token-signing secret (at least 32 random bytes), the same on every replica.
    /// Required in production; the SQLite quick start generates one and keeps it in the database.
    #[arg(long, env = "SUPPORT_AUTH_SECRET", hide_env_values = true, value_parser = secret)]
    pub auth_secret: Option<SecretString>,
    /// The keys that seal webhook secrets at rest: base64 of 32 random bytes, the same on
    /// every replica; several, separated by commas, while rotating (the first seals, any
    /// opens). Unset: a key generated once is kept in the database (production warns).
    #[arg(long, env = "SUPPORT_SECRETS_KEY", hide_env_values = true, value_parser = secrets_keys)]
    pub secrets_key: Option<SecretString>,
    /// Treat this start as production even on SQLite: the secret must be configured.
    #[arg(long, env = "SUPPORT_PRODUCTION", default_value_t = false, action = clap::ArgAction::Set)]
    pub production: bool,
    /// Seconds an access token lives.
    #[arg(long, env = "SUPPORT_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// Seconds a refresh token lives.
    #[arg(long, env = "SUPPORT_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,
    /// Seconds a set-password token (an invitation or a reset) works.
    #[arg(long, env = "SUPPORT_SET_PASSWORD_TOKEN_TTL_SECS", default_value_t = 3 * 24 * 3600)]
    pub set_password_token_ttl_secs: u64,
    /// The longest lifetime an access token may claim (exp - iat); longer ones are refused.
    #[arg(long, env = "SUPPORT_MAX_TOKEN_LIFETIME_SECS", default_value_t = 7 * 24 * 3600)]
    pub max_token_lifetime_secs: u64,
    /// Milliseconds between a replica's reads of account changes made elsewhere (revoked
    /// tokens, disabled accounts).
    #[arg(long, env = "SUPPORT_STANDING_POLL_MS", default_value_t = 1_000)]
    pub standing_poll_ms: u64,
    /// Calls per second each caller may make (0: no limit).
    #[arg(long, env = "SUPPORT_RATE_LIMIT_PER_SECOND", default_value_t = 100)]
    pub rate_limit_per_second: u32,
    /// Calls each caller may make at once before the per-second rate applies.
    #[arg(long, env = "SUPPORT_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
    /// Sign-in attempts per minute per account (ten times that per client address).
    #[arg(long, env = "SUPPORT_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
    pub login_attempts_per_minute: u32,
    /// Record per-RPC metrics (on by default; off only to measure what they cost).
    #[arg(long, env = "SUPPORT_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,
    /// Serve the web console at `/` (gRPC-Web is served either way).
    #[arg(long, env = "SUPPORT_CONSOLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub console: bool,
    /// Origins besides the service's own that browsers may call it from with gRPC-Web,
    /// comma-separated (for example `https://support.example.com`).
    #[arg(long, env = "SUPPORT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Each webhook attempt's limit, connecting included.
    #[arg(long, env = "SUPPORT_WEBHOOK_TIMEOUT_MS", default_value_t = 5_000)]
    pub webhook_timeout_ms: u64,
    /// The wait after a webhook's first failed attempt; it doubles with each further one.
    #[arg(long, env = "SUPPORT_WEBHOOK_BACKOFF_MS", default_value_t = 1_000)]
    pub webhook_backoff_ms: u64,
    /// The longest wait between a webhook's attempts.
    #[arg(long, env = "SUPPORT_WEBHOOK_MAX_BACKOFF_MS", default_value_t = 3_600_000)]
    pub webhook_max_backoff_ms: u64,
    /// How long one event may keep failing before its subscription is disabled.
    #[arg(long, env = "SUPPORT_WEBHOOK_RETRY_FOR_SECS", default_value_t = 86_400)]
    pub webhook_retry_for_secs: u64,
    /// Webhook attempts in flight to one host at once.
    #[arg(long, env = "SUPPORT_WEBHOOK_PER_HOST", default_value_t = 4)]
    pub webhook_per_host: usize,
    /// Hosts, addresses and networks webhooks may reach although loopback, private or
    /// link-local, and over plain http; comma-separated (`127.0.0.1,10.0.0.0/8,hooks.internal`).
    #[arg(long, env = "SUPPORT_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<String>,
    /// The SMTP server customers' mail goes through; empty sends no mail.
    #[arg(long, env = "SUPPORT_SMTP_HOST", default_value = "")]
    pub smtp_host: String,
    /// Its port.
    #[arg(long, env = "SUPPORT_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// How the SMTP connection is secured: none, starttls or tls.
    #[arg(long, env = "SUPPORT_SMTP_TLS", value_enum, default_value_t = crate::notify::mail::SmtpTls::Starttls)]
    pub smtp_tls: crate::notify::mail::SmtpTls,
    /// The SMTP user, if the server wants credentials.
    #[arg(long, env = "SUPPORT_SMTP_USERNAME", default_value = "")]
    pub smtp_username: String,
    /// The SMTP password.
    #[arg(long, env = "SUPPORT_SMTP_PASSWORD", value_parser = secret, hide_env_values = true)]
    pub smtp_password: Option<SecretString>,
    /// The sender of customers' mail.
    #[arg(long, env = "SUPPORT_MAIL_FROM", default_value = "Support <support@localhost>")]
    pub mail_from: String,
    /// The console's public address, for the links in mail.
    #[arg(long, env = "SUPPORT_PUBLIC_URL", default_value = "http://127.0.0.1:50051")]
    pub public_url: String,
    /// A PEM certificate chain: serve TLS (with --tls-key).
    #[arg(long, env = "SUPPORT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "SUPPORT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

fn secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.to_owned()))
}

fn secrets_keys(value: &str) -> Result<SecretString, String> {
    let keys = SecretString::from(value.to_owned());
    crate::auth::sealing::parse_keys(&keys)?;
    Ok(keys)
}

impl Settings {
    /// The defaults with another database, as tests and tools use them.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        let mut s = Cli::parse_from(["support-service"]).settings;
        s.database_url = database_url.into();
        s
    }

    /// The admin listener's address, or None when it is `off`.
    pub fn admin_addr(&self) -> Result<Option<SocketAddr>, String> {
        match self.admin_listen.trim() {
            "" | "off" | "none" => Ok(None),
            addr => addr
                .parse()
                .map(Some)
                .map_err(|_| format!("SUPPORT_ADMIN_LISTEN: {addr:?} is not host:port (or `off`)")),
        }
    }

    /// The database part of the settings.
    pub fn db(&self) -> DbSettings {
        DbSettings {
            url: self.database_url.clone(),
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            connect_timeout: Duration::from_millis(self.db_connect_timeout_ms),
            causal_reads: self.db_causal_reads,
        }
    }

    /// The workflow rules of the data layer.
    pub fn rules(&self) -> Result<Rules, String> {
        Ok(Rules {
            policy: self.policy()?,
            auto_assign: self.auto_assign,
            agent_capacity: self.agent_capacity,
            rescore_per_call: self.max_rescored_per_call.max(1),
        })
    }

    /// The token minter and verifier for `secret`.
    pub fn tokens(&self, secret: &SecretString) -> Tokens {
        Tokens::new(secret, Duration::from_secs(self.access_token_ttl_secs.max(1)))
            .with_max_lifetime(Duration::from_secs(self.max_token_lifetime_secs.max(60)))
    }

    /// Whether the signing secret must be configured (MySQL, or SUPPORT_PRODUCTION).
    pub fn secret_mode(&self) -> secret::Mode {
        if self.production || !self.database_url.starts_with("sqlite:") {
            secret::Mode::Production
        } else {
            secret::Mode::QuickStart
        }
    }

    /// What one request may ask for, checked.
    pub fn limits(&self) -> Result<Limits, String> {
        let limits = Limits {
            attachments_per_message: self.max_attachments_per_message,
            attachment_bytes: self.max_attachment_bytes,
            message_attachment_bytes: self.max_message_attachment_bytes,
            filter_values: self.max_filter_values,
        };
        limits.check()?;
        Ok(limits)
    }

    /// The per-caller rate limit, if any.
    pub fn rate(&self) -> Option<Rate> {
        let per_second = NonZeroU32::new(self.rate_limit_per_second)?;
        Some(Rate { per_second, burst: NonZeroU32::new(self.rate_limit_burst).unwrap_or(per_second) })
    }

    /// How sign-in behaves.
    pub fn accounts(&self) -> AccountSettings {
        AccountSettings {
            refresh_ttl: Duration::from_secs(self.refresh_token_ttl_secs.max(60)),
            attempts_per_minute: NonZeroU32::new(self.login_attempts_per_minute).unwrap_or(NonZeroU32::MIN),
            set_password_ttl: Duration::from_secs(self.set_password_token_ttl_secs.max(60)),
        }
    }

    /// How calls ring and how their relays are watched.
    pub fn calls(&self) -> crate::jobs::CallSettings {
        let heartbeat = Duration::from_millis(self.watch_heartbeat_ms.max(10));
        crate::jobs::CallSettings {
            ring: chrono::Duration::seconds(self.call_ring_secs.clamp(1, 600) as i64),
            sweep: Duration::from_millis(self.call_sweep_ms.max(50)),
            // A relay touches its call at each heartbeat; three missed mean it is gone.
            stale: chrono::Duration::from_std(heartbeat * 3).unwrap_or(chrono::Duration::seconds(15)),
        }
    }

    /// The STUN and TURN servers calls use, checked.
    pub fn ice(&self) -> Result<crate::domain::ice::IceSettings, String> {
        crate::domain::ice::IceSettings::new(&self.ice_urls, self.turn_secret.clone(), self.turn_ttl_secs)
    }

    /// The event log's tuning.
    pub fn events(&self) -> EventSettings {
        EventSettings {
            sequencer_interval: Duration::from_millis(self.sequencer_interval_ms.max(1)),
            sequencer_lease: Duration::from_millis(self.sequencer_lease_ms.max(150)),
            poll_interval: Duration::from_millis(self.watch_poll_interval_ms.max(1)),
            subscriber_buffer: self.watch_buffer.max(16),
            subscriber_reads: (self.db_max_connections as usize / 2).max(1),
            heartbeat: Duration::from_millis(self.watch_heartbeat_ms.max(10)),
        }
    }

    /// Where customers' mail goes, if anywhere (SUPPORT_SMTP_HOST set).
    pub fn mail(&self) -> Option<crate::notify::mail::MailSettings> {
        let host = self.smtp_host.trim();
        (!host.is_empty()).then(|| crate::notify::mail::MailSettings {
            host: host.to_owned(),
            port: self.smtp_port,
            tls: self.smtp_tls,
            credentials: (!self.smtp_username.is_empty()).then(|| {
                (
                    self.smtp_username.clone(),
                    self.smtp_password.clone().unwrap_or_else(|| SecretString::from(String::new())),
                )
            }),
            from: self.mail_from.clone(),
            public_url: self.public_url.clone(),
        })
    }

    /// How webhooks are delivered, checked.
    pub fn webhooks(&self) -> Result<crate::notify::WebhookSettings, String> {
        Ok(crate::notify::WebhookSettings {
            timeout: Duration::from_millis(self.webhook_timeout_ms.max(10)),
            retry: crate::domain::webhook::RetryPolicy {
                base: Duration::from_millis(self.webhook_backoff_ms.max(1)),
                max: Duration::from_millis(self.webhook_max_backoff_ms.max(self.webhook_backoff_ms).max(1)),
                give_up_after: Duration::from_secs(self.webhook_retry_for_secs),
            },
            allow: crate::notify::guard::AllowList::parse(&self.webhook_allow)?,
            per_host: self.webhook_per_host.max(1),
            poll: Duration::from_millis(500),
        })
    }

    /// Loads and checks the priority policy.
    pub fn policy(&self) -> Result<PriorityPolicy, String> {
        let policy = match &self.priority_policy {
            None => PriorityPolicy::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{} is not a valid priority policy: {e}", path.display()))?
            }
        };
        policy.check().map_err(|e| format!("priority policy: {e}"))?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_policy_file_is_the_default_policy() {
        let readme = include_str!("../README.md");
        let start = readme.find("```toml\n").expect("a toml block in the README") + "```toml\n".len();
        let end = start + readme[start..].find("```").expect("closed block");
        let policy: PriorityPolicy = toml::from_str(&readme[start..end]).expect("the README's policy parses");
        assert_eq!(policy, PriorityPolicy::default());
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::with_database("sqlite::memory:");
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert!(s.auto_assign && s.migrate);
        assert_eq!(s.agent_capacity, 20);
    }

    #[test]
    fn mysql_or_the_production_flag_require_a_configured_secret() {
        assert_eq!(Settings::with_database(DEFAULT_DATABASE_URL).secret_mode(), secret::Mode::QuickStart);
        let mysql = Settings::with_database("mysql://u:p@db:3306/support");
        assert_eq!(mysql.secret_mode(), secret::Mode::Production);
        let message = secret::settle(None, mysql.secret_mode()).unwrap_err();
        assert!(message.contains("SUPPORT_AUTH_SECRET is not set"), "{message}");
        let mut flagged = Settings::with_database(DEFAULT_DATABASE_URL);
        flagged.production = true;
        assert_eq!(flagged.secret_mode(), secret::Mode::Production);
    }
}
