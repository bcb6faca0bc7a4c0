//! The event loop: routes messages, fires timers, answers the cores' propose and verify
//! requests, applies finalized blocks, drives the load, crashes and restarts a validator.

use super::validator::Validator;
use super::{
    BLOCK_TIME_AHEAD_MS_MAX, DRAIN_INTERVALS_MAX, LATENCY_MS, PilotConfig, PilotError, PoolReport,
    Progress, RESTART_DOWN_MS, SETUP_INTERVALS_MAX, Summary, ValidatorReport,
};
use crate::load::{HOUR_MS, LoadDriver, LoadEvent};
use crate::mempool::{Mempool, StateLedger};
use crate::payload::{PAYLOAD_BYTES_MAX, PAYLOAD_TXS_MAX, Payload};
use crate::setup::Wallets;
use std::collections::{BTreeMap, BTreeSet};
use volt_consensus::{Block, Input, JournalError, Message, Output, Timer, ValidatorIndex, View};
use volt_genesis::GenesisDoc;
use volt_proto::{Amount, Hash, Receipt, SignedTx, Timestamp, TxOutcome};
use volt_token::invariants;

/// Known (proposed, not yet pruned) blocks kept for parent walks.
const KNOWN_BLOCKS_MAX: usize = 512;
/// Most transactions one load event submits (a rent round: one per fleet). A load event runs
/// only while the mempool has room for this many, so the driver never has a transaction refused
/// for room after it used the nonce.
const LOAD_EVENT_TXS_MAX: usize = 64;

pub(super) enum Event {
    Deliver { to: usize, from: ValidatorIndex, bytes: Vec<u8> },
    Timer { node: usize, incarnation: u32, timer: Timer },
    Propose { node: usize, incarnation: u32, view: View, parent: Hash },
    Verified { node: usize, incarnation: u32, view: View, digest: Hash, valid: bool },
    LoadHour(u64),
    Load(LoadEvent),
    Crash(usize),
    Restart { node: usize, root_before: Hash },
}

/// A proposed block as the application saw it.
pub(super) struct Known {
    pub parent: Hash,
    pub height: u64,
    pub time_ms: u64,
    pub ids: Vec<Hash>,
}

#[derive(Default)]
pub(super) struct Counts {
    blocks: u64,
    blocks_with_txs: u64,
    applied: u64,
    failed: u64,
    disputed: u64,
    rejected: u64,
    txs_since_progress: u64,
}

/// The running pilot.
pub(super) struct Pilot<'a> {
    pub cfg: PilotConfig,
    pub doc: GenesisDoc,
    pub interval_ms: u64,
    pub queue: BTreeMap<(u64, u64), Event>,
    pub seq: u64,
    pub now: u64,
    pub events: u64,
    pub nodes: Vec<Validator>,
    pub known: BTreeMap<Hash, Known>,
    pub mempool: Mempool,
    pub wallets: Wallets,
    pub driver: LoadDriver,
    pub setup_ids: BTreeMap<Hash, usize>,
    pub setup_txs: u64,
    pub load_start: Option<u64>,
    pub counts: Counts,
    pub progress: &'a mut dyn FnMut(&Progress),
}

