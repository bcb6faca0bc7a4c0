//! Prints the consensus figures recorded in `docs/consensus.md`:
//! simulated views per second of CPU, finality in network hops (fault-free), and the time for
//! liveness to return after a partition heals.
//!
//! Run: `cargo run --release -p volt-consensus --example figures` (or without `--release` for
//! the dev profile the tests use).

// A measuring program, not the pure core: it reads the clock to time the simulator.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;
use volt_consensus::sim::{self, Mix, Scenario};

/// Process CPU time in seconds from /proc (Linux), if available.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() {
    println!("# views per second of CPU (clean network, 5-40 ms links)");
    for n in [4, 7] {
        let wall = Instant::now();
        let cpu = cpu_seconds();
        let mut views = 0;
        let runs = 20;
        for seed in 0..runs {
            let mut scenario = Scenario::new(seed, n, Mix::Clean);
            scenario.run_ms = 10_000;
            scenario.fault_ms = 5_000;
            let report = sim::run(scenario);
            assert!(report.violations.is_empty(), "{:?}", report.violations);
            views += report.view_max;
        }
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu.and_then(|start| cpu_seconds().map(|end| end - start));
        let secs = cpu.unwrap_or(wall);
        println!(
            "n = {n}: {views} views in {secs:.2} s CPU ({wall:.2} s wall) = {:.0} views/s",
            views as f64 / secs
        );
    }

    println!("\n# finality in hops (fault-free, every link exactly 50 ms, no jitter)");
    for n in [4, 7] {
        let mut scenario = Scenario::new(1, n, Mix::Clean);
        scenario.latency_ms = (50, 50);
        scenario.jitter_ms_max = 0;
        scenario.timeouts.leader_ms = 500;
        scenario.timeouts.advance_ms = 800;
        let report = sim::run(scenario);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        let mean = report.finality_ms_mean.unwrap_or(f64::NAN);
        let views_per_s = report.view_max as f64 / 3.0;
        println!(
            "n = {n}: proposal to finalization {mean:.1} ms = {:.2} hops of 50 ms \
             (includes 1 ms of simulated application verification); {views_per_s:.1} views/s \
             of virtual time (block time {:.0} ms)",
            mean / 50.0,
            3000.0 / report.view_max as f64
        );
    }

    println!("\n# liveness after a partition heals (halves split, timeouts 250/400 ms, retry 250)");
    for n in [4, 7] {
        let mut worst = 0;
        let mut total = 0;
        let runs = 20;
        for seed in 0..runs {
            let mut scenario = Scenario::new(seed, n, Mix::Clean);
            scenario.halves_partition_ms = Some((300, 1_500));
            let report = sim::run(scenario);
            assert!(report.violations.is_empty(), "{:?}", report.violations);
            let r = report.recovery_ms.unwrap_or(u64::MAX);
            worst = worst.max(r);
            total += r;
        }
        println!(
            "n = {n}: every honest node finalized a new block {:.0} ms after the heal on \
             average, {worst} ms at worst ({runs} seeds)",
            total as f64 / runs as f64
        );
    }
}
