//! The safety oracle. Written apart from the core's own predicates: it re-derives quorum size,
//! checks every signature one by one (not in a batch), and judges only what nodes emitted.

use crate::types::{Block, Certificate, Message, ValidatorIndex, View, Vote};
use std::collections::{BTreeMap, BTreeSet};
use volt_proto::sig::{self, PublicKey};
use volt_proto::{ChainId, Hash, Height, codec};

/// One validator's votes in one view, as sent.
#[derive(Clone, Copy, Debug, Default)]
struct Discipline {
    notarize: Option<Hash>,
    nullify: bool,
    finalize: Option<Hash>,
}

/// Collects what the nodes did and the violations found.
#[derive(Debug)]
pub struct Checker {
    chain_id: ChainId,
    keys: Vec<PublicKey>,
    honest: Vec<bool>,
    signatures: BTreeMap<(ValidatorIndex, Vote, [u8; 64]), bool>,
    certificates: BTreeSet<Hash>,
    notarized: BTreeMap<View, Hash>,
    nullified: BTreeSet<View>,
    finalized_views: BTreeMap<View, Hash>,
    heights: BTreeMap<Height, Hash>,
    /// (parent view, view) of each finalized block, by height.
    ancestry: BTreeMap<Height, (View, View)>,
    votes: BTreeMap<(ValidatorIndex, View), Discipline>,
    /// Violations found, in the order found.
    pub violations: Vec<String>,
}

