//! The signature-validity rule of `sig.rs`, proven with crafted small-order signatures: every
//! signature gets one verdict on every path (single, batch alone, batch among valid signatures
//! at any position), and that verdict is the documented rule. Where ed25519-dalek's two paths
//! disagree on the same signature, the tests show it, since that is the split the rule avoids.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crafted;

use crafted::{Crafted, ELL, Honest, honest, same_verdict_on_every_path, sign_on_curve};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use ed25519_dalek::Verifier as _;
use proptest::prelude::*;
use std::sync::LazyLock;
use volt_proto::sig::{self, BatchItem, Domain, Keypair, PublicKey, SigError};
use volt_proto::{AccountId, ChainId, Signature};

/// 100 honest signatures shared by the tests (signing them once keeps the suite fast).
static POOL: LazyLock<Vec<Honest>> = LazyLock::new(|| honest(100));

fn dalek_key(account: &AccountId) -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::VerifyingKey::from_bytes(account.as_bytes()).unwrap()
}

fn dalek_sig(signature: &Signature) -> ed25519_dalek::Signature {
    ed25519_dalek::Signature::from_bytes(&signature.0)
}

/// ed25519-dalek's `verify_batch` on the crafted signature at the middle of `companions` valid
/// ones: how many of `compositions` batch compositions accept it.
fn dalek_batch_accepts(crafted: &Crafted, compositions: usize) -> usize {
    (0..compositions)
        .filter(|&n| {
            let pool = &POOL[..n];
            let mut messages: Vec<&[u8]> = pool.iter().map(|h| h.message.as_slice()).collect();
            let mut sigs: Vec<_> = pool.iter().map(|h| dalek_sig(&h.signature)).collect();
            let mut keys: Vec<_> = pool.iter().map(|h| dalek_key(&h.key.account())).collect();
            messages.insert(n / 2, &crafted.message);
            sigs.insert(n / 2, dalek_sig(&crafted.signature));
            keys.insert(n / 2, dalek_key(&crafted.account));
            ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok()
        })
        .count()
}

/// Every 32-byte encoding of a small-order point: the canonical encodings of all eight, both
/// sign bits (so "negative zero" for the two points with x = 0), and y + p for y < 19.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut encodings = Vec::new();
    for i in 0..8 {
        let canonical = crafted::torsion(i).compress().to_bytes();
        let mut flipped = canonical;
        flipped[31] ^= 0x80;
        encodings.extend([canonical, flipped]);
    }
    // p = 2²⁵⁵ − 19; y + p for y = 0..18 fits in 255 bits. y = 0 (order 4) and y = 1 (the
    // identity) have non-canonical twins.
    for y in 0u8..19 {
        let mut bytes = [0xff; 32];
        bytes[0] = 0xed + y;
        bytes[31] = 0x7f;
        if crafted::point(bytes).is_some_and(|p| p.is_small_order()) {
            encodings.extend([bytes, {
                let mut b = bytes;
                b[31] |= 0x80;
                b
            }]);
        }
    }
    encodings.retain(|bytes| crafted::point(*bytes).is_some());
    encodings
}

#[test]
fn weak_keys_are_refused_in_every_encoding() {
    // Proves (a): A = any small-order point, however encoded, is refused as WeakKey, and
    // ed25519-dalek calls the same keys weak.
    let encodings = small_order_encodings();
    assert!(encodings.len() >= 16 + 2, "found {} encodings", encodings.len());
    for bytes in encodings {
        assert_eq!(
            PublicKey::from_account(AccountId(bytes)),
            Err(SigError::WeakKey),
            "{bytes:02x?}"
        );
        if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&bytes) {
            assert!(key.is_weak(), "dalek disagrees on {bytes:02x?}");
        }
    }
}

#[test]
fn a_weak_key_is_refused_although_anyone_can_forge_for_it() {
    // Proves why weak keys must be refused: with A = identity, (R = identity, s = 0) satisfies
    // the equation for every message (dalek's legacy `verify` accepts it), yet our rule never
    // lets the key in.
    let identity = EdwardsPoint::identity().compress().to_bytes();
    let forged = crafted::signature_of(identity, [0; 32]);
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
    for message in [&b"pay mallory"[..], b"anything at all"] {
        assert!(dalek.verify(message, &dalek_sig(&forged)).is_ok());
        assert!(dalek.verify_strict(message, &dalek_sig(&forged)).is_err());
    }
    assert_eq!(PublicKey::from_account(AccountId(identity)), Err(SigError::WeakKey));
}

