//! One validator of the pilot: a consensus core with its vote journal file (while up), a ledger,
//! and, for a validator that will be restarted, its finalized blocks (the stand-in for the
//! block store a networked node keeps in sled).

use super::PilotError;
use crate::payload::Payload;
use std::collections::BTreeMap;
use std::path::PathBuf;
use volt_consensus::{Block, Config, Core, FileStorage, Journal, JournalError, Rejection};
use volt_proto::{Hash, Timestamp};
use volt_token::{BlockContext, BlockResult, Genesis, MemStore, State};

/// The parts that exist only while the validator runs.
pub(super) struct Live {
    /// The consensus core.
    pub core: Core,
    /// Its vote journal.
    pub journal: Journal<FileStorage>,
}

/// A validator.
pub(super) struct Validator {
    pub name: String,
    config: Config,
    journal_path: PathBuf,
    genesis: Genesis,
    genesis_block: Block,
    /// `None` while crashed.
    pub live: Option<Live>,
    /// Bumped at each crash, so timers of an earlier run are ignored.
    pub incarnation: u32,
    /// The ledger.
    pub state: State<MemStore>,
    /// Finalized blocks after genesis, kept only for a validator that will restart.
    store: Option<Vec<Block>>,
    /// The last applied block's time.
    pub last_time: Timestamp,
    /// The last applied height.
    pub height: u64,
    /// blake3 chain over the finalized block digests.
    pub chain: Hash,
    /// Journal syncs performed.
    pub syncs: u64,
    /// Restarts from the journal.
    pub restarts: u32,
    /// Inputs dropped by earlier runs of the core.
    dropped_before: BTreeMap<Rejection, u64>,
}

impl Validator {
    /// A fresh validator: the ledger at genesis, the core started from its journal file.
    pub fn start(
        config: Config,
        name: String,
        journal_path: PathBuf,
        genesis: &Genesis,
        genesis_block: &Block,
        keep_blocks: bool,
    ) -> Result<Validator, PilotError> {
        let state = State::genesis(MemStore::new(), genesis)?;
        let mut v = Validator {
            name,
            config,
            journal_path,
            genesis: genesis.clone(),
            genesis_block: genesis_block.clone(),
            live: None,
            incarnation: 0,
            state,
            store: keep_blocks.then(Vec::new),
            last_time: genesis.time,
            height: 0,
            chain: Hash::ZERO,
            syncs: 0,
            restarts: 0,
            dropped_before: BTreeMap::new(),
        };
        v.boot()?;
        Ok(v)
    }

    /// Opens the journal file, replays it, and builds the core on the last finalized block.
    fn boot(&mut self) -> Result<(), PilotError> {
        let journal_error = |source| PilotError::Journal { validator: self.name.clone(), source };
        let storage = FileStorage::open(&self.journal_path)
            .map_err(|e| journal_error(JournalError::Io(e)))?;
        let (journal, replay) = Journal::open(storage).map_err(journal_error)?;
        let anchor = self
            .store
            .as_ref()
            .and_then(|blocks| blocks.last())
            .unwrap_or(&self.genesis_block)
            .clone();
        let core = Core::new(self.config.clone(), anchor, &replay.records)
            .map_err(|source| PilotError::Core { validator: self.name.clone(), source })?;
        self.live = Some(Live { core, journal });
        Ok(())
    }

    /// True if this validator keeps its blocks and so can be restarted.
    pub fn restartable(&self) -> bool {
        self.store.is_some()
    }

    /// Stops the validator: the core, its unsent messages and the in-memory ledger are lost;
    /// the journal file and the finalized blocks stay.
    pub fn crash(&mut self) {
        if let Some(live) = self.live.take() {
            for (reason, count) in &live.core.counters().rejected {
                *self.dropped_before.entry(*reason).or_insert(0) += count;
            }
        }
        self.incarnation += 1;
    }

    /// Restarts after a crash: rebuilds the ledger by re-executing the stored blocks from
    /// genesis, checks it reaches `root_before`, and boots the core from the journal.
    pub fn restart(&mut self, root_before: Hash) -> Result<(), PilotError> {
        let blocks = self.store.take().unwrap_or_default();
        self.state = State::genesis(MemStore::new(), &self.genesis)?;
        self.last_time = self.genesis.time;
        self.height = 0;
        self.chain = Hash::ZERO;
        for block in &blocks {
            self.apply(block)?;
        }
        self.store = Some(blocks);
        let root = self.state.root();
        if root != root_before {
            return Err(PilotError::Replay {
                validator: self.name.clone(),
                before: root_before,
                after: root,
            });
        }
        self.restarts += 1;
        self.boot()
    }

    /// Applies a finalized block to the ledger: its transactions at its height and time (never
    /// before the last block's). A payload that does not decode was still accepted by a
    /// quorum; it applies as empty, the same way on every replica.
    pub fn apply(&mut self, block: &Block) -> Result<(Payload, BlockResult), PilotError> {
        let payload = Payload::decode(&block.payload)
            .unwrap_or(Payload { time: self.last_time, txs: Vec::new() });
        let time = payload.time.max(self.last_time);
        let ctx = BlockContext { height: block.height, time };
        let result = self.state.apply_block(ctx, &payload.txs).map_err(|source| {
            PilotError::Block { validator: self.name.clone(), height: block.height.0, source }
        })?;
        self.last_time = time;
        self.height = block.height.0;
        let digest = block.digest();
        self.chain = Hash::of(&[self.chain.as_bytes().as_slice(), digest.as_bytes()].concat());
        if let Some(store) = self.store.as_mut() {
            store.push(block.clone());
        }
        Ok((payload, result))
    }

    /// Inputs dropped by every run of the core, by reason.
    pub fn dropped(&self) -> BTreeMap<Rejection, u64> {
        let mut all = self.dropped_before.clone();
        if let Some(live) = &self.live {
            for (reason, count) in &live.core.counters().rejected {
                *all.entry(*reason).or_insert(0) += count;
            }
        }
        all
    }
}
