//! Runs the fuzz targets' logic (`proto/fuzz/src/lib.rs`) under proptest on stable, so every
//! `cargo test` exercises it even where no nightly toolchain or cargo-fuzz is available.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/src/lib.rs"]
mod fuzz;

mod strategies;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decode_signed_tx_target_holds_on_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        // Proves the decode target's property on uniform random input.
        fuzz::decode_signed_tx(&bytes);
    }

    #[test]
    fn decode_signed_tx_target_holds_on_valid_and_damaged_txs(
        tx in strategies::signed_tx(),
        damaged in strategies::damaged_signed_tx_bytes(),
    ) {
        // Proves the decode target's property on valid encodings (which must decode) and on
        // damaged ones.
        fuzz::decode_signed_tx(&tx.encode());
        fuzz::decode_signed_tx(&damaged);
    }

    #[test]
    fn verify_signature_target_holds_on_raw_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 97..200),
    ) {
        // Proves random key, signature and message bytes never panic and get one verdict on
        // every path.
        let mut bytes = bytes;
        bytes[0] &= !1;
        fuzz::verify_signature(&bytes);
    }

    #[test]
    fn verify_signature_target_holds_on_crafted_signatures(
        bytes in proptest::collection::vec(any::<u8>(), 67..120),
        a_zero in proptest::bool::weighted(0.1),
        r_zero in proptest::bool::weighted(0.2),
    ) {
        // Proves curve-crafted signatures (all torsion components, zero key or nonce, each
        // tweak) get the verdict the rule predicts, on every path.
        let mut bytes = bytes;
        bytes[0] |= 1;
        if a_zero {
            bytes[1..33].fill(0);
        }
        if r_zero {
            bytes[33..65].fill(0);
        }
        fuzz::verify_signature(&bytes);
    }
}

#[test]
fn verify_signature_target_accepts_empty_and_short_inputs() {
    // Proves inputs too short for either layout are ignored, not a panic.
    for len in 0..100 {
        fuzz::verify_signature(&vec![1u8; len]);
        fuzz::verify_signature(&vec![0u8; len]);
    }
}
