//! The node's configuration: `<home>/config.toml`, command-line flags over it, defaults under
//! both, validated once at load ([`NodeConfig::load`]); and the genesis file
//! ([`load_genesis`]).
//!
//! Every limit is a named default constant here (units last, as everywhere in Volt), the
//! template `volt node init` writes is generated from them ([`config_template`]), and a test
//! loads that template back and gets exactly [`NodeConfig`]'s defaults, so file, docs and code
//! cannot drift apart. Errors name the file and the field:
//! `config.toml: limits.mempool_txs_max must be between 1 and 1000000, got 0`.

use crate::payload::{PAYLOAD_BYTES_MAX, PAYLOAD_TXS_MAX};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use volt_genesis::{GenesisDoc, GenesisError};
use volt_proto::TX_BYTES_MAX;

/// The config file's name inside the node's home.
pub const CONFIG_FILE: &str = "config.toml";
/// The genesis file's default name inside the node's home.
pub const GENESIS_FILE_DEFAULT: &str = "genesis.json";
/// The data directory's default name inside the node's home.
pub const DATA_DIR_DEFAULT: &str = "data";
/// The gRPC API's default address (loopback: expose it deliberately).
pub const GRPC_LISTEN_DEFAULT: &str = "127.0.0.1:50051";
/// The Prometheus `/metrics` endpoint's default address.
pub const METRICS_LISTEN_DEFAULT: &str = "127.0.0.1:9615";

/// Default [`Limits::mempool_txs_max`].
pub const MEMPOOL_TXS_MAX_DEFAULT: usize = 20_000;
/// Default [`Limits::mempool_bytes_max`]: 64 MiB.
pub const MEMPOOL_BYTES_MAX_DEFAULT: usize = 64 * 1024 * 1024;
/// Default [`Limits::mempool_account_txs_max`].
pub const MEMPOOL_ACCOUNT_TXS_MAX_DEFAULT: usize = 64;
/// Default [`Limits::mempool_nonce_ahead_max`].
pub const MEMPOOL_NONCE_AHEAD_MAX_DEFAULT: u64 = 64;
/// Default [`Limits::grpc_message_bytes_max`]: 4 MiB (tonic's own default decode limit).
pub const GRPC_MESSAGE_BYTES_MAX_DEFAULT: usize = 4 * 1024 * 1024;
/// Default [`Limits::grpc_concurrency_max`].
pub const GRPC_CONCURRENCY_MAX_DEFAULT: usize = 256;
/// Default [`Limits::grpc_request_timeout_ms`].
pub const GRPC_REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Default [`Limits::block_txs_max`]: the payload's own ceiling.
pub const BLOCK_TXS_MAX_DEFAULT: usize = PAYLOAD_TXS_MAX;
/// Default [`Limits::block_bytes_max`]: the payload's own ceiling.
pub const BLOCK_BYTES_MAX_DEFAULT: usize = PAYLOAD_BYTES_MAX;

/// Ceiling of [`Limits::mempool_txs_max`].
pub const MEMPOOL_TXS_MAX_CEILING: usize = 1_000_000;
/// Ceiling of [`Limits::mempool_bytes_max`]: 4 GiB.
pub const MEMPOOL_BYTES_MAX_CEILING: usize = 4 * 1024 * 1024 * 1024;
/// Ceiling of [`Limits::mempool_nonce_ahead_max`].
pub const MEMPOOL_NONCE_AHEAD_MAX_CEILING: u64 = 10_000;
/// Floor of [`Limits::grpc_message_bytes_max`]: a largest transaction plus its envelope.
pub const GRPC_MESSAGE_BYTES_MAX_FLOOR: usize = 2 * TX_BYTES_MAX;
/// Ceiling of [`Limits::grpc_message_bytes_max`].
pub const GRPC_MESSAGE_BYTES_MAX_CEILING: usize = 64 * 1024 * 1024;
/// Ceiling of [`Limits::grpc_concurrency_max`].
pub const GRPC_CONCURRENCY_MAX_CEILING: usize = 100_000;
/// Floor of [`Limits::grpc_request_timeout_ms`].
pub const GRPC_REQUEST_TIMEOUT_MS_FLOOR: u64 = 100;
/// Ceiling of [`Limits::grpc_request_timeout_ms`]: 10 minutes.
pub const GRPC_REQUEST_TIMEOUT_MS_CEILING: u64 = 600_000;
/// Most bytes of a genesis file [`load_genesis`] reads (the pilot is about 1 MiB of JSON).
pub const GENESIS_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Most bytes of a config file [`NodeConfig::load`] reads.
pub const CONFIG_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// How logs are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

