//! Read-only accessors, for the driver, logs and the simulator.

use super::{Config, Core, Counters, Held, Rejection, Tip};
use crate::types::{ValidatorIndex, View};
use std::collections::BTreeSet;
use volt_proto::Hash;

impl Core {
    /// The highest view entered.
    pub fn view(&self) -> View {
        self.view
    }

    /// The last block delivered as final.
    pub fn finalized(&self) -> Tip {
        self.finalized
    }

    /// Never signs a vote below this view (journal floor after pruning).
    pub fn floor(&self) -> View {
        self.floor
    }

    /// Drop counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The peer whose message the last [`Core::handle`] dropped for a reason only a faulty or
    /// malicious sender produces (bytes that do not decode, a bad signature, a bad
    /// certificate, an equivocating vote), with that reason: for the driver to score and drop
    /// peers. `None` after any other input. (Late, old, future, duplicate and unwanted inputs
    /// are not blamed: honest peers send them under ordinary delays.)
    pub fn offender(&self) -> Option<(ValidatorIndex, Rejection)> {
        self.offender
    }

    /// This node's index.
    pub fn me(&self) -> ValidatorIndex {
        self.cfg.me
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// A one-line summary of the current view (for simulator reports and logs).
    pub fn describe(&self) -> String {
        let state = self.views.get(&self.view);
        let flag = |b: bool, c: char| if b { c } else { '-' };
        let (mine, certs) = state.map_or((String::new(), String::new()), |s| {
            let m = &s.mine;
            let mine: String = [
                flag(m.notarize.is_some(), 'N'),
                flag(m.nullify.is_some(), 'X'),
                flag(m.finalize.is_some(), 'F'),
            ]
            .iter()
            .collect();
            let certs: String = [
                flag(s.notarization.is_some(), 'N'),
                flag(s.nullification.is_some(), 'X'),
                flag(s.finalization.is_some(), 'F'),
            ]
            .iter()
            .collect();
            (mine, certs)
        });
        format!(
            "view {} (mine {mine}, certs {certs}, votes n{}/x{}/f{}), final {}@{}, floor {}, \
             nullified runs {}, catch-up {}, \
             wants {:?}",
            self.view,
            state.map_or(0, |s| s.notarizes.len()),
            state.map_or(0, |s| s.nullifies.len()),
            state.map_or(0, |s| s.finalizes.len()),
            self.finalized.height,
            self.finalized.view,
            self.floor,
            self.nullified.len(),
            self.catchup.len(),
            self.wants.keys().take(4).collect::<Vec<_>>()
        )
    }

    /// Number of views with state held in memory.
    pub fn views_held(&self) -> usize {
        self.views.len()
    }

    /// What the node holds in memory, counted (for the simulator's bounded-state check).
    #[doc(hidden)]
    pub fn held(&self) -> Held {
        let mut held = Held { views: self.views.len(), ..Held::default() };
        for state in self.views.values() {
            held.votes += state.notarizes.len() + state.nullifies.len() + state.finalizes.len();
            held.votes += state.waiting.len();
            let certificates = [&state.notarization, &state.nullification, &state.finalization];
            held.certificates += certificates.iter().filter(|c| c.is_some()).count();
        }
        let mine: BTreeSet<Hash> = self
            .views
            .values()
            .filter_map(|s| s.mine.notarize.and_then(|v| v.vote.proposal().map(|p| p.digest)))
            .collect();
        let certified: BTreeSet<Hash> = self.views.values().filter_map(|s| s.certified()).collect();
        let chain: BTreeSet<&Hash> = self.finalized_chain.iter().collect();
        held.proposals = self
            .blocks
            .keys()
            .filter(|d| !mine.contains(d) && !certified.contains(d) && !chain.contains(d))
            .filter(|d| !self.catchup.values().any(|c| c == *d))
            .count();
        held
    }
}
