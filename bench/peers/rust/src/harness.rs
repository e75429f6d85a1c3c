//! Measurement harness: runs one workload batch repeatedly and prints one
//! JSON line with the median / min / max nanoseconds per operation.
//!
//! A repetition calls the batch closure until at least `min_time` has passed,
//! counts the operations it did and divides the elapsed time by them. The
//! reported `ns_per_op` is the median over all repetitions, `min` / `max` are
//! taken over the same repetitions, and `ops` is the operation count of the
//! median repetition. One untimed warm-up batch runs first.

use std::time::{Duration, Instant};

pub struct Config {
    pub reps: usize,
    pub min_time: Duration,
    pub filter: Option<String>,
}

impl Config {
    /// Full run: 7 repetitions of at least 50 ms each.
    pub fn full() -> Self {
        Config {
            reps: 7,
            min_time: Duration::from_millis(50),
            filter: None,
        }
    }

    /// `--quick`: 3 repetitions of at least 10 ms each.
    pub fn quick() -> Self {
        Config {
            reps: 3,
            min_time: Duration::from_millis(10),
            filter: None,
        }
    }

    pub fn wants(&self, name: &str) -> bool {
        match &self.filter {
            None => true,
            Some(f) => name.contains(f.as_str()),
        }
    }
}

/// Benchmark one workload for one implementation.
///
/// `setup` builds whatever state the workload needs (runtime, pool, ...) and
/// returns the batch closure; it is only called if `name` passes the filter.
/// Each call of the batch closure performs exactly `ops_per_batch` operations
/// and must check its own result (panicking on a wrong answer).
pub fn bench<S, B>(cfg: &Config, name: &str, imp: &str, ops_per_batch: u64, setup: S)
where
    S: FnOnce() -> B,
    B: FnMut(),
{
    if !cfg.wants(name) {
        return;
    }
    let mut batch = setup();
    batch(); // warm-up (also checks correctness once before timing)

    let mut samples: Vec<(f64, u64)> = Vec::with_capacity(cfg.reps);
    for _ in 0..cfg.reps {
        let mut ops = 0u64;
        let start = Instant::now();
        let elapsed = loop {
            batch();
            ops += ops_per_batch;
            let e = start.elapsed();
            if e >= cfg.min_time {
                break e;
            }
        };
        samples.push((elapsed.as_nanos() as f64 / ops as f64, ops));
    }
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, ops) = samples[samples.len() / 2];
    let min = samples[0].0;
    let max = samples[samples.len() - 1].0;
    println!(
        "{{\"name\": \"{name}\", \"impl\": \"{imp}\", \"ns_per_op\": {}, \"min\": {}, \"max\": {}, \"ops\": {ops}}}",
        fmt_ns(median),
        fmt_ns(min),
        fmt_ns(max),
    );
}

/// Three significant-ish digits, always a valid JSON number.
fn fmt_ns(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
