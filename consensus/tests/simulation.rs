//! Seeded simulations: every fault mix for n = 4 and n = 7, each seed run twice.
//!
//! `VOLT_SIM_SEEDS=<count>` sets how many seeds the four chunk tests share (default 512);
//! `VOLT_SIM_SEED=<seed>` replays one seed with `replay_seed`.

// Test helpers panic on purpose: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_consensus::core::Canary;
use volt_consensus::sim::{self, Mix, Report, Scenario};

const SEEDS_DEFAULT: u64 = 512;
const CHUNKS: u64 = 4;

fn seed_count() -> u64 {
    std::env::var("VOLT_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS_DEFAULT)
}

fn replay_command(seed: u64) -> String {
    format!(
        "VOLT_SIM_SEED={seed} cargo test -p volt-consensus --test simulation -- replay_seed \
         --nocapture"
    )
}

/// Runs a seed twice; returns a failure text if an invariant broke or the traces differ.
fn check_seed(seed: u64) -> Option<String> {
    let first = sim::run(Scenario::from_seed(seed));
    let second = sim::run(Scenario::from_seed(seed));
    let scenario = Scenario::from_seed(seed);
    let what = format!("seed {seed} (n = {}, {:?})", scenario.n, scenario.mix);
    if !first.violations.is_empty() {
        return Some(format!("{what}: {:?}\n  replay: {}", first.violations, replay_command(seed)));
    }
    if first.trace_hash != second.trace_hash {
        return Some(format!(
            "{what}: two runs gave different traces\n  replay: {}",
            replay_command(seed)
        ));
    }
    None
}

fn run_chunk(chunk: u64) {
    let total = seed_count();
    let failures: Vec<String> =
        (0..total).filter(|s| s % CHUNKS == chunk).filter_map(check_seed).collect();
    assert!(failures.is_empty(), "{} failing seeds:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn seeds_chunk_0() {
    // Proves invariants and determinism hold for a quarter of the seeds (every mix, n = 4, 7).
    run_chunk(0);
}

#[test]
fn seeds_chunk_1() {
    // Proves invariants and determinism hold for the second quarter of the seeds.
    run_chunk(1);
}

#[test]
fn seeds_chunk_2() {
    // Proves invariants and determinism hold for the third quarter of the seeds.
    run_chunk(2);
}

#[test]
fn seeds_chunk_3() {
    // Proves invariants and determinism hold for the last quarter of the seeds.
    run_chunk(3);
}

#[test]
fn replay_seed() {
    // Replays the seed in VOLT_SIM_SEED (no-op without it) and prints its report.
    let Some(seed) = std::env::var("VOLT_SIM_SEED").ok().and_then(|s| s.parse().ok()) else {
        return;
    };
    let report: Report = sim::run(Scenario::from_seed(seed));
    println!("{report:#?}");
    assert!(check_seed(seed).is_none(), "{:?}", check_seed(seed));
}

#[test]
fn every_mix_is_covered_for_both_sizes() {
    // Proves the default seed range covers every fault mix for n = 4 and n = 7.
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..seed_count() {
        let s = Scenario::from_seed(seed);
        seen.insert((s.n, s.mix));
    }
    assert_eq!(seen.len(), 2 * Mix::ALL.len());
}

#[test]
fn canary_double_notarize_is_caught() {
    // Proves the checker can fail: honest nodes that notarize twice in a view are caught.
    let mut caught = 0;
    let mut runs = 0;
    let mut first = None;
    for seed in 0..4 {
        for n in [4, 7] {
            let mut scenario = Scenario::new(seed, n, Mix::Equivocator);
            scenario.canary = Canary::NotarizeTwice;
            runs += 1;
            let report = sim::run(scenario);
            if !report.violations.is_empty() {
                caught += 1;
                first = first.or(Some(report.violations));
            }
        }
    }
    assert!(caught > 0, "the broken rule went unnoticed in {runs} runs");
    // Not only the vote-discipline check: the certificate-level safety check fires too.
    let safety = first.iter().flatten().any(|v| v.starts_with("two notarized digests"));
    assert!(safety, "no certificate-level violation: {first:?}");
    println!("canary caught in {caught} of {runs} runs, first: {first:?}");
}

#[test]
fn canary_forgotten_votes_are_caught_after_restarts() {
    // Proves the restart checks can fail: nodes that do not journal their votes and crash
    // repeatedly end up signing conflicting votes, and the checker sees it.
    let mut caught = 0;
    let mut runs = 0;
    for seed in 0..24 {
        let mut scenario = Scenario::new(seed, 4, Mix::Crash);
        scenario.canary = Canary::ForgetVotes;
        scenario.crash_count = Some(30);
        runs += 1;
        let report = sim::run(scenario);
        if !report.violations.is_empty() {
            caught += 1;
            println!("seed {seed}: {:?}", report.violations);
        }
    }
    assert!(caught > 0, "forgotten votes went unnoticed in {runs} runs");
    println!("forgotten-votes canary caught in {caught} of {runs} runs");
}

#[test]
fn ancestry_check_fails_on_an_unnullified_skip() {
    // Proves the checker flags a finalized block that skipped a view nobody nullified.
    use volt_consensus::sim::Checker;
    use volt_consensus::types::{Block, Epoch, View};
    use volt_proto::sig::Keypair;
    let keys: Vec<_> = (0..4).map(|i| Keypair::for_testing(&format!("a{i}"))).collect();
    let mut checker = Checker::new(
        volt_proto::ChainId::new("ancestry").unwrap(),
        keys.iter().map(Keypair::public_key).collect(),
        vec![true; 4],
    );
    let genesis = Block::genesis(Epoch(0), Vec::new());
    let block = Block {
        epoch: Epoch(0),
        view: View(3),
        height: volt_proto::Height(1),
        parent_view: View(0),
        parent: genesis.digest(),
        payload: Vec::new(),
    };
    checker.observe_finalized(0, &block);
    checker.check_ancestry();
    assert_eq!(checker.violations.len(), 2, "{:?}", checker.violations);
}
