//! Byzantine behaviours: each runs the real core and rewrites what it sends.

use super::rng::Rng;
use crate::types::{
    BLOCK_PAYLOAD_BYTES_MAX, Block, Message, Round, SignedVote, ValidatorIndex, View, Vote,
};
use crate::validators::sign_vote;
use std::collections::BTreeMap;
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash};

/// How a simulated validator behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Behavior {
    /// Follows the protocol.
    Honest,
    /// As leader, sends one block to half the validators and another to the rest.
    Equivocator,
    /// Sends half the validators its real notarize/finalize and the rest a conflicting one.
    Conflicter,
    /// Sends a nullify next to every finalize, and a finalize next to every notarize.
    NullifyFinalize,
    /// Corrupts the signature of every vote and certificate it sends.
    BadSignature,
    /// Sends nothing.
    Silent,
    /// One of two nodes sharing a key, each sending to its own part of the validators.
    Twin,
    /// As leader, proposes a block that breaks the validity rule: a parent that is not
    /// certified, a skipped view that was not nullified, a wrong height, or an oversized payload.
    InvalidProposer,
    /// As leader, withholds its block from one validator per view; never serves blocks.
    Withholder,
}

impl Behavior {
    /// Whether the behaviour follows the protocol.
    pub fn is_honest(self) -> bool {
        self == Behavior::Honest
    }
}

/// Who sends, with what key, and the blocks proposed so far (by digest).
pub(crate) struct Sender<'a> {
    pub(crate) behavior: Behavior,
    pub(crate) key: &'a Keypair,
    pub(crate) chain_id: &'a ChainId,
    pub(crate) me: ValidatorIndex,
    pub(crate) known: &'a BTreeMap<Hash, Block>,
}

/// What a byzantine node sends instead of `message` to `recipients`.
pub(crate) fn rewrite(
    sender: &Sender<'_>,
    message: Message,
    recipients: &[ValidatorIndex],
    rng: &mut Rng,
) -> Vec<(ValidatorIndex, Message)> {
    let Sender { behavior, key, chain_id, me, known } = *sender;
    let all = |m: &Message| recipients.iter().map(|r| (*r, m.clone())).collect::<Vec<_>>();
    let split = |rng: &mut Rng, a: Message, b: Message| {
        let offset = rng.below(2) as usize;
        recipients
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let m = if (i + offset).is_multiple_of(2) { &a } else { &b };
                (*r, m.clone())
            })
            .collect::<Vec<_>>()
    };
    let sign = |vote: Vote| sign_vote(key, chain_id, me, vote);
    match behavior {
        Behavior::Honest | Behavior::Twin => all(&message),
        Behavior::Silent => Vec::new(),
        Behavior::InvalidProposer => match message {
            Message::Propose { block, .. } => {
                let bad = invalid(block, known, rng);
                let vote = sign(Vote::Notarize(bad.proposal()));
                all(&Message::Propose { block: bad, vote })
            }
            m => all(&m),
        },
        Behavior::Withholder => match message {
            Message::Propose { block, vote } => {
                let skip = (block.view.0 % recipients.len().max(1) as u64) as usize;
                let m = Message::Propose { block, vote };
                let to = recipients.iter().enumerate().filter(|(i, _)| *i != skip);
                to.map(|(_, r)| (*r, m.clone())).collect()
            }
            Message::Blocks(_) => Vec::new(),
            m => all(&m),
        },
        Behavior::BadSignature => {
            // Every vote goes out with a broken signature, and next to it a stale nullify (two
            // views back) with a broken signature, which tempts peers to help before checking.
            let stale = match &message {
                Message::Vote(v) if v.vote.view().0 > 2 => {
                    let round =
                        Round { epoch: v.vote.round().epoch, view: View(v.vote.view().0 - 2) };
                    Some(Message::Vote(sign(Vote::Nullify(round))))
                }
                _ => None,
            };
            let mut out = all(&corrupt(message, rng));
            if let Some(stale) = stale {
                out.extend(all(&corrupt(stale, rng)));
            }
            out
        }
        Behavior::Equivocator => match message {
            Message::Propose { block, vote } => {
                let mut other = block.clone();
                other.payload.push(0xee);
                let other_vote = sign(Vote::Notarize(other.proposal()));
                let a = Message::Propose { block, vote };
                let b = Message::Propose { block: other, vote: other_vote };
                let mut out = split(rng, a.clone(), b.clone());
                // Then show some recipients the other version too, so they see both.
                for (r, m) in out.clone() {
                    if rng.chance(500) {
                        out.push((r, if m == a { b.clone() } else { a.clone() }));
                    }
                }
                out
            }
            m => all(&m),
        },
        Behavior::Conflicter => match message {
            Message::Vote(SignedVote { vote: Vote::Notarize(p) | Vote::Finalize(p), .. }) => {
                let Message::Vote(real) = &message else {
                    return all(&message);
                };
                let mut fake = p;
                fake.digest = Hash::of(&rng.next_u64().to_le_bytes());
                let fake = match real.vote {
                    Vote::Notarize(_) => Vote::Notarize(fake),
                    _ => Vote::Finalize(fake),
                };
                split(rng, message.clone(), Message::Vote(sign(fake)))
            }
            m => all(&m),
        },
        Behavior::NullifyFinalize => {
            let mut out = all(&message);
            if let Message::Vote(v) = &message {
                let extra = match v.vote {
                    Vote::Finalize(p) => {
                        Some(Vote::Nullify(Round { epoch: p.epoch, view: p.view }))
                    }
                    Vote::Notarize(p) => Some(Vote::Finalize(p)),
                    Vote::Nullify(_) => None,
                };
                if let Some(extra) = extra {
                    out.extend(all(&Message::Vote(sign(extra))));
                }
            }
            out
        }
    }
}

/// A block that breaks the validity rule in one of four ways, chosen at random.
fn invalid(mut block: Block, known: &BTreeMap<Hash, Block>, rng: &mut Rng) -> Block {
    // An oversized payload costs every recipient a 1 MiB decode: one proposal in sixteen.
    match rng.below(16) {
        0..=4 => block.parent = Hash::of(&rng.next_u64().to_le_bytes()),
        5..=9 => match known.get(&block.parent) {
            // Build on the grandparent: the parent's view is skipped without a nullification.
            Some(parent) if parent.height.0 > 0 => {
                block.parent = parent.parent;
                block.parent_view = parent.parent_view;
                block.height = parent.height;
            }
            _ => block.height = block.height.checked_next().unwrap_or(block.height),
        },
        // The parent's height again: a second block at one height if anyone accepted it.
        10..=14 => block.height = volt_proto::Height(block.height.0.saturating_sub(1)),
        _ => block.payload = vec![0xbb; BLOCK_PAYLOAD_BYTES_MAX + 1],
    }
    block
}

fn flip(signature: &mut volt_proto::Signature, rng: &mut Rng) {
    let i = rng.below(64) as usize;
    signature.0[i] ^= 1 << rng.below(8);
}

fn corrupt(message: Message, rng: &mut Rng) -> Message {
    match message {
        Message::Vote(mut v) => {
            flip(&mut v.signature, rng);
            Message::Vote(v)
        }
        Message::Propose { block, mut vote } => {
            flip(&mut vote.signature, rng);
            Message::Propose { block, vote }
        }
        Message::Certificate(mut c) => {
            if let Some(s) = c.signatures.first_mut() {
                flip(s, rng);
            }
            Message::Certificate(c)
        }
        m => m,
    }
}