impl Pilot<'_> {
    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at.max(self.now), self.seq), event);
    }

    pub fn run(mut self) -> Result<Summary, PilotError> {
        for node in 0..self.nodes.len() {
            self.step(node, Input::Start)?;
        }
        let setup_deadline = SETUP_INTERVALS_MAX * self.interval_ms;
        while let Some(((at, _), event)) = self.queue.pop_first() {
            self.now = at;
            self.events += 1;
            self.dispatch(event)?;
            let Some(start) = self.load_start else {
                if self.now > setup_deadline {
                    let left = self.setup_ids.len();
                    let why = format!("{left} set-up transactions not final");
                    return Err(PilotError::Stalled(why));
                }
                continue;
            };
            let stop = start + self.cfg.hours * HOUR_MS;
            if self.now >= stop && self.settled() {
                break;
            }
            if self.now > stop + DRAIN_INTERVALS_MAX * self.interval_ms {
                let heights: Vec<u64> = self.nodes.iter().map(|n| n.height).collect();
                return Err(PilotError::Stalled(format!(
                    "load stopped but {} transactions wait; heights {heights:?}",
                    self.mempool.len()
                )));
            }
        }
        Ok(self.summary())
    }

    /// Nothing waits, every validator is up and all finalized the same height.
    fn settled(&self) -> bool {
        let height = self.nodes[0].height;
        self.mempool.is_empty()
            && self.driver.pending_swaps() == 0
            && self.nodes.iter().all(|n| n.live.is_some() && n.height == height)
    }

    fn current(&self, node: usize, incarnation: u32) -> bool {
        self.nodes[node].incarnation == incarnation
    }

    fn dispatch(&mut self, event: Event) -> Result<(), PilotError> {
        match event {
            Event::Deliver { to, from, bytes } => self.step(to, Input::Message { from, bytes }),
            Event::Timer { node, incarnation, timer } if self.current(node, incarnation) => {
                self.step(node, Input::Timeout(timer))
            }
            Event::Propose { node, incarnation, view, parent }
                if self.current(node, incarnation) =>
            {
                let payload = self.build_payload(node, parent);
                self.step(node, Input::Proposed { view, payload })
            }
            Event::Verified { node, incarnation, view, digest, valid }
                if self.current(node, incarnation) =>
            {
                self.step(node, Input::Verified { view, digest, valid })
            }
            Event::Timer { .. } | Event::Propose { .. } | Event::Verified { .. } => Ok(()),
            Event::LoadHour(hour) => {
                self.load_hour(hour);
                Ok(())
            }
            Event::Load(event) => self.load_event(event),
            Event::Crash(node) => {
                let root_before = self.nodes[node].state.root();
                self.nodes[node].crash();
                self.push(self.now + RESTART_DOWN_MS, Event::Restart { node, root_before });
                Ok(())
            }
            Event::Restart { node, root_before } => {
                self.nodes[node].restart(root_before)?;
                self.step(node, Input::Start)
            }
        }
    }

    /// Hands one input to a running core and carries out its outputs in order. Inputs to a
    /// crashed validator are lost, as on a real network.
    fn step(&mut self, node: usize, input: Input) -> Result<(), PilotError> {
        let Some(live) = self.nodes[node].live.as_mut() else {
            return Ok(());
        };
        let outputs = live.core.handle(self.now, input);
        for output in outputs {
            self.perform(node, output)?;
        }
        Ok(())
    }

    fn journal(&mut self, node: usize, output: &Output) -> Result<(), JournalError> {
        let v = &mut self.nodes[node];
        let Some(live) = v.live.as_mut() else {
            return Ok(());
        };
        match output {
            Output::JournalAppend(record) => live.journal.append(record),
            Output::JournalRewrite(records) => live.journal.rewrite(records),
            Output::JournalSync => {
                v.syncs += 1;
                live.journal.sync()
            }
            _ => Ok(()),
        }
    }

    fn perform(&mut self, node: usize, output: Output) -> Result<(), PilotError> {
        let me = node as ValidatorIndex;
        let incarnation = self.nodes[node].incarnation;
        match output {
            Output::JournalAppend(_) | Output::JournalRewrite(_) | Output::JournalSync => {
                self.journal(node, &output).map_err(|source| PilotError::Journal {
                    validator: self.nodes[node].name.clone(),
                    source,
                })?;
            }
            Output::Send { to, message } => self.transmit(me, Some(to), &message),
            Output::Broadcast(message) => {
                if let Message::Propose { block, .. } = &message {
                    self.remember(block);
                }
                self.transmit(me, None, &message);
            }
            Output::Fetch(request) => self.transmit(me, None, &Message::Request(request)),
            Output::SetTimer { timer, at_ms } => {
                self.push(at_ms, Event::Timer { node, incarnation, timer })
            }
            Output::Propose { view, parent, .. } => {
                // Pace blocks: propose one block interval after the parent's time.
                let parent_ms = self.known.get(&parent).map_or(0, |k| k.time_ms);
                let at = (self.now + 1).max(parent_ms + self.interval_ms);
                self.push(at, Event::Propose { node, incarnation, view, parent });
            }
            Output::Verify(block) => {
                let valid = self.verify(&block);
                let (view, digest) = (block.view, block.digest());
                self.push(self.now + 1, Event::Verified { node, incarnation, view, digest, valid });
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
            let low = self.nodes.iter().map(|n| n.height).min().unwrap_or(0);
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
        let final_digest = self.nodes[node].live.as_ref().map(|l| l.core.finalized().digest);
        let mut exclude = BTreeSet::new();
        let mut at = parent;
        let mut complete = true;
        while Some(at) != final_digest {
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
        // An ancestor we cannot see could hold any pending transaction: propose none. The
        // proposer's own ledger is the state `exclude` was walked back to.
        let v = &self.nodes[node];
        let ledger = StateLedger { state: &v.state, height: volt_proto::Height(v.height) };
        let txs = if complete {
            self.mempool.select(&exclude, PAYLOAD_TXS_MAX, PAYLOAD_BYTES_MAX - 64, &ledger)
        } else {
            Vec::new()
        };
        Payload { time, txs }.encode()
    }

    /// Applies a final block to validator `node`'s ledger; validator 0 also feeds the load
    /// driver and the reports.
    fn finalized(&mut self, node: usize, block: &Block) -> Result<(), PilotError> {
        let (payload, result) = self.nodes[node].apply(block)?;
        let ids: Vec<Hash> = payload.txs.iter().map(SignedTx::id).collect();
        // Whichever validator finalizes a block first clears it from the shared mempool, with
        // its own state after the block deciding what went stale.
        let v = &self.nodes[node];
        let ledger = StateLedger { state: &v.state, height: volt_proto::Height(v.height) };
        self.mempool.on_finalized(&ids, &ledger);
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
        let now_ms = self.nodes[0].last_time.0.saturating_sub(self.doc.genesis_time.0);
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
                view: self.nodes[0].live.as_ref().map_or(0, |l| l.core.view().0),
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
    fn track_setup(&mut self, txs: &[SignedTx], receipts: &[Receipt]) -> Result<(), PilotError> {
        if self.load_start.is_some() {
            return Ok(());
        }
        for (tx, receipt) in txs.iter().zip(receipts) {
            if let Some(index) = self.setup_ids.remove(&tx.id())
                && receipt.outcome != TxOutcome::Applied
            {
                let call = format!("{:?}", tx.body.call);
                let call = call.split([' ', '{', '(']).next().unwrap_or("").to_owned();
                let outcome = receipt.outcome.clone();
                return Err(PilotError::SetupFailed { index, call, outcome });
            }
        }
        if self.setup_ids.is_empty() {
            self.load_start = Some(self.now);
            self.push(self.now, Event::LoadHour(0));
            // The restart drill: the last validator goes down a third of the way through.
            let last = self.nodes.len() - 1;
            if self.nodes[last].restartable() {
                let at = self.now + self.cfg.hours * HOUR_MS / 3;
                self.push(at, Event::Crash(last));
            }
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
        if self.mempool.len() + LOAD_EVENT_TXS_MAX > self.mempool.limits().txs_max {
            return Ok(());
        }
        let v = &self.nodes[0];
        let height = volt_proto::Height(v.height);
        let txs = self.driver.on_event(event, self.now, &mut self.wallets, &v.state, height)?;
        let ledger = StateLedger { state: &v.state, height };
        for tx in txs {
            let refused = |refusal| PilotError::Refused { what: "load", refusal };
            self.mempool.admit(&tx.encode(), &ledger).map_err(refused)?;
        }
        Ok(())
    }

    fn summary(self) -> Summary {
        let validators = self
            .nodes
            .iter()
            .map(|n| ValidatorReport {
                name: n.name.clone(),
                height: n.height,
                view: n.live.as_ref().map_or(0, |l| l.core.view().0),
                root: n.state.root(),
                chain: n.chain,
                invariants: invariants::check(&n.state).map_err(|e| e.to_string()),
                journal_syncs: n.syncs,
                restarts: n.restarts,
                dropped: n.dropped(),
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
            txs_applied: c.applied,
            txs_failed: c.failed,
            txs_disputed: c.disputed,
            txs_rejected: c.rejected,
            load: self.driver.stats.clone(),
            custody: self.driver.check_against(state),
            pools,
            validators,
            sim_ms: self.nodes[0].last_time.0.saturating_sub(self.doc.genesis_time.0),
            events: self.events,
        }
    }
}
