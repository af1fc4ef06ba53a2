//! SeaORM entities, one per table. Enum columns hold the domain's stored names.

pub mod agent;
pub mod assignment;
pub mod attachment;
pub mod call;
pub mod credential;
pub mod customer;
pub mod department;
pub mod enums;
pub mod handover;
pub mod idempotency_key;
pub mod log;
pub mod mail_sent;
pub mod mail_state;
pub mod queue_event;
pub mod queue_state;
pub mod quick_reply;
pub mod refresh_token;
pub mod replica;
pub mod service_secret;
pub mod set_password_token;
pub mod ticket;
pub mod ticket_history;
pub mod webhook;
pub mod webhook_delivery;
