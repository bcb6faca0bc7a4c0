//! `volt pilot`: the Hong Kong pilot network, n validators in one process over a virtual
//! clock, with its progress lines and summary.

use anyhow::{Context as _, bail};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use volt_genesis::hong_kong_pilot_with_validators;
use volt_node::pilot::{self, PilotConfig, Progress, Summary};

const PILOT_AFTER_HELP: &str = "\
Runs the main job on the embedded default genesis (chain volt-hk-pilot): n validators in one
process, each with its own consensus core, file vote journal (fsync) and ledger, on an
in-process network with a virtual clock; set-up, then simulated hours of swaps, trades, rent
and claims. Exits with 1 if the validators' state roots differ or an invariant fails.

Examples:
  volt pilot --hours 1                       an hour of load on 4 validators, in seconds
  volt pilot --validators 7 --hours 24 --seed 3
  volt pilot --restart --data-dir /tmp/pilot   crash and restart the last validator midway";

/// `volt pilot` options.
#[derive(Debug, Args)]
#[command(after_help = PILOT_AFTER_HELP)]
pub struct PilotArgs {
    /// Validators: 4 or 7 named operators (4 to 64).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(4..=64))]
    validators: u16,
    /// Simulated hours of load after set-up (1 to 8760).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=8_760))]
    hours: u64,
    /// Swaps attempted per simulated hour (at most 100000).
    #[arg(
        long,
        default_value_t = 180,
        value_parser = clap::value_parser!(u64).range(0..=100_000)
    )]
    swaps_per_hour: u64,
    /// Seed of the load driver.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the vote journals go; must be empty [default: a fresh temporary directory,
    /// removed after the run].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A progress line every N blocks, 0 for none.
    #[arg(long, value_name = "N", default_value_t = 60)]
    progress_every: u64,
    /// Restart drill: crash the last validator a third of the way through the load, restart
    /// it 10 simulated minutes later from its vote journal and finalized blocks (its ledger is
    /// re-executed).
    #[arg(long)]
    restart: bool,
}

/// Runs the pilot and prints its report.
pub fn run(args: PilotArgs) -> anyhow::Result<()> {
    let temporary = args.data_dir.is_none();
    let data_dir = args.data_dir.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        std::env::temp_dir().join(format!("volt-pilot-{}-{nanos}", std::process::id()))
    });
    let config = PilotConfig {
        validators: usize::from(args.validators),
        hours: args.hours,
        seed: args.seed,
        data_dir,
        swaps_per_hour: args.swaps_per_hour,
        progress_every_blocks: args.progress_every,
        restart: args.restart,
    };
    config.validate()?;
    let doc = hong_kong_pilot_with_validators(config.validators);
    doc.validate().context("the embedded pilot genesis is invalid")?;
    print_header(&doc, &config);
    let started = Instant::now();
    let mut on_progress = |p: &Progress| {
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "[{elapsed:6.1}s] height {:5}  view {:5}  {}  txs {:5}  swaps {:6} settled / {} disputed  \
             fees {}  root {}",
            p.height,
            p.view,
            clock(p.sim_ms),
            p.txs,
            p.load.swaps_settled,
            p.load.swaps_disputed,
            hkd(p.load.fees_cents),
            short(&p.root)
        );
    };
    let result = pilot::run(&doc, &config, &mut on_progress);
    let elapsed = started.elapsed();
    if temporary {
        // Best effort: the journals of a throwaway run are of no further use.
        let _ = std::fs::remove_dir_all(&config.data_dir);
    }
    let summary = result.context("the pilot failed")?;
    print_summary(&summary, elapsed.as_secs_f64());
    if !summary.agreed() {
        bail!("validators disagree or an invariant failed (see above)");
    }
    Ok(())
}

