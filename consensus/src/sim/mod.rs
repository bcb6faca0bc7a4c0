//! A deterministic simulator: the real core and journal code of n validators on a virtual
//! network with a virtual clock, driven by one seed.
//!
//! Events sit in a queue keyed by (virtual time, sequence number), so equal times resolve in
//! insertion order and a seed always gives the same run; the trace hash is blake3 over every
//! processed event. Faults (per-link latency and jitter, loss, duplication, corruption,
//! reordering, symmetric and asymmetric partitions that heal, crashes with torn or lost unsynced
//! journal writes, and up to f byzantine validators) are drawn from the seed according to a
//! [`Mix`]. All faults stop at `fault_ms`; the run continues to `run_ms` to check liveness.

mod byzantine;
mod invariants;
pub mod rng;

pub use byzantine::Behavior;
pub use invariants::Checker;

use crate::core::{Canary, Config, Core, Input, Output, Rejection, Timeouts, Timer};
use crate::journal::{Journal, MemoryStorage};
use crate::types::{BLOCKS_PER_RESPONSE_MAX, Block, Epoch, Message, Request, ValidatorIndex, View};
use crate::validators::ValidatorSet;
use rng::Rng;
use std::collections::BTreeMap;
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash, codec};

/// New finalized heights every honest node must reach after faults stop.
pub const LIVENESS_BLOCKS_MIN: u64 = 3;

/// A family of faults; each seed draws its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mix {
    /// No faults.
    Clean,
    /// Up to 30% loss, duplication, corruption, reordering by jitter.
    Lossy,
    /// Symmetric partitions that heal.
    PartitionSymmetric,
    /// One-way partitions that heal.
    PartitionAsymmetric,
    /// Crashes and restarts from the journal, with torn and lost unsynced writes.
    Crash,
    /// Many crashes (20 to 40), often several nodes down at once: every node may lose its
    /// memory of a view, so only journaled state carries the chain forward.
    CrashStorm,
    /// Up to f equivocating leaders.
    Equivocator,
    /// Up to f conflicting voters.
    Conflicter,
    /// Up to f nodes that nullify and finalize one view.
    NullifyFinalize,
    /// Up to f nodes with bad signatures.
    BadSignature,
    /// Up to f silent nodes.
    Silent,
    /// One validator run twice with one key, recipients split.
    Twins,
    /// Loss, a partition, crashes and one byzantine node together.
    Chaos,
}

impl Mix {
    /// Every mix, in the order seeds cycle through them.
    pub const ALL: [Mix; 13] = [
        Mix::Clean,
        Mix::Lossy,
        Mix::PartitionSymmetric,
        Mix::PartitionAsymmetric,
        Mix::Crash,
        Mix::CrashStorm,
        Mix::Equivocator,
        Mix::Conflicter,
        Mix::NullifyFinalize,
        Mix::BadSignature,
        Mix::Silent,
        Mix::Twins,
        Mix::Chaos,
    ];
}

/// One simulated run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The seed of every random choice.
    pub seed: u64,
    /// Validators.
    pub n: usize,
    /// Fault family.
    pub mix: Mix,
    /// Faults stop at this virtual time (ms).
    pub fault_ms: u64,
    /// The run ends at this virtual time (ms).
    pub run_ms: u64,
    /// Link latency bounds (ms); each directed link draws a base in this range.
    pub latency_ms: (u64, u64),
    /// Extra jitter per message, up to this (ms).
    pub jitter_ms_max: u64,
    /// Core timeouts.
    pub timeouts: Timeouts,
    /// Test-only broken rule for honest nodes.
    pub canary: Canary,
    /// A symmetric partition of the first ⌊n/2⌋ validators from the rest over this time window
    /// (start, end), in addition to the mix's faults (used to measure recovery after a heal).
    pub halves_partition_ms: Option<(u64, u64)>,
    /// Overrides the number of crash-and-restart events the mix draws.
    pub crash_count: Option<u64>,
}

