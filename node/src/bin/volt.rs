//! The `volt` command. Today it has one job, `volt pilot`: the Hong Kong pilot network, n
//! validators in one process (see the `volt_node` crate docs for what is and is not built).

// The binary reads the wall clock only to print how long the run took.
#![allow(clippy::disallowed_methods)]

use anyhow::{Context as _, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use volt_genesis::hong_kong_pilot_with_validators;
use volt_node::pilot::{self, PilotConfig, Progress, Summary};

const USAGE: &str = "\
volt — the Volt ledger node (interim: only the in-process pilot is built)

USAGE:
    volt pilot [OPTIONS]     run the Hong Kong pilot genesis on a local in-process network
    volt --help

Run `volt pilot --help` for the pilot's options.";

const PILOT_USAGE: &str = "\
volt pilot — the main job on the embedded default genesis (chain volt-hk-pilot): n validators
in one process, each with its own consensus core, file vote journal (fsync) and ledger, on an
in-process network with a virtual clock; set-up, then simulated hours of swaps, trades, rent
and claims. Exits non-zero if the validators' state roots differ or an invariant fails.

USAGE:
    volt pilot [OPTIONS]

OPTIONS:
    --validators <N>        validators: 4 or 7 named operators (4 to 64) [default: 4]
    --hours <H>             simulated hours of load after set-up [default: 12]
    --swaps-per-hour <N>    swaps attempted per simulated hour [default: 180]
    --seed <S>              seed of the load driver [default: 1]
    --data-dir <DIR>        where the vote journals go; must be empty [default: a fresh
                            temporary directory, removed after the run]
    --progress-every <N>    a progress line every N blocks, 0 for none [default: 60]
    --restart               restart drill: crash the last validator a third of the way
                            through the load, restart it 10 simulated minutes later from its
                            vote journal and finalized blocks (its ledger is re-executed)
    -h, --help              this text";

struct Args {
    config: PilotConfig,
    temporary: bool,
}

fn parse_pilot(args: &[String]) -> anyhow::Result<Option<Args>> {
    let mut config = PilotConfig {
        validators: 4,
        hours: 12,
        seed: 1,
        data_dir: PathBuf::new(),
        swaps_per_hour: 180,
        progress_every_blocks: 60,
        restart: false,
    };
    let mut data_dir = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--restart" {
            config.restart = true;
            continue;
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag.as_str(), None),
        };
        let value = match inline {
            Some(v) => v,
            None => it.next().cloned().with_context(|| format!("{name} needs a value"))?,
        };
        let number = |v: &str| -> anyhow::Result<u64> {
            v.parse().with_context(|| format!("{name}: {v:?} is not a whole number"))
        };
        match name {
            "--validators" => config.validators = number(&value)? as usize,
            "--hours" => config.hours = number(&value)?,
            "--swaps-per-hour" => config.swaps_per_hour = number(&value)?,
            "--seed" => config.seed = number(&value)?,
            "--progress-every" => config.progress_every_blocks = number(&value)?,
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            other => bail!("unknown option {other}\n\n{PILOT_USAGE}"),
        }
    }
    let temporary = data_dir.is_none();
    config.data_dir = match data_dir {
        Some(dir) => dir,
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            std::env::temp_dir().join(format!("volt-pilot-{}-{nanos}", std::process::id()))
        }
    };
    Ok(Some(Args { config, temporary }))
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

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole cause chain on one line, without a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("pilot") => {}
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return Ok(());
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
    let Some(Args { config, temporary }) = parse_pilot(&args[1..])? else {
        println!("{PILOT_USAGE}");
        return Ok(());
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