fn hkd(amount: u128) -> String {
    let whole = (amount / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("HKD {grouped}.{:02}", amount % 100)
}

fn clock(sim_ms: u64) -> String {
    let minutes = sim_ms / 60_000;
    format!("day {} {:02}:{:02}", minutes / 1_440 + 1, minutes / 60 % 24, minutes % 60)
}

fn short(hash: &volt_proto::Hash) -> String {
    hash.to_string().chars().take(16).collect()
}
fn print_header(doc: &volt_genesis::GenesisDoc, config: &PilotConfig) {
    let names: Vec<&str> = doc.validators.iter().map(|v| v.name.as_str()).collect();
    let investors = doc.members.iter().filter(|m| m.name.starts_with("investor-")).count();
    println!(
        "volt pilot: chain {}, genesis {}, {} validators ({})",
        doc.chain_id.as_str(),
        short(&doc.id()),
        names.len(),
        names.join(", ")
    );
    println!(
        "  fixtures: {} stations, {} batteries in {} pools, {} taxis, {} investors (demo keys)",
        doc.stations.len(),
        doc.batteries.len(),
        doc.pools.len(),
        doc.vehicles.len(),
        investors
    );
    println!(
        "  load: {} simulated hours, {} swaps/hour, seed {}; one block per {} s of virtual time",
        config.hours,
        config.swaps_per_hour,
        config.seed,
        doc.consensus.block_interval_ms / 1_000
    );
    println!("  vote journals: {}", config.data_dir.display());
}

fn print_summary(s: &Summary, elapsed_s: f64) {
    let views = s.validators.iter().map(|v| v.view).max().unwrap_or(0);
    let l = &s.load;
    println!("summary");
    println!(
        "  blocks finalized   {} ({} with transactions) over {} views; {} set-up transactions",
        s.blocks, s.blocks_with_txs, views, s.setup_txs
    );
    println!(
        "  transactions       applied {}  failed {}  disputed {}  rejected {}",
        s.txs_applied, s.txs_failed, s.txs_disputed, s.txs_rejected
    );
    println!(
        "  swaps              settled {}  disputed {}  skipped {} (no idle taxi or charged pack)  \
         fees {}",
        l.swaps_settled,
        l.swaps_disputed,
        l.swaps_skipped,
        hkd(l.fees_cents)
    );
    println!(
        "  market             trades settled {} of {}  rent payments {}  revenue claims {}",
        l.trades_settled, l.trades_submitted, l.rent_payments, l.claims
    );
    for p in &s.pools {
        println!(
            "  pool {:<13} revenue {} deposited, {} claimed",
            p.class.as_str(),
            hkd(p.deposited.0),
            hkd(p.claimed.0)
        );
    }
    for v in &s.validators {
        let inv = match &v.invariants {
            Ok(()) => "invariants ok".to_owned(),
            Err(e) => format!("INVARIANT VIOLATED: {e}"),
        };
        let dropped: Vec<String> = v.dropped.iter().map(|(r, n)| format!("{r:?} {n}")).collect();
        println!(
            "  validator {:<12} height {}  view {}  root {}…  {inv}  journal fsyncs {}  restarts {}  \
             dropped inputs: {}",
            v.name,
            v.height,
            v.view,
            short(&v.root),
            v.journal_syncs,
            v.restarts,
            if dropped.is_empty() { "none".to_owned() } else { dropped.join(", ") }
        );
    }
    match &s.custody {
        Ok(()) => {
            println!("  custody model      the load driver's battery places match the ledger")
        }
        Err(e) => println!("  custody model      MISMATCH: {e}"),
    }
    let root = s.validators.first().map(|v| v.root.to_string()).unwrap_or_default();
    if s.agreed() {
        println!("  state root         {root}, identical on all {} validators", s.validators.len());
    } else {
        println!("  state roots        DIFFER (or a check failed): see the validator lines");
    }
    let sim_h = s.sim_ms as f64 / 3_600_000.0;
    println!(
        "  elapsed            {elapsed_s:.1} s wall for {sim_h:.1} h simulated, {} events",
        s.events
    );
}