impl LogFormat {
    /// The name used in the config file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a node bounds. Each field's default is the `*_DEFAULT` constant of its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Transactions the mempool holds at most; a full mempool refuses (`ResourceExhausted`).
    pub mempool_txs_max: usize,
    /// Encoded bytes the mempool holds at most.
    pub mempool_bytes_max: usize,
    /// Transactions one signer may have pending, so one account cannot fill the mempool.
    pub mempool_account_txs_max: usize,
    /// How far past the signer's next nonce a transaction may be and still be admitted.
    pub mempool_nonce_ahead_max: u64,
    /// The largest gRPC message the server decodes or sends.
    pub grpc_message_bytes_max: usize,
    /// gRPC requests served at once; more wait.
    pub grpc_concurrency_max: usize,
    /// A unary gRPC request's deadline on the server.
    pub grpc_request_timeout_ms: u64,
    /// Transactions a proposed block carries at most.
    pub block_txs_max: usize,
    /// Encoded transaction bytes a proposed block carries at most.
    pub block_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            mempool_txs_max: MEMPOOL_TXS_MAX_DEFAULT,
            mempool_bytes_max: MEMPOOL_BYTES_MAX_DEFAULT,
            mempool_account_txs_max: MEMPOOL_ACCOUNT_TXS_MAX_DEFAULT,
            mempool_nonce_ahead_max: MEMPOOL_NONCE_AHEAD_MAX_DEFAULT,
            grpc_message_bytes_max: GRPC_MESSAGE_BYTES_MAX_DEFAULT,
            grpc_concurrency_max: GRPC_CONCURRENCY_MAX_DEFAULT,
            grpc_request_timeout_ms: GRPC_REQUEST_TIMEOUT_MS_DEFAULT,
            block_txs_max: BLOCK_TXS_MAX_DEFAULT,
            block_bytes_max: BLOCK_BYTES_MAX_DEFAULT,
        }
    }
}

/// The validated configuration the runtime starts from. Build it with [`NodeConfig::load`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// The node's home: `config.toml`, and by default `genesis.json` and `data/`.
    pub home: PathBuf,
    /// Storage (sled, the vote journal). Default `<home>/data`.
    pub data_dir: PathBuf,
    /// The genesis document (JSON). Default `<home>/genesis.json`.
    pub genesis_file: PathBuf,
    /// The validator's key file. `None` in dev mode: the genesis demo key is used.
    pub key_file: Option<PathBuf>,
    /// The gRPC API's address. Port 0 (any free port) only in dev mode.
    pub grpc_listen: SocketAddr,
    /// The `/metrics` and `/healthz` HTTP address. Port 0 only in dev mode.
    pub metrics_listen: SocketAddr,
    /// Log lines as text or JSON.
    pub log_format: LogFormat,
    /// Every bound.
    pub limits: Limits,
    /// A one-validator dev chain on the dev genesis with demo keys.
    pub dev: bool,
}

impl NodeConfig {
    /// The defaults for a node whose home is `home`.
    pub fn defaults(home: &Path) -> NodeConfig {
        NodeConfig {
            home: home.to_path_buf(),
            data_dir: home.join(DATA_DIR_DEFAULT),
            genesis_file: home.join(GENESIS_FILE_DEFAULT),
            key_file: None,
            grpc_listen: parse_default_addr(GRPC_LISTEN_DEFAULT),
            metrics_listen: parse_default_addr(METRICS_LISTEN_DEFAULT),
            log_format: LogFormat::Text,
            limits: Limits::default(),
            dev: false,
        }
    }

    /// `<home>/config.toml`.
    pub fn file_in(home: &Path) -> PathBuf {
        home.join(CONFIG_FILE)
    }

