//! Prints a one-line summary of each seed in a range: `cargo run -p volt-consensus --example
//! probe -- <from> <to> [canary]` (a debugging aid next to the `replay_seed` test; the canary
//! is a `Canary` variant name, e.g. `WantsNeverExpire`).
use volt_consensus::core::Canary;
use volt_consensus::sim::{self, Scenario};

fn canary(name: &str) -> Canary {
    match name {
        "NotarizeTwice" => Canary::NotarizeTwice,
        "ForgetVotes" => Canary::ForgetVotes,
        "LateRewrite" => Canary::LateRewrite,
        "ParentGapLimit" => Canary::ParentGapLimit,
        "FinalizeAllOrNothing" => Canary::FinalizeAllOrNothing,
        "WantsNeverExpire" => Canary::WantsNeverExpire,
        "HelpUnverified" => Canary::HelpUnverified,
        "JournalWithoutCommits" => Canary::JournalWithoutCommits,
        _ => Canary::None,
    }
}

fn main() {
    let from: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let to: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(24);
    let canary = canary(&std::env::args().nth(3).unwrap_or_default());
    for seed in from..to {
        let mut s = Scenario::from_seed(seed);
        s.canary = canary;
        let r = sim::run(s.clone());
        println!(
            "seed {seed} n={} {:?}: views {} heights {:?} heal {} rec {:?} events {} fin {:?} \
             wants max {} held max {:?} viol {:?}",
            s.n,
            s.mix,
            r.view_max,
            r.heights,
            r.height_at_heal,
            r.recovery_ms,
            r.events,
            r.finality_ms_mean,
            r.wants_max,
            r.held_max,
            r.violations
        );
    }
}
