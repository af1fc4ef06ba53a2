//! The closed-loop driver: N concurrent callers, each calling as fast as its previous call
//! returns (or, paced, at most at a given total rate), for a fixed time; latencies in an
//! HDR histogram.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// One caller's operation: a gRPC call sequence or the same database work done raw.
pub(crate) trait Op: Clone + Send + 'static {
    /// Performs one operation; an error is counted, never retried.
    fn call(&mut self, rng: &mut ChaCha8Rng) -> impl Future<Output = Result<(), String>> + Send;
}

/// A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static bounds are valid")
}

/// What one run measured.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// Operations that succeeded.
    pub(crate) ops: u64,
    /// Operations that failed (their messages: the first few).
    pub(crate) errors: u64,
    pub(crate) first_errors: Vec<String>,
    /// Latency of the successful operations, µs.
    pub(crate) latency: Histogram<u64>,
    /// Wall time of the run.
    pub(crate) elapsed: Duration,
}

impl Sample {
    pub(crate) fn empty() -> Self {
        Self { ops: 0, errors: 0, first_errors: Vec::new(), latency: histogram(), elapsed: Duration::ZERO }
    }

    /// Adds another run's figures.
    pub(crate) fn merge(&mut self, other: &Sample) {
        self.ops += other.ops;
        self.errors += other.errors;
        for e in &other.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e.clone());
            }
        }
        let _ = self.latency.add(&other.latency);
        self.elapsed += other.elapsed;
    }

    /// Successful operations per second.
    pub(crate) fn throughput(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `op` from `concurrency` callers for `duration`. Caller `i` draws from
/// `ChaCha8Rng::seed_from_u64(seed + i)`, so two runs with one seed make the same requests.
pub(crate) async fn run<O: Op>(op: O, concurrency: usize, duration: Duration, seed: u64, bar: &ProgressBar) -> Sample {
    paced(op, concurrency, duration, seed, bar, None).await
}

/// [`run`], with the callers together starting at most `rate` calls a second when given:
/// each caller's calls are due every `concurrency / rate` seconds (staggered), and one
/// that is late starts at once.
pub(crate) async fn paced<O: Op>(
    op: O,
    concurrency: usize,
    duration: Duration,
    seed: u64,
    bar: &ProgressBar,
    rate: Option<f64>,
) -> Sample {
    let shared = Arc::new(Mutex::new(Sample::empty()));
    let started = Instant::now();
    let deadline = started + duration;
    let period = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r.max(1.0)));
    let mut callers = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let (mut op, shared, bar) = (op.clone(), shared.clone(), bar.clone());
        callers.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64));
            let mut mine = Sample::empty();
            let mut due =
                period.map(|p| tokio::time::Instant::from_std(started) + p.mul_f64(i as f64 / concurrency as f64));
            while Instant::now() < deadline {
                if let (Some(at), Some(p)) = (due.as_mut(), period) {
                    tokio::time::sleep_until(*at).await;
                    *at += p;
                }
                let t0 = Instant::now();
                match op.call(&mut rng).await {
                    Ok(()) => {
                        mine.ops += 1;
                        let _ = mine.latency.record((t0.elapsed().as_micros() as u64).max(1));
                    }
                    Err(e) => {
                        mine.errors += 1;
                        if mine.first_errors.len() < 5 {
                            mine.first_errors.push(e);
                        }
                    }
                }
                bar.inc(1);
            }
            if let Ok(mut all) = shared.lock() {
                all.merge(&mine);
            }
        }));
    }
    for c in callers {
        let _ = c.await;
    }
    let mut sample = shared.lock().map(|s| s.clone()).unwrap_or_else(|_| Sample::empty());
    sample.elapsed = started.elapsed();
    sample
}
