//! A small harness shared by integration tests: keys, blocks, signed votes and certificates.

// Not every test file uses every helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use volt_consensus::core::{Config, Core, Input, Output, Timeouts};
use volt_consensus::journal::Record;
use volt_consensus::types::{
    Block, Certificate, Epoch, Message, Request, Round, SignedVote, ValidatorIndex, View, Vote,
};
use volt_consensus::validators::{ValidatorSet, sign_vote};
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Height};

/// Node under test: validator 2 of 4 (leader of views 2, 6, 10, ...).
pub const ME: ValidatorIndex = 2;
/// The other validators of a set of four, enough for a quorum.
pub const OTHERS: [ValidatorIndex; 3] = [0, 1, 3];

pub struct H {
    pub keys: Vec<Keypair>,
    pub set: ValidatorSet,
    pub chain: ChainId,
    pub genesis: Block,
}

impl H {
    pub fn new(n: usize) -> H {
        let keys: Vec<Keypair> =
            (0..n).map(|i| Keypair::for_testing(&format!("core-test-{i}"))).collect();
        H {
            set: ValidatorSet::from_keypairs(&keys).unwrap(),
            keys,
            chain: ChainId::new("core-test").unwrap(),
            genesis: Block::genesis(Epoch(0), b"genesis".to_vec()),
        }
    }

    pub fn config(&self, me: ValidatorIndex) -> Config {
        Config {
            chain_id: self.chain.clone(),
            epoch: Epoch(0),
            validators: self.set.clone(),
            me,
            key: self.keys[usize::from(me)].clone(),
            timeouts: Timeouts::default(),
            canary: Default::default(),
        }
    }

    /// A started node.
    /// A core for validator `me` restarted from `records` (not started).
    pub fn core_from(&self, me: ValidatorIndex, records: &[Record]) -> Core {
        Core::new(self.config(me), self.genesis.clone(), records).unwrap()
    }

    pub fn core(&self, me: ValidatorIndex) -> Core {
        let mut core = Core::new(self.config(me), self.genesis.clone(), &[]).unwrap();
        core.handle(0, Input::Start);
        core
    }

    pub fn vote(&self, signer: ValidatorIndex, vote: Vote) -> SignedVote {
        sign_vote(&self.keys[usize::from(signer)], &self.chain, signer, vote)
    }

    pub fn block(&self, view: u64, parent: &Block, payload: &[u8]) -> Block {
        Block {
            epoch: Epoch(0),
            view: View(view),
            height: Height(parent.height.0 + 1),
            parent_view: parent.view,
            parent: parent.digest(),
            payload: payload.to_vec(),
        }
    }

    pub fn propose(&self, block: &Block) -> Message {
        let leader = self.set.leader(block.view);
        Message::Propose {
            block: block.clone(),
            vote: self.vote(leader, Vote::Notarize(block.proposal())),
        }
    }

    pub fn cert(&self, vote: Vote, signers: &[ValidatorIndex]) -> Certificate {
        let sigs: Vec<_> = signers.iter().map(|s| (*s, self.vote(*s, vote).signature)).collect();
        Certificate::from_votes(vote, self.set.len(), &sigs)
    }

    /// A certificate of the three other validators, as a message.
    pub fn cert_msg(&self, vote: Vote) -> Message {
        Message::Certificate(self.cert(vote, &OTHERS))
    }
}

pub fn nullify(view: u64) -> Vote {
    Vote::Nullify(Round { epoch: Epoch(0), view: View(view) })
}

pub fn msg(from: ValidatorIndex, message: &Message) -> Input {
    Input::Message { from, bytes: message.encode() }
}

pub fn sent(outputs: &[Output]) -> Vec<Message> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast(m) | Output::Send { message: m, .. } => Some(m.clone()),
            _ => None,
        })
        .collect()
}

pub fn own_votes(outputs: &[Output]) -> Vec<Vote> {
    sent(outputs)
        .into_iter()
        .filter_map(|m| match m {
            Message::Vote(v) | Message::Propose { vote: v, .. } if v.signer == ME => Some(v.vote),
            _ => None,
        })
        .collect()
}

pub fn journal(outputs: &[Output]) -> Vec<Record> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::JournalAppend(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// The fetches a turn sends (each to one peer, as a request message).
pub fn fetches(outputs: &[Output]) -> Vec<Request> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { message: Message::Request(r), .. } => Some(*r),
            _ => None,
        })
        .collect()
}
