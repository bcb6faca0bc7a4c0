//! The canonical codec, proven over every proto type: round trips, canonical re-encoding, and
//! refusal (an error, never a panic) of truncated, oversized, trailing, non-canonical and
//! ill-named inputs.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod strategies;

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use strategies as st;
use volt_proto::codec::{self, CodecError, DECODE_BYTES_MAX};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Attestation, Call, ChainId, ErrorCode, Hash, Height, Leg, Nonce,
    Receipt, Role, Serial, Signature, SignedTx, Symbol, TX_BYTES_MAX, Text, TradeTerms, TxBody,
    TxOutcome,
};

/// Decodes `value`'s encoding back, checks it is the same value and that a strict prefix or a
/// longer input is refused. Returns the encoding.
fn check_round_trip<T>(value: &T) -> Vec<u8>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = codec::encode(value);
    let decoded: T = codec::decode(&bytes, DECODE_BYTES_MAX).unwrap();
    assert_eq!(&decoded, value);
    assert_eq!(codec::encode(&decoded), bytes, "re-encoding must be byte-identical");
    check_prefixes_refused::<T>(&bytes);
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        codec::decode::<T>(&longer, DECODE_BYTES_MAX),
        Err(CodecError::TrailingBytes { used: bytes.len(), trailing: 1 })
    );
    bytes
}

/// Every strict prefix of a valid encoding (including the empty one) is an error.
fn check_prefixes_refused<T>(bytes: &[u8])
where
    T: Serialize + DeserializeOwned + std::fmt::Debug,
{
    for end in 0..bytes.len() {
        let result = codec::decode::<T>(&bytes[..end], DECODE_BYTES_MAX);
        assert!(result.is_err(), "prefix of {end}/{} bytes decoded", bytes.len());
    }
}