    /// Defaults, then `<home>/config.toml` if it exists (or an error if it does not and
    /// `file_required`), then `overrides`; validated once. Relative paths in the file are
    /// relative to `home`.
    pub fn load(
        home: &Path,
        file_required: bool,
        overrides: &Overrides,
    ) -> Result<NodeConfig, ConfigError> {
        let path = NodeConfig::file_in(home);
        let mut config = NodeConfig::defaults(home);
        if path.exists() {
            let text = read_bounded(&path, CONFIG_FILE_BYTES_MAX)?;
            config.apply_file(parse_file(&path, &text)?);
        } else if file_required {
            return Err(ConfigError::Missing { path, hint: "run `volt node init --home` first" });
        }
        config.apply_overrides(overrides);
        config.validate(&path)?;
        Ok(config)
    }

    fn apply_file(&mut self, file: ConfigFile) {
        let home = self.home.clone();
        let at_home = |p: PathBuf| if p.is_absolute() { p } else { home.join(p) };
        if let Some(p) = file.data_dir {
            self.data_dir = at_home(p);
        }
        if let Some(p) = file.genesis_file {
            self.genesis_file = at_home(p);
        }
        self.key_file = file.key_file.map(at_home);
        set(&mut self.grpc_listen, file.grpc_listen);
        set(&mut self.metrics_listen, file.metrics_listen);
        set(&mut self.log_format, file.log_format);
        set(&mut self.dev, file.dev);
        let (l, f) = (&mut self.limits, file.limits);
        set(&mut l.mempool_txs_max, f.mempool_txs_max);
        set(&mut l.mempool_bytes_max, f.mempool_bytes_max);
        set(&mut l.mempool_account_txs_max, f.mempool_account_txs_max);
        set(&mut l.mempool_nonce_ahead_max, f.mempool_nonce_ahead_max);
        set(&mut l.grpc_message_bytes_max, f.grpc_message_bytes_max);
        set(&mut l.grpc_concurrency_max, f.grpc_concurrency_max);
        set(&mut l.grpc_request_timeout_ms, f.grpc_request_timeout_ms);
        set(&mut l.block_txs_max, f.block_txs_max);
        set(&mut l.block_bytes_max, f.block_bytes_max);
    }

    fn apply_overrides(&mut self, o: &Overrides) {
        if o.dev {
            self.dev = true;
        }
        set(&mut self.data_dir, o.data_dir.clone());
        set(&mut self.genesis_file, o.genesis_file.clone());
        if o.key_file.is_some() {
            self.key_file = o.key_file.clone();
        }
        set(&mut self.grpc_listen, o.grpc_listen);
        set(&mut self.metrics_listen, o.metrics_listen);
        set(&mut self.log_format, o.log_format);
    }

