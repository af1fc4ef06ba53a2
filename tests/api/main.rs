//! The integration suite: the real server on port 0, a fresh database per test,
//! typed clients. `SUPPORT_TEST_DB=sqlite|mysql` picks the database.

// Test helpers are shared between modules of this one binary, not exported.
#![allow(unreachable_pub, missing_debug_implementations)]

mod access;
mod agents;
mod assignment;
mod auth;
mod calls;
mod customers;
mod departments;
mod fuzz;
mod hardening;
mod helpers;
mod history;
mod logs;
mod operations;
mod platform;
mod replicas;
mod replies;
mod reports;
mod scoping;
mod search;
mod sequencer;
mod sla_aging;
mod tickets;
mod watch;
mod web;
mod webhooks;
mod workflow;
