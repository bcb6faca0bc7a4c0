//! One verdict per signature, whatever the path: a crafted signature with a small-order
//! component gets the same outcome checked alone, batched inside a block among honest
//! transactions, and when an auditor replays the chain from genesis.

// Test helpers panic on purpose: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../proto/tests/crafted/mod.rs"]
mod crafted;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::traits::Identity;
use volt_proto::sig::{self, PublicKey};
use volt_proto::{
    AccountId, Amount, Call, ErrorCode, Height, Nonce, Role, SignedTx, TxBody, TxOutcome,
};
use volt_token::testkit::{FAR_FUTURE, GENESIS_TIME, World, account, chain_id, hkd, sym};
use volt_token::{Genesis, GenesisMember};

/// The crafted account's secret scalar (a test label, not a real key).
fn secret() -> curve25519_dalek::Scalar {
    crafted::scalar("volt-test/crafted-signer")
}

fn crafted_account() -> AccountId {
    crafted::sign_on_curve(
        secret(),
        EdwardsPoint::identity(),
        secret(),
        EdwardsPoint::identity(),
        b"",
    )
    .account
}

fn genesis() -> Genesis {
    let member = |account, role| GenesisMember { account, role, identity_expiry: FAR_FUTURE };
    Genesis {
        chain_id: chain_id(),
        time: GENESIS_TIME,
        members: vec![
            member(account("admin"), Role::Admin),
            member(account("issuer"), Role::Issuer),
            member(account("alice"), Role::Investor),
            member(account("bob"), Role::Investor),
            member(crafted_account(), Role::Investor),
        ],
        currencies: vec![(sym("HKD"), account("issuer"))],
    }
}

/// A transfer the crafted account cannot afford: `Failed` if its signature is accepted,
/// `Rejected(BadSignature)` if not — so the receipt shows the signature verdict.
fn crafted_tx(r_torsion: EdwardsPoint, r_is_pure_torsion: bool) -> SignedTx {
    let body = TxBody {
        chain_id: chain_id(),
        signer: crafted_account(),
        nonce: Nonce(0),
        expiry_height: Height(100),
        call: Call::Transfer { asset: hkd(), to: account("bob"), amount: Amount(1) },
    };
    let message = body.signing_message();
    let r = if r_is_pure_torsion { curve25519_dalek::Scalar::ZERO } else { crafted::scalar("r") };
    let signed = crafted::sign_on_curve(secret(), EdwardsPoint::identity(), r, r_torsion, &message);
    assert_eq!(signed.account, crafted_account());
    SignedTx { body, signature: signed.signature }
}

fn honest_txs(w: &mut World) -> Vec<SignedTx> {
    (0..20)
        .map(|i| {
            let who = if i % 2 == 0 { "alice" } else { "bob" };
            w.tx(who, Call::Unfreeze { account: account("admin") })
        })
        .collect()
}

/// Applies `tx` alone, and in a block of honest transactions, on two fresh ledgers, and replays
/// both chains on a third and fourth; returns the crafted transaction's outcome, asserting it is
/// the same everywhere.
fn outcome_on_every_path(tx: &SignedTx) -> TxOutcome {
    let mut alone = World::from_genesis(&genesis());
    let alone_outcome = alone.block(std::slice::from_ref(tx)).receipts[0].outcome.clone();

    let mut mixed = World::from_genesis(&genesis());
    let mut block = honest_txs(&mut mixed);
    block.insert(7, tx.clone());
    let receipts = mixed.block(&block).receipts;
    assert_eq!(receipts[7].outcome, alone_outcome, "batched verdict differs from the lone one");
    // Honest transactions around it are unaffected (authenticated; the call itself fails).
    for (i, receipt) in receipts.iter().enumerate().filter(|(i, _)| *i != 7) {
        assert_eq!(receipt.outcome, TxOutcome::Failed(ErrorCode::WrongRole), "tx {i}");
    }

    // The auditor's replay from genesis reaches the same receipts and root.
    let mut replay = World::from_genesis(&genesis());
    let replayed = replay.block(&block);
    assert_eq!(replayed.receipts, receipts);
    assert_eq!(replay.state.root(), mixed.state.root());
    alone_outcome
}

#[test]
fn honest_signature_baseline_is_accepted_everywhere() {
    // Proves the harness: an ordinary signature from the crafted key is accepted on every path.
    let tx = crafted_tx(EdwardsPoint::identity(), false);
    let key = PublicKey::from_account(crafted_account()).unwrap();
    assert!(sig::verify(&key, &tx.body.signing_message(), &tx.signature).is_ok());
    assert_eq!(outcome_on_every_path(&tx), TxOutcome::Failed(ErrorCode::InsufficientBalance));
}

#[test]
fn torsion_in_r_gets_one_verdict_on_every_path() {
    // Proves R = [r]B + T (T of order 8) is accepted alone, in a block batch and on replay,
    // although ed25519-dalek's cofactorless verify_strict rejects it.
    let tx = crafted_tx(crafted::torsion_8(), false);
    let key = PublicKey::from_account(crafted_account()).unwrap();
    assert!(sig::verify(&key, &tx.body.signing_message(), &tx.signature).is_ok());
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(crafted_account().as_bytes()).unwrap();
    let dalek_sig = ed25519_dalek::Signature::from_bytes(&tx.signature.0);
    assert!(dalek.verify_strict(&tx.body.signing_message(), &dalek_sig).is_err());
    assert_eq!(outcome_on_every_path(&tx), TxOutcome::Failed(ErrorCode::InsufficientBalance));
}

#[test]
fn small_order_r_is_rejected_on_every_path() {
    // Proves R = T (a pure torsion point) is refused alone, in a block batch and on replay,
    // although the cofactored equation holds for it.
    let tx = crafted_tx(crafted::torsion_8(), true);
    let key = PublicKey::from_account(crafted_account()).unwrap();
    assert_eq!(
        sig::verify(&key, &tx.body.signing_message(), &tx.signature),
        Err(sig::SigError::SmallOrderR)
    );
    assert_eq!(outcome_on_every_path(&tx), TxOutcome::Rejected(ErrorCode::BadSignature));
}

#[test]
fn weak_key_cannot_register_or_sign() {
    // Proves a small-order key is refused at registration, so it can never authenticate.
    let weak = AccountId(crafted::torsion(2).compress().to_bytes());
    assert_eq!(PublicKey::from_account(weak), Err(sig::SigError::WeakKey));
    let mut w = World::from_genesis(&genesis());
    let call =
        Call::RegisterMember { account: weak, role: Role::Investor, identity_expiry: FAR_FUTURE };
    assert_eq!(w.submit("admin", call).outcome, TxOutcome::Failed(ErrorCode::BadKey));
    let body = TxBody {
        chain_id: chain_id(),
        signer: weak,
        nonce: Nonce(0),
        expiry_height: Height(100),
        call: Call::Unfreeze { account: account("bob") },
    };
    // Any bytes will do: a weak key has no valid signature under the rule.
    let tx = SignedTx { body, signature: volt_proto::Signature([0; 64]) };
    assert_eq!(outcome_on_every_path(&tx), TxOutcome::Rejected(ErrorCode::BadSignature));
}