    /// Every range and cross-field rule, checked once; the first problem names its field.
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        self.limits.validate(path)?;
        for (field, addr) in
            [("grpc_listen", self.grpc_listen), ("metrics_listen", self.metrics_listen)]
        {
            if addr.port() == 0 && !self.dev {
                let reason = format!("has port 0 ({addr}), which is allowed only with --dev");
                return Err(ConfigError::Invalid { path: path.into(), field, reason });
            }
        }
        if self.grpc_listen == self.metrics_listen && self.grpc_listen.port() != 0 {
            let reason = format!("is {}, the same address as grpc_listen", self.metrics_listen);
            return Err(ConfigError::Invalid {
                path: path.into(),
                field: "metrics_listen",
                reason,
            });
        }
        if let Some(key) = &self.key_file
            && !key.is_file()
        {
            let reason = format!("{} is not a file", key.display());
            return Err(ConfigError::Invalid { path: path.into(), field: "key_file", reason });
        }
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn parse_default_addr(text: &str) -> SocketAddr {
    match text.parse() {
        Ok(addr) => addr,
        // The defaults are constants of this module, checked by its tests.
        Err(e) => panic!("default address {text:?} is invalid: {e}"),
    }
}

impl Limits {
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let range = |field: &'static str, actual: u64, min: u64, max: u64| {
            if actual < min || actual > max {
                return Err(ConfigError::Range { path: path.into(), field, actual, min, max });
            }
            Ok(())
        };
        let n = |v: usize| v as u64;
        range("limits.mempool_txs_max", n(self.mempool_txs_max), 1, n(MEMPOOL_TXS_MAX_CEILING))?;
        range(
            "limits.mempool_bytes_max",
            n(self.mempool_bytes_max),
            n(TX_BYTES_MAX),
            n(MEMPOOL_BYTES_MAX_CEILING),
        )?;
        range(
            "limits.mempool_account_txs_max",
            n(self.mempool_account_txs_max),
            1,
            n(self.mempool_txs_max),
        )?;
        range(
            "limits.mempool_nonce_ahead_max",
            self.mempool_nonce_ahead_max,
            0,
            MEMPOOL_NONCE_AHEAD_MAX_CEILING,
        )?;
        range(
            "limits.grpc_message_bytes_max",
            n(self.grpc_message_bytes_max),
            n(GRPC_MESSAGE_BYTES_MAX_FLOOR),
            n(GRPC_MESSAGE_BYTES_MAX_CEILING),
        )?;
        range(
            "limits.grpc_concurrency_max",
            n(self.grpc_concurrency_max),
            1,
            n(GRPC_CONCURRENCY_MAX_CEILING),
        )?;
        range(
            "limits.grpc_request_timeout_ms",
            self.grpc_request_timeout_ms,
            GRPC_REQUEST_TIMEOUT_MS_FLOOR,
            GRPC_REQUEST_TIMEOUT_MS_CEILING,
        )?;
        range("limits.block_txs_max", n(self.block_txs_max), 1, n(PAYLOAD_TXS_MAX))?;
        range(
            "limits.block_bytes_max",
            n(self.block_bytes_max),
            n(TX_BYTES_MAX),
            n(PAYLOAD_BYTES_MAX),
        )
    }
}

