//! `volt node init` and `volt node run`: a node's home (config.toml, genesis.json, data/) and
//! the node process.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use volt_genesis::{GenesisDoc, KeyScheme, dev_pilot, hong_kong_pilot};
use volt_node::config::{self, ConfigError, LogFormat, NodeConfig, Overrides};
use volt_node::telemetry;

pub const NODE_AFTER_HELP: &str = "\
Examples:
  volt node run --dev                        a dev chain in a fresh directory, no set-up
  volt node init --home ~/.volt              write config.toml and genesis.json
  volt node run --home ~/.volt --log-format json";

const INIT_AFTER_HELP: &str = "\
Writes <DIR>/config.toml, every key set to its default with a comment saying what it does,
and, unless it exists, <DIR>/genesis.json: the embedded Hong Kong pilot (4 validators), or
with --dev the one-validator dev genesis (chain volt-hk-dev, DEMO keys). Never overwrites an
existing config.toml (exit code 3).

Examples:
  volt node init --home ~/.volt
  volt node init --home ./devnode --dev && volt node run --home ./devnode";

const RUN_AFTER_HELP: &str = "\
Settings come from, in order of precedence: these flags (or their VOLT_* environment
variables), <HOME>/config.toml, the built-in defaults (see docs/operations.md). The config and
the genesis are validated before anything starts; an invalid one exits with code 3 and names
the field. The log level comes from RUST_LOG (default info).

With --dev and no --home, the node runs in a fresh temporary directory it prints, on the
one-validator dev genesis (written there if absent); its keys are DEMO keys.

Examples:
  volt node run --dev
  volt node run --dev --grpc-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0
  volt node run --home ~/.volt --log-format json
  volt node run --home ~/.volt --check       validate config and genesis, do not start
  RUST_LOG=volt_node=debug volt node run --home ~/.volt --data-dir /var/lib/volt";

/// `volt node …`.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Write a node's home: a commented config.toml and a genesis.json.
    #[command(after_help = INIT_AFTER_HELP)]
    Init(InitArgs),
    /// Run the node: validate the config and genesis, then serve until stopped.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
}

/// `volt node init` options.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The node's home directory (created if absent).
    #[arg(long, value_name = "DIR", env = "VOLT_HOME")]
    home: PathBuf,
    /// Configure a one-validator dev chain on the dev genesis (DEMO keys).
    #[arg(long)]
    dev: bool,
}

/// `volt node run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node's home: config.toml, and by default genesis.json and data/ [required unless
    /// --dev, which then uses a fresh temporary directory].
    #[arg(long, value_name = "DIR", env = "VOLT_HOME", required_unless_present = "dev")]
    home: Option<PathBuf>,
    /// A one-validator dev chain on the dev genesis, with DEMO keys.
    #[arg(long)]
    dev: bool,
    /// The gRPC API's address [config: grpc_listen; default 127.0.0.1:50051].
    #[arg(long, value_name = "ADDR", env = "VOLT_GRPC_LISTEN")]
    grpc_listen: Option<SocketAddr>,
    /// The /metrics and /healthz address [config: metrics_listen; default 127.0.0.1:9615].
    #[arg(long, value_name = "ADDR", env = "VOLT_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log lines as text or JSON [config: log_format; default text].
    #[arg(long, value_name = "FORMAT", env = "VOLT_LOG_FORMAT")]
    log_format: Option<LogFormat>,
    /// Storage directory [config: data_dir; default <HOME>/data].
    #[arg(long, value_name = "DIR", env = "VOLT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The genesis file [config: genesis_file; default <HOME>/genesis.json].
    #[arg(long = "genesis", value_name = "FILE")]
    genesis_file: Option<PathBuf>,
    /// The validator's key file [config: key_file; dev mode: the genesis demo key].
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Load and validate the config and the genesis, print them, and exit without starting
    /// (0: both valid, 3: not).
    #[arg(long)]
    check: bool,
}

