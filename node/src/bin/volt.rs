//! The `volt` command: `volt pilot` (the in-process pilot network), `volt node init | run`
//! (the node process and its home) and `volt genesis pilot | dev | show` (genesis files).
//!
//! Exit codes: 0 ok, 1 runtime failure, 2 usage (clap), 3 invalid config or genesis. An error
//! is one line, `error: …`, with its causes joined by `: ` and no backtrace.

// The binary reads the wall clock to print how long a pilot run took and to date a fresh dev
// genesis; the library takes time as an argument.
#![allow(clippy::disallowed_methods)]

// The subcommands live in src/bin/volt/ (a crate root's modules resolve beside it, and files
// directly in src/bin/ would each become a binary).
#[path = "volt/genesis.rs"]
mod genesis;
#[path = "volt/node.rs"]
mod node;
#[path = "volt/pilot.rs"]
mod pilot;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use volt_node::config::ConfigError;

/// The exit code of a run that worked.
const EXIT_OK: u8 = 0;
/// The exit code of a failure while running (I/O, the pilot's checks, the node stopping).
const EXIT_RUNTIME: u8 = 1;
/// The exit code of a command line clap refused (clap's own default).
const EXIT_USAGE: u8 = 2;
/// The exit code of an invalid config file or genesis document.
const EXIT_CONFIG: u8 = 3;

const AFTER_HELP: &str = "\
Exit codes:
  0  ok
  1  runtime failure (I/O, a failed check, the node stopped with an error)
  2  usage: an unknown option or a malformed value (the message says which)
  3  invalid config file or genesis document (the message names the file and the field)

Examples:
  volt pilot --hours 1                      the Hong Kong pilot, 4 validators in one process
  volt node run --dev                       a one-validator dev chain in a fresh directory
  volt node init --home ~/.volt && volt node run --home ~/.volt
  volt genesis show ~/.volt/genesis.json    check a genesis file and print its id";

/// Volt: a BFT-replicated permissioned ledger for tokenized EV batteries.
#[derive(Debug, Parser)]
#[command(name = "volt", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Hong Kong pilot: n validators in one process over a virtual clock.
    Pilot(pilot::PilotArgs),
    /// Set up and run a node.
    #[command(subcommand, after_help = node::NODE_AFTER_HELP)]
    Node(node::NodeCommand),
    /// Write and check genesis documents.
    #[command(subcommand, after_help = genesis::GENESIS_AFTER_HELP)]
    Genesis(genesis::GenesisCommand),
}

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2; --help and --version exit with 0.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pilot(args) => pilot::run(args),
        Command::Node(cmd) => node::run(cmd),
        Command::Genesis(cmd) => genesis::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            // `{:#}` prints the whole cause chain on one line, without a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Invalid config or genesis → 3, pilot options out of range → 2, anything else → 1.
fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<ConfigError>() || cause.is::<volt_genesis::GenesisError>() {
            return EXIT_CONFIG;
        }
        if let Some(volt_node::pilot::PilotError::Config { .. }) = cause.downcast_ref() {
            return EXIT_USAGE;
        }
    }
    EXIT_RUNTIME
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_tree_is_consistent() {
        // Proves clap's own checks pass (unique flags, valid defaults, required-unless rules).
        Cli::command().debug_assert();
    }
}