#[test]
fn keys_off_the_curve_are_refused() {
    // Proves a 32-byte string that is not a curve point is KeyEncoding, not a panic.
    let off_curve = (0u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| crafted::point(*bytes).is_none())
        .unwrap();
    assert_eq!(PublicKey::from_account(AccountId(off_curve)), Err(SigError::KeyEncoding));
}

#[test]
fn small_order_r_is_refused_on_every_path() {
    // Proves (b): R = [i]T, s = k·a satisfies the cofactored equation, yet is refused as
    // SmallOrderR alone and in every batch; so does any encoding of a small-order R with a
    // canonical s. dalek's `verify_strict` agrees; dalek's `verify_batch` accepts it in some
    // batch compositions.
    let a = crafted::scalar("small-order R key");
    for i in 0..8 {
        let crafted = sign_on_curve(
            a,
            EdwardsPoint::identity(),
            Scalar::ZERO,
            crafted::torsion(i),
            format!("small-order R {i}").as_bytes(),
        );
        let key = PublicKey::from_account(crafted.account).unwrap();
        let verdict = same_verdict_on_every_path(&key, &crafted.message, &crafted.signature, &POOL);
        assert_eq!(verdict, Err(SigError::SmallOrderR), "R = [{i}]T");
        let dalek = dalek_key(&crafted.account);
        assert!(dalek.verify_strict(&crafted.message, &dalek_sig(&crafted.signature)).is_err());
    }
    // Order 8: dalek's batch accepts exactly when the coefficient is 0 mod 8, about 1 in 8.
    let order_8 = sign_on_curve(
        a,
        EdwardsPoint::identity(),
        Scalar::ZERO,
        crafted::torsion_8(),
        b"small-order R, batch",
    );
    let accepted = dalek_batch_accepts(&order_8, 64);
    assert!(0 < accepted && accepted < 64, "dalek batch accepted {accepted}/64");
    // Every small-order encoding as R, with the s a valid signature would have.
    let key = Keypair::for_testing("small-order R encodings").public_key();
    for r in small_order_encodings() {
        let signature = crafted::signature_of(r, Scalar::ONE.to_bytes());
        let verdict = same_verdict_on_every_path(&key, b"m", &signature, &POOL[..8]);
        assert_eq!(verdict, Err(SigError::SmallOrderR), "R = {r:02x?}");
    }
}

#[test]
fn mixed_order_r_is_accepted_on_every_path_where_dalek_splits() {
    // Proves (c): R = [r]B + T, s = r + k·a is accepted by our rule on every path, while
    // dalek's `verify_strict` rejects it and dalek's `verify_batch` accepts it in some batch
    // compositions and rejects it in others: the inconsistency the cofactored rule removes.
    let crafted = sign_on_curve(
        crafted::scalar("mixed-order R key"),
        EdwardsPoint::identity(),
        crafted::scalar("mixed-order R nonce"),
        crafted::torsion_8(),
        b"mixed-order R",
    );
    let key = PublicKey::from_account(crafted.account).unwrap();
    let verdict = same_verdict_on_every_path(&key, &crafted.message, &crafted.signature, &POOL);
    assert_eq!(verdict, Ok(()));
    let dalek = dalek_key(&crafted.account);
    assert!(dalek.verify_strict(&crafted.message, &dalek_sig(&crafted.signature)).is_err());
    let accepted = dalek_batch_accepts(&crafted, 64);
    assert!(0 < accepted && accepted < 64, "dalek batch accepted {accepted}/64");
}

#[test]
fn mixed_order_keys_are_accepted_on_every_path_where_dalek_splits() {
    // Proves a key A = [a]B + T (not small order, so not weak) signs validly under the rule on
    // every path, while dalek's `verify_strict` rejects whenever k·T ≠ 0, and dalek's batch
    // accepts in some compositions only.
    let a = crafted::scalar("mixed-order key");
    let nonce = crafted::scalar("mixed-order key nonce");
    let crafted = (0..)
        .map(|i| {
            let message = format!("mixed-order key {i}");
            sign_on_curve(
                a,
                crafted::torsion_8(),
                nonce,
                EdwardsPoint::identity(),
                message.as_bytes(),
            )
        })
        .find(|c| {
            // Keep a message whose challenge is odd, so [k]T ≠ 0 and dalek's strict path fails.
            let r: [u8; 32] = c.signature.0[..32].try_into().unwrap();
            crafted::challenge(&r, c.account.as_bytes(), &c.message).to_bytes()[0] & 1 == 1
        })
        .unwrap();
    let key = PublicKey::from_account(crafted.account).unwrap();
    let verdict = same_verdict_on_every_path(&key, &crafted.message, &crafted.signature, &POOL);
    assert_eq!(verdict, Ok(()));
    let dalek = dalek_key(&crafted.account);
    assert!(!dalek.is_weak());
    assert!(dalek.verify_strict(&crafted.message, &dalek_sig(&crafted.signature)).is_err());
    let accepted = dalek_batch_accepts(&crafted, 64);
    assert!(0 < accepted && accepted < 64, "dalek batch accepted {accepted}/64");
}