impl Scenario {
    /// The standard scenario of a seed: n alternates 4 / 7, mixes cycle through [`Mix::ALL`].
    pub fn from_seed(seed: u64) -> Scenario {
        let n = if seed.is_multiple_of(2) { 4 } else { 7 };
        let mix = Mix::ALL[((seed / 2) % Mix::ALL.len() as u64) as usize];
        Scenario::new(seed, n, mix)
    }

    /// A scenario with the default timing.
    pub fn new(seed: u64, n: usize, mix: Mix) -> Scenario {
        Scenario {
            seed,
            n,
            mix,
            fault_ms: 1_500,
            run_ms: 3_000,
            latency_ms: (5, 40),
            jitter_ms_max: 20,
            timeouts: Timeouts {
                leader_ms: 250,
                advance_ms: 400,
                retry_ms: 250,
                fetch_retry_ms: 200,
            },
            canary: Canary::None,
            halves_partition_ms: None,
            crash_count: None,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario.
    pub seed: u64,
    /// blake3 over every processed event.
    pub trace_hash: [u8; 32],
    /// Invariant violations (empty on success).
    pub violations: Vec<String>,
    /// Highest view entered by an honest node.
    pub view_max: u64,
    /// Finalized height per honest node at the end.
    pub heights: Vec<u64>,
    /// Highest honest finalized height when faults stopped.
    pub height_at_heal: u64,
    /// Time from the end of faults until every honest node finalized a new block (ms).
    pub recovery_ms: Option<u64>,
    /// Events processed.
    pub events: u64,
    /// Mean time from a proposal to its own finalization at a node, ms (blocks finalized by
    /// their own view's finalization only).
    pub finality_ms_mean: Option<f64>,
    /// Drops by honest nodes, by reason.
    pub rejected: BTreeMap<Rejection, u64>,
    /// Each node's state at the end (`Core::describe`), for replays.
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug)]
enum Event {
    Deliver { slot: usize, from: ValidatorIndex, bytes: Vec<u8> },
    Timer { slot: usize, incarnation: u32, timer: Timer },
    App { slot: usize, incarnation: u32, input: Input },
    Crash { slot: usize },
    Restart { slot: usize },
    Heal,
}

#[derive(Clone, Debug)]
struct Partition {
    start: u64,
    end: u64,
    side: Vec<bool>,
    symmetric: bool,
}

struct Node {
    validator: ValidatorIndex,
    behavior: Behavior,
    core: Option<Core>,
    journal: Option<Journal<MemoryStorage>>,
    disk: Option<MemoryStorage>,
    incarnation: u32,
    chain: Vec<Block>,
    /// Height of each block of `chain`, by digest.
    index: BTreeMap<Hash, u64>,
    recipients: Option<Vec<bool>>,
    crash_in_turn: bool,
    view_max: View,
    recovered_at: Option<u64>,
}

/// The simulator.
pub struct Sim {
    scenario: Scenario,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Event>,
    nodes: Vec<Node>,
    keys: Vec<Keypair>,
    validators: ValidatorSet,
    chain_id: ChainId,
    genesis: Block,
    links: Vec<Vec<u64>>,
    loss_permille: u64,
    dup_permille: u64,
    corrupt_permille: u64,
    partitions: Vec<Partition>,
    checker: Checker,
    trace: blake3::Hasher,
    events: u64,
    height_at_heal: Option<u64>,
    proposed_at: BTreeMap<Hash, u64>,
    finality: (u64, u64),
}

impl Sim {
    /// Sets up a run (draws every fault from the seed).
    pub fn new(scenario: Scenario) -> Sim {
        let mut rng = Rng::new(scenario.seed);
        let n = scenario.n;
        let keys: Vec<Keypair> =
            (0..n).map(|i| Keypair::for_testing(&format!("volt-sim-validator-{i}"))).collect();
        let validators = match ValidatorSet::from_keypairs(&keys) {
            Ok(v) => v,
            Err(e) => panic!("simulator keys are valid: {e}"),
        };
        let chain_id = match ChainId::new("volt-sim") {
            Ok(c) => c,
            Err(e) => panic!("simulator chain id is valid: {e}"),
        };
        let f = (n - 1) / 3;
        let mut behaviors = vec![Behavior::Honest; n];
        let byzantine =
            |rng: &mut Rng, behaviors: &mut Vec<Behavior>, b: Behavior, count: usize| {
                let mut placed = 0;
                while placed < count {
                    let i = rng.below(n as u64) as usize;
                    if behaviors[i].is_honest() {
                        behaviors[i] = b;
                        placed += 1;
                    }
                }
            };
        let kind = match scenario.mix {
            Mix::Equivocator => Some(Behavior::Equivocator),
            Mix::Conflicter => Some(Behavior::Conflicter),
            Mix::NullifyFinalize => Some(Behavior::NullifyFinalize),
            Mix::BadSignature => Some(Behavior::BadSignature),
            Mix::Silent => Some(Behavior::Silent),
            _ => None,
        };
        if let Some(b) = kind {
            let count = rng.range(1, f as u64) as usize;
            byzantine(&mut rng, &mut behaviors, b, count);
        }
        if scenario.mix == Mix::Twins {
            byzantine(&mut rng, &mut behaviors, Behavior::Twin, 1);
        }
        if scenario.mix == Mix::Chaos {
            let pick = [
                Behavior::Equivocator,
                Behavior::Conflicter,
                Behavior::NullifyFinalize,
                Behavior::BadSignature,
                Behavior::Silent,
            ][rng.below(5) as usize];
            byzantine(&mut rng, &mut behaviors, pick, 1);
        }
        let honest: Vec<bool> = behaviors.iter().map(|b| b.is_honest()).collect();
        let checker =
            Checker::new(chain_id.clone(), keys.iter().map(Keypair::public_key).collect(), honest);
        let genesis = Block::genesis(Epoch(0), b"volt-sim genesis".to_vec());
        let mut nodes = Vec::new();
        for (i, behavior) in behaviors.iter().enumerate() {
            nodes.push(Node::new(i as ValidatorIndex, *behavior, &genesis));
        }
        if let Some(t) = behaviors.iter().position(|b| *b == Behavior::Twin) {
            // Twin A talks to one part of the validators, twin B to the other.
            let side: Vec<bool> = (0..n).map(|_| rng.chance(500)).collect();
            nodes[t].recipients = Some(side.clone());
            let mut twin = Node::new(t as ValidatorIndex, Behavior::Twin, &genesis);
            twin.recipients = Some(side.iter().map(|s| !s).collect());
            nodes.push(twin);
        }
        let (lo, hi) = scenario.latency_ms;
        let links = (0..n).map(|_| (0..n).map(|_| rng.range(lo, hi)).collect()).collect();
        let mut sim = Sim {
            rng,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            keys,
            validators,
            chain_id,
            genesis,
            links,
            loss_permille: 0,
            dup_permille: 0,
            corrupt_permille: 0,
            partitions: Vec::new(),
            checker,
            trace: blake3::Hasher::new(),
            events: 0,
            height_at_heal: None,
            proposed_at: BTreeMap::new(),
            finality: (0, 0),
            scenario,
        };
        sim.draw_faults();
        sim
    }

