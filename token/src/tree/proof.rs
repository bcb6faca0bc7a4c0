//! Proofs of inclusion and non-inclusion, and the wallet-side verifier.
//!
//! A proof is the leaf found at the end of the key's path (or none, for an empty position) and
//! the sibling hash at every level from the root down to that position. [`verify`] is a pure
//! function of the root, the key, the claimed value and the proof, so a wallet checks a balance
//! against a finalized state root without any tree.

use serde::{Deserialize, Serialize};
use volt_proto::Hash;
use volt_proto::codec::{self, CodecError};

use super::hash::{self, EMPTY, KEY_BITS};

/// Most siblings a proof may carry: one per bit of the key hash.
pub const PROOF_SIBLINGS_MAX: usize = KEY_BITS;

/// Most bytes a canonically encoded proof may take: the `Option` tag and leaf (1 + 64), the
/// sibling count (8) and [`PROOF_SIBLINGS_MAX`] siblings of 32 bytes.
pub const PROOF_BYTES_MAX: usize = 1 + 64 + 8 + PROOF_SIBLINGS_MAX * 32;

/// The leaf a proof ends at: the key hash and value hash it commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofLeaf {
    /// blake3 of the leaf's key bytes.
    pub key_hash: Hash,
    /// blake3 of the leaf's value bytes.
    pub value_hash: Hash,
}

/// A proof that a key holds a value, or holds none, under a state root.
///
/// - Inclusion: `leaf` is the key's own leaf.
/// - Non-inclusion, empty subtree: `leaf` is `None`; the key's path ends at an empty position.
/// - Non-inclusion, other leaf: `leaf` is another key's leaf that sits on the key's path, so the
///   key would have had to be below it.
///
/// Encode it with [`Proof::encode`] and decode untrusted bytes with [`Proof::decode`], which
/// enforces [`PROOF_BYTES_MAX`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The leaf at the end of the key's path, if the path ends at a leaf.
    pub leaf: Option<ProofLeaf>,
    /// Sibling hashes from the root downwards: `siblings[i]` is the hash of the subtree beside
    /// the path at depth `i + 1`, that is on the other side of bit `i` of the key hash. The
    /// empty subtree appears as [`super::EMPTY_ROOT`]. At most [`PROOF_SIBLINGS_MAX`].
    pub siblings: Vec<Hash>,
}

impl Proof {
    /// The canonical encoding of this proof.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from untrusted bytes: canonical encoding only, at most
    /// [`PROOF_BYTES_MAX`] bytes. A decoded proof still has to pass [`verify`].
    pub fn decode(bytes: &[u8]) -> Result<Proof, CodecError> {
        codec::decode(bytes, PROOF_BYTES_MAX)
    }
}

/// Why a proof was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// More siblings than a 256-bit key hash has bits.
    #[error("proof has {actual} siblings, more than the maximum of {max}")]
    TooManySiblings {
        /// Siblings in the proof.
        actual: usize,
        /// Siblings allowed.
        max: usize,
    },
    /// A value was claimed, but the proof shows the key absent.
    #[error("expected an inclusion proof for a value, got a non-inclusion proof")]
    ExpectedInclusion,
    /// The inclusion proof is for another key.
    #[error("proof leaf is for key hash {actual}, expected {expected}")]
    KeyMismatch {
        /// blake3 of the key asked about.
        expected: Hash,
        /// Key hash in the proof's leaf.
        actual: Hash,
    },
    /// The inclusion proof commits to another value.
    #[error("proof leaf has value hash {actual}, expected {expected}")]
    ValueMismatch {
        /// blake3 of the claimed value.
        expected: Hash,
        /// Value hash in the proof's leaf.
        actual: Hash,
    },
    /// Absence was claimed, but the proof's leaf is the key itself.
    #[error("expected a non-inclusion proof, but the proof's leaf is the key itself")]
    KeyPresent,
    /// The other leaf of a non-inclusion proof is not on the key's path.
    #[error(
        "proof leaf shares {shared} leading bits with the key, but sits at depth {depth}: \
         it is not on the key's path"
    )]
    LeafOffPath {
        /// Leading bits the leaf's key hash shares with the key hash.
        shared: usize,
        /// Depth of the leaf (number of siblings).
        depth: usize,
    },
    /// The proof is consistent but leads to another root.
    #[error("proof leads to root {actual}, expected {expected}")]
    RootMismatch {
        /// The root the caller trusts.
        expected: Hash,
        /// The root the proof computes.
        actual: Hash,
    },
}

/// Checks that under `root`, `key` holds `value` (`Some`) or holds nothing (`None`).
///
/// A pure function: a wallet needs only a trusted root. Any proof, forged or malformed, yields
/// `Ok` or an error, never a panic.
pub fn verify(
    root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &Proof,
) -> Result<(), ProofError> {
    let depth = proof.siblings.len();
    if depth > PROOF_SIBLINGS_MAX {
        return Err(ProofError::TooManySiblings { actual: depth, max: PROOF_SIBLINGS_MAX });
    }
    let key_hash = hash::key_hash(key);
    check_leaf(&key_hash, value, proof.leaf.as_ref(), depth)?;

    let mut node = match &proof.leaf {
        Some(leaf) => hash::leaf(&leaf.key_hash.0, &leaf.value_hash.0),
        None => EMPTY,
    };
    for (index, sibling) in proof.siblings.iter().enumerate().rev() {
        node = if hash::bit(&key_hash, index) {
            hash::internal(&sibling.0, &node)
        } else {
            hash::internal(&node, &sibling.0)
        };
    }
    if node != root.0 {
        return Err(ProofError::RootMismatch { expected: *root, actual: Hash(node) });
    }
    Ok(())
}

/// Checks the proof's leaf against the key and the claim, before any hashing.
fn check_leaf(
    key_hash: &[u8; 32],
    value: Option<&[u8]>,
    leaf: Option<&ProofLeaf>,
    depth: usize,
) -> Result<(), ProofError> {
    match (value, leaf) {
        (Some(value), Some(leaf)) => {
            if leaf.key_hash.0 != *key_hash {
                return Err(ProofError::KeyMismatch {
                    expected: Hash(*key_hash),
                    actual: leaf.key_hash,
                });
            }
            let value_hash = hash::value_hash(value);
            if leaf.value_hash.0 != value_hash {
                return Err(ProofError::ValueMismatch {
                    expected: Hash(value_hash),
                    actual: leaf.value_hash,
                });
            }
            Ok(())
        }
        (Some(_), None) => Err(ProofError::ExpectedInclusion),
        (None, Some(leaf)) => {
            if leaf.key_hash.0 == *key_hash {
                return Err(ProofError::KeyPresent);
            }
            // The other leaf must sit on the key's path: the key would be in its subtree.
            let shared = hash::common_prefix_bits(key_hash, &leaf.key_hash.0);
            if shared < depth {
                return Err(ProofError::LeafOffPath { shared, depth });
            }
            Ok(())
        }
        (None, None) => Ok(()),
    }
}
