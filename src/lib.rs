//! Support Service: customer support as a gRPC service.
//!
//! The layers, from the wire inwards:
//! - [`web`]: browsers' way in: CORS, the web console at `/`, gRPC-Web.
//! - [`auth`]: the layer that authenticates every call, applies the table of who may call
//!   what, and rate-limits each caller; tokens, passwords, accounts and their standing.
//! - [`grpc`]: one tonic service per proto service; thin handlers that take the verified
//!   caller, convert and validate ([`grpc::convert`]), call the repository with the
//!   caller's ticket scope, and map errors; the layers for deadlines and malformed framing.
//! - [`domain`]: the rules — priority engine, ticket workflow, validation — with no
//!   gRPC or SQL in them.
//! - [`repo`]: SeaORM entities, queries and transactions; the only code that touches
//!   the database.
//! - [`events`]: the event log: the sequencer, the tailer, the fan-out, WatchQueue.
//! - [`app`]: start-up and shutdown: listen first, pool, migrations, health, reflection,
//!   services, the lifecycle of every task; [`ready`]: what is set once ready.
//! - [`observe`]: metrics, the admin listener (metrics, HTTP probes), a span per RPC with
//!   its request id and W3C trace, OpenTelemetry export.
//! - [`config`], [`telemetry`], [`error`]: settings, tracing, and the one error type.
//! - [`demo`]: the reproducible demo dataset, written through [`repo`].

pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod jobs;
mod kept;
pub mod notify;
pub mod observe;
pub mod ready;
pub mod repo;
pub mod telemetry;
pub mod web;

/// The generated `support.v1` types, clients and servers.
pub mod pb {
    #![allow(missing_docs, unreachable_pub, clippy::all, missing_debug_implementations)]
    tonic::include_proto!("support.v1");
    // The servers, generated apart (build.rs): WatchQueue streams `crate::grpc::frame::WatchFrame`.
    include!(concat!(env!("OUT_DIR"), "/servers/support.v1.rs"));

    /// The encoded descriptor set of the contract, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/support_descriptor.bin"));
    /// The encoded descriptor set of the `google.rpc` error details, for reflection.
    pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/error_details_descriptor.bin"));
}
