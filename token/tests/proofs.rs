//! A wallet checks its balance against a state root with a proof, alone.

// Test helpers panic on purpose: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_proto::{Amount, Asset, Call, TxOutcome, codec};
use volt_token::keys::{Holding, Key};
use volt_token::testkit::{World, account, hkd, sym};
use volt_token::tree;

fn funded() -> World {
    let mut w = World::new(&["alice", "bob"]);
    let mint = Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(500) };
    assert_eq!(w.submit("issuer", mint).outcome, TxOutcome::Applied);
    w
}

#[test]
fn balance_proof_verifies_against_the_root() {
    // Proves inclusion: the stored holding and its proof verify against the current root.
    let w = funded();
    let key = Key::Balance(hkd(), account("alice"));
    let (value, proof) = w.state.prove(&key).unwrap();
    let value = value.expect("alice holds HKD");
    let holding: Holding = codec::decode(&value, 1024).unwrap();
    assert_eq!(holding.amount, Amount(500));
    tree::verify(&w.state.root(), &key.encode(), Some(&value), &proof).unwrap();
}

#[test]
fn absence_proof_verifies_and_a_false_claim_fails() {
    // Proves non-inclusion for bob's empty balance, and that claiming a value for it fails.
    let w = funded();
    let key = Key::Balance(hkd(), account("bob"));
    let (value, proof) = w.state.prove(&key).unwrap();
    assert!(value.is_none());
    tree::verify(&w.state.root(), &key.encode(), None, &proof).unwrap();
    let forged = codec::encode(&Holding { amount: Amount(1_000_000), ..Holding::default() });
    assert!(tree::verify(&w.state.root(), &key.encode(), Some(&forged), &proof).is_err());
}

#[test]
fn proof_fails_for_a_changed_value_or_another_root() {
    // Proves a proof binds the exact value and the exact root.
    let mut w = funded();
    let key = Key::Balance(hkd(), account("alice"));
    let (value, proof) = w.state.prove(&key).unwrap();
    let value = value.unwrap();
    let old_root = w.state.root();
    let changed = codec::encode(&Holding { amount: Amount(501), ..Holding::default() });
    assert!(tree::verify(&old_root, &key.encode(), Some(&changed), &proof).is_err());
    let send = Call::Transfer { asset: hkd(), to: account("bob"), amount: Amount(1) };
    assert_eq!(w.submit("alice", send).outcome, TxOutcome::Applied);
    assert!(tree::verify(&w.state.root(), &key.encode(), Some(&value), &proof).is_err());
    let (new_value, new_proof) = w.state.prove(&key).unwrap();
    tree::verify(&w.state.root(), &key.encode(), new_value.as_deref(), &new_proof).unwrap();
    let shares = Key::Balance(Asset::Shares(sym("NONE")), account("alice"));
    assert!(
        tree::verify(&w.state.root(), &shares.encode(), new_value.as_deref(), &new_proof).is_err()
    );
}

#[test]
fn reopened_store_has_the_same_root() {
    // Proves the tree is rebuilt from the store alone (the store is the source of truth).
    let w = funded();
    let reopened = volt_token::State::open(w.state.store().clone()).unwrap();
    assert_eq!(reopened.root(), w.state.root());
}
