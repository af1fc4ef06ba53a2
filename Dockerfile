# syntax=docker/dockerfile:1.7
# Multi-stage build of the whole workspace as it is (the server, migration/ and bench/),
# with BuildKit cache mounts for the cargo registry and the target directory instead of
# dummy manifests; then a slim runtime that runs as a non-root user with SQLite in a
# volume by default. `scripts/check-dockerfile.py` (run by scripts/test.sh) checks that
# every workspace member and build input is copied, since no image can be built on the
# project's machines.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY build.rs ./
COPY proto proto
COPY third_party third_party
COPY src src
COPY migration migration
COPY bench bench
# The web console, built and committed: the binary embeds it (no Node in the image).
COPY web/dist web/dist
# build.rs compiles the proto in pure Rust (protox): no protoc needed. The target
# directory is a cache mount, so the binary is copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin support-service \
 && cp target/release/support-service /usr/local/bin/support-service

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/support --create-home support
COPY --from=builder /usr/local/bin/support-service /usr/local/bin/support-service
USER 10001
WORKDIR /var/lib/support
# The embedded default: SQLite in this volume (set DATABASE_URL for MySQL/MariaDB).
VOLUME ["/var/lib/support"]
ENV SUPPORT_LISTEN=0.0.0.0:50051 \
    SUPPORT_ADMIN_LISTEN=0.0.0.0:9464 \
    SUPPORT_LOG_FORMAT=json \
    DATABASE_URL=sqlite:///var/lib/support/support.db?mode=rwc
# 50051: gRPC, gRPC-Web and the web console; 9464: /metrics, /livez, /readyz.
EXPOSE 50051 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/support-service"]
