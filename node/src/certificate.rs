//! State certificates: what wallets and auditors trust instead of any single node's word.
//!
//! A finalization certificate proves which block is final, not which state it produced:
//! execution follows finality. So after executing finalized block `h`, each validator signs a
//! [`StateVote`] — `(height, block digest, state root)` — under [`Domain::StateRoot`] with the
//! chain id mixed in (the one signing rule of `volt_proto::sig`). A quorum (`n − f`, 2f+1 when
//! n = 3f+1) of matching votes from distinct genesis validators is a [`StateCertificate`].
//! Validators sign only after executing, so a certificate means at least f+1 honest
//! validators computed that root.
//!
//! Signed bytes: `signing_message(Domain::StateRoot, chain_id, encode(&StateVote))` where
//! `StateVote` is encoded by the canonical codec (height u64 LE, then the two 32-byte hashes).

use serde::{Deserialize, Serialize};
use volt_consensus::{ValidatorIndex, ValidatorSet};
use volt_proto::codec::{self, CodecError};
use volt_proto::sig::{self, Domain, Keypair};
use volt_proto::{ChainId, Hash, Height, Signature};

/// Largest encoded state certificate: a 72-byte vote, and one (index, signature) pair of 66
/// bytes per validator for at most `volt_consensus::types::VALIDATORS_MAX` (128), rounded up.
pub const STATE_CERTIFICATE_BYTES_MAX: usize = 16 * 1024;

/// What a validator signs after executing a finalized block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateVote {
    /// The block's height.
    pub height: Height,
    /// The block's digest (`volt_consensus::Block::digest`).
    pub block_digest: Hash,
    /// The state root after executing it.
    pub state_root: Hash,
}

impl StateVote {
    /// The canonical bytes that are signed (with the domain and chain id, see the module docs).
    pub fn signed_payload(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Signs this vote.
    pub fn sign(&self, key: &Keypair, chain_id: &ChainId) -> Signature {
        key.sign(Domain::StateRoot, chain_id, &self.signed_payload())
    }
}

/// A quorum of validators' signatures over one [`StateVote`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCertificate {
    /// What every signer signed.
    pub vote: StateVote,
    /// `(validator index, signature)`, strictly ascending by index.
    pub signatures: Vec<(ValidatorIndex, Signature)>,
}

/// Why a state certificate does not hold.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CertificateError {
    /// The bytes do not decode canonically within [`STATE_CERTIFICATE_BYTES_MAX`].
    #[error("state certificate does not decode: {0}")]
    Codec(#[from] CodecError),
    /// Fewer distinct signers than the quorum.
    #[error("state certificate has {actual} signers; the quorum is {quorum}")]
    TooFewSigners {
        /// Signers present.
        actual: usize,
        /// Needed.
        quorum: usize,
    },
    /// Signer indexes not strictly ascending (a repeat, or out of order).
    #[error("state certificate signers are not strictly ascending at position {position}")]
    Unordered {
        /// The first offending position.
        position: usize,
    },
    /// A signer outside the validator set.
    #[error("state certificate names validator {index}, but there are {n}")]
    UnknownSigner {
        /// The index.
        index: ValidatorIndex,
        /// Set size.
        n: usize,
    },
    /// A signature that does not verify.
    #[error("validator {index}'s signature on the state certificate does not verify")]
    BadSignature {
        /// The signer.
        index: ValidatorIndex,
    },
    /// The certificate is for another height, block or root than expected.
    #[error("state certificate is for {got}, expected {expected}")]
    Mismatch {
        /// What the caller expected, in words.
        expected: String,
        /// What the certificate says.
        got: String,
    },
}

impl StateCertificate {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes untrusted bytes (canonical, within the size limit). Does not verify.
    pub fn decode(bytes: &[u8]) -> Result<StateCertificate, CertificateError> {
        Ok(codec::decode(bytes, STATE_CERTIFICATE_BYTES_MAX)?)
    }

