//! Wire and journal types: views, proposals, blocks, votes, certificates and messages.
//!
//! Everything here is encoded with the canonical codec (`volt_proto::codec`), so every value has
//! exactly one byte string and the signed bytes of a vote are the codec bytes of its subject.

use serde::{Deserialize, Serialize};
use volt_proto::codec::{self, CodecError};
use volt_proto::sig::Domain;
use volt_proto::{Hash, Height, Signature};

/// Most validators one set may have (the signer bitmap and every per-view map are bounded by it).
pub const VALIDATORS_MAX: usize = 128;
/// Largest encoded [`Message`] accepted from a peer, in bytes.
pub const MESSAGE_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Largest block payload, in bytes (a [`Message::Blocks`] answer carries at most
/// [`BLOCKS_PER_RESPONSE_MAX`] of them, which stays under [`MESSAGE_BYTES_MAX`] only for small
/// payloads; the responder trims the answer to fit).
pub const BLOCK_PAYLOAD_BYTES_MAX: usize = 1024 * 1024;
/// Most blocks in one [`Message::Blocks`] answer.
pub const BLOCKS_PER_RESPONSE_MAX: usize = 16;
/// Votes and proposals more than this many views ahead of the entered view are dropped: they
/// would make a node keep state for views it cannot yet judge.
pub const VIEWS_AHEAD_MAX: u64 = 64;

/// A position in the sequence of leaders. View 0 is genesis; the first proposal is in view 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct View(pub u64);

impl View {
    /// The next view (saturating: an honest quorum never reaches `u64::MAX`).
    pub fn next(self) -> View {
        View(self.0.saturating_add(1))
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A validator-set generation. One engine runs one epoch; votes of any other epoch are dropped.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Epoch(pub u64);

/// A validator's position in the genesis validator set.
pub type ValidatorIndex = u16;

/// An (epoch, view) pair: what a `Nullify` vote signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Round {
    /// The epoch.
    pub epoch: Epoch,
    /// The view.
    pub view: View,
}

/// What `Notarize` and `Finalize` sign: a block digest at a view, with its parent's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Proposal {
    /// The epoch.
    pub epoch: Epoch,
    /// The view of the block.
    pub view: View,
    /// The view of its parent (`< view`).
    pub parent_view: View,
    /// The block digest ([`Block::digest`]).
    pub digest: Hash,
}

impl Proposal {
    /// The (epoch, view) of this proposal.
    pub fn round(&self) -> Round {
        Round { epoch: self.epoch, view: self.view }
    }
}

/// A block: consensus metadata around an opaque application payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The epoch it was proposed in.
    pub epoch: Epoch,
    /// The view it was proposed in.
    pub view: View,
    /// Its height: its parent's height plus one (genesis is 0).
    pub height: Height,
    /// The view of its parent.
    pub parent_view: View,
    /// The digest of its parent (`Hash::ZERO` for genesis).
    pub parent: Hash,
    /// The application's bytes.
    pub payload: Vec<u8>,
}

/// The hashed header: the payload enters through its own digest, so a header can be checked
/// without the payload.
#[derive(Serialize)]
struct Header {
    epoch: Epoch,
    view: View,
    height: Height,
    parent_view: View,
    parent: Hash,
    payload: Hash,
}

impl Block {
    /// blake3 over the canonical header.
    pub fn digest(&self) -> Hash {
        codec::hash(&Header {
            epoch: self.epoch,
            view: self.view,
            height: self.height,
            parent_view: self.parent_view,
            parent: self.parent,
            payload: Hash::of(&self.payload),
        })
    }

    /// The genesis block of an epoch: view 0, height 0, no parent.
    pub fn genesis(epoch: Epoch, payload: Vec<u8>) -> Block {
        Block {
            epoch,
            view: View(0),
            height: Height(0),
            parent_view: View(0),
            parent: Hash::ZERO,
            payload,
        }
    }

    /// The proposal naming this block.
    pub fn proposal(&self) -> Proposal {
        Proposal {
            epoch: self.epoch,
            view: self.view,
            parent_view: self.parent_view,
            digest: self.digest(),
        }
    }
}

/// The three votes of Simplex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Vote {
    /// "This proposal is valid and the first I saw in its view."
    Notarize(Proposal),
    /// "Skip this view" (a timeout or an invalid proposal).
    Nullify(Round),
    /// "This notarized proposal is final" (sent only if the signer did not nullify the view).
    Finalize(Proposal),
}

