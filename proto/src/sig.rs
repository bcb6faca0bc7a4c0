//! The one signature-validity rule, used by every node, the mempool and the auditor alike.
//!
//! # The rule
//! A signature `(R, s)` by key `A` on message `M` is valid when
//! 1. `A` decodes to a curve point that is **not of small order** (weak keys are also refused
//!    at registration, so they never own anything),
//! 2. `R` decodes to a curve point that is not of small order,
//! 3. `s` is a canonical scalar (`s < ℓ`), and
//! 4. the **cofactored** equation `[8]([s]B − R − [k]A) = 0` holds, `k = SHA-512(R ‖ A ‖ M)`.
//!
//! # Why cofactored, and not `verify_strict` one way and `verify_batch` the other
//! ed25519-dalek's `verify_strict` checks the cofactor*less* equation, and its `verify_batch` a
//! cofactorless random linear combination. A signature whose `R` carries a torsion component
//! fails the first and passes the second whenever the batch coefficient is a multiple of the
//! torsion order (1 time in 8, decided by the batch contents). Two honest code paths would then
//! disagree about one transaction, and a mempool, a block and an auditor's replay could split.
//! With the cofactored equation on *both* paths, a batch passes exactly when each member passes
//! on its own (except with probability 2⁻¹²⁸ over the coefficients), so the verdict does not
//! depend on the path or on what else shares the batch. This is the ZIP 215 rule, plus the
//! small-order refusals that `verify_strict` makes. A torsion-carrying `R` is therefore accepted
//! on every path; that is harmless here because ids (transaction, trade, attestation) hash the
//! signed body, never the signature, so a malleated signature names nothing new.
//!
//! Batches are still formed only over sets every node sees identically and in the same order (a
//! block's transactions, a certificate's signatures), and their coefficients are derived from a
//! blake3 transcript of the whole batch, so the check is deterministic and reads no randomness.
//!
//! # Domain separation
//! Every signed message is `"volt/1" ‖ kind ‖ len(chain_id) ‖ chain_id ‖ payload`, so a
//! signature for one purpose or one chain never verifies for another.

use crate::{AccountId, ChainId, Signature};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signer as _;
use sha2::{Digest as _, Sha512};

/// Largest batch verified at once; bigger inputs are split into chunks of this size (a block's
/// transactions stay in block order).
pub const BATCH_SIGNATURES_MAX: usize = 4096;

/// What a signature signs: mixed into the message so signatures cannot be moved between uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Domain {
    /// A transaction body.
    Tx = 1,
    /// The terms of an atomic trade, signed by the counterparty.
    TradeTerms = 2,
    /// A station's swap or energy attestation.
    Attestation = 3,
    /// The terms of a lease, signed by the lessee.
    LeaseTerms = 4,
    /// A consensus `Notarize` vote.
    Notarize = 16,
    /// A consensus `Nullify` vote.
    Nullify = 17,
    /// A consensus `Finalize` vote.
    Finalize = 18,
    /// A validator's vote on the state root after executing a finalized block (a state
    /// certificate is 2f+1 of them).
    StateRoot = 19,
}

/// The exact bytes signed for `payload` in `domain` on chain `chain_id`.
pub fn signing_message(domain: Domain, chain_id: &ChainId, payload: &[u8]) -> Vec<u8> {
    let chain = chain_id.as_str().as_bytes();
    let mut message = Vec::with_capacity(8 + chain.len() + payload.len());
    message.extend_from_slice(b"volt/1");
    message.push(domain as u8);
    // ChainId is at most 32 bytes, so its length fits one byte.
    message.push(chain.len() as u8);
    message.extend_from_slice(chain);
    message.extend_from_slice(payload);
    message
}

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum SigError {
    /// The key bytes are not a curve point.
    #[error("public key is not a valid curve point")]
    KeyEncoding,
    /// The key is of small order: anyone can forge signatures for it.
    #[error("public key is weak (small order)")]
    WeakKey,
    /// `R` is not a curve point.
    #[error("signature R is not a valid curve point")]
    REncoding,
    /// `R` is of small order.
    #[error("signature R is of small order")]
    SmallOrderR,
    /// `s` is not reduced modulo the group order.
    #[error("signature s is not canonical")]
    NonCanonicalS,
    /// The equation does not hold.
    #[error("signature does not verify")]
    Invalid,
    /// At least one signature of a batch is invalid.
    #[error("a signature in the batch does not verify")]
    BatchInvalid,
}

/// A public key that passed the key checks, decompressed once so verification does not repeat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    account: AccountId,
    point: EdwardsPoint,
}

impl PublicKey {
    /// Checks `account` as a key: a valid point and not weak.
    pub fn from_account(account: AccountId) -> Result<PublicKey, SigError> {
        let point = CompressedEdwardsY(account.0).decompress().ok_or(SigError::KeyEncoding)?;
        if point.is_small_order() {
            return Err(SigError::WeakKey);
        }
        Ok(PublicKey { account, point })
    }

