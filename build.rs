//! Compiles `proto/support/v1` with the pure-Rust `protox` (no `protoc` needed), generates
//! the tonic/prost code, and writes two descriptor sets for server reflection: the
//! service contract and the `google.rpc` error details the service sends.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "support/v1/common.proto",
    "support/v1/department_service.proto",
    "support/v1/customer_service.proto",
    "support/v1/agent_service.proto",
    "support/v1/ticket_service.proto",
    "support/v1/log_service.proto",
    "support/v1/auth_service.proto",
    "support/v1/report_service.proto",
    "support/v1/reply_service.proto",
    "support/v1/webhook_service.proto",
    "support/v1/call_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=third_party/proto");

    let contract = protox::compile(PROTOS, ["proto"])?;
    fs::write(out.join("support_descriptor.bin"), contract.encode_to_vec())?;

    let errors = protox::compile(["google/rpc/error_details.proto", "google/rpc/status.proto"], ["third_party/proto"])?;
    fs::write(out.join("error_details_descriptor.bin"), errors.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .codec_path("crate::grpc::codec::StrictProstCodec")
        .compile_fds(contract.clone())?;

    // The servers, generated apart: their messages are the ones above, except that a
    // WatchQueue stream yields frames encoded once per event and shared by every
    // subscriber (`crate::grpc::frame`), not a message encoded once per subscriber.
    let servers = out.join("servers");
    fs::create_dir_all(&servers)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .codec_path("crate::grpc::codec::StrictProstCodec")
        .extern_path(".support.v1", "crate::pb")
        .extern_path(".support.v1.WatchQueueResponse", "crate::grpc::frame::WatchFrame")
        .out_dir(&servers)
        .compile_fds(contract)?;
    Ok(())
}
