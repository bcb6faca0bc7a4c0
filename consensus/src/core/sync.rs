//! Serving and fetching certificates and blocks, delivering finalized blocks, pruning.

use super::{
    ANSWER_BYTES_PER_PEER_PER_SECOND_MAX, ANSWERS_PER_PEER_PER_SECOND_MAX, Canary, Core,
    FINALIZE_BLOCKS_PER_TURN_MAX, FINALIZE_WALK_PER_TURN_MAX, FINALIZED_BLOCKS_KEPT,
    JOURNAL_PRUNE_VIEWS, Output, Rejection, Tip,
};
use crate::types::{
    BLOCK_PAYLOAD_BYTES_MAX, BLOCKS_PER_RESPONSE_MAX, Block, MESSAGE_BYTES_MAX, Message, Request,
    ValidatorIndex, View,
};
use std::collections::BTreeSet;
use volt_proto::Hash;

/// Requests answered within the last `fetch_retry_ms` that are remembered (per peer and
/// request); past it, new requests wait until old entries age out.
pub const SERVED_MAX: usize = 4096;

/// The old walk limit that [`Canary::FinalizeAllOrNothing`] brings back.
const OLD_FINALIZE_WALK_MAX: usize = 1024;

impl Core {
    pub(super) fn on_request(&mut self, from: ValidatorIndex, request: Request) {
        // One answer per peer and request per `fetch_retry_ms`: an honest peer repeats a fetch
        // no sooner, and a flood of copies must not turn a few bytes into megabytes of sends.
        let retry = self.cfg.timeouts.fetch_retry_ms;
        let now = self.now;
        if let Some(at) = self.served.get(&(from, request))
            && now < at.saturating_add(retry)
        {
            return self.reject(Rejection::Duplicate);
        }
        if self.served.len() >= SERVED_MAX {
            self.served.retain(|_, at| now < at.saturating_add(retry));
            if self.served.len() >= SERVED_MAX {
                return self.reject(Rejection::Duplicate); // over budget: a flood of distinct asks
            }
        }
        self.served.insert((from, request), now);
        let answers = self.answers(request);
        let bytes: usize = answers.iter().map(answer_bytes).sum();
        if answers.is_empty() {
            return;
        }
        if !self.charge(from, bytes) {
            return self.reject(Rejection::OverBudget);
        }
        for answer in answers {
            self.send(from, answer);
        }
    }

    /// Takes `bytes` of answers out of `peer`'s budget for the current second; false (and
    /// nothing taken) when the budget cannot cover them.
    fn charge(&mut self, peer: ValidatorIndex, bytes: usize) -> bool {
        let second = self.now / 1000;
        let budget = self.budgets.entry(peer).or_insert((second, 0, 0));
        if budget.0 != second {
            *budget = (second, 0, 0);
        }
        let (_, answers, spent) = *budget;
        let over_bytes =
            answers > 0 && spent.saturating_add(bytes) > ANSWER_BYTES_PER_PEER_PER_SECOND_MAX;
        if answers >= ANSWERS_PER_PEER_PER_SECOND_MAX || over_bytes {
            return false;
        }
        *budget = (second, answers + 1, spent.saturating_add(bytes));
        true
    }

