//! `volt pilot`: n validators in one process, each with its own consensus core, file vote
//! journal and ledger, on an in-process network with a virtual clock.
//!
//! Events (message deliveries, timers, the application's answers, the load driver's moments)
//! sit in one queue ordered by (virtual time, sequence), so a seed always gives the same run.
//! Wall-clock cost is the real work: signatures, state-tree hashing and journal `fsync`s.

use crate::load::{HOUR_MS, LoadDriver, LoadEvent, LoadStats};
use crate::mempool::Mempool;
use crate::payload::{PAYLOAD_BYTES_MAX, PAYLOAD_TXS_MAX, Payload};
use crate::setup::{self, SetupError, Wallets};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use volt_consensus::{
    Block, Config, Core, CoreError, Epoch, FileStorage, Input, Journal, JournalError, Message,
    Output, Rejection, Timeouts, Timer, ValidatorIndex, ValidatorSet, View,
};
use volt_genesis::{GenesisDoc, demo_keypair};
use volt_proto::{Amount, Hash, SignedTx, Symbol, Timestamp, TxOutcome};
use volt_token::{BlockContext, BlockError, MemStore, State, invariants};

/// One-way message latency between two validators, virtual ms.
pub const LATENCY_MS: u64 = 5;
/// A proposal's time may run ahead of a verifier's clock by at most this much.
pub const BLOCK_TIME_AHEAD_MS_MAX: u64 = 5_000;
/// After the load stops, the run ends once everything settled, or fails after this many block
/// intervals.
pub const DRAIN_INTERVALS_MAX: u64 = 30;
/// Set-up must be final within this many block intervals.
pub const SETUP_INTERVALS_MAX: u64 = 100;
/// Known (proposed, not yet pruned) blocks kept for parent walks.
const KNOWN_BLOCKS_MAX: usize = 512;

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

enum Event {
    Deliver { to: usize, from: ValidatorIndex, bytes: Vec<u8> },
    Timer { node: usize, timer: Timer },
    Propose { node: usize, view: View, parent: Hash },
    Verified { node: usize, view: View, digest: Hash, valid: bool },
    LoadHour(u64),
    Load(LoadEvent),
}

struct Known {
    parent: Hash,
    height: u64,
    time_ms: u64,
    ids: Vec<Hash>,
}

struct Validator {
    name: String,
    core: Core,
    journal: Journal<FileStorage>,
    state: State<MemStore>,
    last_time: Timestamp,
    chain: Hash,
    syncs: u64,
}

struct Counts {
    blocks: u64,
    blocks_with_txs: u64,
    applied: u64,
    failed: u64,
    disputed: u64,
    rejected: u64,
    txs_since_progress: u64,
}

/// The running pilot.
struct Pilot<'a> {
    cfg: PilotConfig,
    doc: GenesisDoc,
    interval_ms: u64,
    queue: BTreeMap<(u64, u64), Event>,
    seq: u64,
    now: u64,
    events: u64,
    nodes: Vec<Validator>,
    known: BTreeMap<Hash, Known>,
    mempool: Mempool,
    wallets: Wallets,
    driver: LoadDriver,
    setup_ids: BTreeMap<Hash, usize>,
    setup_txs: u64,
    load_start: Option<u64>,
    counts: Counts,
    progress: &'a mut dyn FnMut(&Progress),
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
        let journal_error = |source| PilotError::Journal { validator: v.name.clone(), source };
        let storage = FileStorage::open(&dir.join("votes.journal"))
            .map_err(|e| journal_error(JournalError::Io(e)))?;
        let (journal, replay) = Journal::open(storage).map_err(journal_error)?;
        let core = Core::new(config, genesis_block.clone(), &replay.records)
            .map_err(|source| PilotError::Core { validator: v.name.clone(), source })?;
        let state = State::genesis(MemStore::new(), &setup.genesis)?;
        nodes.push(Validator {
            name: v.name.clone(),
            core,
            journal,
            state,
            last_time: doc.genesis_time,
            chain: Hash::ZERO,
            syncs: 0,
        });
    }
    let driver = LoadDriver::new(doc, &setup.leases, cfg.swaps_per_hour, cfg.seed);
    let mut mempool = Mempool::default();
    let mut setup_ids = BTreeMap::new();
    for (index, tx) in setup.txs.iter().enumerate() {
        setup_ids.insert(tx.id(), index);
        mempool.push(tx.clone());
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
        counts: Counts {
            blocks: 0,
            blocks_with_txs: 0,
            applied: 0,
            failed: 0,
            disputed: 0,
            rejected: 0,
            txs_since_progress: 0,
        },
        progress,
    };
    pilot.run()
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

