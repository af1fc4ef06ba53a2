//! The floor: the cheapest call the server can answer, through the same stack as every
//! scenario (one HTTP/2 connection, the browser, observation, malformed-framing and call
//! layers, the auth layer's path lookup) with the same `authorization` header, and no
//! database work: `grpc.health.v1.Health/Check`. What a scenario's server costs above it
//! is what its own work costs; the floor itself is the price of a gRPC call here.

use rand_chacha::ChaCha8Rng;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::client::Authed;
use crate::load::Op;

/// Health checks through the bench's authenticated channel.
#[derive(Debug, Clone)]
pub(crate) struct Floor(pub(crate) HealthClient<Authed>);

impl Op for Floor {
    async fn call(&mut self, _rng: &mut ChaCha8Rng) -> Result<(), String> {
        let answer = self
            .0
            .check(HealthCheckRequest { service: String::new() })
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?;
        if answer.into_inner().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
            Ok(())
        } else {
            Err("the server is not serving".into())
        }
    }
}
