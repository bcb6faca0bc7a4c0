//! One simulated validator: its core, journal and disk, its application's chain; booting,
//! crashing (with a torn, holed or lost unsynced write) and the durability check.

use super::{Behavior, PAGE_BYTES, Sim, durability};
use crate::core::{Canary, Config, Core, Input};
use crate::journal::{Journal, MemoryStorage};
use crate::types::{Block, Epoch, ValidatorIndex, View};
use std::collections::BTreeMap;
use volt_proto::Hash;

pub(super) struct Node {
    pub(super) validator: ValidatorIndex,
    pub(super) behavior: Behavior,
    pub(super) core: Option<Core>,
    pub(super) journal: Option<Journal<MemoryStorage>>,
    pub(super) disk: Option<MemoryStorage>,
    pub(super) incarnation: u32,
    pub(super) chain: Vec<Block>,
    /// Height of each block of `chain`, by digest.
    pub(super) index: BTreeMap<Hash, u64>,
    pub(super) recipients: Option<Vec<bool>>,
    pub(super) crash_in_turn: bool,
    pub(super) view_max: View,
    pub(super) recovered_at: Option<u64>,
    pub(super) durability: durability::Durability,
}

impl Node {
    pub(super) fn new(validator: ValidatorIndex, behavior: Behavior, genesis: &Block) -> Node {
        Node {
            validator,
            behavior,
            core: None,
            journal: None,
            disk: Some(MemoryStorage::new()),
            incarnation: 0,
            chain: vec![genesis.clone()],
            index: BTreeMap::from([(genesis.digest(), 0)]),
            recipients: None,
            crash_in_turn: false,
            view_max: View(0),
            recovered_at: None,
            durability: durability::Durability::default(),
        }
    }
}

impl Sim {
    pub(super) fn config(&self, slot: usize) -> Config {
        let node = &self.nodes[slot];
        Config {
            chain_id: self.chain_id.clone(),
            epoch: Epoch(0),
            validators: self.validators.clone(),
            me: node.validator,
            key: self.keys[usize::from(node.validator)].clone(),
            timeouts: self.scenario.timeouts,
            canary: if node.behavior.is_honest() { self.scenario.canary } else { Canary::None },
        }
    }

    /// Starts (or restarts) a node from its disk and its application's last final block.
    pub(super) fn boot(&mut self, slot: usize) {
        let config = self.config(slot);
        let node = &mut self.nodes[slot];
        let disk = node.disk.take().unwrap_or_default();
        let opened = if self.scenario.canary == Canary::JournalWithoutCommits {
            Journal::open_format_1(disk)
        } else {
            Journal::open(disk)
        };
        let (journal, replay) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                self.checker.fail(format!("node {slot} cannot reopen its journal: {e}"));
                return;
            }
        };
        node.durability.reset(&replay.records);
        let height = node.chain.len() as u64;
        let top = self.honest_heights().into_iter().max().unwrap_or(0) + 1;
        self.lag_max = self.lag_max.max(top.saturating_sub(height));
        let node = &mut self.nodes[slot];
        let anchor = node.chain.last().cloned().unwrap_or_else(|| self.genesis.clone());
        match Core::new(config, anchor, &replay.records) {
            Ok(core) => {
                node.core = Some(core);
                node.journal = Some(journal);
                self.step(slot, Input::Start);
            }
            Err(e) => self.checker.fail(format!("node {slot} cannot restart: {e}")),
        }
    }

    pub(super) fn crash(&mut self, slot: usize) {
        self.check_durability(slot, "at a crash");
        let node = &mut self.nodes[slot];
        node.core = None;
        node.incarnation += 1;
        node.durability.crash();
        if let Some(journal) = node.journal.take() {
            let mut disk = journal.into_storage();
            let pending = disk.pending_len();
            if self.rng.chance(333) {
                // A prefix of the unsynced write survived.
                disk.crash(self.rng.below(pending as u64 + 1) as usize);
            } else {
                // The write-back cache flushed pages out of order: each page of the unsynced
                // write survived or not, and lost ones read as zeros. The adversarial case is
                // forced whenever the write spans two pages: at least one page before the last
                // is lost and the last one is kept (a hole before kept data).
                let pages = pending.div_ceil(PAGE_BYTES);
                let mut lost: Vec<usize> =
                    (0..pages.saturating_sub(1)).filter(|_| self.rng.chance(500)).collect();
                if lost.is_empty() && pages >= 2 {
                    lost.push(self.rng.below(pages as u64 - 1) as usize);
                }
                let holes: Vec<_> =
                    lost.into_iter().map(|p| p * PAGE_BYTES..(p + 1) * PAGE_BYTES).collect();
                disk.crash_with_holes(pending, &holes);
            }
            node.disk = Some(disk);
        }
    }

    /// Every vote the node sent must be remembered by a restart now: in the durable journal,
    /// or settled by the application's last final block (or below the journal floor).
    pub(super) fn check_durability(&mut self, slot: usize, when: &str) {
        let node = &mut self.nodes[slot];
        if !node.behavior.is_honest() || node.core.is_none() {
            return;
        }
        let anchor = node.chain.last().map_or(View(0), |b| b.view);
        if let Some((view, kind)) = node.durability.missing(anchor) {
            let text = format!(
                "node {slot} would forget its {kind:?} vote of view {view} if it crashed {when} \
                 (application anchor at view {anchor})"
            );
            self.checker.fail(text);
        }
    }
}