impl Pilot<'_> {
    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at.max(self.now), self.seq), event);
    }

    fn run(mut self) -> Result<Summary, PilotError> {
        for node in 0..self.nodes.len() {
            self.step(node, Input::Start)?;
        }
        let setup_deadline = SETUP_INTERVALS_MAX * self.interval_ms;
        while let Some(((at, _), event)) = self.queue.pop_first() {
            self.now = at;
            self.events += 1;
            self.dispatch(event)?;
            match self.load_start {
                None if self.now > setup_deadline => {
                    let left = self.setup_ids.len();
                    return Err(PilotError::Stalled(format!(
                        "{left} set-up transactions not final"
                    )));
                }
                None => {}
                Some(start) => {
                    let stop = start + self.cfg.hours * HOUR_MS;
                    if self.now >= stop && self.settled() {
                        break;
                    }
                    if self.now > stop + DRAIN_INTERVALS_MAX * self.interval_ms {
                        let heights: Vec<u64> =
                            self.nodes.iter().map(|n| n.core.finalized().height.0).collect();
                        return Err(PilotError::Stalled(format!(
                            "load stopped but {} transactions wait; heights {heights:?}",
                            self.mempool.len()
                        )));
                    }
                }
            }
        }
        Ok(self.summary())
    }

    /// Nothing waits and every validator finalized the same height.
    fn settled(&self) -> bool {
        let height = self.nodes[0].core.finalized().height;
        self.mempool.is_empty()
            && self.driver.pending_swaps() == 0
            && self.nodes.iter().all(|n| n.core.finalized().height == height)
    }

    fn dispatch(&mut self, event: Event) -> Result<(), PilotError> {
        match event {
            Event::Deliver { to, from, bytes } => self.step(to, Input::Message { from, bytes }),
            Event::Timer { node, timer } => self.step(node, Input::Timeout(timer)),
            Event::Propose { node, view, parent } => {
                let payload = self.build_payload(node, parent);
                self.step(node, Input::Proposed { view, payload })
            }
            Event::Verified { node, view, digest, valid } => {
                self.step(node, Input::Verified { view, digest, valid })
            }
            Event::LoadHour(hour) => {
                self.load_hour(hour);
                Ok(())
            }
            Event::Load(event) => self.load_event(event),
        }
    }

    fn step(&mut self, node: usize, input: Input) -> Result<(), PilotError> {
        let outputs = self.nodes[node].core.handle(self.now, input);
        for output in outputs {
            self.perform(node, output)?;
        }
        Ok(())
    }

    fn journal_error(&self, node: usize) -> impl FnOnce(JournalError) -> PilotError + use<> {
        let validator = self.nodes[node].name.clone();
        move |source| PilotError::Journal { validator, source }
    }

    fn perform(&mut self, node: usize, output: Output) -> Result<(), PilotError> {
        let me = node as ValidatorIndex;
        match output {
            Output::JournalAppend(record) => {
                let err = self.journal_error(node);
                self.nodes[node].journal.append(&record).map_err(err)?;
            }
            Output::JournalRewrite(records) => {
                let err = self.journal_error(node);
                self.nodes[node].journal.rewrite(&records).map_err(err)?;
            }
            Output::JournalSync => {
                let err = self.journal_error(node);
                self.nodes[node].journal.sync().map_err(err)?;
                self.nodes[node].syncs += 1;
            }
            Output::Send { to, message } => self.transmit(me, Some(to), &message),
            Output::Broadcast(message) => {
                if let Message::Propose { block, .. } = &message {
                    self.remember(block);
                }
                self.transmit(me, None, &message);
            }
            Output::Fetch(request) => self.transmit(me, None, &Message::Request(request)),
            Output::SetTimer { timer, at_ms } => self.push(at_ms, Event::Timer { node, timer }),
            Output::Propose { view, parent, .. } => {
                // Pace blocks: propose one block interval after the parent's time.
                let parent_ms = self.known.get(&parent).map_or(0, |k| k.time_ms);
                let at = (self.now + 1).max(parent_ms + self.interval_ms);
                self.push(at, Event::Propose { node, view, parent });
            }
            Output::Verify(block) => {
                let valid = self.verify(&block);
                let (view, digest) = (block.view, block.digest());
                self.push(self.now + 1, Event::Verified { node, view, digest, valid });
            }
            Output::Finalized { block, .. } => self.finalized(node, &block)?,
        }
        Ok(())
    }

    fn transmit(&mut self, from: ValidatorIndex, to: Option<ValidatorIndex>, message: &Message) {
        let bytes = message.encode();
        let at = self.now + LATENCY_MS;
        for target in 0..self.nodes.len() {
            let wanted = to.map_or(target != usize::from(from), |t| usize::from(t) == target);
            if wanted {
                self.push(at, Event::Deliver { to: target, from, bytes: bytes.clone() });
            }
        }
    }

    /// Records a proposed block's parent, time and transaction ids, for later parent walks.
    fn remember(&mut self, block: &Block) {
        if let Ok(payload) = Payload::decode(&block.payload) {
            self.remember_payload(block, &payload);
        }
    }

    fn remember_payload(&mut self, block: &Block, payload: &Payload) {
        let digest = block.digest();
        if self.known.contains_key(&digest) {
            return;
        }
        let time_ms = payload.time.0.saturating_sub(self.doc.genesis_time.0);
        let ids = payload.txs.iter().map(SignedTx::id).collect();
        let known = Known { parent: block.parent, height: block.height.0, time_ms, ids };
        self.known.insert(digest, known);
        if self.known.len() > KNOWN_BLOCKS_MAX {
            let low = self.nodes.iter().map(|n| n.core.finalized().height.0).min().unwrap_or(0);
            self.known.retain(|_, k| k.height + 8 >= low);
        }
    }

    /// The application's check of a proposal: decodes within limits, time not before its
    /// parent's and not ahead of this validator's clock.
    fn verify(&mut self, block: &Block) -> bool {
        let Ok(payload) = Payload::decode(&block.payload) else {
            return false;
        };
        self.remember_payload(block, &payload);
        let time_ms = payload.time.0.saturating_sub(self.doc.genesis_time.0);
        let after_parent = self.known.get(&block.parent).is_none_or(|p| time_ms >= p.time_ms);
        after_parent && time_ms <= self.now + BLOCK_TIME_AHEAD_MS_MAX
    }

    /// The leader's payload: the oldest pending transactions not already in the unfinalized
    /// ancestors of `parent`.
    fn build_payload(&mut self, node: usize, parent: Hash) -> Vec<u8> {
        let final_digest = self.nodes[node].core.finalized().digest;
        let mut exclude = BTreeSet::new();
        let mut at = parent;
        let mut complete = true;
        while at != final_digest {
            match self.known.get(&at) {
                Some(k) if k.height > 0 => {
                    exclude.extend(k.ids.iter().copied());
                    at = k.parent;
                }
                _ => {
                    complete = false;
                    break;
                }
            }
        }
        let parent_ms = self.known.get(&parent).map_or(0, |k| k.time_ms);
        let time = Timestamp(self.doc.genesis_time.0 + self.now.max(parent_ms));
        // An ancestor we cannot see could hold any pending transaction: propose none.
        let txs = if complete {
            self.mempool.select(&exclude, PAYLOAD_TXS_MAX, PAYLOAD_BYTES_MAX - 64)
        } else {
            Vec::new()
        };
        Payload { time, txs }.encode()
    }
}

