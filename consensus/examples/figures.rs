//! Prints the consensus figures recorded in `docs/consensus.md`:
//! simulated views per second of CPU, finality in network hops (fault-free), and the time for
//! liveness to return after a partition heals.
//!
//! Run: `cargo run --release -p volt-consensus --example figures` (or without `--release` for
//! the dev profile the tests use).

// A measuring program, not the pure core: it reads the clock to time the simulator, and a
// failed set-up of its fixed keys is a bug in the program.
#![allow(clippy::disallowed_methods, clippy::expect_used)]

use std::time::Instant;
use volt_consensus::core::{Canary, Config, Core, Input, Timeouts};
use volt_consensus::sim::{self, Mix, Scenario};
use volt_consensus::types::{Epoch, Message, Round, View, Vote};
use volt_consensus::validators::{ValidatorSet, sign_vote};
use volt_proto::ChainId;
use volt_proto::sig::Keypair;

/// CPU seconds a core at n = 100 spends turning 67 peer nullify votes per view into a
/// nullification, over 200 views (votes signed beforehand, not timed).
fn votes_to_nullifications(canary: Canary) -> (u64, f64) {
    let n = 100;
    let keys: Vec<Keypair> = (0..n).map(|i| Keypair::for_testing(&format!("fig-{i}"))).collect();
    let validators = ValidatorSet::from_keypairs(&keys).expect("valid keys");
    let chain_id = ChainId::new("figures").expect("valid chain id");
    let me = 99;
    let config = Config {
        chain_id: chain_id.clone(),
        epoch: Epoch(0),
        validators,
        me,
        key: keys[usize::from(me)].clone(),
        timeouts: Timeouts::default(),
        canary,
    };
    let genesis = volt_consensus::types::Block::genesis(Epoch(0), Vec::new());
    let mut core = Core::new(config, genesis, &[]).expect("a valid core");
    core.handle(0, Input::Start);
    let views = 200u64;
    let inputs: Vec<Input> = (1..=views)
        .flat_map(|v| {
            let vote = Vote::Nullify(Round { epoch: Epoch(0), view: View(v) });
            let keys = &keys;
            let chain_id = &chain_id;
            (0..67u16).map(move |i| {
                let signed = sign_vote(&keys[usize::from(i)], chain_id, i, vote);
                Input::Message { from: i, bytes: Message::Vote(signed).encode() }
            })
        })
        .collect();
    let start = cpu_seconds();
    for input in inputs {
        core.handle(1, input);
    }
    let secs = start.and_then(|s| cpu_seconds().map(|e| e - s)).unwrap_or(f64::NAN);
    assert_eq!(core.view(), View(views + 1), "every view was nullified");
    (views, secs)
}

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
    let paths = [(Canary::None, "votes batched"), (Canary::VerifyEachVote, "each vote alone")];
    for (n, (canary, path)) in [4, 7].into_iter().flat_map(|n| paths.map(|p| (n, p))) {
        let wall = Instant::now();
        let cpu = cpu_seconds();
        let mut views = 0;
        let runs = 20;
        for seed in 0..runs {
            let mut scenario = Scenario::new(seed, n, Mix::Clean);
            scenario.canary = canary;
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
            "n = {n}, {path}: {views} views in {secs:.2} s CPU ({wall:.2} s wall) = {:.0} \
             views/s",
            views as f64 / secs
        );
    }

    println!("\n# vote verification at n = 100 (one core, 200 views of 67 nullify votes each)");
    for (canary, path) in paths {
        let (views, secs) = votes_to_nullifications(canary);
        println!(
            "{path}: {:.0} µs of CPU per view ({:.1} µs per vote)",
            secs * 1e6 / views as f64,
            secs * 1e6 / (views * 67) as f64
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
