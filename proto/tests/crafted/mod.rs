//! Hand-built ed25519 signatures with small-order components, made directly on the curve with
//! curve25519-dalek, and helpers to check one signature on every verification path.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest as _, Sha512};
use volt_proto::sig::{self, BatchItem, Domain, Keypair, PublicKey};
use volt_proto::{AccountId, ChainId, Signature};

/// The group order ℓ = 2²⁵² + 27742317777372353535851937790883648493, little-endian.
pub const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// A point of order exactly 8 (it generates the whole torsion subgroup).
pub fn torsion_8() -> EdwardsPoint {
    let point = EIGHT_TORSION[1];
    assert!(!(point * Scalar::from(4u8)).is_identity(), "order 8: [4]T ≠ 0");
    assert!(point.mul_by_cofactor().is_identity(), "order 8: [8]T = 0");
    point
}

/// `[i]T` for the order-8 point `T`: all eight small-order points as `i` runs over 0..8.
pub fn torsion(i: u8) -> EdwardsPoint {
    torsion_8() * Scalar::from(i)
}

/// A scalar derived from a label (so tests are reproducible without a random source).
pub fn scalar(label: &str) -> Scalar {
    let mut wide = [0u8; 64];
    blake3::Hasher::new().update(label.as_bytes()).finalize_xof().fill(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The ed25519 challenge `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
pub fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r);
    hasher.update(a);
    hasher.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hasher.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `s + ℓ` as 32 little-endian bytes: the same residue, not reduced (fits, since s < ℓ < 2²⁵³).
pub fn plus_ell(s: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ELL[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// Joins `R` and `s` into a signature.
pub fn signature_of(r: [u8; 32], s: [u8; 32]) -> Signature {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r);
    bytes[32..].copy_from_slice(&s);
    Signature(bytes)
}

/// A signature made on the curve.
#[derive(Clone, Debug)]
pub struct Crafted {
    /// The key `A`, compressed.
    pub account: AccountId,
    /// The signed message.
    pub message: Vec<u8>,
    /// `R ‖ s`.
    pub signature: Signature,
}

/// Signs `message` with key `A = [a]B + key_torsion` and nonce point `R = [r]B + r_torsion`,
/// `s = r + k·a`. The cofactored equation always holds: `[s]B − R − [k]A = −r_torsion −
/// [k]key_torsion`, a torsion point that `[8]` clears.
pub fn sign_on_curve(
    a: Scalar,
    key_torsion: EdwardsPoint,
    r: Scalar,
    r_torsion: EdwardsPoint,
    message: &[u8],
) -> Crafted {
    let key = (ED25519_BASEPOINT_POINT * a + key_torsion).compress();
    let nonce = (ED25519_BASEPOINT_POINT * r + r_torsion).compress();
    let k = challenge(nonce.as_bytes(), key.as_bytes(), message);
    let s = r + k * a;
    Crafted {
        account: AccountId(key.to_bytes()),
        message: message.to_vec(),
        signature: signature_of(nonce.to_bytes(), s.to_bytes()),
    }
}

/// An honest signature from a labelled test key over a labelled message.
#[derive(Clone, Debug)]
pub struct Honest {
    /// The checked key.
    pub key: PublicKey,
    /// The signed (domain-separated) message.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

/// `count` honest signatures by distinct keys over distinct messages.
pub fn honest(count: usize) -> Vec<Honest> {
    let chain = ChainId::new("volt-test").expect("valid chain id");
    (0..count)
        .map(|i| {
            let keypair = Keypair::for_testing(&format!("honest signer {i}"));
            let payload = format!("honest payload {i}");
            let message = sig::signing_message(Domain::Tx, &chain, payload.as_bytes());
            Honest { key: keypair.public_key(), signature: keypair.sign_raw(&message), message }
        })
        .collect()
}

/// Batch items for `honest` with one extra item inserted at `position`.
pub fn items_with<'a>(
    honest: &'a [Honest],
    position: usize,
    extra: BatchItem<'a>,
) -> Vec<BatchItem<'a>> {
    let mut items: Vec<BatchItem<'a>> = honest
        .iter()
        .map(|h| BatchItem { key: &h.key, message: &h.message, signature: &h.signature })
        .collect();
    items.insert(position, extra);
    items
}

/// The verdict of every path on one signature: single `verify`, `verify_batch` alone, and
/// `verify_batch` among valid signatures (batches of several sizes, the signature first, in the
/// middle and last). Panics if any two paths disagree; returns the single-path result.
pub fn same_verdict_on_every_path(
    key: &PublicKey,
    message: &[u8],
    signature: &Signature,
    pool: &[Honest],
) -> Result<(), sig::SigError> {
    let single = sig::verify(key, message, signature);
    let item = BatchItem { key, message, signature };
    let accepted = single.is_ok();
    assert_eq!(sig::verify_batch(&[item]).is_ok(), accepted, "alone vs single");
    let mut sizes: Vec<usize> = (1..=12).collect();
    sizes.extend([31, 64, pool.len()]);
    for size in sizes.into_iter().filter(|&n| n <= pool.len()) {
        for position in [0, size / 2, size] {
            let items = items_with(&pool[..size], position, item);
            assert_eq!(
                sig::verify_batch(&items).is_ok(),
                accepted,
                "batch of {} with it at {position} vs single ({single:?})",
                items.len()
            );
        }
    }
    single
}

/// Decompresses 32 bytes if they name a curve point.
pub fn point(bytes: [u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(bytes).decompress()
}