/// Anything that decodes re-encodes to the very input (the canonical property).
fn check_canonical<T>(bytes: &[u8], bytes_max: usize)
where
    T: Serialize + DeserializeOwned,
{
    if let Ok(value) = codec::decode::<T>(bytes, bytes_max) {
        assert_eq!(codec::encode(&value), bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scalars_and_ids_round_trip(
        hash in st::hash(),
        account in st::account_id(),
        signature in st::signature(),
        height in st::height(),
        nonce in st::nonce(),
        timestamp in st::timestamp(),
        amount in st::amount(),
    ) {
        // Proves the fixed-width newtypes round trip and have their exact sizes on the wire.
        assert_eq!(check_round_trip(&hash).len(), 32);
        assert_eq!(check_round_trip(&account).len(), 32);
        assert_eq!(check_round_trip(&signature), signature.0.to_vec());
        assert_eq!(check_round_trip(&height), height.0.to_le_bytes().to_vec());
        assert_eq!(check_round_trip(&nonce).len(), 8);
        assert_eq!(check_round_trip(&timestamp).len(), 8);
        assert_eq!(check_round_trip(&amount), amount.0.to_le_bytes().to_vec());
    }

    #[test]
    fn names_round_trip(symbol in st::symbol(), chain in st::chain_id(), text in st::text()) {
        // Proves valid names round trip as a u64 length followed by their UTF-8 bytes.
        for (bytes, name) in [
            (check_round_trip(&symbol), symbol.as_str()),
            (check_round_trip(&chain), chain.as_str()),
            (check_round_trip(&text), text.as_str()),
        ] {
            assert_eq!(bytes[..8], (name.len() as u64).to_le_bytes());
            assert_eq!(&bytes[8..], name.as_bytes());
        }
    }

    #[test]
    fn small_enums_and_structs_round_trip(
        role in st::role(),
        asset in st::asset(),
        leg in st::leg(),
        terms in st::trade_terms(),
        code in st::error_code(),
        outcome in st::tx_outcome(),
        receipt in st::receipt(),
    ) {
        // Proves Role, Asset, Leg, TradeTerms, ErrorCode, TxOutcome and Receipt round trip.
        check_round_trip(&role);
        check_round_trip(&asset);
        check_round_trip(&leg);
        check_round_trip(&terms);
        assert_eq!(check_round_trip(&code), error_code_index(code).to_le_bytes().to_vec());
        check_round_trip(&outcome);
        check_round_trip(&receipt);
    }

    #[test]
    fn battery_types_round_trip(
        serial in st::serial(),
        category in st::battery_category(),
        passport in st::passport(),
        status in st::battery_status(),
        custody in st::custody(),
        attestation in st::attestation(),
        lease in st::lease_terms(),
    ) {
        // Proves Serial, BatteryCategory, Passport, BatteryStatus, Custody, BatteryReading,
        // Swap/EnergyAttestation, Attestation and LeaseTerms round trip.
        check_round_trip(&serial);
        check_round_trip(&category);
        check_round_trip(&passport);
        check_round_trip(&status);
        check_round_trip(&custody);
        match &attestation {
            Attestation::Swap(swap) => {
                check_round_trip(&swap.battery_out);
                check_round_trip(swap);
            }
            Attestation::Energy(energy) => {
                check_round_trip(energy);
            }
        }
        check_round_trip(&attestation);
        check_round_trip(&lease);
    }

    #[test]
    fn calls_bodies_and_signed_txs_round_trip(tx in st::signed_tx()) {
        // Proves every Call variant, TxBody and SignedTx round trip, through both the generic
        // codec and SignedTx::decode with its TX_BYTES_MAX limit.
        check_round_trip(&tx.body.call);
        check_round_trip(&tx.body);
        let bytes = check_round_trip(&tx);
        assert!(bytes.len() <= TX_BYTES_MAX);
        assert_eq!(SignedTx::decode(&bytes), Ok(tx.clone()));
        assert_eq!(tx.encode(), bytes);
    }

    #[test]
    fn trailing_bytes_after_a_tx_are_refused(
        tx in st::signed_tx(),
        tail in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        // Proves a valid transaction followed by anything is refused, naming the split.
        let mut bytes = tx.encode();
        let used = bytes.len();
        bytes.extend_from_slice(&tail);
        assert_eq!(
            SignedTx::decode(&bytes),
            Err(CodecError::TrailingBytes { used, trailing: tail.len() })
        );
    }

    #[test]
    fn random_bytes_never_panic_and_decode_canonically(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        // Proves arbitrary bytes are an error or a canonical transaction, never a panic.
        check_canonical::<SignedTx>(&bytes, TX_BYTES_MAX);
        check_canonical::<Receipt>(&bytes, TX_BYTES_MAX);
        check_canonical::<TradeTerms>(&bytes, TX_BYTES_MAX);
    }

    #[test]
    fn damaged_txs_never_panic_and_decode_canonically(bytes in st::damaged_signed_tx_bytes()) {
        // Proves valid encodings with bytes overwritten, inserted or removed are an error or a
        // canonical transaction, never a panic.
        if let Ok(tx) = SignedTx::decode(&bytes) {
            assert_eq!(tx.encode(), bytes);
        }
        check_canonical::<TxBody>(&bytes, TX_BYTES_MAX);
        check_canonical::<Call>(&bytes, TX_BYTES_MAX);
    }

    #[test]
    fn serde_accepts_exactly_the_names_the_constructors_accept(name in ".{0,40}") {
        // Proves decoding refuses every name the constructor refuses (and no other), so an
        // invalid name cannot enter through the wire.
        let bytes = codec::encode(&name);
        assert_eq!(codec::decode::<Symbol>(&bytes, 1024).is_ok(), Symbol::new(&name).is_ok());
        assert_eq!(codec::decode::<ChainId>(&bytes, 1024).is_ok(), ChainId::new(&name).is_ok());
        assert_eq!(codec::decode::<Text>(&bytes, 1024).is_ok(), Text::new(&name).is_ok());
        assert_eq!(codec::decode::<Serial>(&bytes, 1024).is_ok(), Serial::new(&name).is_ok());
    }
}

/// The code's wire tag: its position among the variants serde knows.
fn error_code_index(code: ErrorCode) -> u32 {
    let name = st::variant_of(&code);
    let names = st::variant_names::<ErrorCode>();
    names.iter().position(|n| *n == name).unwrap() as u32
}

/// The variants of `T` the strategy never produced in `samples` draws.
fn variants_missed<T, S>(strategy: S, samples: usize) -> Vec<&'static str>
where
    T: DeserializeOwned + std::fmt::Debug,
    S: Strategy<Value = T>,
{
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..samples {
        seen.insert(st::variant_of(&strategy.new_tree(&mut runner).unwrap().current()));
    }
    st::variant_names::<T>().iter().copied().filter(|name| !seen.contains(*name)).collect()
}

#[test]
fn the_strategies_cover_every_variant_of_every_enum() {
    // Proves the shared strategies reach every variant serde declares for every enum, so the
    // round trips really cover them; a variant appended to proto/src without a strategy in
    // tests/strategies fails here by name.
    let missed = [
        ("Call", variants_missed(st::call(), 3000)),
        ("ErrorCode", variants_missed(st::error_code(), 3000)),
        ("TxOutcome", variants_missed(st::tx_outcome(), 200)),
        ("Role", variants_missed(st::role(), 200)),
        ("Asset", variants_missed(st::asset(), 200)),
        ("BatteryCategory", variants_missed(st::battery_category(), 200)),
        ("BatteryStatus", variants_missed(st::battery_status(), 200)),
        ("Custody", variants_missed(st::custody(), 200)),
        ("Attestation", variants_missed(st::attestation(), 200)),
    ];
    for (name, missed) in missed {
        assert!(missed.is_empty(), "no strategy produces {name}::{missed:?}");
    }
}

/// A fixed transaction used by the tests that need one.
fn sample_tx(call: Call) -> SignedTx {
    let keypair = Keypair::for_testing("codec sample");
    TxBody {
        chain_id: ChainId::new("volt-test").unwrap(),
        signer: keypair.account(),
        nonce: Nonce(7),
        expiry_height: Height(1000),
        call,
    }
    .sign(&keypair)
}

fn sample_transfer() -> SignedTx {
    sample_tx(Call::Transfer {
        asset: Asset::Cash(Symbol::new("HKD").unwrap()),
        to: AccountId([9; 32]),
        amount: Amount(12_345),
    })
}

#[test]
fn the_wire_format_is_pinned() {
    // Proves the byte layout (field order, u32 variant tags, u64 lengths, little-endian) does not
    // drift: a change here breaks every stored transaction id and signature.
    let tx = sample_transfer();
    let bytes = tx.encode();
    let mut expected = Vec::new();
    expected.extend_from_slice(&9u64.to_le_bytes());
    expected.extend_from_slice(b"volt-test");
    expected.extend_from_slice(tx.body.signer.as_bytes());
    expected.extend_from_slice(&7u64.to_le_bytes());
    expected.extend_from_slice(&1000u64.to_le_bytes());
    expected.extend_from_slice(&11u32.to_le_bytes()); // Call::Transfer
    expected.extend_from_slice(&0u32.to_le_bytes()); // Asset::Cash
    expected.extend_from_slice(&3u64.to_le_bytes());
    expected.extend_from_slice(b"HKD");
    expected.extend_from_slice(&[9; 32]);
    expected.extend_from_slice(&12_345u128.to_le_bytes());
    expected.extend_from_slice(&tx.signature.0);
    assert_eq!(bytes, expected);
    assert_eq!(
        tx.id(),
        Hash::of(&bytes[..bytes.len() - 64]),
        "the id is blake3 of the body, without the signature"
    );
    // Tags of the other enums are their declaration positions.
    assert_eq!(codec::encode(&Role::Auditor), 5u32.to_le_bytes());
    assert_eq!(codec::encode(&TxOutcome::Applied), 0u32.to_le_bytes());
    assert_eq!(
        codec::encode(&TxOutcome::Rejected(ErrorCode::SelfTransfer)),
        [2u32.to_le_bytes(), 27u32.to_le_bytes()].concat()
    );
}

#[test]
fn every_prefix_of_every_call_variant_is_refused() {
    // Proves truncation anywhere (in a tag, a length, a name, an amount, the signature) is an
    // error for each Call variant, through SignedTx::decode.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..3000 {
        let tx = st::signed_tx().new_tree(&mut runner).unwrap().current();
        if !seen.insert(st::variant_of(&tx.body.call)) {
            continue;
        }
        let bytes = tx.encode();
        for end in 0..bytes.len() {
            assert!(SignedTx::decode(&bytes[..end]).is_err(), "prefix {end} decoded");
        }
    }
}

/// The largest transaction the types allow: every name and text at its longest.
fn largest_tx() -> SignedTx {
    let long_text = Text::new(&"é".repeat(128)).unwrap();
    let long_symbol = Symbol::new(&"X".repeat(Symbol::BYTES_MAX)).unwrap();
    let chain = ChainId::new(&"c".repeat(ChainId::BYTES_MAX)).unwrap();
    let leg = Leg { asset: Asset::Shares(long_symbol.clone()), amount: Amount(u128::MAX) };
    let calls = [
        Call::RecoverWallet {
            lost: AccountId([1; 32]),
            new: AccountId([2; 32]),
            identity_expiry: Some(volt_proto::Timestamp(u64::MAX)),
            reason: long_text.clone(),
        },
        Call::CreateClass { class: long_symbol, name: long_text, supply_max: Amount(u128::MAX) },
        Call::Trade {
            terms: TradeTerms {
                maker: AccountId([1; 32]),
                taker: AccountId([2; 32]),
                maker_gives: leg.clone(),
                taker_gives: leg,
                expiry_height: Height(u64::MAX),
                salt: u64::MAX,
            },
            counterparty_signature: Signature([0xff; 64]),
        },
    ];
    calls
        .into_iter()
        .map(|call| {
            let mut tx = sample_tx(call);
            tx.body.chain_id = chain.clone();
            tx
        })
        .max_by_key(|tx| tx.encode().len())
        .unwrap()
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    // Proves SignedTx::decode refuses anything over TX_BYTES_MAX, even a valid transaction
    // followed by padding, while the largest valid transaction fits well within the limit.
    let largest = largest_tx().encode();
    assert!(largest.len() <= TX_BYTES_MAX, "largest tx has {} bytes", largest.len());
    for padded_len in [TX_BYTES_MAX + 1, TX_BYTES_MAX + 4096, 1 << 20] {
        let mut bytes = largest.clone();
        bytes.resize(padded_len, 0);
        assert_eq!(
            SignedTx::decode(&bytes),
            Err(CodecError::TooLong { actual: padded_len, limit: TX_BYTES_MAX })
        );
    }
    // At exactly the limit the size check passes and the decoder refuses the trailing padding.
    let mut bytes = largest.clone();
    bytes.resize(TX_BYTES_MAX, 0);
    assert!(matches!(SignedTx::decode(&bytes), Err(CodecError::TrailingBytes { .. })));
    // A caller asking for more than the hard ceiling still gets the ceiling.
    let huge = vec![0u8; DECODE_BYTES_MAX + 1];
    assert_eq!(
        codec::decode::<Vec<u8>>(&huge, usize::MAX),
        Err(CodecError::TooLong { actual: DECODE_BYTES_MAX + 1, limit: DECODE_BYTES_MAX })
    );
}

/// Byte offset of the `Call` tag in [`sample_transfer`]'s encoding.
const CALL_TAG_AT: usize = 8 + 9 + 32 + 8 + 8;

/// The sample transfer's encoding with `edit` applied; must not decode.
fn assert_edit_refused(what: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = sample_transfer().encode();
    edit(&mut bytes);
    let result = SignedTx::decode(&bytes);
    assert!(result.is_err(), "{what}: decoded to {result:?}");
}

#[test]
fn out_of_range_tags_and_lengths_are_refused() {
    // Proves every way a tag or a length can be wrong is an error: unknown Call/Asset tags,
    // tags with high bytes set, length prefixes too short, too long or absurd.
    let call_tag = CALL_TAG_AT..CALL_TAG_AT + 4;
    for tag in [15u32, 16, 255, 1 << 8, 1 << 16, 1 << 24 | 10, u32::MAX] {
        assert_edit_refused(&format!("call tag {tag}"), |b| {
            b[call_tag.clone()].copy_from_slice(&tag.to_le_bytes())
        });
    }
    let asset_tag = CALL_TAG_AT + 4..CALL_TAG_AT + 8;
    for tag in [2u32, 1 << 8 | 1, u32::MAX] {
        assert_edit_refused(&format!("asset tag {tag}"), |b| {
            b[asset_tag.clone()].copy_from_slice(&tag.to_le_bytes())
        });
    }
    for len in [0u64, 8, 10, 1 << 32, u64::MAX, (1 << 63) | 9] {
        assert_edit_refused(&format!("chain id length {len}"), |b| {
            b[..8].copy_from_slice(&len.to_le_bytes())
        });
    }
    // Small enums on their own: one past the last tag, and a valid tag with a high byte set.
    assert!(codec::decode::<Role>(&6u32.to_le_bytes(), 16).is_err());
    assert!(codec::decode::<Role>(&(1u32 << 24).to_le_bytes(), 16).is_err());
    let codes = st::variant_names::<ErrorCode>().len() as u32;
    let outcomes = st::variant_names::<TxOutcome>().len() as u32;
    assert!(codec::decode::<ErrorCode>(&(codes - 1).to_le_bytes(), 16).is_ok());
    assert!(codec::decode::<ErrorCode>(&codes.to_le_bytes(), 16).is_err());
    assert!(codec::decode::<TxOutcome>(&outcomes.to_le_bytes(), 16).is_err());
    let bad_code = [1u32.to_le_bytes(), codes.to_le_bytes()].concat();
    assert!(codec::decode::<TxOutcome>(&bad_code, 16).is_err());
    // Option: only 0 (None) and 1 (Some) are tags.
    assert_eq!(codec::decode::<Option<u16>>(&[0], 16), Ok(None));
    assert!(codec::decode::<Option<u16>>(&[2, 0, 0], 16).is_err());
    assert!(codec::decode::<Option<u16>>(&[0, 0, 0], 16).is_err());
}

#[test]
fn invalid_names_inside_a_transaction_are_refused() {
    // Proves serde decoding (not only the constructors) refuses bad names inside a transaction:
    // bad characters, invalid UTF-8, and a symbol made empty or too long by a length change.
    let bytes = sample_transfer().encode();
    let chain_at = 8..17;
    let symbol_at = CALL_TAG_AT + 16..CALL_TAG_AT + 19;
    for bad in [&b"VOLT-TEST"[..], b"volt_test", b"volt test", b"volt-tes\xff", b"volt-te\xc3\xa9"]
    {
        assert_edit_refused("bad chain id", |b| b[chain_at.clone()].copy_from_slice(bad));
    }
    for bad in [&b"hkd"[..], b"H D", b"H/D", b"\xff\xfe\xfd", b"H\0D"] {
        assert_edit_refused("bad symbol", |b| b[symbol_at.clone()].copy_from_slice(bad));
    }
    // An empty symbol: length 0 and the three letters removed.
    let mut empty = bytes.clone();
    empty[CALL_TAG_AT + 8..CALL_TAG_AT + 16].copy_from_slice(&0u64.to_le_bytes());
    empty.drain(symbol_at.clone());
    assert!(SignedTx::decode(&empty).is_err());
    // A 25-byte symbol.
    let mut long = bytes.clone();
    long[CALL_TAG_AT + 8..CALL_TAG_AT + 16].copy_from_slice(&25u64.to_le_bytes());
    long.splice(symbol_at.clone(), std::iter::repeat_n(b'A', 25));
    assert!(SignedTx::decode(&long).is_err());
    // The same edit with a 24-byte symbol is accepted: the boundary is exact.
    let mut longest = bytes;
    longest[CALL_TAG_AT + 8..CALL_TAG_AT + 16].copy_from_slice(&24u64.to_le_bytes());
    longest.splice(symbol_at, std::iter::repeat_n(b'A', 24));
    assert!(SignedTx::decode(&longest).is_ok());
}

#[test]
fn names_at_and_beyond_their_limits_are_refused_by_serde() {
    // Proves the length limits hold through the codec at their exact boundaries, and empty
    // names are refused (except Text, which may be empty).
    let decode_str = |s: &str| codec::encode(&s.to_owned());
    let ok = |bytes: &[u8]| {
        (
            codec::decode::<Symbol>(bytes, 4096).is_ok(),
            codec::decode::<ChainId>(bytes, 4096).is_ok(),
            codec::decode::<Text>(bytes, 4096).is_ok(),
        )
    };
    assert_eq!(ok(&decode_str("")), (false, false, true));
    assert_eq!(ok(&decode_str(&"A".repeat(24))), (true, false, true));
    assert_eq!(ok(&decode_str(&"A".repeat(25))), (false, false, true));
    assert_eq!(ok(&decode_str(&"a".repeat(32))), (false, true, true));
    assert_eq!(ok(&decode_str(&"a".repeat(33))), (false, false, true));
    assert_eq!(ok(&decode_str(&"a".repeat(256))), (false, false, true));
    assert_eq!(ok(&decode_str(&"a".repeat(257))), (false, false, false));
    // 255 bytes plus a two-byte character: 257 bytes although only 256 characters.
    assert_eq!(ok(&decode_str(&format!("{}é", "a".repeat(255)))), (false, false, false));
    for bad in ["hkd", "HK D", "HKD\n", "ＨＫＤ", "HK+D"] {
        assert!(!ok(&decode_str(bad)).0, "symbol {bad:?}");
    }
    for bad in ["Volt", "volt_test", "volt.test", "vølt", "volt\0"] {
        assert!(!ok(&decode_str(bad)).1, "chain id {bad:?}");
    }
    let serial = |s: &str| codec::decode::<Serial>(&decode_str(s), 4096).is_ok();
    assert!(serial(&"aZ09-_.".repeat(8)[..50]));
    for bad in ["", &"a".repeat(51), "SN 1", "SN/1", "SNé", "SN\n"] {
        assert!(!serial(bad), "serial {bad:?}");
    }
}

#[test]
fn forged_lengths_are_errors_not_panics() {
    // Proves a huge length prefix on a short input is an error for every length-prefixed field
    // (strings, names, the batteries list), however large the claim. Note: bincode allocates a
    // claimed string (zeroed) before reading it, so claims up to the codec's 64 MiB ceiling,
    // DECODE_BYTES_MAX, are allocated and freed again; TX_BYTES_MAX does not bound them.
    for len in [TX_BYTES_MAX as u64 + 1, DECODE_BYTES_MAX as u64, u64::MAX, 1 << 40] {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"volt-test");
        assert!(SignedTx::decode(&bytes).is_err());
        assert!(codec::decode::<Text>(&bytes, TX_BYTES_MAX).is_err());
        assert!(codec::decode::<Symbol>(&bytes, TX_BYTES_MAX).is_err());
        assert!(codec::decode::<Vec<Serial>>(&bytes, TX_BYTES_MAX).is_err());
    }
}