    /// What this node answers `request` with: the certificates it holds for the view (or its
    /// best finalization if the view is settled here), or the block and up to
    /// [`BLOCKS_PER_RESPONSE_MAX`] − 1 of its ancestors.
    fn answers(&self, request: Request) -> Vec<Message> {
        let mut out = Vec::new();
        match request {
            Request::Certificates(view) => {
                let held: Vec<_> = self
                    .views
                    .get(&view)
                    .map(|s| {
                        [&s.notarization, &s.nullification, &s.finalization]
                            .into_iter()
                            .flatten()
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                if held.is_empty() {
                    // Settled here already: the best finalization moves the asker past it.
                    if view <= self.finalized.view
                        && let Some(best) = self.best_finalization.clone()
                    {
                        out.push(Message::Certificate(best));
                    }
                }
                out.extend(held.into_iter().map(Message::Certificate));
            }
            Request::Block(digest) => {
                let mut blocks = Vec::new();
                let mut bytes = 0usize;
                let mut next = Some(digest);
                while let Some(digest) = next {
                    let Some(block) = self.blocks.get(&digest) else {
                        break;
                    };
                    bytes += block.payload.len() + 256;
                    if blocks.len() == BLOCKS_PER_RESPONSE_MAX
                        || (bytes > MESSAGE_BYTES_MAX / 2 && !blocks.is_empty())
                    {
                        break;
                    }
                    next = (block.height.0 > 0).then_some(block.parent);
                    blocks.push(block.clone());
                }
                if !blocks.is_empty() {
                    out.push(Message::Blocks(blocks));
                }
            }
        }
        out
    }

    /// Accepts blocks that were asked for, and the ancestors that follow them in the answer.
    pub(super) fn on_blocks(&mut self, blocks: Vec<Block>) {
        if blocks.len() > BLOCKS_PER_RESPONSE_MAX {
            return self.reject(Rejection::Malformed);
        }
        let mut expected = None;
        for block in blocks {
            let digest = block.digest();
            let asked = self.got(&Request::Block(digest));
            if !(asked || expected == Some(digest)) {
                return self.reject(Rejection::Unwanted);
            }
            if block.payload.len() > BLOCK_PAYLOAD_BYTES_MAX || block.epoch != self.cfg.epoch {
                return self.reject(Rejection::Malformed);
            }
            if block.height <= self.finalized.height {
                return;
            }
            expected = Some(block.parent);
            self.blocks.entry(digest).or_insert(block);
        }
    }

    /// Delivers the finalized chain up to the best finalization, lowest blocks first, at most
    /// [`FINALIZE_BLOCKS_PER_TURN_MAX`] a turn. The chain is learnt by walking parent digests
    /// down from the finalization (at most [`FINALIZE_WALK_PER_TURN_MAX`] links a turn; a
    /// missing block is fetched and the walk resumes where it stopped), so a node any number of
    /// blocks behind catches up.
    pub(super) fn advance_finalized(&mut self) {
        let Some(tip) = self.best_finalization.as_ref().and_then(|c| c.vote.proposal().copied())
        else {
            return;
        };
        if tip.view <= self.finalized.view {
            return;
        }
        if self.catchup_tip != Some(tip.digest) {
            self.catchup_tip = Some(tip.digest);
            self.catchup_cursor = Some(tip.digest);
        }
        if !self.walk_catchup(tip.view) {
            return;
        }
        if self.cfg.canary == Canary::FinalizeAllOrNothing
            && self.catchup_cursor.is_none()
            && self.catchup.len() > OLD_FINALIZE_WALK_MAX
        {
            // BROKEN ON PURPOSE: the old all-or-nothing walk gave up here (defect 3).
            return self.reject(Rejection::Fork);
        }
        self.deliver_catchup();
    }

    /// Follows parent links from the cursor, recording the chain by height. False on a fork.
    fn walk_catchup(&mut self, tip_view: View) -> bool {
        for _ in 0..FINALIZE_WALK_PER_TURN_MAX {
            let Some(digest) = self.catchup_cursor else {
                return true;
            };
            let Some(block) = self.blocks.get(&digest) else {
                self.want_for_finality(Request::Block(digest), tip_view);
                return true;
            };
            let (height, parent) = (block.height, block.parent);
            if height <= self.finalized.height || block.view <= self.finalized.view {
                // A finalized chain that does not extend ours: more than f faults.
                self.catchup_cursor = None;
                self.reject(Rejection::Fork);
                return false;
            }
            let joined = self.catchup.insert(height, digest) == Some(digest);
            self.catchup_cursor = if height.0 == self.finalized.height.0 + 1 {
                None
            } else if joined {
                // The rest below was walked from an earlier tip: resume under its lowest block.
                self.catchup_resume()
            } else {
                Some(parent)
            };
        }
        true
    }

    /// Where the walk goes on after joining the chain walked from an earlier tip.
    fn catchup_resume(&self) -> Option<volt_proto::Hash> {
        let (height, digest) = self.catchup.first_key_value()?;
        if height.0 == self.finalized.height.0 + 1 {
            return None;
        }
        self.blocks.get(digest).map(|b| b.parent)
    }

    /// Hands the lowest walked blocks to the application, in height order without gaps.
    fn deliver_catchup(&mut self) {
        // The best finalization is cloned only in a turn that delivers (not in every turn
        // that waits for a block), and then once per delivered block, for the output.
        let mut certificate = None;
        let mut delivered = 0;
        while delivered < FINALIZE_BLOCKS_PER_TURN_MAX {
            let next = self.finalized.height.checked_next();
            let Some(digest) = next.and_then(|h| self.catchup.get(&h)).copied() else {
                break;
            };
            let Some(block) = self.blocks.get(&digest) else {
                break;
            };
            if block.parent != self.finalized.digest {
                self.catchup.clear();
                self.catchup_cursor = None;
                return self.reject(Rejection::Fork);
            }
            let block = block.clone();
            if certificate.is_none() {
                certificate = self.best_finalization.clone();
            }
            let Some(certificate) = certificate.as_ref() else {
                break;
            };
            self.catchup.remove(&block.height);
            self.finalized = Tip { view: block.view, height: block.height, digest };
            self.finalized_chain.push_back(digest);
            self.emit(Output::Finalized { block, certificate: certificate.clone() });
            delivered += 1;
        }
        if delivered > 0 {
            self.prune();
        }
    }

    /// Forgets what finality settled, and prunes the journal every [`JOURNAL_PRUNE_VIEWS`].
    fn prune(&mut self) {
        let finalized = self.finalized.view;
        self.views = self.views.split_off(&finalized);
        while self.finalized_chain.len() > FINALIZED_BLOCKS_KEPT {
            if let Some(old) = self.finalized_chain.pop_front() {
                self.blocks.remove(&old);
            }
        }
        let chain: BTreeSet<&Hash> = self.finalized_chain.iter().collect();
        self.blocks.retain(|digest, block| block.view >= finalized || chain.contains(digest));
        self.certified_views = self.certified_views.split_off(&finalized.next());
        self.nullified.prune_through(finalized);
        self.helped.retain(|(_, view)| *view >= finalized);
        self.expire_wants();
        if finalized.0 >= self.floor.0.saturating_add(JOURNAL_PRUNE_VIEWS) {
            self.floor = finalized.next();
            self.request_rewrite();
        }
    }
}

/// About how many bytes an answer costs on the wire (headers rounded up; payloads and
/// signatures exact), without encoding it.
fn answer_bytes(message: &Message) -> usize {
    match message {
        Message::Certificate(c) => 128 + c.signers.len() + 64 * c.signatures.len(),
        Message::Blocks(blocks) => blocks.iter().map(|b| 160 + b.payload.len()).sum(),
        _ => 128,
    }
}