/// The kind of a [`Vote`] (and of the certificate it forms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VoteKind {
    /// `Notarize` / notarization.
    Notarize,
    /// `Nullify` / nullification.
    Nullify,
    /// `Finalize` / finalization.
    Finalize,
}

impl Vote {
    /// The (epoch, view) voted on.
    pub fn round(&self) -> Round {
        match self {
            Vote::Notarize(p) | Vote::Finalize(p) => p.round(),
            Vote::Nullify(r) => *r,
        }
    }

    /// The view voted on.
    pub fn view(&self) -> View {
        self.round().view
    }

    /// The kind.
    pub fn kind(&self) -> VoteKind {
        match self {
            Vote::Notarize(_) => VoteKind::Notarize,
            Vote::Nullify(_) => VoteKind::Nullify,
            Vote::Finalize(_) => VoteKind::Finalize,
        }
    }

    /// The proposal, for `Notarize` and `Finalize`.
    pub fn proposal(&self) -> Option<&Proposal> {
        match self {
            Vote::Notarize(p) | Vote::Finalize(p) => Some(p),
            Vote::Nullify(_) => None,
        }
    }

    /// The signature domain: one per kind, so a vote of one kind never verifies as another.
    pub fn domain(&self) -> Domain {
        match self {
            Vote::Notarize(_) => Domain::Notarize,
            Vote::Nullify(_) => Domain::Nullify,
            Vote::Finalize(_) => Domain::Finalize,
        }
    }

    /// The payload that is signed (the domain and chain id are added by `signing_message`).
    pub fn signed_payload(&self) -> Vec<u8> {
        match self {
            Vote::Notarize(p) | Vote::Finalize(p) => codec::encode(p),
            Vote::Nullify(r) => codec::encode(r),
        }
    }
}

/// A vote with its signer and signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVote {
    /// What is voted.
    pub vote: Vote,
    /// Who signed (index into the validator set).
    pub signer: ValidatorIndex,
    /// The signature over `signing_message(vote.domain(), chain_id, vote.signed_payload())`.
    pub signature: Signature,
}

/// 2f+1 matching votes from distinct validators: a notarization, nullification or finalization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The vote every signer signed.
    pub vote: Vote,
    /// Signer bitmap: bit `i % 8` of byte `i / 8` is validator `i`; exactly `ceil(n / 8)` bytes,
    /// unused high bits zero.
    pub signers: Vec<u8>,
    /// One signature per set bit, in ascending signer order.
    pub signatures: Vec<Signature>,
}

impl Certificate {
    /// The signer indices, in ascending order (bits beyond the bitmap length are not read).
    pub fn signer_indices(&self) -> Vec<ValidatorIndex> {
        let mut out = Vec::new();
        for (byte_index, byte) in self.signers.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    out.push((byte_index * 8 + bit) as ValidatorIndex);
                }
            }
        }
        out
    }

    /// Builds a certificate from `(signer, signature)` pairs sorted by signer for `n` validators.
    pub fn from_votes(vote: Vote, n: usize, votes: &[(ValidatorIndex, Signature)]) -> Certificate {
        let mut signers = vec![0u8; n.div_ceil(8)];
        let mut signatures = Vec::with_capacity(votes.len());
        for (signer, signature) in votes {
            let i = usize::from(*signer);
            signers[i / 8] |= 1 << (i % 8);
            signatures.push(*signature);
        }
        Certificate { vote, signers, signatures }
    }
}

/// What a node asks its peers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Request {
    /// Every certificate the peer holds for this view.
    Certificates(View),
    /// The block with this digest and as many of its ancestors as fit.
    Block(Hash),
}

/// Everything one validator sends another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A leader's block together with its own `Notarize` vote for it.
    Propose {
        /// The block.
        block: Block,
        /// The leader's `Notarize` for `block.proposal()`.
        vote: SignedVote,
    },
    /// A vote.
    Vote(SignedVote),
    /// A certificate.
    Certificate(Certificate),
    /// A request for certificates or blocks.
    Request(Request),
    /// Blocks answering a [`Request::Block`]: the asked block first, then its ancestors.
    Blocks(Vec<Block>),
}

impl Message {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes peer bytes, refusing anything over [`MESSAGE_BYTES_MAX`] or not canonical.
    pub fn decode(bytes: &[u8]) -> Result<Message, CodecError> {
        codec::decode(bytes, MESSAGE_BYTES_MAX)
    }
}
