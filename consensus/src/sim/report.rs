//! What a run produced, and the end-of-run checks that produce it.

use super::{LIVENESS_BLOCKS_MIN, Sim};
use crate::core::{Core, Rejection, WANT_STALE_RETRIES};
use std::collections::BTreeMap;

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

impl Sim {
    pub(super) fn finish(mut self) -> Report {
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
