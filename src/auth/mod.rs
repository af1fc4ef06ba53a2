//! Access control: who is calling and what they may do.
//!
//! - [`token`]: HS256 access tokens carrying the [`crate::domain::access::Principal`].
//! - [`password`]: Argon2id hashes and password rules.
//! - [`secret`]: the signing secret (required in production, generated for the quick start).
//! - [`sealing`]: secrets the service reads back (webhooks'), sealed at rest.
//! - [`accounts`]: Register, Login, Refresh and staff passwords.
//! - [`layer`]: the one enforcement point in front of every service (authentication and
//!   the per-principal rate limit).
//! - [`standing`]: whether an account's tokens still work (generations, disabled
//!   accounts), kept in memory and polled across replicas.
//! - [`table`]: who may call what, declared once per RPC and applied by the layer.
//! - [`policy`]: the per-resource rules beyond a role; ticket visibility is the principal's
//!   [`crate::domain::access::TicketScope`], applied by the data layer.

pub mod accounts;
pub mod layer;
pub mod password;
pub mod policy;
pub mod sealing;
pub mod secret;
pub mod standing;
pub mod table;
pub mod token;
