//! `volt genesis pilot | dev | show`: write the embedded documents as JSON files, and check a
//! file and print what it holds.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use volt_genesis::{GenesisDoc, KeyScheme, dev_pilot, hong_kong_pilot_with_validators};
use volt_node::config::{self, ConfigError};

pub const GENESIS_AFTER_HELP: &str = "\
Examples:
  volt genesis pilot --out genesis.json      the embedded Hong Kong pilot, 4 validators
  volt genesis dev --out dev-genesis.json    the one-validator dev chain
  volt genesis show genesis.json --json      validate a file, print its id and validators";

const PILOT_AFTER_HELP: &str = "\
Writes the embedded Hong Kong pilot (chain volt-hk-pilot: 55 stations, 660 batteries in 3
pools, 180 taxis, 20 investors) as pretty JSON. Its keys are DEMO keys anyone can derive.
Refuses to overwrite FILE unless --force.

Examples:
  volt genesis pilot --out genesis.json
  volt genesis pilot --out genesis-7.json --validators 7";

const DEV_AFTER_HELP: &str = "\
Writes the dev genesis (chain volt-hk-dev): the pilot's fixtures on one validator, a block a
second, DEMO keys. Its genesis time is now unless --genesis-time is given, so two runs give
two chains; pass the same time to get the same document and id.

Examples:
  volt genesis dev --out dev-genesis.json
  volt genesis dev --out dev-genesis.json --genesis-time 1780243200000";

const SHOW_AFTER_HELP: &str = "\
Reads FILE, validates it (exit code 3 naming the field if it is invalid) and prints its id,
chain, genesis time, key scheme, consensus timing, validators and fixture counts.

Examples:
  volt genesis show genesis.json
  volt genesis show genesis.json --json | jq -r .id";

/// `volt genesis …`.
#[derive(Debug, Subcommand)]
pub enum GenesisCommand {
    /// Write the embedded Hong Kong pilot genesis as JSON.
    #[command(after_help = PILOT_AFTER_HELP)]
    Pilot(PilotArgs),
    /// Write the one-validator dev genesis as JSON.
    #[command(after_help = DEV_AFTER_HELP)]
    Dev(DevArgs),
    /// Validate a genesis file and print its id, chain and validators.
    #[command(after_help = SHOW_AFTER_HELP)]
    Show(ShowArgs),
}

/// `volt genesis pilot` options.
#[derive(Debug, Args)]
pub struct PilotArgs {
    /// Where to write the document.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Validators: the first 4 or 7 are named operators (4 to 64).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(4..=64))]
    validators: u16,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

/// `volt genesis dev` options.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Where to write the document.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Genesis time in ms since the Unix epoch [default: now, to the second].
    #[arg(long, value_name = "MS")]
    genesis_time: Option<u64>,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

/// `volt genesis show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The genesis file (JSON).
    file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `volt genesis …`.
pub fn run(cmd: GenesisCommand) -> anyhow::Result<()> {
    match cmd {
        GenesisCommand::Pilot(a) => {
            write(&a.out, a.force, &hong_kong_pilot_with_validators(usize::from(a.validators)))
        }
        GenesisCommand::Dev(a) => {
            let time = a.genesis_time.map_or_else(crate::node::now, volt_proto::Timestamp);
            write(&a.out, a.force, &dev_pilot(time))
        }
        GenesisCommand::Show(a) => show(&a.file, a.json),
    }
}

fn write(out: &Path, force: bool, doc: &GenesisDoc) -> anyhow::Result<()> {
    doc.validate().context("the embedded genesis is invalid")?;
    if out.exists() && !force {
        let hint = " (pass --force to replace it)";
        return Err(ConfigError::Exists { path: out.into(), hint }.into());
    }
    config::write_genesis(out, doc)?;
    println!("wrote {}: genesis {} (chain {})", out.display(), doc.id(), doc.chain_id.as_str());
    Ok(())
}

fn show(file: &Path, json: bool) -> anyhow::Result<()> {
    let doc = config::load_genesis(file)?;
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&summary(&doc))?)
    } else {
        describe(&doc)
    };
    print_all(&text)
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
fn print_all(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

fn describe(doc: &GenesisDoc) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let c = &doc.consensus;
    let _ = writeln!(s, "genesis     {}", doc.id());
    let _ = writeln!(s, "chain       {}", doc.chain_id.as_str());
    let _ = writeln!(s, "time        {} ms since the Unix epoch", doc.genesis_time.0);
    let keys = match doc.key_scheme {
        KeyScheme::DemoLabels => "DemoLabels: DEMO keys anyone can derive, never for real value",
        KeyScheme::External => "External",
    };
    let _ = writeln!(s, "keys        {keys}");
    let _ = writeln!(
        s,
        "consensus   block interval {} ms, leader timeout {} ms, advance timeout {} ms",
        c.block_interval_ms, c.leader_timeout_ms, c.advance_timeout_ms
    );
    let _ = writeln!(s, "validators  {}", doc.validators.len());
    for v in &doc.validators {
        let _ = writeln!(s, "  {:<14} {}", v.name, v.account);
    }
    let _ = writeln!(
        s,
        "fixtures    {} members, {} currencies, {} stations, {} pools, {} batteries, {} vehicles",
        doc.members.len(),
        doc.currencies.len(),
        doc.stations.len(),
        doc.pools.len(),
        doc.batteries.len(),
        doc.vehicles.len()
    );
    s
}

fn summary(doc: &GenesisDoc) -> serde_json::Value {
    let validators: Vec<_> = doc
        .validators
        .iter()
        .map(|v| serde_json::json!({ "name": v.name, "account": v.account.to_string() }))
        .collect();
    serde_json::json!({
        "id": doc.id().to_string(),
        "chain_id": doc.chain_id.as_str(),
        "genesis_time_ms": doc.genesis_time.0,
        "key_scheme": format!("{:?}", doc.key_scheme),
        "consensus": doc.consensus,
        "validators": validators,
        "members": doc.members.len(),
        "currencies": doc.currencies.len(),
        "stations": doc.stations.len(),
        "pools": doc.pools.len(),
        "batteries": doc.batteries.len(),
        "vehicles": doc.vehicles.len(),
    })
}