#[test]
fn non_canonical_s_is_refused_on_every_path() {
    // Proves (d): s + ℓ (and s + 2ℓ … s + 15ℓ, all below 2²⁵⁶) is refused as NonCanonicalS on
    // every path, for an honest signature and for a mixed-order-R one that is otherwise valid;
    // dalek refuses it too.
    let honest = &POOL[0];
    let mixed = sign_on_curve(
        crafted::scalar("non-canonical s key"),
        EdwardsPoint::identity(),
        crafted::scalar("non-canonical s nonce"),
        crafted::torsion_8(),
        b"non-canonical s",
    );
    let mixed_key = PublicKey::from_account(mixed.account).unwrap();
    let cases = [
        (&honest.key, honest.message.as_slice(), honest.signature),
        (&mixed_key, mixed.message.as_slice(), mixed.signature),
    ];
    for (key, message, signature) in cases {
        assert_eq!(sig::verify(key, message, &signature), Ok(()));
        let r: [u8; 32] = signature.0[..32].try_into().unwrap();
        let mut s: [u8; 32] = signature.0[32..].try_into().unwrap();
        for multiple in 1..=15 {
            s = crafted::plus_ell(s);
            let bad = crafted::signature_of(r, s);
            let verdict = same_verdict_on_every_path(key, message, &bad, &POOL[..16]);
            assert_eq!(verdict, Err(SigError::NonCanonicalS), "s + {multiple}ℓ");
            let dalek = dalek_key(&key.account());
            assert!(dalek.verify_strict(message, &dalek_sig(&bad)).is_err());
        }
    }
    // ℓ itself is not a canonical scalar, and reduces to zero.
    assert_eq!(Scalar::from_bytes_mod_order(ELL), Scalar::ZERO);
}

#[test]
fn wrong_domain_chain_or_bit_fails_on_every_path() {
    // Proves (e): a valid signature fails on every path under another domain, another chain,
    // with any single bit of the payload flipped, or with any bit of R or s flipped; and the
    // length byte keeps (chain, payload) splits apart.
    let keypair = Keypair::for_testing("domain separation");
    let key = keypair.public_key();
    let chain = ChainId::new("volt-test").unwrap();
    let payload = b"transfer 100 HKD".to_vec();
    let signature = keypair.sign(Domain::Tx, &chain, &payload);
    let message = sig::signing_message(Domain::Tx, &chain, &payload);
    let pool = &POOL[..16];
    assert_eq!(same_verdict_on_every_path(&key, &message, &signature, pool), Ok(()));
    assert!(dalek_key(&key.account()).verify_strict(&message, &dalek_sig(&signature)).is_ok());

    let mut wrong_messages = Vec::new();
    for domain in [Domain::TradeTerms, Domain::Attestation, Domain::Notarize, Domain::Finalize] {
        wrong_messages.push(sig::signing_message(domain, &chain, &payload));
    }
    for other in ["volt-prod", "volt-tes", "volt-test-2"] {
        wrong_messages.push(sig::signing_message(
            Domain::Tx,
            &ChainId::new(other).unwrap(),
            &payload,
        ));
    }
    // "volt" + "-test…" spells the same bytes without the length byte.
    let mut shifted = b"-test".to_vec();
    shifted.extend_from_slice(&payload);
    wrong_messages.push(sig::signing_message(Domain::Tx, &ChainId::new("volt").unwrap(), &shifted));
    for bit in 0..payload.len() * 8 {
        let mut flipped = payload.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        wrong_messages.push(sig::signing_message(Domain::Tx, &chain, &flipped));
    }
    for wrong in &wrong_messages {
        assert_ne!(wrong, &message);
        assert!(same_verdict_on_every_path(&key, wrong, &signature, pool).is_err());
    }
    for bit in 0..512 {
        let mut bad = signature;
        bad.0[bit / 8] ^= 1 << (bit % 8);
        assert!(same_verdict_on_every_path(&key, &message, &bad, &POOL[..4]).is_err(), "bit {bit}");
    }
}

