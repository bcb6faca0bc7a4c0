//! Serving and fetching certificates and blocks, delivering finalized blocks, pruning.

use super::{
    Core, FINALIZE_BLOCKS_PER_TURN_MAX, FINALIZED_BLOCKS_KEPT, JOURNAL_PRUNE_VIEWS, Output,
    Rejection, Tip,
};
use crate::types::{
    BLOCK_PAYLOAD_BYTES_MAX, BLOCKS_PER_RESPONSE_MAX, Block, MESSAGE_BYTES_MAX, Message, Request,
    ValidatorIndex,
};

impl Core {
    pub(super) fn on_request(&mut self, from: ValidatorIndex, request: Request) {
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
                        self.send(from, Message::Certificate(best));
                    }
                }
                for certificate in held {
                    self.send(from, Message::Certificate(certificate));
                }
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
                    self.send(from, Message::Blocks(blocks));
                }
            }
        }
    }

    /// Accepts blocks that were asked for, and the ancestors that follow them in the answer.
    pub(super) fn on_blocks(&mut self, blocks: Vec<Block>) {
        if blocks.len() > BLOCKS_PER_RESPONSE_MAX {
            return self.reject(Rejection::Malformed);
        }
        let mut expected = None;
        for block in blocks {
            let digest = block.digest();
            let asked = self.wants.remove(&Request::Block(digest)).is_some();
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

    /// Delivers every block up to the best finalization whose chain is complete.
    pub(super) fn advance_finalized(&mut self) {
        let Some(certificate) = self.best_finalization.clone() else {
            return;
        };
        let Some(tip) = certificate.vote.proposal().copied() else {
            return;
        };
        if tip.view <= self.finalized.view {
            return;
        }
        let mut chain = Vec::new();
        let mut digest = tip.digest;
        loop {
            let Some(block) = self.blocks.get(&digest) else {
                self.want(Request::Block(digest));
                return;
            };
            if block.height <= self.finalized.height
                || block.view <= self.finalized.view
                || chain.len() >= FINALIZE_BLOCKS_PER_TURN_MAX
            {
                // A finalized chain that does not extend ours: more than f faults.
                return self.reject(Rejection::Fork);
            }
            chain.push(block.clone());
            if block.height.0 == self.finalized.height.0 + 1 {
                if block.parent != self.finalized.digest {
                    return self.reject(Rejection::Fork);
                }
                break;
            }
            digest = block.parent;
        }
        for block in chain.into_iter().rev() {
            let digest = block.digest();
            self.finalized = Tip { view: block.view, height: block.height, digest };
            self.finalized_chain.push_back(digest);
            self.emit(Output::Finalized { block, certificate: certificate.clone() });
        }
        self.prune();
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
        let chain = &self.finalized_chain;
        self.blocks.retain(|digest, block| block.view >= finalized || chain.contains(digest));
        self.wants.retain(|request, _| match request {
            Request::Certificates(view) => *view > finalized,
            Request::Block(_) => true,
        });
        if finalized.0 >= self.floor.0.saturating_add(JOURNAL_PRUNE_VIEWS) {
            self.floor = finalized.next();
            self.request_rewrite();
        }
    }
}
