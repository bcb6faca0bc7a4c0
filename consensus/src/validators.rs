//! The genesis validator set: quorum size, leader rotation, and vote and certificate checks.

use crate::types::{Certificate, SignedVote, VALIDATORS_MAX, ValidatorIndex, View, Vote};
use volt_proto::sig::{self, BatchItem, Keypair, PublicKey, SigError};
use volt_proto::{AccountId, ChainId, Signature};

/// Why a validator set was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SetError {
    /// Too few or too many validators.
    #[error("validator set of {actual} keys must have 1 to {max} keys")]
    Size {
        /// Keys given.
        actual: usize,
        /// Keys allowed.
        max: usize,
    },
    /// A key appears twice.
    #[error("validator {0:?} appears twice")]
    Duplicate(AccountId),
    /// A key is not a valid, strong ed25519 key.
    #[error("validator {account:?} has an unusable key: {error}")]
    Key {
        /// The key.
        account: AccountId,
        /// Why.
        error: SigError,
    },
}

/// Why a vote or certificate was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The signer index is outside the set.
    #[error("signer {signer} is not one of the {n} validators")]
    UnknownSigner {
        /// The index given.
        signer: ValidatorIndex,
        /// Set size.
        n: usize,
    },
    /// A signature does not verify.
    #[error("bad signature: {0}")]
    BadSignature(SigError),
    /// The bitmap has the wrong length or bits beyond the set.
    #[error("signer bitmap of {actual} bytes is malformed for {n} validators")]
    Bitmap {
        /// Bytes given.
        actual: usize,
        /// Set size.
        n: usize,
    },
    /// Fewer signers than a quorum.
    #[error("certificate has {actual} signers, a quorum is {quorum}")]
    TooFewSigners {
        /// Signers given.
        actual: usize,
        /// Signers needed.
        quorum: usize,
    },
    /// Signature count and bitmap disagree.
    #[error("certificate has {signatures} signatures for {signers} signers")]
    SignatureCount {
        /// Signatures given.
        signatures: usize,
        /// Bits set.
        signers: usize,
    },
}

/// The validators of one epoch, in genesis order.
#[derive(Clone, Debug)]
pub struct ValidatorSet {
    keys: Vec<PublicKey>,
}

impl ValidatorSet {
    /// Checks and orders nothing: the genesis order is the leader order.
    pub fn new(accounts: &[AccountId]) -> Result<ValidatorSet, SetError> {
        if accounts.is_empty() || accounts.len() > VALIDATORS_MAX {
            return Err(SetError::Size { actual: accounts.len(), max: VALIDATORS_MAX });
        }
        let mut keys = Vec::with_capacity(accounts.len());
        for (i, account) in accounts.iter().enumerate() {
            if accounts[..i].contains(account) {
                return Err(SetError::Duplicate(*account));
            }
            let key = PublicKey::from_account(*account)
                .map_err(|error| SetError::Key { account: *account, error })?;
            keys.push(key);
        }
        Ok(ValidatorSet { keys })
    }

    /// A set from keypairs (tests and the simulator).
    pub fn from_keypairs(keypairs: &[Keypair]) -> Result<ValidatorSet, SetError> {
        let accounts: Vec<AccountId> = keypairs.iter().map(Keypair::account).collect();
        ValidatorSet::new(&accounts)
    }

    /// Number of validators `n`.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a set has at least one validator.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Faults tolerated: `f = floor((n - 1) / 3)`.
    pub fn faults_max(&self) -> usize {
        (self.len() - 1) / 3
    }

    /// Votes needed for a certificate: `n - f` (= 2f+1 when n = 3f+1). Any two quorums share
    /// at least f+1 validators, so at least one honest one.
    pub fn quorum(&self) -> usize {
        self.len() - self.faults_max()
    }

    /// The leader of `view`: round-robin over the genesis order.
    pub fn leader(&self, view: View) -> ValidatorIndex {
        (view.0 % self.len() as u64) as ValidatorIndex
    }

    /// The index of `account`, if it is a validator.
    pub fn index_of(&self, account: &AccountId) -> Option<ValidatorIndex> {
        self.keys.iter().position(|k| k.account() == *account).map(|i| i as ValidatorIndex)
    }

    /// The checked key of validator `index`.
    pub fn key(&self, index: ValidatorIndex) -> Result<&PublicKey, CheckError> {
        self.keys
            .get(usize::from(index))
            .ok_or(CheckError::UnknownSigner { signer: index, n: self.len() })
    }

    /// Verifies one vote's signature (the signer must be in the set).
    pub fn verify_vote(&self, chain_id: &ChainId, vote: &SignedVote) -> Result<(), CheckError> {
        let key = self.key(vote.signer)?;
        let message =
            sig::signing_message(vote.vote.domain(), chain_id, &vote.vote.signed_payload());
        sig::verify(key, &message, &vote.signature).map_err(CheckError::BadSignature)
    }

    /// Verifies a certificate: a well-formed bitmap of at least a quorum of distinct validators
    /// and one valid signature each, checked in one batch (the set and order are fixed by the
    /// certificate, so every node sees the same batch).
    pub fn verify_certificate(
        &self,
        chain_id: &ChainId,
        certificate: &Certificate,
    ) -> Result<(), CheckError> {
        self.verify_certificate_skipping(chain_id, certificate, |_, _| false)
    }

    /// As [`ValidatorSet::verify_certificate`], but signatures for which `verified(signer,
    /// signature)` holds are taken as already checked (the caller verified exactly that vote
    /// with exactly that signature before). Shape and quorum are always checked.
    pub fn verify_certificate_skipping(
        &self,
        chain_id: &ChainId,
        certificate: &Certificate,
        verified: impl Fn(ValidatorIndex, &Signature) -> bool,
    ) -> Result<(), CheckError> {
        let signers = self.check_bitmap(certificate)?;
        let message = sig::signing_message(
            certificate.vote.domain(),
            chain_id,
            &certificate.vote.signed_payload(),
        );
        let mut items = Vec::with_capacity(signers.len());
        for (signer, signature) in signers.iter().zip(&certificate.signatures) {
            if verified(*signer, signature) {
                continue;
            }
            items.push(BatchItem { key: self.key(*signer)?, message: &message, signature });
        }
        sig::verify_batch(&items).map_err(CheckError::BadSignature)
    }

    /// Checks the bitmap shape and quorum; returns the signers in ascending order.
    pub fn check_bitmap(
        &self,
        certificate: &Certificate,
    ) -> Result<Vec<ValidatorIndex>, CheckError> {
        let n = self.len();
        if certificate.signers.len() != n.div_ceil(8) {
            return Err(CheckError::Bitmap { actual: certificate.signers.len(), n });
        }
        let signers = certificate.signer_indices();
        if signers.iter().any(|s| usize::from(*s) >= n) {
            return Err(CheckError::Bitmap { actual: certificate.signers.len(), n });
        }
        if signers.len() != certificate.signatures.len() {
            return Err(CheckError::SignatureCount {
                signatures: certificate.signatures.len(),
                signers: signers.len(),
            });
        }
        if signers.len() < self.quorum() {
            return Err(CheckError::TooFewSigners { actual: signers.len(), quorum: self.quorum() });
        }
        Ok(signers)
    }
}

/// Signs `vote` as validator `signer`.
pub fn sign_vote(
    key: &Keypair,
    chain_id: &ChainId,
    signer: ValidatorIndex,
    vote: Vote,
) -> SignedVote {
    let signature: Signature = key.sign(vote.domain(), chain_id, &vote.signed_payload());
    SignedVote { vote, signer, signature }
}