    /// Checks quorum, order and every signature (one by one, `verify_strict`: a certificate is
    /// checked by wallets and auditors alone, so no batch whose verdict could differ).
    pub fn verify(
        &self,
        chain_id: &ChainId,
        validators: &ValidatorSet,
    ) -> Result<(), CertificateError> {
        let quorum = validators.quorum();
        if self.signatures.len() < quorum {
            return Err(CertificateError::TooFewSigners { actual: self.signatures.len(), quorum });
        }
        for position in 1..self.signatures.len() {
            if self.signatures[position - 1].0 >= self.signatures[position].0 {
                return Err(CertificateError::Unordered { position });
            }
        }
        let message =
            sig::signing_message(Domain::StateRoot, chain_id, &self.vote.signed_payload());
        for (index, signature) in &self.signatures {
            let n = validators.len();
            let key = validators
                .key(*index)
                .map_err(|_| CertificateError::UnknownSigner { index: *index, n })?;
            sig::verify(key, &message, signature)
                .map_err(|_| CertificateError::BadSignature { index: *index })?;
        }
        Ok(())
    }

    /// Verifies, and checks it certifies `state_root` at `height`.
    pub fn verify_root(
        &self,
        chain_id: &ChainId,
        validators: &ValidatorSet,
        height: Height,
        state_root: Hash,
    ) -> Result<(), CertificateError> {
        if self.vote.height != height || self.vote.state_root != state_root {
            return Err(CertificateError::Mismatch {
                expected: format!("height {} root {state_root}", height.0),
                got: format!("height {} root {}", self.vote.height.0, self.vote.state_root),
            });
        }
        self.verify(chain_id, validators)
    }
}

/// Collects validators' state votes for one height until a quorum agrees.
///
/// Bounded: one vote per validator per height is kept, and the executor keeps collectors only
/// for a window of heights.
#[derive(Debug, Default)]
pub struct Collector {
    votes: Vec<(ValidatorIndex, StateVote, Signature)>,
}

impl Collector {
    /// Adds a verified vote (the caller checks the signature). Returns the certificate once a
    /// quorum of validators signed the same vote. A second vote from one validator is ignored.
    pub fn add(
        &mut self,
        quorum: usize,
        index: ValidatorIndex,
        vote: StateVote,
        signature: Signature,
    ) -> Option<StateCertificate> {
        if self.votes.iter().any(|(i, _, _)| *i == index) {
            return None;
        }
        self.votes.push((index, vote, signature));
        let mut matching: Vec<(ValidatorIndex, Signature)> =
            self.votes.iter().filter(|(_, v, _)| *v == vote).map(|(i, _, s)| (*i, *s)).collect();
        if matching.len() < quorum {
            return None;
        }
        matching.sort_by_key(|(i, _)| *i);
        Some(StateCertificate { vote, signatures: matching })
    }

