//! The virtual network: partitions and eclipses, per-link latency and jitter, loss,
//! duplication, corruption, byzantine rewriting of sends, and the block stores' answers.

use super::{Behavior, Event, Mix, Sim, byzantine};
use crate::types::{BLOCKS_PER_RESPONSE_MAX, Block, Message, ValidatorIndex};
use volt_proto::Hash;

#[derive(Clone, Debug)]
pub(super) struct Partition {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) side: Vec<bool>,
    pub(super) symmetric: bool,
}

impl Sim {
    /// Block sync as the node runs it: the asked peer's application store (the finalized
    /// chain, durable across crashes), if that node is running, answers a block request it can
    /// serve with the block and its ancestors, over the same faulty network.
    pub(super) fn serve_from_store(&mut self, requester: usize, to: ValidatorIndex, digest: Hash) {
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

    pub(super) fn partitioned(&self, from: ValidatorIndex, to: ValidatorIndex) -> bool {
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

    pub(super) fn transmit(&mut self, slot: usize, to: Option<ValidatorIndex>, message: Message) {
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

    pub(super) fn deliver(&mut self, from: ValidatorIndex, slot: usize, mut bytes: Vec<u8>) {
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
}