#[test]
fn the_id_names_the_body_not_the_signature() {
    // Proves two transactions differing only in signature bytes share an id, and any change to
    // the body changes it.
    let tx = sample_transfer();
    let mut resigned = tx.clone();
    resigned.signature.0[0] ^= 1;
    assert_eq!(tx.id(), resigned.id());
    let mut other = tx.clone();
    other.body.nonce = Nonce(8);
    assert_ne!(tx.id(), other.id());
    assert_eq!(tx.id(), codec::hash(&tx.body));
}

#[test]
fn a_battery_class_too_big_for_one_transaction_encodes_but_never_decodes() {
    // Proves the size limit holds for the one call with a list: a CreateBatteryClass whose
    // batteries push the encoding past TX_BYTES_MAX can be built and signed, but
    // SignedTx::decode refuses its bytes, so it can never enter a block.
    let batteries = |count: usize| -> Vec<Serial> {
        (0..count).map(|i| Serial::new(&format!("{i:0>50}")).unwrap()).collect()
    };
    let tx_with = |count: usize| {
        sample_tx(Call::CreateBatteryClass {
            class: Symbol::new("HK-POOL-A").unwrap(),
            name: Text::new("pool").unwrap(),
            supply_max: Amount(1_000),
            batteries: batteries(count),
            revenue_currency: Symbol::new("HKD").unwrap(),
        })
    };
    // Each serial costs 8 + 50 bytes; find the largest count that still fits.
    let fits = (0..).take_while(|&n| tx_with(n).encode().len() <= TX_BYTES_MAX).last().unwrap();
    let largest = tx_with(fits);
    assert_eq!(SignedTx::decode(&largest.encode()), Ok(largest));
    let too_big = tx_with(fits + 1).encode();
    assert!(too_big.len() > TX_BYTES_MAX);
    assert!(matches!(SignedTx::decode(&too_big), Err(CodecError::TooLong { .. })));
}