    /// Roots voted for by validators other than the majority (for the divergence check).
    pub fn votes(&self) -> impl Iterator<Item = (ValidatorIndex, &StateVote)> {
        self.votes.iter().map(|(i, v, _)| (*i, v))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn set(n: usize) -> (Vec<Keypair>, ValidatorSet) {
        let keys: Vec<Keypair> = (0..n).map(|i| Keypair::for_testing(&format!("v{i}"))).collect();
        let set = ValidatorSet::from_keypairs(&keys).unwrap();
        (keys, set)
    }

    fn vote() -> StateVote {
        StateVote { height: Height(7), block_digest: Hash::of(b"b"), state_root: Hash::of(b"r") }
    }

    #[test]
    fn a_quorum_of_matching_votes_verifies_and_round_trips() {
        // Proves 3 of 4 matching votes form a certificate that verifies after a round trip.
        let chain = ChainId::new("c").unwrap();
        let (keys, set) = set(4);
        let mut collector = Collector::default();
        let mut cert = None;
        for (i, key) in keys.iter().enumerate().take(3) {
            cert = collector.add(set.quorum(), i as u16, vote(), vote().sign(key, &chain));
        }
        let cert = StateCertificate::decode(&cert.unwrap().encode()).unwrap();
        assert_eq!(cert.verify(&chain, &set), Ok(()));
        assert_eq!(cert.verify_root(&chain, &set, Height(7), vote().state_root), Ok(()));
        let other = ChainId::new("other").unwrap();
        assert!(matches!(cert.verify(&other, &set), Err(CertificateError::BadSignature { .. })));
    }

    #[test]
    fn too_few_repeated_unordered_foreign_or_forged_signers_are_refused() {
        // Proves each way a certificate can fail to prove a quorum is refused.
        let chain = ChainId::new("c").unwrap();
        let (keys, set) = set(4);
        let sig = |i: usize| vote().sign(&keys[i], &chain);
        let cert =
            |sigs: Vec<(u16, Signature)>| StateCertificate { vote: vote(), signatures: sigs };
        let two = cert(vec![(0, sig(0)), (1, sig(1))]);
        assert!(matches!(two.verify(&chain, &set), Err(CertificateError::TooFewSigners { .. })));
        let repeated = cert(vec![(0, sig(0)), (0, sig(0)), (1, sig(1))]);
        assert!(matches!(repeated.verify(&chain, &set), Err(CertificateError::Unordered { .. })));
        let foreign = cert(vec![(0, sig(0)), (1, sig(1)), (9, sig(2))]);
        assert!(matches!(
            foreign.verify(&chain, &set),
            Err(CertificateError::UnknownSigner { index: 9, .. })
        ));
        let forged = cert(vec![(0, sig(0)), (1, sig(1)), (2, sig(1))]);
        assert!(matches!(
            forged.verify(&chain, &set),
            Err(CertificateError::BadSignature { index: 2 })
        ));
        let good = cert(vec![(0, sig(0)), (1, sig(1)), (2, sig(2))]);
        let wrong_root = good.verify_root(&chain, &set, Height(7), Hash::of(b"x"));
        assert!(matches!(wrong_root, Err(CertificateError::Mismatch { .. })));
    }

    #[test]
    fn the_signed_bytes_are_the_documented_layout() {
        // Proves what a wallet must rebuild to check a signature: height u64 LE, block digest,
        // state root, nothing else (a light client in another language depends on it).
        let v = vote();
        let mut expected = 7u64.to_le_bytes().to_vec();
        expected.extend_from_slice(v.block_digest.as_bytes());
        expected.extend_from_slice(v.state_root.as_bytes());
        assert_eq!(v.signed_payload(), expected);
    }

    #[test]
    fn a_certificate_of_the_largest_validator_set_fits_the_limit() {
        // Proves the size limit admits a certificate signed by every one of the most validators
        // a set may have, and refuses one byte more than the limit.
        let chain = ChainId::new("c").unwrap();
        let n = volt_consensus::types::VALIDATORS_MAX;
        let key = Keypair::for_testing("big");
        let signature = vote().sign(&key, &chain);
        let signatures = (0..n).map(|i| (i as ValidatorIndex, signature)).collect();
        let bytes = StateCertificate { vote: vote(), signatures }.encode();
        assert!(bytes.len() <= STATE_CERTIFICATE_BYTES_MAX, "{} bytes", bytes.len());
        assert!(StateCertificate::decode(&bytes).is_ok());
        let mut over = bytes;
        over.resize(STATE_CERTIFICATE_BYTES_MAX + 1, 0);
        assert!(StateCertificate::decode(&over).is_err());
    }

    #[test]
    fn votes_for_different_roots_do_not_add_up() {
        // Proves the collector counts only matching votes and ignores a validator's second vote.
        let chain = ChainId::new("c").unwrap();
        let (keys, set) = set(4);
        let mut other = vote();
        other.state_root = Hash::of(b"diverged");
        let mut c = Collector::default();
        assert!(c.add(3, 0, vote(), vote().sign(&keys[0], &chain)).is_none());
        assert!(c.add(3, 1, other, other.sign(&keys[1], &chain)).is_none());
        assert!(c.add(3, 0, vote(), vote().sign(&keys[0], &chain)).is_none());
        assert!(c.add(3, 2, vote(), vote().sign(&keys[2], &chain)).is_none());
        let cert = c.add(3, 3, vote(), vote().sign(&keys[3], &chain)).unwrap();
        assert_eq!(cert.signatures.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 2, 3]);
        assert_eq!(cert.verify(&chain, &set), Ok(()));
    }
}