impl Pilot<'_> {
    /// Applies a final block to validator `node`'s ledger; validator 0 also feeds the load
    /// driver and the reports.
    fn finalized(&mut self, node: usize, block: &Block) -> Result<(), PilotError> {
        // A final block was accepted by a quorum; one that does not decode applies as empty,
        // the same way on every replica.
        let payload = Payload::decode(&block.payload)
            .unwrap_or(Payload { time: self.nodes[node].last_time, txs: Vec::new() });
        let v = &mut self.nodes[node];
        let time = payload.time.max(v.last_time);
        let ctx = BlockContext { height: block.height, time };
        let result = v.state.apply_block(ctx, &payload.txs).map_err(|source| {
            PilotError::Block { validator: v.name.clone(), height: block.height.0, source }
        })?;
        v.last_time = time;
        let digest = block.digest();
        v.chain = Hash::of(&[v.chain.as_bytes().as_slice(), digest.as_bytes()].concat());
        let ids: Vec<Hash> = payload.txs.iter().map(SignedTx::id).collect();
        self.mempool.remove(&ids);
        if node != 0 {
            return Ok(());
        }
        let c = &mut self.counts;
        c.blocks += 1;
        c.blocks_with_txs += u64::from(!payload.txs.is_empty());
        c.txs_since_progress += payload.txs.len() as u64;
        for receipt in &result.receipts {
            match receipt.outcome {
                TxOutcome::Applied => c.applied += 1,
                TxOutcome::Failed(_) => c.failed += 1,
                TxOutcome::Disputed(_) => c.disputed += 1,
                TxOutcome::Rejected(_) => c.rejected += 1,
            }
        }
        let now_ms = time.0.saturating_sub(self.doc.genesis_time.0);
        self.driver.on_receipts(&payload.txs, &result.receipts, now_ms);
        self.track_setup(&payload.txs, &result.receipts)?;
        let every = self.cfg.progress_every_blocks;
        if every > 0 && block.height.0.is_multiple_of(every) {
            invariants::check(&self.nodes[0].state).map_err(|violation| PilotError::Invariant {
                height: block.height.0,
                violation: violation.to_string(),
            })?;
            let report = Progress {
                height: block.height.0,
                view: self.nodes[0].core.view().0,
                sim_ms: now_ms,
                txs: self.counts.txs_since_progress,
                load: self.driver.stats.clone(),
                root: result.state_root,
            };
            self.counts.txs_since_progress = 0;
            (self.progress)(&report);
        }
        Ok(())
    }

    /// Fails the run if a set-up transaction did not apply; starts the load once all did.
    fn track_setup(
        &mut self,
        txs: &[SignedTx],
        receipts: &[volt_proto::Receipt],
    ) -> Result<(), PilotError> {
        if self.load_start.is_some() {
            return Ok(());
        }
        for (tx, receipt) in txs.iter().zip(receipts) {
            if let Some(index) = self.setup_ids.remove(&tx.id())
                && receipt.outcome != TxOutcome::Applied
            {
                let call = format!("{:?}", tx.body.call);
                let call = call.split([' ', '{', '(']).next().unwrap_or("").to_owned();
                return Err(PilotError::SetupFailed {
                    index,
                    call,
                    outcome: receipt.outcome.clone(),
                });
            }
        }
        if self.setup_ids.is_empty() {
            self.load_start = Some(self.now);
            self.push(self.now, Event::LoadHour(0));
        }
        Ok(())
    }

    fn load_hour(&mut self, hour: u64) {
        let Some(start) = self.load_start else {
            return;
        };
        if hour >= self.cfg.hours {
            return;
        }
        let begin = start + hour * HOUR_MS;
        for (at, event) in self.driver.plan_hour(begin) {
            self.push(at, Event::Load(event));
        }
        self.push(begin + HOUR_MS, Event::LoadHour(hour + 1));
    }

    fn load_event(&mut self, event: LoadEvent) -> Result<(), PilotError> {
        if self.mempool.is_full() {
            return Ok(());
        }
        let v = &self.nodes[0];
        let height = v.core.finalized().height;
        let txs = self.driver.on_event(event, self.now, &mut self.wallets, &v.state, height)?;
        for tx in txs {
            self.mempool.push(tx);
        }
        Ok(())
    }

    fn summary(self) -> Summary {
        let validators = self
            .nodes
            .iter()
            .map(|n| ValidatorReport {
                name: n.name.clone(),
                height: n.core.finalized().height.0,
                view: n.core.view().0,
                root: n.state.root(),
                chain: n.chain,
                invariants: invariants::check(&n.state).map_err(|e| e.to_string()),
                journal_syncs: n.syncs,
                dropped: n.core.counters().rejected.clone(),
            })
            .collect();
        let state = &self.nodes[0].state;
        let pools = self
            .doc
            .pools
            .iter()
            .map(|p| {
                let revenue = state.class(&p.class).ok().flatten().and_then(|c| c.revenue);
                PoolReport {
                    class: p.class.clone(),
                    deposited: revenue.as_ref().map_or(Amount::ZERO, |r| r.deposited),
                    claimed: revenue.as_ref().map_or(Amount::ZERO, |r| r.claimed),
                }
            })
            .collect();
        let c = &self.counts;
        Summary {
            genesis_id: self.doc.id(),
            blocks: c.blocks,
            blocks_with_txs: c.blocks_with_txs,
            setup_txs: self.setup_txs,
            custody: self.driver.check_against(state),
            txs_applied: c.applied,
            txs_failed: c.failed,
            txs_disputed: c.disputed,
            txs_rejected: c.rejected,
            load: self.driver.stats.clone(),
            pools,
            validators,
            sim_ms: self.nodes[0].last_time.0.saturating_sub(self.doc.genesis_time.0),
            events: self.events,
        }
    }
}