/// Runs `volt node …`.
pub fn run(cmd: NodeCommand) -> anyhow::Result<()> {
    match cmd {
        NodeCommand::Init(args) => init(args),
        NodeCommand::Run(args) => run_node(args),
    }
}

fn init(args: InitArgs) -> anyhow::Result<()> {
    let genesis = || if args.dev { dev_pilot(now()) } else { hong_kong_pilot() };
    let written = config::init_home(&args.home, args.dev, genesis)?;
    for path in &written {
        println!("wrote {}", path.display());
    }
    if !written.iter().any(|p| p.ends_with(config::GENESIS_FILE_DEFAULT)) {
        println!("kept {}", args.home.join(config::GENESIS_FILE_DEFAULT).display());
    }
    let dev = if args.dev { " (dev mode)" } else { "" };
    println!("start it with: volt node run --home {}{dev}", args.home.display());
    Ok(())
}

fn run_node(args: RunArgs) -> anyhow::Result<()> {
    let home = match &args.home {
        Some(home) => home.clone(),
        None => fresh_dev_home()?,
    };
    let overrides = Overrides {
        dev: args.dev,
        data_dir: args.data_dir,
        genesis_file: args.genesis_file,
        key_file: args.key_file,
        grpc_listen: args.grpc_listen,
        metrics_listen: args.metrics_listen,
        log_format: args.log_format,
    };
    // Without --dev the home must have been set up; a file may still turn dev mode on.
    let config = NodeConfig::load(&home, !args.dev, &overrides)?;
    if config.dev && !config.genesis_file.exists() {
        if let Some(dir) = config.genesis_file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let doc = dev_pilot(now());
        config::write_genesis(&config.genesis_file, &doc)?;
        println!("wrote the dev genesis to {}", config.genesis_file.display());
    }
    let doc = config::load_genesis(&config.genesis_file)?;
    if config.dev {
        check_dev_genesis(&config, &doc)?;
    }
    print_start(&config, &doc);
    if args.check {
        println!("config and genesis are valid (--check: not starting)");
        return Ok(());
    }
    telemetry::init_logs(config.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(volt_node::runtime::run(config))
}

/// A dev node runs one validator that signs with the genesis demo key: the genesis must list
/// exactly one validator and use demo keys, or the chain could never finalize.
fn check_dev_genesis(config: &NodeConfig, doc: &GenesisDoc) -> Result<(), ConfigError> {
    if doc.validators.len() != 1 || doc.key_scheme != KeyScheme::DemoLabels {
        let reason = format!(
            "{} lists {} validators with key scheme {:?}; dev mode needs 1 with DemoLabels \
             (write one with `volt genesis dev --out FILE`)",
            config.genesis_file.display(),
            doc.validators.len(),
            doc.key_scheme
        );
        let path = NodeConfig::file_in(&config.home);
        return Err(ConfigError::Invalid { path, field: "genesis_file", reason });
    }
    Ok(())
}

fn print_start(config: &NodeConfig, doc: &GenesisDoc) {
    println!("volt node: home {}", config.home.display());
    println!(
        "  genesis {} (chain {}, {} validator{})",
        doc.id(),
        doc.chain_id.as_str(),
        doc.validators.len(),
        if doc.validators.len() == 1 { "" } else { "s" }
    );
    println!("  data    {}", config.data_dir.display());
    println!(
        "  listen  grpc {}, metrics {} (configured; the node prints the bound addresses)",
        config.grpc_listen, config.metrics_listen
    );
    if config.dev {
        println!(
            "  DEV MODE: one validator; every key in this genesis is a DEMO key anyone can \
             derive: never give this chain anything of value"
        );
    }
}

/// A fresh directory for a dev node started without --home.
fn fresh_dev_home() -> anyhow::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let dir = std::env::temp_dir().join(format!("volt-dev-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the dev home {}", dir.display()))?;
    println!("dev home: {} (pass --home to keep a dev chain)", dir.display());
    Ok(dir)
}

/// Now, to the second: the genesis time of a fresh dev chain.
pub fn now() -> volt_proto::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    volt_proto::Timestamp(secs.saturating_mul(1_000))
}
