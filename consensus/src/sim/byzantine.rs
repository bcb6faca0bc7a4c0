//! Byzantine behaviours: each runs the real core and rewrites what it sends.

use super::rng::Rng;
use crate::types::{Message, Round, SignedVote, ValidatorIndex, Vote};
use crate::validators::sign_vote;
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
}

impl Behavior {
    /// Whether the behaviour follows the protocol.
    pub fn is_honest(self) -> bool {
        self == Behavior::Honest
    }
}

/// What a byzantine node sends instead of `message` to `recipients`.
pub(crate) fn rewrite(
    behavior: Behavior,
    key: &Keypair,
    chain_id: &ChainId,
    me: ValidatorIndex,
    message: Message,
    recipients: &[ValidatorIndex],
    rng: &mut Rng,
) -> Vec<(ValidatorIndex, Message)> {
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
        Behavior::BadSignature => all(&corrupt(message, rng)),
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