impl Checker {
    /// A checker for `keys` (genesis order); `honest[i]` says whether validator i is honest.
    pub fn new(chain_id: ChainId, keys: Vec<PublicKey>, honest: Vec<bool>) -> Checker {
        Checker {
            chain_id,
            keys,
            honest,
            signatures: BTreeMap::new(),
            certificates: BTreeSet::new(),
            notarized: BTreeMap::new(),
            nullified: BTreeSet::new(),
            finalized_views: BTreeMap::new(),
            heights: BTreeMap::new(),
            ancestry: BTreeMap::new(),
            votes: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    fn violation(&mut self, text: String) {
        if self.violations.len() < 64 {
            self.violations.push(text);
        }
    }

    fn signature_valid(&mut self, signer: ValidatorIndex, vote: Vote, signature: [u8; 64]) -> bool {
        let key = (signer, vote, signature);
        if let Some(ok) = self.signatures.get(&key) {
            return *ok;
        }
        let ok = self.keys.get(usize::from(signer)).is_some_and(|k| {
            let message =
                sig::signing_message(vote.domain(), &self.chain_id, &vote.signed_payload());
            sig::verify(k, &message, &volt_proto::Signature(signature)).is_ok()
        });
        self.signatures.insert(key, ok);
        ok
    }

    /// Observes a message as validator `sender` sent it (before the network touches it).
    pub fn observe_sent(&mut self, sender: ValidatorIndex, message: &Message) {
        let honest = self.honest.get(usize::from(sender)).copied().unwrap_or(false);
        match message {
            Message::Vote(v) | Message::Propose { vote: v, .. } if honest => {
                if v.signer == sender {
                    self.observe_vote(sender, v.vote);
                } else {
                    self.violation(format!("honest {sender} sent a vote signed by {}", v.signer));
                }
            }
            Message::Certificate(c) => self.observe_certificate(c, honest),
            _ => {}
        }
    }

    /// Vote discipline of an honest signer, across restarts.
    fn observe_vote(&mut self, signer: ValidatorIndex, vote: Vote) {
        let view = vote.view();
        let mut d = self.votes.get(&(signer, view)).copied().unwrap_or_default();
        match vote {
            Vote::Notarize(p) => match d.notarize {
                Some(h) if h != p.digest => {
                    self.violation(format!("honest {signer} notarized two digests in view {view}"))
                }
                _ => d.notarize = Some(p.digest),
            },
            Vote::Nullify(_) => d.nullify = true,
            Vote::Finalize(p) => match d.finalize {
                Some(h) if h != p.digest => {
                    self.violation(format!("honest {signer} finalized two digests in view {view}"))
                }
                _ => d.finalize = Some(p.digest),
            },
        }
        if d.nullify && d.finalize.is_some() {
            self.violation(format!("honest {signer} both nullified and finalized view {view}"));
        }
        self.votes.insert((signer, view), d);
    }

    /// Checks a certificate from first principles and records what it certifies.
    pub fn observe_certificate(&mut self, c: &Certificate, from_honest: bool) {
        let id = codec::hash(c);
        if !self.certificates.insert(id) {
            return;
        }
        let n = self.keys.len();
        let f = (n - 1) / 3;
        let mut problem = None;
        if c.signers.len() != n.div_ceil(8) {
            problem = Some("bitmap length".to_owned());
        }
        let signers = c.signer_indices();
        if signers.iter().any(|s| usize::from(*s) >= n) {
            problem = Some("signer outside the set".to_owned());
        }
        let distinct: BTreeSet<_> = signers.iter().collect();
        if distinct.len() != signers.len() || signers.len() != c.signatures.len() {
            problem = Some("signer count".to_owned());
        }
        if distinct.len() < 2 * f + 1 {
            problem = Some(format!("{} signers < 2f+1 = {}", distinct.len(), 2 * f + 1));
        }
        if problem.is_none() {
            for (s, signature) in signers.iter().zip(&c.signatures) {
                if !self.signature_valid(*s, c.vote, signature.0) {
                    problem = Some(format!("bad signature of {s}"));
                    break;
                }
            }
        }
        if let Some(problem) = problem {
            if from_honest {
                self.violation(format!("honest node emitted an invalid certificate: {problem}"));
            }
            return;
        }
        let view = c.vote.view();
        match c.vote {
            Vote::Notarize(p) => {
                if let Some(h) = self.notarized.insert(view, p.digest)
                    && h != p.digest
                {
                    self.violation(format!("two notarized digests in view {view}"));
                }
            }
            Vote::Nullify(_) => {
                self.nullified.insert(view);
            }
            Vote::Finalize(p) => {
                if let Some(h) = self.finalized_views.insert(view, p.digest)
                    && h != p.digest
                {
                    self.violation(format!("two finalized digests in view {view}"));
                }
                if let Some(h) = self.notarized.get(&view)
                    && *h != p.digest
                {
                    self.violation(format!("view {view} finalized a digest it did not notarize"));
                }
            }
        }
        if self.nullified.contains(&view) && self.finalized_views.contains_key(&view) {
            self.violation(format!("view {view} both nullified and finalized"));
        }
    }

    /// An honest node delivered `block` as final.
    pub fn observe_finalized(&mut self, node: usize, block: &Block) {
        let digest = block.digest();
        self.ancestry.insert(block.height, (block.parent_view, block.view));
        if let Some(h) = self.heights.insert(block.height, digest)
            && h != digest
        {
            self.violation(format!(
                "node {node} finalized a different block at height {}",
                block.height
            ));
        }
    }

    /// Ancestry of the finalized chain: views grow along it, and every view a block skipped
    /// over its parent was nullified (by a certificate seen on the wire).
    pub fn check_ancestry(&mut self) {
        let mut problems = Vec::new();
        let mut last_view = View(0);
        for (height, (parent_view, view)) in &self.ancestry {
            if *parent_view >= *view || (*parent_view != last_view && height.0 > 1) {
                problems.push(format!(
                    "height {height}: parent view {parent_view}, view {view}, previous {last_view}"
                ));
            }
            for skipped in parent_view.0 + 1..view.0 {
                if !self.nullified.contains(&View(skipped)) {
                    problems.push(format!(
                        "height {height} skipped view {skipped}, which has no nullification"
                    ));
                }
            }
            last_view = *view;
        }
        for problem in problems {
            self.violation(format!("ancestry: {problem}"));
        }
    }

    /// Records a free-form violation found by the driver (monotonicity, liveness, journal).
    pub fn fail(&mut self, text: String) {
        self.violation(text);
    }

    /// The longest run of consecutive views with a nullification seen on the wire.
    pub fn nullified_run_max(&self) -> u64 {
        let mut best = 0;
        let mut run = 0;
        let mut last = None;
        for view in &self.nullified {
            run = if last.is_some_and(|l: View| l.next() == *view) { run + 1 } else { 1 };
            best = best.max(run);
            last = Some(*view);
        }
        best
    }

    /// Number of distinct finalized heights seen.
    pub fn finalized_heights(&self) -> usize {
        self.heights.len()
    }
}
