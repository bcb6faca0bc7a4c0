//! `volt pilot`: n validators in one process, each with its own consensus core, file vote
//! journal and ledger, on an in-process network with a virtual clock.
//!
//! Events (message deliveries, timers, the application's answers, the load driver's moments)
//! sit in one queue ordered by (virtual time, sequence), so a seed always gives the same run.
//! Wall-clock cost is the real work: signatures, state-tree hashing and journal `fsync`s.

mod engine;
mod validator;

use crate::load::{LoadDriver, LoadStats};
use crate::mempool::{Mempool, MempoolLimits, StateLedger};
use crate::setup::{self, SetupError};
use engine::{Counts, Known, Pilot};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use validator::Validator;
use volt_consensus::{
    Block, Config, CoreError, Epoch, JournalError, Rejection, Timeouts, ValidatorIndex,
    ValidatorSet,
};
use volt_genesis::{GenesisDoc, demo_keypair};
use volt_proto::{AccountId, Amount, Hash, Height, SignedTx, Symbol, TxOutcome};
use volt_token::BlockError;

/// One-way message latency between two validators, virtual ms.
pub const LATENCY_MS: u64 = 5;
/// A proposal's time may run ahead of a verifier's clock by at most this much.
pub const BLOCK_TIME_AHEAD_MS_MAX: u64 = 5_000;
/// After the load stops, the run ends once everything settled, or fails after this many block
/// intervals.
pub const DRAIN_INTERVALS_MAX: u64 = 30;
/// Set-up must be final within this many block intervals.
pub const SETUP_INTERVALS_MAX: u64 = 100;
/// How long the restart drill keeps its validator down, virtual ms.
pub const RESTART_DOWN_MS: u64 = 10 * 60_000;

/// Options of one pilot run.
#[derive(Clone, Debug)]
pub struct PilotConfig {
    /// Validators (4 or 7 in the embedded pilot).
    pub validators: usize,
    /// Simulated hours of load after set-up.
    pub hours: u64,
    /// Seed of the load driver.
    pub seed: u64,
    /// Where the vote journals live (one directory per validator). Must be empty or absent.
    pub data_dir: PathBuf,
    /// Swaps attempted per simulated hour.
    pub swaps_per_hour: u64,
    /// A progress line every this many blocks (0: none).
    pub progress_every_blocks: u64,
    /// The restart drill: crash the last validator a third of the way through the load and
    /// restart it [`RESTART_DOWN_MS`] later from its vote journal and its finalized blocks.
    pub restart: bool,
}

/// Why a pilot run failed.
#[derive(Debug, thiserror::Error)]
pub enum PilotError {
    /// The options are out of range.
    #[error("{field}: {reason}")]
    Config {
        /// The option.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The document or its set-up failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A data directory problem.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A vote journal failed: fatal, as in a real node.
    #[error("validator {validator}: vote journal: {source}")]
    Journal {
        /// The validator.
        validator: String,
        /// The error.
        source: JournalError,
    },
    /// A core could not start.
    #[error("validator {validator}: consensus core: {source}")]
    Core {
        /// The validator.
        validator: String,
        /// The error.
        source: CoreError,
    },
    /// The ledger refused a finalized block: the replicas can no longer agree.
    #[error("validator {validator}: block {height} refused: {source}")]
    Block {
        /// The validator.
        validator: String,
        /// The height.
        height: u64,
        /// The error.
        source: BlockError,
    },
    /// A genesis state could not be built.
    #[error("ledger genesis: {0}")]
    Genesis(#[from] volt_token::GenesisError),
    /// The mempool refused a transaction the pilot built (set-up or load): the builder and the
    /// mempool disagree about what the ledger accepts, a bug either way.
    #[error("the mempool refused a {what} transaction: {refusal}")]
    Refused {
        /// Set-up or load.
        what: &'static str,
        /// Why.
        refusal: crate::mempool::Refusal,
    },
    /// A set-up transaction did not apply.
    #[error("set-up transaction {index} ({call}) did not apply: {outcome:?}")]
    SetupFailed {
        /// Its position in the set-up list.
        index: usize,
        /// The call's kind.
        call: String,
        /// What happened.
        outcome: TxOutcome,
    },
    /// A restarted validator re-executed its blocks to a different state root.
    #[error(
        "validator {validator}: replay after restart reached root {after}, before the crash {before}"
    )]
    Replay {
        /// The validator.
        validator: String,
        /// The root before the crash.
        before: Hash,
        /// The root after re-executing.
        after: Hash,
    },
    /// An invariant failed on validator 0 during the run.
    #[error("invariant violated at height {height}: {violation}")]
    Invariant {
        /// The height.
        height: u64,
        /// What failed.
        violation: String,
    },
    /// The network did not finish in time.
    #[error("stalled: {0}")]
    Stalled(String),
}