    fn draw_faults(&mut self) {
        let mix = self.scenario.mix;
        let fault_ms = self.scenario.fault_ms;
        let n = self.scenario.n;
        let lossy = matches!(mix, Mix::Lossy | Mix::Chaos);
        if lossy {
            self.loss_permille = self.rng.range(0, 300);
            self.dup_permille = self.rng.range(0, 200);
            self.corrupt_permille = self.rng.range(0, 10);
        } else if mix != Mix::Clean {
            self.loss_permille = self.rng.range(0, 20);
            self.dup_permille = self.rng.range(0, 20);
        }
        let partitions = match mix {
            Mix::PartitionSymmetric | Mix::PartitionAsymmetric => self.rng.range(1, 2),
            Mix::Chaos => 1,
            _ => 0,
        };
        for _ in 0..partitions {
            let start = self.rng.range(100, fault_ms / 2);
            let end = self.rng.range(start + 200, fault_ms - 100);
            let side = (0..n).map(|_| self.rng.chance(500)).collect();
            let symmetric = match mix {
                Mix::PartitionSymmetric => true,
                Mix::PartitionAsymmetric => false,
                _ => self.rng.chance(500),
            };
            self.partitions.push(Partition { start, end, side, symmetric });
        }
        if let Some((start, end)) = self.scenario.halves_partition_ms {
            self.partitions.push(Partition {
                start,
                end,
                side: (0..n).map(|i| i < n / 2).collect(),
                symmetric: true,
            });
        }
        let crashes = match mix {
            Mix::Crash => self.rng.range(1, 4),
            Mix::CrashStorm => self.rng.range(20, 40),
            Mix::Chaos => self.rng.range(0, 2),
            _ => 0,
        };
        let crashes = self.scenario.crash_count.unwrap_or(crashes);
        for _ in 0..crashes {
            let slot = self.rng.below(self.nodes.len() as u64) as usize;
            let at = self.rng.range(100, fault_ms - 600);
            let down = self.rng.range(50, 500);
            self.push(at, Event::Crash { slot });
            self.push(at + down, Event::Restart { slot });
        }
        self.push(fault_ms, Event::Heal);
    }

    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at.max(self.now), self.seq), event);
    }

    /// Runs to the end and checks every invariant.
    pub fn run(mut self) -> Report {
        for slot in 0..self.nodes.len() {
            self.boot(slot);
        }
        while let Some(((at, _), event)) = self.queue.pop_first() {
            if at > self.scenario.run_ms {
                break;
            }
            self.now = at;
            self.events += 1;
            self.trace_event(&event);
            self.dispatch(event);
        }
        self.finish()
    }

    fn trace_event(&mut self, event: &Event) {
        self.trace.update(&self.now.to_le_bytes());
        match event {
            Event::Deliver { slot, from, bytes } => {
                self.trace.update(&[0, *slot as u8, *from as u8]);
                self.trace.update(bytes);
            }
            Event::Timer { slot, timer, .. } => {
                self.trace.update(&[1, *slot as u8, timer.kind as u8]);
                self.trace.update(&timer.view.0.to_le_bytes());
            }
            Event::App { slot, .. } => {
                self.trace.update(&[2, *slot as u8]);
            }
            Event::Crash { slot } => {
                self.trace.update(&[3, *slot as u8]);
            }
            Event::Restart { slot } => {
                self.trace.update(&[4, *slot as u8]);
            }
            Event::Heal => {
                self.trace.update(&[5]);
            }
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { slot, from, bytes } => {
                self.step(slot, Input::Message { from, bytes });
            }
            Event::Timer { slot, incarnation, timer } => {
                if self.nodes[slot].incarnation == incarnation {
                    self.step(slot, Input::Timeout(timer));
                }
            }
            Event::App { slot, incarnation, input } => {
                if self.nodes[slot].incarnation == incarnation {
                    self.step(slot, input);
                }
            }
            Event::Crash { slot } => {
                if self.nodes[slot].core.is_some() {
                    // Half the time the crash lands inside the node's next turn, between two
                    // of its outputs (possibly before the journal sync).
                    if self.rng.chance(500) {
                        self.nodes[slot].crash_in_turn = true;
                    } else {
                        self.crash(slot);
                    }
                }
            }
            Event::Restart { slot } => {
                if self.nodes[slot].core.is_none() {
                    self.boot(slot);
                } else if self.nodes[slot].crash_in_turn {
                    // The crash never landed: the node was idle. Crash and restart now.
                    self.nodes[slot].crash_in_turn = false;
                    self.crash(slot);
                    self.boot(slot);
                }
            }
            Event::Heal => {
                let h = self.honest_heights().into_iter().max().unwrap_or(0);
                self.height_at_heal = Some(h);
            }
        }
    }

    fn config(&self, slot: usize) -> Config {
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
    fn boot(&mut self, slot: usize) {
        let config = self.config(slot);
        let node = &mut self.nodes[slot];
        let disk = node.disk.take().unwrap_or_default();
        let (journal, replay) = match Journal::open(disk) {
            Ok(opened) => opened,
            Err(e) => {
                self.checker.fail(format!("node {slot} cannot reopen its journal: {e}"));
                return;
            }
        };
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

    fn crash(&mut self, slot: usize) {
        let node = &mut self.nodes[slot];
        node.core = None;
        node.incarnation += 1;
        if let Some(journal) = node.journal.take() {
            let mut disk = journal.into_storage();
            let keep = self.rng.below(disk.pending_len() as u64 + 1) as usize;
            disk.crash(keep);
            node.disk = Some(disk);
        }
    }

    fn step(&mut self, slot: usize, input: Input) {
        let now = self.now;
        let Some(core) = self.nodes[slot].core.as_mut() else {
            return;
        };
        let outputs = core.handle(now, input);
        let cut = if self.nodes[slot].crash_in_turn {
            self.nodes[slot].crash_in_turn = false;
            Some(self.rng.below(outputs.len() as u64 + 1) as usize)
        } else {
            None
        };
        if !persistence_order_holds(&outputs) {
            let text = format!("node {slot} would send before syncing its journal");
            self.checker.fail(text);
        }
        for (i, output) in outputs.into_iter().enumerate() {
            if cut == Some(i) {
                return self.crash(slot);
            }
            self.perform(slot, output);
        }
        if cut.is_some() {
            return self.crash(slot);
        }
        self.observe_turn(slot);
    }

    /// Entered view and finalized height never go down, across restarts too.
    fn observe_turn(&mut self, slot: usize) {
        let node = &mut self.nodes[slot];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        if !node.behavior.is_honest() {
            return;
        }
        let view = core.view();
        if view < node.view_max {
            let text = format!("node {slot} went back from view {} to {view}", node.view_max);
            self.checker.fail(text);
        }
        node.view_max = node.view_max.max(view);
        if core.finalized().height.0 + 1 != node.chain.len() as u64 {
            let text = format!("node {slot} core and application disagree on the final height");
            self.checker.fail(text);
        }
    }

    fn perform(&mut self, slot: usize, output: Output) {
        let incarnation = self.nodes[slot].incarnation;
        let journal_result = {
            let journal = self.nodes[slot].journal.as_mut();
            match (&output, journal) {
                (Output::JournalAppend(r), Some(j)) => Some(j.append(r)),
                (Output::JournalRewrite(rs), Some(j)) => Some(j.rewrite(rs)),
                (Output::JournalSync, Some(j)) => Some(j.sync()),
                _ => None,
            }
        };
        if let Some(Err(e)) = journal_result {
            self.checker.fail(format!("node {slot} journal failed: {e}"));
        }
        match output {
            Output::JournalAppend(_) | Output::JournalRewrite(_) | Output::JournalSync => {}
            Output::Send { to, message } => self.transmit(slot, Some(to), message),
            Output::Broadcast(message) => self.transmit(slot, None, message),
            Output::Fetch(request) => {
                if let Request::Block(digest) = request {
                    self.serve_from_stores(slot, digest);
                }
                self.transmit(slot, None, Message::Request(request));
            }
            Output::SetTimer { timer, at_ms } => {
                self.push(at_ms, Event::Timer { slot, incarnation, timer })
            }
            Output::Propose { view, .. } => {
                let validator = self.nodes[slot].validator;
                let payload = codec::encode(&(view, validator, b"volt-sim payload".to_vec()));
                let input = Input::Proposed { view, payload };
                self.push(self.now + 1, Event::App { slot, incarnation, input });
            }
            Output::Verify(block) => {
                // The trivial application refuses payloads starting with "bad".
                let valid = !block.payload.starts_with(b"bad");
                let input = Input::Verified { view: block.view, digest: block.digest(), valid };
                self.push(self.now + 1, Event::App { slot, incarnation, input });
            }
            Output::Finalized { block, certificate } => {
                self.finalized(slot, block, &certificate);
            }
        }
    }

    fn finalized(&mut self, slot: usize, block: Block, certificate: &crate::types::Certificate) {
        let honest = self.nodes[slot].behavior.is_honest();
        self.checker.observe_certificate(certificate, honest);
        let digest = block.digest();
        self.trace.update(&[6, slot as u8]);
        self.trace.update(digest.as_bytes());
        let node = &mut self.nodes[slot];
        let last = node.chain.last().map(|b| (b.height, b.digest()));
        let follows =
            last.is_some_and(|(h, d)| h.checked_next() == Some(block.height) && d == block.parent);
        if honest {
            if !follows {
                let text = format!("node {slot} finalized height {} out of order", block.height);
                self.checker.fail(text);
            }
            self.checker.observe_finalized(slot, &block);
            if certificate.vote.view() == block.view
                && let Some(at) = self.proposed_at.get(&digest)
            {
                self.finality.0 += self.now - at;
                self.finality.1 += 1;
            }
            if let Some(h) = self.height_at_heal
                && block.height.0 > h
                && node.recovered_at.is_none()
            {
                node.recovered_at = Some(self.now);
            }
        }
        node.index.insert(digest, block.height.0);
        node.chain.push(block);
    }

    /// Block sync as the node runs it: every other running node's application store (the
    /// finalized chain, durable across crashes) answers a block request it can serve with the
    /// block and its ancestors, over the same faulty network.
    fn serve_from_stores(&mut self, requester: usize, digest: Hash) {
        let mut answers = Vec::new();
        for (slot, node) in self.nodes.iter().enumerate() {
            if slot == requester || node.core.is_none() || node.behavior == Behavior::Silent {
                continue;
            }
            let Some(height) = node.index.get(&digest) else {
                continue;
            };
            let from = (*height as usize + 1).saturating_sub(BLOCKS_PER_RESPONSE_MAX);
            let blocks: Vec<Block> = node.chain[from..=*height as usize]
                .iter()
                .rev()
                .filter(|b| b.height.0 > 0)
                .cloned()
                .collect();
            if !blocks.is_empty() {
                answers.push((node.validator, Message::Blocks(blocks).encode()));
            }
        }
        for (from, bytes) in answers {
            self.deliver(from, requester, bytes);
        }
    }

    fn partitioned(&self, from: ValidatorIndex, to: ValidatorIndex) -> bool {
        let (a, b) = (usize::from(from), usize::from(to));
        self.partitions.iter().any(|p| {
            self.now >= p.start
                && self.now < p.end
                && p.side[a] != p.side[b]
                && (p.symmetric || p.side[a])
        })
    }

    fn transmit(&mut self, slot: usize, to: Option<ValidatorIndex>, message: Message) {
        let node = &self.nodes[slot];
        let me = node.validator;
        let behavior = node.behavior;
        let recipients: Vec<ValidatorIndex> = match to {
            Some(t) => vec![t],
            None => (0..self.scenario.n as ValidatorIndex).filter(|v| *v != me).collect(),
        };
        let recipients: Vec<ValidatorIndex> = match &node.recipients {
            Some(side) => recipients.into_iter().filter(|r| side[usize::from(*r)]).collect(),
            None => recipients,
        };
        if let Message::Propose { block, .. } = &message {
            self.proposed_at.entry(block.digest()).or_insert(self.now);
        }
        let sends = if behavior.is_honest() {
            self.checker.observe_sent(me, &message);
            recipients.iter().map(|r| (*r, message.clone())).collect()
        } else {
            let key = self.keys[usize::from(me)].clone();
            let sends = byzantine::rewrite(
                behavior,
                &key,
                &self.chain_id,
                me,
                message,
                &recipients,
                &mut self.rng,
            );
            for (_, m) in &sends {
                self.checker.observe_sent(me, m);
            }
            sends
        };
        for (to, message) in sends {
            let bytes = message.encode();
            for target in 0..self.nodes.len() {
                if self.nodes[target].validator == to && target != slot {
                    self.deliver(me, target, bytes.clone());
                }
            }
        }
    }

    fn deliver(&mut self, from: ValidatorIndex, slot: usize, mut bytes: Vec<u8>) {
        let to = self.nodes[slot].validator;
        if self.partitioned(from, to) {
            return;
        }
        let faulty = self.now < self.scenario.fault_ms;
        if faulty && self.rng.chance(self.loss_permille) {
            return;
        }
        if faulty && self.rng.chance(self.corrupt_permille) && !bytes.is_empty() {
            let i = self.rng.below(bytes.len() as u64) as usize;
            bytes[i] ^= 1 << self.rng.below(8);
        }
        let copies = if faulty && self.rng.chance(self.dup_permille) { 2 } else { 1 };
        let base = self.links[usize::from(from)][usize::from(to)];
        for _ in 0..copies {
            let delay = base + self.rng.below(self.scenario.jitter_ms_max + 1);
            let bytes = bytes.clone();
            self.push(self.now + delay, Event::Deliver { slot, from, bytes });
        }
    }

    fn honest_heights(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.behavior.is_honest())
            .map(|n| n.chain.len() as u64 - 1)
            .collect()
    }

    fn finish(mut self) -> Report {
        self.checker.check_ancestry();
        let heights = self.honest_heights();
        let height_at_heal = self.height_at_heal.unwrap_or(0);
        let mut recovery_ms = Some(0u64);
        let mut rejected = BTreeMap::new();
        let mut view_max = 0;
        for (slot, node) in self.nodes.iter().enumerate() {
            if !node.behavior.is_honest() {
                continue;
            }
            view_max = view_max.max(node.view_max.0);
            let height = node.chain.len() as u64 - 1;
            if node.core.is_none() {
                self.checker.fail(format!("honest node {slot} is down at the end"));
            }
            if height < height_at_heal + LIVENESS_BLOCKS_MIN {
                self.checker.fail(format!(
                    "liveness: node {slot} at height {height}, needed {} within {} ms of the heal",
                    height_at_heal + LIVENESS_BLOCKS_MIN,
                    self.scenario.run_ms - self.scenario.fault_ms
                ));
            }
            recovery_ms = match (recovery_ms, node.recovered_at) {
                (Some(r), Some(at)) => Some(r.max(at - self.scenario.fault_ms)),
                _ => None,
            };
            if let Some(core) = &node.core {
                for (reason, count) in &core.counters().rejected {
                    *rejected.entry(*reason).or_insert(0) += count;
                }
            }
        }
        let nodes = self
            .nodes
            .iter()
            .map(|n| {
                let state = n.core.as_ref().map_or("down".to_owned(), Core::describe);
                format!("{} {:?}: {state}", n.validator, n.behavior)
            })
            .collect();
        let finality_ms_mean =
            (self.finality.1 > 0).then(|| self.finality.0 as f64 / self.finality.1 as f64);
        Report {
            seed: self.scenario.seed,
            trace_hash: *self.trace.finalize().as_bytes(),
            violations: self.checker.violations,
            view_max,
            heights,
            height_at_heal,
            recovery_ms,
            events: self.events,
            finality_ms_mean,
            rejected,
            nodes,
        }
    }
}

impl Node {
    fn new(validator: ValidatorIndex, behavior: Behavior, genesis: &Block) -> Node {
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
        }
    }
}

/// True when no message leaves before the turn's journal writes are synced.
pub fn persistence_order_holds(outputs: &[Output]) -> bool {
    let mut unsynced = false;
    for output in outputs {
        match output {
            Output::JournalAppend(_) | Output::JournalRewrite(_) => unsynced = true,
            Output::JournalSync => unsynced = false,
            Output::Send { .. } | Output::Broadcast(_) | Output::Fetch(_) if unsynced => {
                return false;
            }
            _ => {}
        }
    }
    !unsynced
}

/// Runs one scenario.
pub fn run(scenario: Scenario) -> Report {
    Sim::new(scenario).run()
}