#[test]
fn one_bad_signature_among_a_hundred_fails_the_batch_and_is_found_alone() {
    // Proves a batch of 100 good signatures and one bad one fails wherever the bad one sits, and
    // checking one by one with `verify` finds exactly that one.
    let bad_signature = {
        let mut s = POOL[42].signature;
        s.0[63] ^= 0x01;
        s
    };
    let bad =
        BatchItem { key: &POOL[42].key, message: &POOL[42].message, signature: &bad_signature };
    for position in [0, 1, 37, 50, 99, 100] {
        let items = crafted::items_with(&POOL, position, bad);
        assert_eq!(items.len(), 101);
        assert_eq!(sig::verify_batch(&items), Err(SigError::BatchInvalid));
        let failing: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| sig::verify(item.key, item.message, item.signature).is_err())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(failing, vec![position]);
    }
    let good = BatchItem {
        key: &POOL[42].key,
        message: &POOL[42].message,
        signature: &POOL[42].signature,
    };
    assert_eq!(sig::verify_batch(&crafted::items_with(&POOL, 50, good)), Ok(()));
    assert_eq!(sig::verify_batch(&[]), Ok(()));
}

#[test]
fn batches_beyond_the_chunk_size_keep_the_verdict() {
    // Proves a batch larger than BATCH_SIGNATURES_MAX is checked in full: a bad signature in the
    // last chunk (a chunk of one) still fails it.
    let count = sig::BATCH_SIGNATURES_MAX + 1;
    let items: Vec<BatchItem<'_>> = (0..count)
        .map(|i| {
            let h = &POOL[i % POOL.len()];
            BatchItem { key: &h.key, message: &h.message, signature: &h.signature }
        })
        .collect();
    assert_eq!(sig::verify_batch(&items), Ok(()));
    let bad_signature = {
        let mut s = POOL[0].signature;
        s.0[0] ^= 0x01;
        s
    };
    let mut with_bad = items.clone();
    with_bad[count - 1].signature = &bad_signature;
    assert_eq!(sig::verify_batch(&with_bad), Err(SigError::BatchInvalid));
}

/// What the rule says about a signature built by [`sign_on_curve`] and then tweaked.
#[derive(Clone, Copy, Debug)]
enum Tweak {
    None,
    SPlusOne,
    SPlusEll,
    OtherMessage,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_crafted_signature_gets_the_rules_verdict_on_every_path(
        a_seed in any::<u64>(),
        r_seed in prop_oneof![Just(None), any::<u64>().prop_map(Some)],
        key_torsion in 0u8..8,
        r_torsion in 0u8..8,
        tweak in prop_oneof![
            Just(Tweak::None), Just(Tweak::SPlusOne), Just(Tweak::SPlusEll), Just(Tweak::OtherMessage)
        ],
    ) {
        // Proves, over all torsion components of A and R, a zero or random nonce and a few
        // corruptions, that the verdict is the one the rule predicts and is the same alone and
        // in batches of every composition.
        let a = crafted::scalar(&format!("key {a_seed}"));
        let r = r_seed.map_or(Scalar::ZERO, |seed| crafted::scalar(&format!("nonce {seed}")));
        let crafted = sign_on_curve(
            a, crafted::torsion(key_torsion), r, crafted::torsion(r_torsion), b"crafted",
        );
        let key = PublicKey::from_account(crafted.account).unwrap();
        let r_bytes: [u8; 32] = crafted.signature.0[..32].try_into().unwrap();
        let s_bytes: [u8; 32] = crafted.signature.0[32..].try_into().unwrap();
        let s = Scalar::from_canonical_bytes(s_bytes).unwrap();
        let (signature, message, expected) = match tweak {
            Tweak::None => (crafted.signature, crafted.message.clone(), Ok(())),
            Tweak::SPlusOne => (
                crafted::signature_of(r_bytes, (s + Scalar::ONE).to_bytes()),
                crafted.message.clone(),
                Err(SigError::Invalid),
            ),
            Tweak::SPlusEll => (
                crafted::signature_of(r_bytes, crafted::plus_ell(s_bytes)),
                crafted.message.clone(),
                Err(SigError::NonCanonicalS),
            ),
            Tweak::OtherMessage => (crafted.signature, b"other".to_vec(), Err(SigError::Invalid)),
        };
        // A zero nonce leaves R small order, which is checked before the equation.
        let expected = match (r_seed, tweak) {
            (_, Tweak::SPlusEll) => expected,
            (None, _) => Err(SigError::SmallOrderR),
            _ => expected,
        };
        let verdict = same_verdict_on_every_path(&key, &message, &signature, &POOL[..8]);
        prop_assert_eq!(verdict, expected);
        // Sanity: the honest base point is never small order for a nonzero key.
        prop_assert!(!(ED25519_BASEPOINT_POINT * a).is_small_order());
    }
}