/// A progress report, every `progress_every_blocks` blocks of validator 0.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Finalized height.
    pub height: u64,
    /// Highest view entered by validator 0.
    pub view: u64,
    /// Block time, ms after genesis.
    pub sim_ms: u64,
    /// Transactions in the blocks since the last report.
    pub txs: u64,
    /// Load counts so far.
    pub load: LoadStats,
    /// The state root after this block.
    pub root: Hash,
}

/// One validator at the end.
#[derive(Clone, Debug)]
pub struct ValidatorReport {
    /// Its name.
    pub name: String,
    /// Its finalized height.
    pub height: u64,
    /// Highest view entered.
    pub view: u64,
    /// Its state root.
    pub root: Hash,
    /// blake3 over its finalized block digests in order.
    pub chain: Hash,
    /// `invariants::check` over its state.
    pub invariants: Result<(), String>,
    /// Journal syncs it performed.
    pub journal_syncs: u64,
    /// Times it restarted from its journal.
    pub restarts: u32,
    /// Inputs its core dropped, by reason (late votes and duplicate certificates are normal:
    /// every validator broadcasts to all, and a quorum forms before the last vote arrives).
    pub dropped: BTreeMap<Rejection, u64>,
}

/// A pool's revenue at the end, HKD cents.
#[derive(Clone, Debug)]
pub struct PoolReport {
    /// The class.
    pub class: Symbol,
    /// Revenue deposited (swap fees net of station cuts, rent).
    pub deposited: Amount,
    /// Revenue claimed by holders.
    pub claimed: Amount,
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The genesis document id.
    pub genesis_id: Hash,
    /// Blocks finalized (validator 0).
    pub blocks: u64,
    /// Blocks that carried at least one transaction.
    pub blocks_with_txs: u64,
    /// Set-up transactions.
    pub setup_txs: u64,
    /// Transactions applied / failed / disputed / rejected (validator 0's receipts).
    pub txs_applied: u64,
    /// Failed.
    pub txs_failed: u64,
    /// Disputed.
    pub txs_disputed: u64,
    /// Rejected.
    pub txs_rejected: u64,
    /// Load driver counts.
    pub load: LoadStats,
    /// Per-pool revenue.
    pub pools: Vec<PoolReport>,
    /// The load driver's custody model and station counters against validator 0's ledger.
    pub custody: Result<(), String>,
    /// Every validator.
    pub validators: Vec<ValidatorReport>,
    /// Simulated time at the end, ms after genesis.
    pub sim_ms: u64,
    /// Events processed.
    pub events: u64,
}

impl Summary {
    /// True when every validator has the same height, chain and state root, and every
    /// invariant check passed.
    pub fn agreed(&self) -> bool {
        let first = self.validators.first();
        self.validators.iter().all(|v| {
            v.invariants.is_ok()
                && self.custody.is_ok()
                && first
                    .is_some_and(|f| f.root == v.root && f.chain == v.chain && f.height == v.height)
        })
    }
}

impl PilotConfig {
    /// Checks the options once.
    pub fn validate(&self) -> Result<(), PilotError> {
        let bad = |field, reason: &str| Err(PilotError::Config { field, reason: reason.into() });
        if !(volt_genesis::VALIDATORS_MIN..=volt_genesis::VALIDATORS_MAX).contains(&self.validators)
        {
            return bad("--validators", "must be 4 to 64 (the pilot names 7 operators)");
        }
        if self.hours == 0 || self.hours > 24 * 365 {
            return bad("--hours", "must be 1 to 8760");
        }
        if self.swaps_per_hour > 100_000 {
            return bad("--swaps-per-hour", "must be at most 100000");
        }
        Ok(())
    }
}

