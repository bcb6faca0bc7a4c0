//! Prints a one-line summary of each seed in a range: `cargo run -p volt-consensus --example
//! probe -- <from> <to>` (a debugging aid next to the `replay_seed` test).
use volt_consensus::sim::{self, Scenario};

fn main() {
    let from: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let to: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(24);
    for seed in from..to {
        let s = Scenario::from_seed(seed);
        let r = sim::run(s.clone());
        println!(
            "seed {seed} n={} {:?}: views {} heights {:?} heal {} rec {:?} events {} fin {:?} viol {:?}",
            s.n,
            s.mix,
            r.view_max,
            r.heights,
            r.height_at_heal,
            r.recovery_ms,
            r.events,
            r.finality_ms_mean,
            r.violations
        );
    }
}
