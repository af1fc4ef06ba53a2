//! The domain: the rules of customer support, free of gRPC and SQL.
//!
//! - [`types`]: the enums (tiers, severities, statuses…) and their stored names.
//! - [`model`]: the resources as the service knows them, and validated inputs.
//! - [`page`]: page requests and pages.
//! - [`error`]: what the rules refuse, in the domain's words.
//! - [`validate`]: field checks that collect every violation of a request.
//! - [`limits`]: the counts and sizes one request may ask for.
//! - [`priority`]: the configurable priority engine.
//! - [`workflow`]: the ticket status moves and the conversation turn rule.
//! - [`ticket`]: the ticket workflow as a state machine: every change to a ticket decided.
//! - [`clock`]: an injectable source of time.
//! - [`report`]: the reports' values.
//! - [`assignment`]: who gets a ticket, given the agents' loads.
//! - [`access`]: roles, the calling principal and the ticket scope it sees.
//! - [`search`]: what a search query means, and the passage shown for a result.
//! - [`history`]: a ticket's history: the entries each change makes, and who sees them.
//! - [`reply`]: quick replies, their placeholders, and suggestions from past replies.
//! - [`call`]: voice calls: who calls whom, their moves, who sees them, their signals.

pub mod access;
pub mod assignment;
pub mod call;
pub mod clock;
pub mod error;
pub mod event;
pub mod history;
pub mod ice;
pub mod limits;
pub mod model;
pub mod page;
pub mod priority;
pub mod reply;
pub mod report;
pub mod search;
pub mod sla;
pub mod ticket;
pub mod types;
pub mod validate;
pub mod webhook;
pub mod workflow;

pub use clock::{Clock, ManualClock, SystemClock};
pub use model::*;
pub use page::*;
pub use types::*;
