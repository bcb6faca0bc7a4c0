//! The pilot end to end: 4 validators with file journals run the Hong Kong genesis for a few
//! simulated hours and agree on everything, and a seed replays to the same state root.

use std::path::PathBuf;
use volt_genesis::hong_kong_pilot;
use volt_node::pilot::{self, PilotConfig, Summary};

/// A fresh, empty directory under the target dir's temp area for one run.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volt-pilot-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(name: &str, seed: u64, restart: bool) -> Summary {
    let config = PilotConfig {
        validators: 4,
        hours: 2,
        seed,
        data_dir: fresh_dir(name),
        swaps_per_hour: 120,
        progress_every_blocks: 0,
        restart,
    };
    let summary = pilot::run(&hong_kong_pilot(), &config, &mut |_| {});
    let _ = std::fs::remove_dir_all(&config.data_dir);
    match summary {
        Ok(summary) => summary,
        Err(error) => panic!("pilot run {name} failed: {error}"),
    }
}

#[test]
fn pilot_validators_agree_and_a_seed_replays() {
    // Proves every validator finalizes the same chain to the same state root with every
    // invariant holding, swaps settle, the custody model matches the ledger, and the same seed
    // gives the same root again.
    let first = run("a", 7, false);
    let v0 = &first.validators[0];
    assert_eq!(first.validators.len(), 4);
    for v in &first.validators {
        assert_eq!(v.height, v0.height, "{} height", v.name);
        assert_eq!(v.chain, v0.chain, "{} finalized a different chain", v.name);
        assert_eq!(v.root, v0.root, "{} state root", v.name);
        assert_eq!(v.invariants, Ok(()), "{} invariants", v.name);
        assert!(v.journal_syncs > 0, "{} never synced its journal", v.name);
    }
    assert_eq!(first.custody, Ok(()));
    assert!(first.agreed());
    assert!(first.blocks >= 120, "2 hours of 1-minute blocks, got {}", first.blocks);
    assert!(first.load.swaps_settled > 100, "swaps settled: {}", first.load.swaps_settled);
    assert_eq!(first.load.swaps_disputed, 0);
    assert_eq!(first.txs_rejected, 0);
    assert!(first.load.trades_settled > 0 && first.load.rent_payments > 0);
    assert!(first.pools.iter().all(|p| p.deposited.0 > 0));

    let again = run("b", 7, false);
    assert_eq!(again.validators[0].root, v0.root, "same seed, different root");
    assert_eq!(again.validators[0].chain, v0.chain, "same seed, different chain");
}

#[test]
fn restarted_validator_recovers_from_its_journal_and_agrees() {
    // Proves a validator crashed mid-run, rebuilt from its vote journal file and re-executed
    // blocks, catches up and ends with the same chain and root; its leader views are skipped.
    let summary = run("restart", 11, true);
    let v0 = &summary.validators[0];
    let last = &summary.validators[3];
    assert_eq!(last.restarts, 1);
    assert!(summary.validators[..3].iter().all(|v| v.restarts == 0));
    assert!(summary.agreed(), "validators disagree after the restart: {:#?}", summary.validators);
    assert_eq!((last.height, last.chain, last.root), (v0.height, v0.chain, v0.root));
    assert!(v0.view > v0.height + 1, "no view was nullified while the leader was down");
    assert_eq!(summary.custody, Ok(()));
    assert!(summary.load.swaps_settled > 100);
}

#[test]
fn every_pilot_lease_tariff_admits_the_load_drivers_price() {
    // Proves the fleets' signed tariff covers what the load driver's stations charge at any
    // state of charge (a fee above it would be disputed, not paid), with room to spare.
    use volt_node::load::FEE_CENTS_PER_KWH;
    for pool in &hong_kong_pilot().pools {
        let plan = &pool.lease;
        // The driver charges FEE_CENTS_PER_KWH per kWh delivered and nothing fixed.
        assert!(
            plan.fee_per_kwh_max.0 >= u128::from(FEE_CENTS_PER_KWH),
            "{}: tariff {} cents/kWh, driver charges {FEE_CENTS_PER_KWH}",
            pool.class,
            plan.fee_per_kwh_max.0
        );
    }
}