/// What the command line sets over the file (`None`: keep the file's value or the default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--dev` (only turns dev mode on; the file may also set `dev = true`).
    pub dev: bool,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--genesis`.
    pub genesis_file: Option<PathBuf>,
    /// `--key-file`.
    pub key_file: Option<PathBuf>,
    /// `--grpc-listen`.
    pub grpc_listen: Option<SocketAddr>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
}

/// The file as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data_dir: Option<PathBuf>,
    genesis_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    grpc_listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    dev: Option<bool>,
    #[serde(default)]
    limits: LimitsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    mempool_txs_max: Option<usize>,
    mempool_bytes_max: Option<usize>,
    mempool_account_txs_max: Option<usize>,
    mempool_nonce_ahead_max: Option<u64>,
    grpc_message_bytes_max: Option<usize>,
    grpc_concurrency_max: Option<usize>,
    grpc_request_timeout_ms: Option<u64>,
    block_txs_max: Option<usize>,
    block_bytes_max: Option<usize>,
}

fn parse_file(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        line: line_of(text, e.span().map(|s| s.start)),
        message: one_line(e.message()),
    })
}

/// The 1-based line of a byte offset, if known.
fn line_of(text: &str, offset: Option<usize>) -> Option<usize> {
    let offset = offset?;
    Some(text.as_bytes().iter().take(offset).filter(|b| **b == b'\n').count() + 1)
}

/// Parser messages can span lines; an error here is one sentence.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn read_bounded(path: &Path, bytes_max: u64) -> Result<String, ConfigError> {
    use std::io::Read as _;
    let io = |source| ConfigError::Read { path: path.into(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(bytes_max + 1).read_to_string(&mut text).map_err(io)?;
    if text.len() as u64 > bytes_max {
        return Err(ConfigError::TooLarge { path: path.into(), bytes_max });
    }
    Ok(text)
}

/// Reads a genesis document (JSON) and validates it, once.
pub fn load_genesis(path: &Path) -> Result<GenesisDoc, ConfigError> {
    let text = read_bounded(path, GENESIS_FILE_BYTES_MAX)?;
    let doc: GenesisDoc = serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        line: Some(e.line()),
        message: one_line(&e.to_string()),
    })?;
    doc.validate().map_err(|e| ConfigError::Genesis { path: path.into(), source: Box::new(e) })?;
    Ok(doc)
}

/// Writes a genesis document as pretty JSON (what [`load_genesis`] reads).
pub fn write_genesis(path: &Path, doc: &GenesisDoc) -> Result<(), ConfigError> {
    let mut json = serde_json::to_string_pretty(doc)
        .map_err(|e| ConfigError::Write { path: path.into(), source: std::io::Error::other(e) })?;
    json.push('\n');
    std::fs::write(path, json).map_err(|source| ConfigError::Write { path: path.into(), source })
}

/// Why a configuration or genesis file was refused. Each message is one sentence naming the
/// file and, where there is one, the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required file is absent.
    #[error("{}: not found; {hint}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// What to do.
        hint: &'static str,
    },
    /// A file could not be read.
    #[error("{}: cannot read it: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is larger than its bound.
    #[error("{}: larger than {bytes_max} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The bound.
        bytes_max: u64,
    },
    /// A file is not valid TOML / JSON, or holds an unknown key or a wrongly typed value.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where, if known.
        line: Option<usize>,
        /// The parser's message, on one line.
        message: String,
    },
    /// A number outside its range.
    #[error("{}: {field} must be between {min} and {max}, got {actual}", path.display())]
    Range {
        /// The file.
        path: PathBuf,
        /// The field (`limits.mempool_txs_max`).
        field: &'static str,
        /// The value.
        actual: u64,
        /// Lowest allowed.
        min: u64,
        /// Highest allowed.
        max: u64,
    },
    /// A value refused for another reason.
    #[error("{}: {field} {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The genesis document failed validation (the inner error names the document field).
    #[error("{}: {source}", path.display())]
    Genesis {
        /// The file.
        path: PathBuf,
        /// The document's problem (boxed: it is large and rare).
        source: Box<GenesisError>,
    },
    /// A file would be overwritten.
    #[error("{}: already exists; refusing to overwrite it{hint}", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
        /// What to do instead, if anything (`" (pass --force to replace it)"`).
        hint: &'static str,
    },
    /// A file could not be written.
    #[error("{}: cannot write it: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The commented `config.toml` that `volt node init` writes: every key, set to its default
/// (from the constants above, so it stays in step), with a line saying what it does.
pub fn config_template(dev: bool) -> String {
    let l = Limits::default();
    let mode = if dev {
        "# Dev mode: a one-validator chain on the dev genesis (chain volt-hk-dev). Its keys are\n\
         # DEMO keys anyone can derive: never give a dev chain anything of value.\ndev = true\n"
    } else {
        "# Dev mode (a one-validator chain with DEMO keys). `volt node run --dev` also turns it on.\n\
         dev = false\n"
    };
    let key = if dev {
        "# The validator's key file. Unset in dev mode: the genesis demo key is used.\n\
         # key_file = \"validator.key\"\n"
            .to_owned()
    } else {
        "# The validator's key file (relative paths are relative to the home). Required to\n\
         # validate; unset, the node cannot sign.\n# key_file = \"validator.key\"\n"
            .to_owned()
    };
    format!(
        "# Volt node configuration, written by `volt node init`.\n\
         # Command-line flags override these values; removed keys take their defaults.\n\
         # Unknown keys are refused. See docs/operations.md, \"Configuration\".\n\n\
         {mode}\n\
         # Storage: the ledger, blocks and the vote journal. Relative to this file's directory.\n\
         data_dir = \"{DATA_DIR_DEFAULT}\"\n\n\
         # The genesis document (JSON). Its id must match the one the data dir was created with.\n\
         genesis_file = \"{GENESIS_FILE_DEFAULT}\"\n\n\
         {key}\n\
         # The gRPC API (service volt.ledger.v1.Ledger, health, reflection).\n\
         grpc_listen = \"{GRPC_LISTEN_DEFAULT}\"\n\n\
         # Prometheus metrics at /metrics (OpenMetrics text) and a liveness probe at /healthz.\n\
         metrics_listen = \"{METRICS_LISTEN_DEFAULT}\"\n\n\
         # Log lines on stderr: \"text\" or \"json\". The level comes from RUST_LOG (default info).\n\
         log_format = \"text\"\n\n\
         [limits]\n\
         # Transactions the mempool holds; when full, submissions are refused (ResourceExhausted).\n\
         mempool_txs_max = {}\n\
         # Encoded bytes the mempool holds.\n\
         mempool_bytes_max = {}\n\
         # Pending transactions per signer, so one account cannot fill the mempool.\n\
         mempool_account_txs_max = {}\n\
         # How far past a signer's next nonce a transaction may be.\n\
         mempool_nonce_ahead_max = {}\n\
         # The largest gRPC message received or sent, in bytes.\n\
         grpc_message_bytes_max = {}\n\
         # gRPC requests served at once.\n\
         grpc_concurrency_max = {}\n\
         # A unary gRPC request's deadline, in milliseconds.\n\
         grpc_request_timeout_ms = {}\n\
         # Transactions in a proposed block (at most {PAYLOAD_TXS_MAX}).\n\
         block_txs_max = {}\n\
         # Transaction bytes in a proposed block (at most {PAYLOAD_BYTES_MAX}).\n\
         block_bytes_max = {}\n",
        l.mempool_txs_max,
        l.mempool_bytes_max,
        l.mempool_account_txs_max,
        l.mempool_nonce_ahead_max,
        l.grpc_message_bytes_max,
        l.grpc_concurrency_max,
        l.grpc_request_timeout_ms,
        l.block_txs_max,
        l.block_bytes_max,
    )
}

/// `volt node init`: writes `<home>/config.toml` (refusing to overwrite one) and, unless it
/// exists, `<home>/genesis.json` from `genesis`. Returns the paths written.
pub fn init_home(
    home: &Path,
    dev: bool,
    genesis: impl FnOnce() -> GenesisDoc,
) -> Result<Vec<PathBuf>, ConfigError> {
    let config = NodeConfig::file_in(home);
    if config.exists() {
        return Err(ConfigError::Exists { path: config, hint: "" });
    }
    std::fs::create_dir_all(home)
        .map_err(|source| ConfigError::Write { path: home.into(), source })?;
    let mut written = Vec::new();
    let genesis_path = home.join(GENESIS_FILE_DEFAULT);
    if !genesis_path.exists() {
        write_genesis(&genesis_path, &genesis())?;
        written.push(genesis_path);
    }
    // create_new: a config that appeared meanwhile is still never overwritten.
    let write = |source| ConfigError::Write { path: config.clone(), source };
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).open(&config).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ConfigError::Exists { path: config.clone(), hint: "" }
            } else {
                write(e)
            }
        })?;
    std::io::Write::write_all(&mut file, config_template(dev).as_bytes()).map_err(write)?;
    written.push(config);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("volt-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn load_text(name: &str, text: &str) -> Result<NodeConfig, ConfigError> {
        let dir = home(name);
        std::fs::write(dir.join(CONFIG_FILE), text).unwrap();
        NodeConfig::load(&dir, true, &Overrides::default())
    }

    #[test]
    fn template_loads_to_the_defaults() {
        // Proves the template `volt node init` writes sets exactly the coded defaults.
        for dev in [false, true] {
            let dir = home(&format!("template-{dev}"));
            std::fs::write(dir.join(CONFIG_FILE), config_template(dev)).unwrap();
            let loaded = NodeConfig::load(&dir, true, &Overrides::default()).unwrap();
            let mut expected = NodeConfig::defaults(&dir);
            expected.dev = dev;
            assert_eq!(loaded, expected);
        }
    }

    #[test]
    fn an_empty_file_is_the_defaults_and_flags_override_the_file() {
        // Proves the precedence: flags over the file over the defaults.
        let dir = home("precedence");
        std::fs::write(dir.join(CONFIG_FILE), "grpc_listen = \"127.0.0.1:7000\"\n").unwrap();
        let loaded = NodeConfig::load(&dir, true, &Overrides::default()).unwrap();
        assert_eq!(loaded.grpc_listen.port(), 7000);
        assert_eq!(loaded.metrics_listen, parse_default_addr(METRICS_LISTEN_DEFAULT));
        let flags = Overrides {
            grpc_listen: Some("127.0.0.1:7001".parse().unwrap()),
            log_format: Some(LogFormat::Json),
            data_dir: Some("/elsewhere".into()),
            ..Overrides::default()
        };
        let loaded = NodeConfig::load(&dir, true, &flags).unwrap();
        assert_eq!(loaded.grpc_listen.port(), 7001);
        assert_eq!(loaded.log_format, LogFormat::Json);
        assert_eq!(loaded.data_dir, PathBuf::from("/elsewhere"));
        assert_eq!(loaded.genesis_file, dir.join(GENESIS_FILE_DEFAULT));
    }

    #[test]
    fn a_limit_out_of_range_names_its_field() {
        // Proves range errors name the file, the field, the range and the value.
        let err = load_text("range", "[limits]\nmempool_txs_max = 0\n").unwrap_err().to_string();
        assert!(
            err.ends_with(
                "config.toml: limits.mempool_txs_max must be between 1 and 1000000, got 0"
            ),
            "{err}"
        );
        let err =
            load_text("cross", "[limits]\nmempool_txs_max = 10\nmempool_account_txs_max = 11\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("limits.mempool_account_txs_max must be between 1 and 10, got 11"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_one_line_naming_the_key() {
        // Proves deny_unknown_fields and type errors give a one-line message with the line.
        let err = load_text("unknown", "dev = false\nmempool_max = 3\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("mempool_max"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = load_text("addr", "grpc_listen = \"nowhere\"\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn port_zero_only_in_dev_mode_and_listen_addresses_differ() {
        // Proves port 0 needs dev mode and the two listeners cannot share an address.
        let err = load_text("port0", "grpc_listen = \"127.0.0.1:0\"\n").unwrap_err().to_string();
        assert!(err.contains("grpc_listen has port 0"), "{err}");
        load_text("port0-dev", "dev = true\ngrpc_listen = \"127.0.0.1:0\"\n").unwrap();
        let err = load_text("same", "metrics_listen = \"127.0.0.1:50051\"\n").unwrap_err();
        assert!(err.to_string().contains("metrics_listen is 127.0.0.1:50051, the same"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error_only_when_required() {
        // Proves `node run` without --dev needs `node init` first, and dev mode does not.
        let dir = home("missing");
        let err = NodeConfig::load(&dir, true, &Overrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }));
        let dev = Overrides { dev: true, ..Overrides::default() };
        assert!(NodeConfig::load(&dir, false, &dev).unwrap().dev);
    }

    #[test]
    fn genesis_round_trips_through_json_and_errors_name_the_field() {
        // Proves write_genesis / load_genesis keep the id and a bad document names its field.
        let dir = home("genesis");
        let path = dir.join(GENESIS_FILE_DEFAULT);
        let doc = volt_genesis::dev_pilot(volt_genesis::PILOT_GENESIS_TIME);
        write_genesis(&path, &doc).unwrap();
        assert_eq!(load_genesis(&path).unwrap().id(), doc.id());
        let mut bad = doc.clone();
        bad.stations[2].slots = 0;
        write_genesis(&path, &bad).unwrap();
        let err = load_genesis(&path).unwrap_err().to_string();
        assert!(err.contains("stations[2].slots"), "{err}");
        std::fs::write(&path, "{\"chain_id\": 3}").unwrap();
        let err = load_genesis(&path).unwrap_err().to_string();
        assert!(err.contains("line 1") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn init_refuses_to_overwrite_a_config() {
        // Proves `volt node init` never overwrites config.toml and keeps an existing genesis.
        let dir = home("init");
        let doc = volt_genesis::dev_pilot(volt_genesis::PILOT_GENESIS_TIME);
        let written = init_home(&dir, true, || doc.clone()).unwrap();
        assert_eq!(written.len(), 2);
        let err = init_home(&dir, true, || doc.clone()).unwrap_err();
        assert!(matches!(err, ConfigError::Exists { .. }));
        std::fs::remove_file(dir.join(CONFIG_FILE)).unwrap();
        let written = init_home(&dir, false, || panic!("genesis exists")).unwrap();
        assert_eq!(written, vec![dir.join(CONFIG_FILE)]);
    }
}
