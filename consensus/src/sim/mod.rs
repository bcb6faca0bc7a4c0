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
mod faults;
mod invariants;
mod network;
mod node;
mod report;
pub mod rng;
mod scenario;
mod turn;

pub use byzantine::Behavior;
pub use invariants::Checker;
pub use report::Report;
pub use scenario::{LONG_SEEDS_BASE, Mix, Outage, Scenario};
pub use turn::persistence_order_holds;

use network::Partition;
use node::Node;

use crate::core::{Input, Timer};
use crate::types::{Block, Epoch, ValidatorIndex};
use crate::validators::ValidatorSet;
use rng::Rng;
use std::collections::BTreeMap;
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash};

/// New finalized heights every honest node must reach after faults stop.
pub const LIVENESS_BLOCKS_MIN: u64 = 3;
/// The write unit of the simulated disk (a crash may lose one unit of an unsynced write and
/// keep a later one). Small, so even a turn of a few votes can be holed.
const PAGE_BYTES: usize = 64;

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

    fn honest_heights(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.behavior.is_honest())
            .map(|n| n.chain.len() as u64 - 1)
            .collect()
    }
}

/// Runs one scenario.
pub fn run(scenario: Scenario) -> Report {
    Sim::new(scenario).run()
}
