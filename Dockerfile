# syntax=docker/dockerfile:1
# Multi-stage build: a Rust builder, then a slim runtime that runs as a non-root user.

FROM rust:1.95-bookworm AS builder
# build.rs compiles the proto with protox (pure Rust); protobuf-compiler is here for
# operators' tooling (protoc --decode etc.) and as a fallback.
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Cache dependencies: build once with the manifests only.
COPY Cargo.toml Cargo.lock ./
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src migration/src \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > migration/src/main.rs && touch migration/src/lib.rs \
 && echo 'fn main() {}' > build.rs \
 && cargo build --release --locked --bin support-service || true
COPY build.rs ./
COPY proto proto
COPY third_party third_party
COPY migration migration
COPY src src
RUN touch src/main.rs src/lib.rs migration/src/lib.rs \
 && cargo build --release --locked --bin support-service

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/support --create-home support
COPY --from=builder /src/target/release/support-service /usr/local/bin/support-service
USER support
WORKDIR /var/lib/support
ENV SUPPORT_LISTEN=0.0.0.0:50051 \
    SUPPORT_LOG_FORMAT=json \
    DATABASE_URL=sqlite:///var/lib/support/support.db?mode=rwc
EXPOSE 50051
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/support-service"]