/// Runs the pilot on `doc` (already validated or not: it is validated here).
pub fn run(
    doc: &GenesisDoc,
    cfg: &PilotConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, PilotError> {
    cfg.validate()?;
    let setup = setup::build(doc)?;
    prepare_data_dir(&cfg.data_dir)?;
    let genesis_block = Block::genesis(Epoch(0), doc.id().as_bytes().to_vec());
    let validators = ValidatorSet::new(&doc.validator_accounts())
        .map_err(|e| PilotError::Config { field: "validators", reason: e.to_string() })?;
    let c = doc.consensus;
    let timeouts = Timeouts {
        leader_ms: c.leader_timeout_ms,
        advance_ms: c.advance_timeout_ms,
        retry_ms: c.retry_ms,
        fetch_retry_ms: c.fetch_retry_ms,
    };
    let mut nodes = Vec::new();
    for (i, v) in doc.validators.iter().enumerate() {
        let config = Config {
            chain_id: doc.chain_id.clone(),
            epoch: Epoch(0),
            validators: validators.clone(),
            me: i as ValidatorIndex,
            key: demo_keypair(&v.key_label),
            timeouts,
            canary: Default::default(),
        };
        let dir = cfg.data_dir.join(&v.name);
        std::fs::create_dir_all(&dir)
            .map_err(|source| PilotError::DataDir { path: dir.clone(), source })?;
        let journal = dir.join("votes.journal");
        let keep_blocks = cfg.restart && i + 1 == doc.validators.len();
        let name = v.name.clone();
        nodes.push(Validator::start(
            config,
            name,
            journal,
            &setup.genesis,
            &genesis_block,
            keep_blocks,
        )?);
    }
    let driver = LoadDriver::new(doc, &setup.leases, cfg.swaps_per_hour, cfg.seed);
    let mut mempool = Mempool::new(pilot_limits(&setup.txs));
    let mut setup_ids = BTreeMap::new();
    let ledger = StateLedger { state: &nodes[0].state, height: Height(0) };
    for (index, tx) in setup.txs.iter().enumerate() {
        setup_ids.insert(tx.id(), index);
        let refused = |refusal| PilotError::Refused { what: "set-up", refusal };
        mempool.admit(&tx.encode(), &ledger).map_err(refused)?;
    }
    let mut known = BTreeMap::new();
    let genesis_digest = genesis_block.digest();
    known.insert(
        genesis_digest,
        Known { parent: Hash::ZERO, height: 0, time_ms: 0, ids: Vec::new() },
    );
    let pilot = Pilot {
        cfg: cfg.clone(),
        interval_ms: c.block_interval_ms,
        doc: doc.clone(),
        queue: BTreeMap::new(),
        seq: 0,
        now: 0,
        events: 0,
        nodes,
        known,
        mempool,
        wallets: setup.wallets,
        driver,
        setup_txs: setup_ids.len() as u64,
        setup_ids,
        load_start: None,
        counts: Counts::default(),
        progress,
    };
    pilot.run()
}

/// The default mempool limits, widened so the whole set-up batch (one signer may sign hundreds of
/// its transactions, all submitted at genesis) is admitted at once.
fn pilot_limits(setup: &[SignedTx]) -> MempoolLimits {
    let mut per_signer: BTreeMap<AccountId, usize> = BTreeMap::new();
    for tx in setup {
        *per_signer.entry(tx.body.signer).or_default() += 1;
    }
    let most = per_signer.values().copied().max().unwrap_or(0);
    let defaults = MempoolLimits::default();
    MempoolLimits {
        account_txs_max: defaults.account_txs_max.max(most),
        nonce_ahead_max: defaults.nonce_ahead_max.max(most as u64),
        ..defaults
    }
}

fn prepare_data_dir(dir: &Path) -> Result<(), PilotError> {
    let io = |source| PilotError::DataDir { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut entries = std::fs::read_dir(dir).map_err(io)?;
    if entries.next().is_some() {
        return Err(PilotError::Config {
            field: "--data-dir",
            reason: format!(
                "{} is not empty: the pilot starts a fresh chain and its vote journals must not \
                 hold votes of an earlier run",
                dir.display()
            ),
        });
    }
    Ok(())
}
