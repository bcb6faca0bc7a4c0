//! Fuzz logic for `volt-proto`, as plain functions: the libFuzzer targets in `fuzz_targets/`
//! call them, and `proto/tests/fuzz_logic.rs` runs the same functions under proptest on stable.
//!
//! Each function panics exactly when it finds a bug; any input is allowed.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest as _, Sha512};
use std::sync::LazyLock;
use volt_proto::sig::{self, BatchItem, Domain, Keypair, PublicKey, SigError};
use volt_proto::{AccountId, ChainId, Signature, SignedTx};

/// Decodes `data` as a transaction. Whatever decodes must re-encode to exactly `data` (so no two
/// byte strings name one transaction), decode again to the same value, and have an id and a
/// signing message.
pub fn decode_signed_tx(data: &[u8]) {
    let Ok(tx) = SignedTx::decode(data) else {
        return;
    };
    let bytes = tx.encode();
    assert_eq!(bytes, data, "a decoded transaction must re-encode to its input");
    assert_eq!(SignedTx::decode(&bytes).as_ref(), Ok(&tx));
    assert_eq!(tx.id(), tx.body.id());
    assert!(!tx.body.signing_message().is_empty());
}

/// Verifies a signature taken from `data`, on every path, and checks the paths agree.
///
/// The first byte picks how the rest is read. Even: raw bytes, `key (32) ‖ signature (64) ‖
/// message`. Odd: a signature built on the curve from `a (32) ‖ r (32) ‖ torsion (1) ‖ tweak (1)
/// ‖ message`, so that small-order and mixed-order components, which random bytes essentially
/// never hit, are explored; its verdict must also be the one the rule predicts.
pub fn verify_signature(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        verify_raw(rest);
    } else {
        verify_crafted(rest);
    }
}

fn verify_raw(data: &[u8]) {
    if data.len() < 96 {
        return;
    }
    let mut key = [0u8; 32];
    let mut signature = [0u8; 64];
    key.copy_from_slice(&data[..32]);
    signature.copy_from_slice(&data[32..96]);
    let Ok(key) = PublicKey::from_account(AccountId(key)) else {
        return;
    };
    let _verdict = check_paths(&key, &data[96..], &Signature(signature));
}

fn verify_crafted(data: &[u8]) {
    if data.len() < 66 {
        return;
    }
    let mut a = [0u8; 32];
    let mut r = [0u8; 32];
    a.copy_from_slice(&data[..32]);
    r.copy_from_slice(&data[32..64]);
    let (torsion, tweak, message) = (data[64], data[65], &data[66..]);
    let a = Scalar::from_bytes_mod_order(a);
    let r = Scalar::from_bytes_mod_order(r);
    let key_point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[usize::from(torsion & 7)];
    let r_point = ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[usize::from((torsion >> 3) & 7)];
    let account = AccountId(key_point.compress().to_bytes());
    let r_bytes = r_point.compress().to_bytes();
    let k = challenge(&r_bytes, account.as_bytes(), message);
    let s = r + k * a;
    // Tweaks: 0 leaves a signature the cofactored equation accepts; the others break it.
    let (s_bytes, expected) = match tweak % 4 {
        0 => (s.to_bytes(), Ok(())),
        1 => (plus_ell(s.to_bytes()), Err(SigError::NonCanonicalS)),
        2 => ((s + Scalar::ONE).to_bytes(), Err(SigError::Invalid)),
        _ => {
            let mut bytes = s.to_bytes();
            bytes[usize::from(tweak >> 3) % 32] ^= 1 << (tweak & 7);
            (bytes, Err(SigError::Invalid))
        }
    };
    let key = match PublicKey::from_account(account) {
        Ok(key) => key,
        Err(error) => {
            assert!(key_point.is_small_order(), "a large-order key was refused: {error}");
            return;
        }
    };
    assert!(!key_point.is_small_order(), "a small-order key was accepted");
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r_bytes);
    signature[32..].copy_from_slice(&s_bytes);
    let verdict = check_paths(&key, message, &Signature(signature));
    // A bit flip may leave s non-canonical or, rarely, valid again; only the untouched and the
    // exactly-predictable tweaks are checked against the rule.
    if tweak % 4 < 3 {
        let expected = match expected {
            Err(SigError::NonCanonicalS) => expected,
            _ if r_point.is_small_order() => Err(SigError::SmallOrderR),
            _ => expected,
        };
        assert_eq!(verdict, expected, "the rule predicts another verdict");
    }
}

/// `SHA-512(R ‖ A ‖ M) mod ℓ`.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r);
    hasher.update(a);
    hasher.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hasher.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `s + ℓ`, little-endian, unreduced (fits in 32 bytes because `s < ℓ < 2²⁵³`).
fn plus_ell(s: [u8; 32]) -> [u8; 32] {
    const ELL: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ELL[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// Honest signatures to surround the fuzzed one in batches.
struct Companion {
    key: PublicKey,
    message: Vec<u8>,
    signature: Signature,
}

static COMPANIONS: LazyLock<Vec<Companion>> = LazyLock::new(|| {
    let chain = match ChainId::new("volt-fuzz") {
        Ok(chain) => chain,
        Err(error) => panic!("fixed chain id refused: {error}"),
    };
    (0..3)
        .map(|i| {
            let keypair = Keypair::for_testing(&format!("fuzz companion {i}"));
            let message = sig::signing_message(Domain::Tx, &chain, &[i]);
            Companion { key: keypair.public_key(), signature: keypair.sign_raw(&message), message }
        })
        .collect()
});

/// Runs `verify`, `verify_batch` alone and `verify_batch` among valid companions (first, middle,
/// last); panics if they disagree. Returns the single verdict.
fn check_paths(key: &PublicKey, message: &[u8], signature: &Signature) -> Result<(), SigError> {
    let single = sig::verify(key, message, signature);
    let item = BatchItem { key, message, signature };
    assert_eq!(
        sig::verify_batch(&[item]).is_ok(),
        single.is_ok(),
        "batch of one disagrees with verify ({single:?})"
    );
    for position in 0..=COMPANIONS.len() {
        let mut items: Vec<BatchItem<'_>> = COMPANIONS
            .iter()
            .map(|c| BatchItem { key: &c.key, message: &c.message, signature: &c.signature })
            .collect();
        items.insert(position, item);
        assert_eq!(
            sig::verify_batch(&items).is_ok(),
            single.is_ok(),
            "batch with it at {position} disagrees with verify ({single:?})"
        );
    }
    single
}
