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
mod durability;
mod invariants;
pub mod rng;
mod scenario;

pub use byzantine::Behavior;
pub use invariants::Checker;
pub use scenario::{LONG_SEEDS_BASE, Mix, Outage, Scenario};

use crate::core::{Canary, Config, Core, Input, Output, Rejection, Timer, WANT_STALE_RETRIES};
use crate::journal::{Journal, MemoryStorage};
use crate::types::{BLOCKS_PER_RESPONSE_MAX, Block, Epoch, Message, Request, ValidatorIndex, View};
use crate::validators::ValidatorSet;
use rng::Rng;
use std::collections::BTreeMap;
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash, codec};

/// New finalized heights every honest node must reach after faults stop.
pub const LIVENESS_BLOCKS_MIN: u64 = 3;
/// The write unit of the simulated disk (a crash may lose one unit of an unsynced write and
/// keep a later one). Small, so even a turn of a few votes can be holed.
const PAGE_BYTES: usize = 64;

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
    /// The most blocks an honest node was behind the highest honest node when it restarted or
    /// came out of an eclipse.
    pub lag_max: u64,
    /// The longest run of consecutive views with a nullification on the wire.
    pub nullified_run_max: u64,
    /// The most fetches an honest node had outstanding at once.
    pub wants_max: usize,
    /// The most views, votes, certificates and uncertified proposals an honest node held.
    pub held_max: crate::core::Held,
}

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        slot: usize,
        from: ValidatorIndex,
        bytes: Vec<u8>,
    },
    Timer {
        slot: usize,
        incarnation: u32,
        timer: Timer,
    },
    App {
        slot: usize,
        incarnation: u32,
        input: Input,
    },
    Crash {
        slot: usize,
    },
    Restart {
        slot: usize,
    },
    /// The scenario's eclipse ends: measures how far behind the node fell.
    EclipseEnd {
        slot: usize,
    },
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
    durability: durability::Durability,
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
    /// Proposed blocks by digest (kept only for the invalid proposers' mix).
    known: BTreeMap<Hash, Block>,
    lag_max: u64,
    wants_max: usize,
    held_max: crate::core::Held,
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
            Mix::InvalidProposer => Some(Behavior::InvalidProposer),
            Mix::Withholder => Some(Behavior::Withholder),
            _ => None,
        };
        if let Some(eclipse) = scenario.eclipse {
            // One withholder, never the eclipsed node: it is the only peer the node hears.
            let others: Vec<usize> = (0..n).filter(|i| *i != eclipse.slot).collect();
            behaviors[others[rng.below(others.len() as u64) as usize]] = Behavior::Withholder;
        }
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
                Behavior::InvalidProposer,
                Behavior::Withholder,
            ][rng.below(7) as usize];
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
            known: BTreeMap::new(),
            lag_max: 0,
            wants_max: 0,
            held_max: crate::core::Held::default(),
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
            Mix::Crash | Mix::InvalidProposer => self.rng.range(1, 4),
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
        if let Some(outage) = self.scenario.outage {
            self.push(outage.start_ms, Event::Crash { slot: outage.slot });
            self.push(outage.end_ms, Event::Restart { slot: outage.slot });
        }
        if let Some(eclipse) = self.scenario.eclipse {
            self.push(eclipse.end_ms, Event::EclipseEnd { slot: eclipse.slot });
        }
        self.push(fault_ms, Event::Heal);
    }

    /// Whether `slot` is held down by the scenario's outage right now.
    fn in_outage(&self, slot: usize) -> bool {
        self.scenario
            .outage
            .is_some_and(|o| o.slot == slot && self.now >= o.start_ms && self.now < o.end_ms)
    }

    fn within(&self, window: Option<(u64, u64)>) -> bool {
        window.is_some_and(|(start, end)| self.now >= start && self.now < end)
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
            Event::EclipseEnd { slot } => {
                self.trace.update(&[7, *slot as u8]);
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
                    // Half the time (every time in a crash storm, which exists to tear the
                    // journal) the crash lands inside the node's next turn, between two of its
                    // outputs (possibly before the journal sync).
                    let storm = self.scenario.mix == Mix::CrashStorm;
                    if storm || self.rng.chance(500) {
                        self.nodes[slot].crash_in_turn = true;
                    } else {
                        self.crash(slot);
                    }
                }
            }
            Event::Restart { slot } if self.in_outage(slot) => {}
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
            Event::EclipseEnd { slot } => {
                let height = self.nodes[slot].chain.len() as u64 - 1;
                let top = self.honest_heights().into_iter().max().unwrap_or(0);
                self.lag_max = self.lag_max.max(top.saturating_sub(height));
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

    fn crash(&mut self, slot: usize) {
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
    fn check_durability(&mut self, slot: usize, when: &str) {
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

    fn step(&mut self, slot: usize, input: Input) {
        let now = self.now;
        let Some(core) = self.nodes[slot].core.as_mut() else {
            return;
        };
        let from_peer = matches!(input, Input::Message { .. });
        let refused_before = refused_inputs(core);
        let outputs = core.handle(now, input);
        let refused = refused_inputs(core) > refused_before;
        // An honest peer is never blamed (unless the network flipped its bytes). The blamed
        // peer may not be the input's sender: a waiting vote is verified in a later turn.
        let blamed = core.offender();
        if let Some((peer, reason)) = blamed
            && self.nodes[usize::from(peer)].behavior.is_honest()
            && self.corrupt_permille == 0
            && self.nodes[slot].behavior.is_honest()
        {
            let text = format!("node {slot} blamed honest peer {peer} for {reason:?}");
            self.checker.fail(text);
        }
        if refused && from_peer && self.nodes[slot].behavior.is_honest() {
            // Fetches (requests) are the node's own asks, not answers.
            let answered = outputs.iter().any(|o| match o {
                Output::Send { message, .. } => !matches!(message, Message::Request(_)),
                _ => false,
            });
            if answered {
                let text = format!("node {slot} answered a message it refused as unverifiable");
                self.checker.fail(text);
            }
        }
        // A crash meant to land inside a turn waits for a turn that writes the journal.
        let synced = outputs.iter().position(|o| matches!(o, Output::JournalSync));
        let cut = match synced {
            Some(i) if self.nodes[slot].crash_in_turn => {
                self.nodes[slot].crash_in_turn = false;
                Some(match self.rng.below(3) {
                    // Between the journal sync and the application storing the turn's blocks.
                    0 => i + 1,
                    // Every journal write issued, none synced: the whole turn may tear.
                    1 => i,
                    _ => self.rng.below(outputs.len() as u64 + 1) as usize,
                })
            }
            _ => None,
        };
        if !persistence_order_holds(&outputs) {
            let text = format!("node {slot} would send before syncing its journal");
            self.checker.fail(text);
        }
        let rewrote = outputs.iter().any(|o| matches!(o, Output::JournalRewrite(_)));
        for (i, output) in outputs.into_iter().enumerate() {
            if cut == Some(i) {
                return self.crash(slot);
            }
            let synced = matches!(output, Output::JournalSync);
            self.perform(slot, output);
            if synced && rewrote {
                self.check_durability(slot, "right after a journal rewrite");
            }
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
        self.wants_max = self.wants_max.max(core.wants_held());
        // Counting walks every view held: sampled, one turn in 32.
        if self.events.is_multiple_of(32) {
            let held = core.held();
            if let Some(text) = unbounded(&held, self.scenario.n) {
                self.checker.fail(format!("node {slot} at view {}: {text}", core.view()));
            }
            let max = &mut self.held_max;
            max.votes = max.votes.max(held.votes);
            max.views = max.views.max(held.views);
            max.certificates = max.certificates.max(held.certificates);
            max.proposals = max.proposals.max(held.proposals);
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
        let durability = &mut self.nodes[slot].durability;
        match &output {
            Output::JournalAppend(record) => durability.append(record),
            Output::JournalRewrite(records) => durability.reset(records),
            Output::JournalSync => durability.sync(),
            _ => {}
        }
        match output {
            Output::JournalAppend(_) | Output::JournalRewrite(_) | Output::JournalSync => {}
            Output::Send { to, message } => {
                if let Message::Request(Request::Block(digest)) = &message {
                    self.serve_from_store(slot, to, *digest);
                }
                self.transmit(slot, Some(to), message)
            }
            Output::Broadcast(message) => self.transmit(slot, None, message),
            Output::Fetch(request) => {
                // Not emitted any more (fetches go to one peer as a `Send`); served as a
                // broadcast in case an older core emits it.
                for to in 0..self.scenario.n as ValidatorIndex {
                    if let Request::Block(digest) = request {
                        self.serve_from_store(slot, to, digest);
                    }
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
                // The trivial application refuses payloads starting with "bad", and every payload
                // during the scenario's refusal window.
                let valid =
                    !block.payload.starts_with(b"bad") && !self.within(self.scenario.refuse_ms);
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

    /// Block sync as the node runs it: the asked peer's application store (the finalized
    /// chain, durable across crashes), if that node is running, answers a block request it can
    /// serve with the block and its ancestors, over the same faulty network.
    fn serve_from_store(&mut self, requester: usize, to: ValidatorIndex, digest: Hash) {
        let mut answers = Vec::new();
        for (slot, node) in self.nodes.iter().enumerate() {
            let serves = !matches!(node.behavior, Behavior::Silent | Behavior::Withholder);
            if slot == requester || node.validator != to || node.core.is_none() || !serves {
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
        if let Some(e) = self.scenario.eclipse
            && self.now >= e.start_ms
            && self.now < e.end_ms
            && (a == e.slot || b == e.slot)
        {
            // Only byzantine peers reach the eclipsed node, and it reaches only them.
            let other = if a == e.slot { b } else { a };
            if self.nodes[other].behavior.is_honest() {
                return true;
            }
        }
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
            if self.scenario.mix == Mix::InvalidProposer {
                self.known.insert(block.digest(), block.clone());
            }
        }
        let sends = if behavior.is_honest() {
            self.checker.observe_sent(me, &message);
            if let Message::Vote(v) | Message::Propose { vote: v, .. } = &message {
                self.nodes[slot].durability.sent(v.vote.view(), v.vote.kind());
            }
            recipients.iter().map(|r| (*r, message.clone())).collect()
        } else {
            let key = self.keys[usize::from(me)].clone();
            let sender = byzantine::Sender {
                behavior,
                key: &key,
                chain_id: &self.chain_id,
                me,
                known: &self.known,
            };
            let sends = byzantine::rewrite(&sender, message, &recipients, &mut self.rng);
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
        let slow = match self.scenario.slow_ms {
            Some((start, end, extra)) if self.now >= start && self.now < end => extra,
            _ => 0,
        };
        let base = self.links[usize::from(from)][usize::from(to)] + slow;
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
                let (wants, age) = core.wants_outstanding();
                let t = self.scenario.timeouts;
                let bound = (WANT_STALE_RETRIES + 2) * t.fetch_retry_ms + 8 * t.advance_ms;
                if age > bound {
                    self.checker.fail(format!(
                        "node {slot} holds a fetch nobody needed for {age} ms (bound {bound} \
                         ms; {wants} outstanding)"
                    ));
                }
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
        let nullified_run_max = self.checker.nullified_run_max();
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
            lag_max: self.lag_max,
            nullified_run_max,
            wants_max: self.wants_max,
            held_max: self.held_max,
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
            durability: durability::Durability::default(),
        }
    }
}

/// What a core may hold however long finality stalls: votes only in the views near the current
/// one, at most three certificates per view, and uncertified proposals only in the window.
/// `None` when within bounds, else what is over.
fn unbounded(held: &crate::core::Held, n: usize) -> Option<String> {
    use crate::core::{PROPOSALS_KEPT_VIEWS, VOTES_KEPT_VIEWS};
    use crate::types::VIEWS_AHEAD_MAX;
    let votes_max = 3 * n * (VOTES_KEPT_VIEWS + VIEWS_AHEAD_MAX + 1) as usize;
    let proposals_max =
        (PROPOSALS_KEPT_VIEWS + VIEWS_AHEAD_MAX + 1) as usize + BLOCKS_PER_RESPONSE_MAX;
    if held.votes > votes_max {
        return Some(format!("holds {} votes (bound {votes_max})", held.votes));
    }
    if held.certificates > 3 * held.views {
        return Some(format!("holds {} certificates in {} views", held.certificates, held.views));
    }
    if held.proposals > proposals_max {
        let text =
            format!("holds {} uncertified proposals (bound {proposals_max})", held.proposals);
        return Some(text);
    }
    None
}

/// Drops for reasons that mean the message could not be trusted at all.
fn refused_inputs(core: &Core) -> u64 {
    let c = core.counters();
    [Rejection::BadSignature, Rejection::BadCertificate, Rejection::Malformed]
        .iter()
        .map(|r| c.get(*r))
        .sum()
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