    /// The account this key signs for.
    pub fn account(&self) -> AccountId {
        self.account
    }
}

/// A signature split into checked parts.
struct Parts {
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn parts(key: &PublicKey, message: &[u8], signature: &Signature) -> Result<Parts, SigError> {
    let mut r_bytes = [0u8; 32];
    let mut s_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&signature.0[..32]);
    s_bytes.copy_from_slice(&signature.0[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(SigError::NonCanonicalS)?;
    let r = CompressedEdwardsY(r_bytes).decompress().ok_or(SigError::REncoding)?;
    if r.is_small_order() {
        return Err(SigError::SmallOrderR);
    }
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(key.account.0);
    hasher.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hasher.finalize());
    Ok(Parts { r, s, k: Scalar::from_bytes_mod_order_wide(&wide) })
}

/// Verifies one signature under the rule above.
pub fn verify(key: &PublicKey, message: &[u8], signature: &Signature) -> Result<(), SigError> {
    let Parts { r, s, k } = parts(key, message, signature)?;
    // [s]B − [k]A − R, then clear the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.point, &s);
    if (sb_minus_ka - r).mul_by_cofactor().is_identity() { Ok(()) } else { Err(SigError::Invalid) }
}

/// One entry of a batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The signer's checked key.
    pub key: &'a PublicKey,
    /// The signed message (already domain-separated).
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Verifies all items at once; `Ok` exactly when [`verify`] accepts every item (up to 2⁻¹²⁸).
///
/// On `Err`, callers that need to know *which* item failed check the items one by one with
/// [`verify`]; both paths give the same verdict per item.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), SigError> {
    for chunk in items.chunks(BATCH_SIGNATURES_MAX) {
        verify_chunk(chunk)?;
    }
    Ok(())
}

fn verify_chunk(items: &[BatchItem<'_>]) -> Result<(), SigError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut all = Vec::with_capacity(items.len());
    // The transcript binds every key, message hash and signature, so no item can be chosen after
    // seeing the coefficients.
    let mut transcript = blake3::Hasher::new_derive_key("volt/1 batch verification");
    for item in items {
        let p =
            parts(item.key, item.message, item.signature).map_err(|_| SigError::BatchInvalid)?;
        transcript.update(item.key.account.as_bytes());
        transcript.update(&item.signature.0);
        transcript.update(p.k.as_bytes());
        all.push(p);
    }
    let mut coefficients = transcript.finalize_xof();
    let mut z = Vec::with_capacity(all.len());
    for _ in &all {
        let mut bytes = [0u8; 16];
        coefficients.fill(&mut bytes);
        z.push(Scalar::from(u128::from_le_bytes(bytes)));
    }
    // Σ z_i·s_i·B − Σ z_i·R_i − Σ z_i·k_i·A_i, then clear the cofactor.
    let b_coefficient: Scalar = all.iter().zip(&z).map(|(p, z)| z * p.s).sum();
    let scalars = std::iter::once(b_coefficient)
        .chain(z.iter().map(|z| -z))
        .chain(all.iter().zip(&z).map(|(p, z)| -(z * p.k)));
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(all.iter().map(|p| p.r))
        .chain(items.iter().map(|item| item.key.point));
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars, points);
    if sum.mul_by_cofactor().is_identity() { Ok(()) } else { Err(SigError::BatchInvalid) }
}

/// A signing key. Randomness comes from the caller (a seed), so this crate reads none.
#[derive(Clone)]
pub struct Keypair {
    signing: ed25519_dalek::SigningKey,
}

impl Keypair {
    /// The key derived from a 32-byte secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair { signing: ed25519_dalek::SigningKey::from_bytes(&seed) }
    }

    /// A key derived deterministically from a label: for tests, examples and simulations only.
    pub fn for_testing(label: &str) -> Keypair {
        Keypair::from_seed(*blake3::hash(label.as_bytes()).as_bytes())
    }

    /// The secret seed (to store in a key file).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The account (public key).
    pub fn account(&self) -> AccountId {
        AccountId(self.signing.verifying_key().to_bytes())
    }

    /// The checked public key.
    pub fn public_key(&self) -> PublicKey {
        match PublicKey::from_account(self.account()) {
            Ok(key) => key,
            // An honestly generated key is never weak: its point is [a]B with a clamped scalar.
            Err(error) => panic!("derived key failed the key checks: {error}"),
        }
    }

    /// Signs `payload` for `domain` on `chain_id`.
    pub fn sign(&self, domain: Domain, chain_id: &ChainId, payload: &[u8]) -> Signature {
        self.sign_raw(&signing_message(domain, chain_id, payload))
    }

    /// Signs exact message bytes (already domain-separated).
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({:?})", self.account())
    }
}
