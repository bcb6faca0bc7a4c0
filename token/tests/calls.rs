//! Every part-1 call: its success and each of its refusals, through whole blocks.

// Test helpers panic on purpose: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_proto::sig::Keypair;
use volt_proto::{
    Amount, Asset, Call, ChainId, ErrorCode, Height, Leg, Nonce, Role, Signature, Text, Timestamp,
    TradeTerms, TxOutcome,
};
use volt_token::invariants;
use volt_token::testkit::{FAR_FUTURE, World, account, hkd, key, sym};

fn world() -> World {
    World::new(&["alice", "bob", "carol"])
}

fn text(s: &str) -> Text {
    Text::new(s).expect("short text")
}

fn mint(w: &mut World, to: &str, amount: u128) {
    let r = w.submit(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account(to), amount: Amount(amount) },
    );
    assert_eq!(r.outcome, TxOutcome::Applied);
}

fn class_with(w: &mut World, holder: &str, amount: u128) -> Asset {
    let create =
        Call::CreateClass { class: sym("POOL-A"), name: text("Pool A"), supply_max: Amount(1_000) };
    assert_eq!(w.submit("issuer", create).outcome, TxOutcome::Applied);
    let issue =
        Call::IssueShares { class: sym("POOL-A"), to: account(holder), amount: Amount(amount) };
    assert_eq!(w.submit("issuer", issue).outcome, TxOutcome::Applied);
    Asset::Shares(sym("POOL-A"))
}

fn transfer(asset: &Asset, to: &str, amount: u128) -> Call {
    Call::Transfer { asset: asset.clone(), to: account(to), amount: Amount(amount) }
}

fn failed(code: ErrorCode) -> TxOutcome {
    TxOutcome::Failed(code)
}

#[test]
fn mint_transfer_burn_moves_cash_and_keeps_supply() {
    // Proves the happy path of cash: mint, transfer, burn, with supply = minted − burned.
    let mut w = world();
    mint(&mut w, "alice", 1_000);
    assert_eq!(w.submit("alice", transfer(&hkd(), "bob", 300)).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&hkd(), "alice"), Amount(700));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(300));
    assert_eq!(w.submit("bob", transfer(&hkd(), "issuer", 100)).outcome, TxOutcome::Applied);
    let burn = Call::Burn { currency: sym("HKD"), amount: Amount(100) };
    assert_eq!(w.submit("issuer", burn).outcome, TxOutcome::Applied);
    let record = w.state.currency(&sym("HKD")).unwrap().unwrap();
    assert_eq!((record.minted, record.burned), (Amount(1_000), Amount(100)));
    invariants::check(&w.state).unwrap();
}

#[test]
fn only_the_currency_issuer_mints_and_burns() {
    // Proves mint/burn refuse other roles and other issuers.
    let mut w = world();
    let call = Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(5) };
    assert_eq!(w.submit("alice", call.clone()).outcome, failed(ErrorCode::WrongRole));
    // A second issuer that does not own HKD.
    let reg = Call::RegisterMember {
        account: account("issuer2"),
        role: Role::Issuer,
        identity_expiry: FAR_FUTURE,
    };
    assert_eq!(w.submit("admin", reg).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("issuer2", call).outcome, failed(ErrorCode::NotIssuer));
    let unknown = Call::Mint { currency: sym("THB"), to: account("alice"), amount: Amount(5) };
    assert_eq!(w.submit("issuer", unknown).outcome, failed(ErrorCode::UnknownCurrency));
    let zero = Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(0) };
    assert_eq!(w.submit("issuer", zero).outcome, failed(ErrorCode::ZeroAmount));
    let burn = Call::Burn { currency: sym("HKD"), amount: Amount(1) };
    assert_eq!(w.submit("issuer", burn).outcome, failed(ErrorCode::InsufficientBalance));
}

#[test]
fn register_currency_needs_admin_and_an_issuer() {
    // Proves currency registration: admin only, issuer role required, no duplicates.
    let mut w = world();
    let thb = Call::RegisterCurrency { currency: sym("THB"), issuer: account("issuer") };
    assert_eq!(w.submit("issuer", thb.clone()).outcome, failed(ErrorCode::WrongRole));
    let bad = Call::RegisterCurrency { currency: sym("THB"), issuer: account("alice") };
    assert_eq!(w.submit("admin", bad).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", thb.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("admin", thb).outcome, failed(ErrorCode::AlreadyExists));
}

#[test]
fn mint_overflow_is_refused() {
    // Proves checked arithmetic: minting past u128::MAX fails and changes nothing.
    let mut w = world();
    mint(&mut w, "alice", u128::MAX);
    let more = Call::Mint { currency: sym("HKD"), to: account("bob"), amount: Amount(1) };
    assert_eq!(w.submit("issuer", more).outcome, failed(ErrorCode::Overflow));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(0));
    invariants::check(&w.state).unwrap();
}

#[test]
fn transfer_refusals() {
    // Proves each transfer refusal: balance, zero, self, unknown asset, receiver checks.
    let mut w = world();
    mint(&mut w, "alice", 100);
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "bob", 101)).outcome,
        failed(ErrorCode::InsufficientBalance)
    );
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "bob", 0)).outcome,
        failed(ErrorCode::ZeroAmount)
    );
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "alice", 1)).outcome,
        failed(ErrorCode::SelfTransfer)
    );
    let thb = Asset::Cash(sym("THB"));
    assert_eq!(
        w.submit("alice", transfer(&thb, "bob", 1)).outcome,
        failed(ErrorCode::UnknownCurrency)
    );
    // Not a member at all.
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "stranger", 1)).outcome,
        failed(ErrorCode::ReceiverNotVerified)
    );
    // Roles that hold nothing.
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "auditor", 1)).outcome,
        failed(ErrorCode::ReceiverNotVerified)
    );
    // The auditor cannot move assets either.
    assert_eq!(
        w.submit("auditor", transfer(&hkd(), "bob", 1)).outcome,
        failed(ErrorCode::WrongRole)
    );
    assert_eq!(w.balance(&hkd(), "alice"), Amount(100));
    invariants::check(&w.state).unwrap();
}

#[test]
fn expired_identity_cannot_receive_or_sign() {
    // Proves identity expiry is enforced against block time, for receivers and signers.
    let mut w = world();
    let soon = Timestamp(w.next.time.0 + 2_500);
    let reg = Call::RegisterMember {
        account: account("dave"),
        role: Role::Investor,
        identity_expiry: soon,
    };
    assert_eq!(w.submit("admin", reg).outcome, TxOutcome::Applied);
    mint(&mut w, "dave", 10); // still valid
    mint(&mut w, "alice", 10);
    // Two more blocks pass the expiry.
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "dave", 1)).outcome,
        failed(ErrorCode::ReceiverNotVerified)
    );
    assert_eq!(
        w.submit("dave", transfer(&hkd(), "alice", 1)).outcome,
        failed(ErrorCode::IdentityExpired)
    );
}

#[test]
fn freeze_blocks_sending_and_receiving_until_unfrozen() {
    // Proves freeze/unfreeze: frozen accounts neither send nor receive; admin only.
    let mut w = world();
    mint(&mut w, "alice", 100);
    let freeze = Call::Freeze { account: account("bob"), reason: text("court order") };
    assert_eq!(w.submit("alice", freeze.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", freeze.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("admin", freeze).outcome, failed(ErrorCode::NoChange));
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "bob", 1)).outcome,
        failed(ErrorCode::ReceiverFrozen)
    );
    assert_eq!(
        w.submit("bob", transfer(&hkd(), "alice", 1)).outcome,
        failed(ErrorCode::SignerFrozen)
    );
    assert_eq!(
        w.submit("admin", Call::Unfreeze { account: account("bob") }).outcome,
        TxOutcome::Applied
    );
    assert_eq!(w.submit("alice", transfer(&hkd(), "bob", 1)).outcome, TxOutcome::Applied);
}

#[test]
fn register_and_revoke_members() {
    // Proves registration (admin only, no duplicates, weak keys refused) and revocation.
    let mut w = world();
    let reg = Call::RegisterMember {
        account: account("dave"),
        role: Role::Investor,
        identity_expiry: FAR_FUTURE,
    };
    assert_eq!(w.submit("alice", reg.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", reg.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("admin", reg).outcome, failed(ErrorCode::AlreadyExists));
    // The identity point is a small-order ("weak") key: anyone could sign for it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = Call::RegisterMember {
        account: volt_proto::AccountId(identity),
        role: Role::Investor,
        identity_expiry: FAR_FUTURE,
    };
    assert_eq!(w.submit("admin", weak).outcome, failed(ErrorCode::BadKey));
    let revoke = Call::RevokeMember { account: account("dave"), reason: text("left") };
    assert_eq!(w.submit("admin", revoke.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("admin", revoke).outcome, failed(ErrorCode::NoChange));
    // A revoked member can neither sign nor receive.
    let receipt = w.submit("dave", transfer(&hkd(), "alice", 1));
    assert_eq!(receipt.outcome, TxOutcome::Rejected(ErrorCode::UnknownSigner));
    mint(&mut w, "alice", 5);
    assert_eq!(
        w.submit("alice", transfer(&hkd(), "dave", 1)).outcome,
        failed(ErrorCode::ReceiverNotVerified)
    );
}

#[test]
fn recover_wallet_moves_balances_to_the_new_key() {
    // Proves recovery: admin-signed, balances and role move, the lost key is revoked.
    let mut w = world();
    mint(&mut w, "alice", 100);
    let shares = class_with(&mut w, "alice", 40);
    let recover = Call::RecoverWallet {
        lost: account("alice"),
        new: account("alice2"),
        identity_expiry: None,
        reason: text("lost phone"),
    };
    assert_eq!(w.submit("bob", recover.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", recover.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&hkd(), "alice"), Amount(0));
    assert_eq!(w.balance(&hkd(), "alice2"), Amount(100));
    assert_eq!(w.balance(&shares, "alice2"), Amount(40));
    let lost = w.state.member(account("alice")).unwrap().unwrap();
    assert!(lost.revoked);
    assert_eq!(lost.recovered_to, Some(account("alice2")));
    assert_eq!(w.state.member(account("alice2")).unwrap().unwrap().role, Role::Investor);
    assert_eq!(w.submit("alice2", transfer(&hkd(), "bob", 10)).outcome, TxOutcome::Applied);
    // A key is recovered once: its successor is on record.
    assert_eq!(w.submit("admin", recover).outcome, failed(ErrorCode::AlreadyRecovered));
    let taken = Call::RecoverWallet {
        lost: account("bob"),
        new: account("carol"),
        identity_expiry: None,
        reason: text("x"),
    };
    assert_eq!(w.submit("admin", taken).outcome, failed(ErrorCode::AlreadyExists));
    // A revoked key still owns its assets: it can be recovered (once), with a new expiry.
    let revoke = Call::RevokeMember { account: account("alice2"), reason: text("stolen") };
    assert_eq!(w.submit("admin", revoke).outcome, TxOutcome::Applied);
    let expiry = Timestamp(FAR_FUTURE.0 - 1);
    let again = Call::RecoverWallet {
        lost: account("alice2"),
        new: account("alice3"),
        identity_expiry: Some(expiry),
        reason: text("stolen key"),
    };
    assert_eq!(w.submit("admin", again).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&hkd(), "alice3"), Amount(90));
    assert_eq!(w.balance(&shares, "alice3"), Amount(40));
    assert_eq!(w.state.member(account("alice3")).unwrap().unwrap().identity_expiry, expiry);
    invariants::check(&w.state).unwrap();
}

#[test]
fn renew_identity_restores_a_lapsed_member_and_lapsed_admins_still_govern() {
    // Proves RenewIdentity: admin only, a live member, a real change; a renewed member signs
    // again; an admin whose own identity lapsed still governs (it holds nothing).
    let mut w = world();
    let soon = Timestamp(w.next.time.0 + 2_500);
    for (name, role) in [("dave", Role::Investor), ("admin2", Role::Admin)] {
        let reg = Call::RegisterMember { account: account(name), role, identity_expiry: soon };
        assert_eq!(w.submit("admin", reg).outcome, TxOutcome::Applied);
    }
    mint(&mut w, "dave", 10);
    mint(&mut w, "alice", 10);
    assert_eq!(
        w.submit("dave", transfer(&hkd(), "alice", 1)).outcome,
        failed(ErrorCode::IdentityExpired)
    );
    let renew = Call::RenewIdentity { account: account("dave"), identity_expiry: FAR_FUTURE };
    assert_eq!(w.submit("alice", renew.clone()).outcome, failed(ErrorCode::WrongRole));
    let unknown = Call::RenewIdentity { account: account("stranger"), identity_expiry: FAR_FUTURE };
    assert_eq!(w.submit("admin", unknown).outcome, failed(ErrorCode::UnknownAccount));
    // admin2's own identity lapsed too: it may still renew others.
    assert_eq!(w.submit("admin2", renew.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("admin", renew).outcome, failed(ErrorCode::NoChange));
    assert_eq!(w.submit("dave", transfer(&hkd(), "alice", 1)).outcome, TxOutcome::Applied);
    let revoke = Call::RevokeMember { account: account("dave"), reason: text("left") };
    assert_eq!(w.submit("admin", revoke).outcome, TxOutcome::Applied);
    let late = Call::RenewIdentity { account: account("dave"), identity_expiry: soon };
    assert_eq!(w.submit("admin", late).outcome, failed(ErrorCode::UnknownAccount));
    // Auditors sign nothing, not even a call that would change nothing.
    let audit = Call::RenewIdentity { account: account("alice"), identity_expiry: FAR_FUTURE };
    assert_eq!(w.submit("auditor", audit).outcome, failed(ErrorCode::WrongRole));
}

#[test]
fn share_class_create_issue_redeem_with_cap() {
    // Proves the share-class life cycle and the fixed maximum supply: it bounds the shares
    // outstanding, so redeemed shares may be issued again, never past the cap.
    let mut w = world();
    let create =
        Call::CreateClass { class: sym("POOL-A"), name: text("Pool A"), supply_max: Amount(100) };
    assert_eq!(w.submit("alice", create.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("issuer", create.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("issuer", create).outcome, failed(ErrorCode::AlreadyExists));
    let issue =
        |n| Call::IssueShares { class: sym("POOL-A"), to: account("alice"), amount: Amount(n) };
    assert_eq!(w.submit("issuer", issue(60)).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("issuer", issue(41)).outcome, failed(ErrorCode::SupplyCapExceeded));
    assert_eq!(w.submit("issuer", issue(40)).outcome, TxOutcome::Applied);
    let redeem = |n| Call::RedeemShares { class: sym("POOL-A"), amount: Amount(n) };
    assert_eq!(w.submit("alice", redeem(101)).outcome, failed(ErrorCode::InsufficientBalance));
    assert_eq!(w.submit("alice", redeem(30)).outcome, TxOutcome::Applied);
    let class = w.state.class(&sym("POOL-A")).unwrap().unwrap();
    assert_eq!(class.outstanding(), Amount(70));
    assert_eq!(w.submit("issuer", issue(31)).outcome, failed(ErrorCode::SupplyCapExceeded));
    assert_eq!(w.submit("issuer", issue(30)).outcome, TxOutcome::Applied);
    let class = w.state.class(&sym("POOL-A")).unwrap().unwrap();
    assert_eq!((class.issued, class.redeemed), (Amount(130), Amount(30)));
    assert_eq!(class.outstanding(), Amount(100));
    assert_eq!(w.submit("issuer", issue(1)).outcome, failed(ErrorCode::SupplyCapExceeded));
    let unknown = Call::IssueShares { class: sym("NOPE"), to: account("alice"), amount: Amount(1) };
    assert_eq!(w.submit("issuer", unknown).outcome, failed(ErrorCode::UnknownClass));
    invariants::check(&w.state).unwrap();
}

#[test]
fn paused_class_does_not_move() {
    // Proves pause/unpause: by an admin only (not even the class's issuer: a pause stops the
    // holders moving what they hold); transfers, issues, redeems refused.
    let mut w = world();
    let shares = class_with(&mut w, "alice", 10);
    let pause = Call::PauseClass { class: sym("POOL-A") };
    assert_eq!(w.submit("alice", pause.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("issuer", pause.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", pause.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("admin", pause).outcome, failed(ErrorCode::NoChange));
    assert_eq!(
        w.submit("alice", transfer(&shares, "bob", 1)).outcome,
        failed(ErrorCode::ClassPaused)
    );
    let redeem = Call::RedeemShares { class: sym("POOL-A"), amount: Amount(1) };
    assert_eq!(w.submit("alice", redeem).outcome, failed(ErrorCode::ClassPaused));
    let issue = Call::IssueShares { class: sym("POOL-A"), to: account("bob"), amount: Amount(1) };
    assert_eq!(w.submit("issuer", issue).outcome, failed(ErrorCode::ClassPaused));
    let unpause = Call::UnpauseClass { class: sym("POOL-A") };
    assert_eq!(w.submit("issuer", unpause.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", unpause).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("alice", transfer(&shares, "bob", 1)).outcome, TxOutcome::Applied);
}

// ----- authentication -----

#[test]
fn bad_signature_is_rejected_and_changes_nothing() {
    // Proves a forged signature is rejected (not failed): the nonce is not used.
    let mut w = world();
    mint(&mut w, "alice", 10);
    let body = w.body("alice", transfer(&hkd(), "bob", 1));
    let forged = body.sign(&key("mallory"));
    let root = w.state.root();
    let receipt = w.block(&[forged]).receipts.remove(0);
    assert_eq!(receipt.outcome, TxOutcome::Rejected(ErrorCode::BadSignature));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(0));
    assert_eq!(w.state.member(account("alice")).unwrap().unwrap().next_nonce, Nonce(0));
    // Only the block metadata changed.
    assert_ne!(w.state.root(), root);
}

#[test]
fn wrong_chain_is_rejected() {
    // Proves a transaction for another chain never applies, even correctly signed.
    let mut w = world();
    let mut body = w.body("admin", Call::Unfreeze { account: account("bob") });
    body.chain_id = ChainId::new("volt-other").unwrap();
    let tx = body.sign(&key("admin"));
    let receipt = w.block(&[tx]).receipts.remove(0);
    assert_eq!(receipt.outcome, TxOutcome::Rejected(ErrorCode::WrongChain));
}

#[test]
fn replayed_and_skipped_nonces_are_rejected() {
    // Proves nonces are strictly sequential: a replay and a gap are both rejected.
    let mut w = world();
    mint(&mut w, "alice", 10);
    let tx = w.tx("alice", transfer(&hkd(), "bob", 1));
    assert_eq!(w.block(std::slice::from_ref(&tx)).receipts[0].outcome, TxOutcome::Applied);
    assert_eq!(w.block(&[tx]).receipts[0].outcome, TxOutcome::Rejected(ErrorCode::NonceReplayed));
    let mut body = w.body("alice", transfer(&hkd(), "bob", 1));
    body.nonce = Nonce(body.nonce.0 + 1);
    let skipped = body.sign(&key("alice"));
    assert_eq!(
        w.block(&[skipped]).receipts[0].outcome,
        TxOutcome::Rejected(ErrorCode::NonceSkipped)
    );
    assert_eq!(w.balance(&hkd(), "bob"), Amount(1));
}

#[test]
fn same_transaction_twice_in_one_block_applies_once() {
    // Proves a duplicate inside one block is rejected as a replay.
    let mut w = world();
    mint(&mut w, "alice", 10);
    let tx = w.tx("alice", transfer(&hkd(), "bob", 4));
    let result = w.block(&[tx.clone(), tx]);
    assert_eq!(result.receipts[0].outcome, TxOutcome::Applied);
    assert_eq!(result.receipts[1].outcome, TxOutcome::Rejected(ErrorCode::NonceReplayed));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(4));
}

#[test]
fn expired_transaction_is_rejected() {
    // Proves a transaction past its expiry height is rejected.
    let mut w = world();
    let mut body = w.body("admin", Call::Unfreeze { account: account("bob") });
    body.expiry_height = Height(w.next.height.0 - 1);
    let tx = body.sign(&key("admin"));
    assert_eq!(w.block(&[tx]).receipts[0].outcome, TxOutcome::Rejected(ErrorCode::Expired));
}

#[test]
fn unknown_signer_is_rejected() {
    // Proves a correctly signed transaction from a non-member is rejected.
    let mut w = world();
    let tx = w.tx("stranger", transfer(&hkd(), "bob", 1));
    assert_eq!(w.block(&[tx]).receipts[0].outcome, TxOutcome::Rejected(ErrorCode::UnknownSigner));
}

#[test]
fn failed_call_uses_the_nonce_but_writes_nothing() {
    // Proves atomicity: a call failing midway keeps none of its writes, and uses its nonce.
    let mut w = world();
    mint(&mut w, "alice", 10);
    let before = w.state.entries().unwrap();
    let tx = w.tx("alice", transfer(&hkd(), "bob", 11));
    assert_eq!(w.block(&[tx]).receipts[0].outcome, failed(ErrorCode::InsufficientBalance));
    let after = w.state.entries().unwrap();
    let changed: Vec<_> = after.iter().filter(|e| !before.contains(e)).collect();
    // Exactly two records changed: the block metadata and alice's nonce.
    assert_eq!(changed.len(), 2);
    assert_eq!(w.state.member(account("alice")).unwrap().unwrap().next_nonce, Nonce(1));
}

#[test]
fn block_height_and_time_are_checked() {
    // Proves blocks apply in order with non-decreasing time; a refused block changes nothing.
    let mut w = world();
    let root = w.state.root();
    let mut ctx = w.next;
    ctx.height = Height(5);
    assert!(w.state.apply_block(ctx, &[]).is_err());
    let mut ctx = w.next;
    ctx.time = Timestamp(0);
    assert!(w.state.apply_block(ctx, &[]).is_err());
    assert_eq!(w.state.root(), root);
}

// ----- trades -----

fn terms(w: &World, maker_shares: u128, taker_cash: u128) -> TradeTerms {
    TradeTerms {
        maker: account("alice"),
        taker: account("bob"),
        maker_gives: Leg { asset: Asset::Shares(sym("POOL-A")), amount: Amount(maker_shares) },
        taker_gives: Leg { asset: hkd(), amount: Amount(taker_cash) },
        expiry_height: Height(w.next.height.0 + 10),
        salt: 7,
    }
}

fn signed_by(terms: &TradeTerms, who: &str, w: &World) -> Signature {
    key(who).sign_raw(&terms.signing_message(&w.chain_id))
}

fn trade_world() -> World {
    let mut w = world();
    class_with(&mut w, "alice", 50);
    mint(&mut w, "bob", 1_000);
    w
}

#[test]
fn trade_settles_both_legs() {
    // Proves an atomic trade: shares one way, cash the other, signed by both parties.
    let mut w = trade_world();
    let t = terms(&w, 10, 250);
    let sig = signed_by(&t, "alice", &w);
    let call = Call::Trade { terms: t, counterparty_signature: sig };
    assert_eq!(w.submit("bob", call).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&Asset::Shares(sym("POOL-A")), "bob"), Amount(10));
    assert_eq!(w.balance(&hkd(), "alice"), Amount(250));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(750));
    invariants::check(&w.state).unwrap();
}

#[test]
fn trade_signed_by_one_party_only_fails() {
    // Proves the counterparty must sign the very terms: own signature or other terms fail.
    let mut w = trade_world();
    let t = terms(&w, 10, 250);
    let own = signed_by(&t, "bob", &w);
    let call = Call::Trade { terms: t.clone(), counterparty_signature: own };
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::BadCounterpartySignature));
    let mut other = t.clone();
    other.taker_gives.amount = Amount(1);
    let sig_for_other = signed_by(&other, "alice", &w);
    let call = Call::Trade { terms: t, counterparty_signature: sig_for_other };
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::BadCounterpartySignature));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(1_000));
}

#[test]
fn trade_replay_fails() {
    // Proves a trade id settles once, even submitted by the other party with a fresh nonce.
    let mut w = trade_world();
    let t = terms(&w, 10, 250);
    let call = Call::Trade { terms: t.clone(), counterparty_signature: signed_by(&t, "alice", &w) };
    assert_eq!(w.submit("bob", call.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::TradeReplayed));
    let mirror = Call::Trade { terms: t.clone(), counterparty_signature: signed_by(&t, "bob", &w) };
    assert_eq!(w.submit("alice", mirror).outcome, failed(ErrorCode::TradeReplayed));
    assert_eq!(w.balance(&hkd(), "alice"), Amount(250));
}

#[test]
fn expired_trade_fails() {
    // Proves a trade past its expiry height does not settle.
    let mut w = trade_world();
    let mut t = terms(&w, 10, 250);
    t.expiry_height = Height(w.next.height.0 - 1);
    let call = Call::Trade { terms: t.clone(), counterparty_signature: signed_by(&t, "alice", &w) };
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::TradeExpired));
}

#[test]
fn trade_is_all_or_nothing() {
    // Proves a short second leg undoes the first: no shares move when the cash is missing.
    let mut w = trade_world();
    let t = terms(&w, 10, 5_000);
    let call = Call::Trade { terms: t.clone(), counterparty_signature: signed_by(&t, "alice", &w) };
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::InsufficientBalance));
    assert_eq!(w.balance(&Asset::Shares(sym("POOL-A")), "alice"), Amount(50));
    assert_eq!(w.balance(&Asset::Shares(sym("POOL-A")), "bob"), Amount(0));
    invariants::check(&w.state).unwrap();
}

#[test]
fn cancelled_trade_terms_never_settle() {
    // Proves CancelTrade: either party only, once, not after settling; cancelled terms fail
    // with TradeCancelled even with a good signature.
    let mut w = trade_world();
    let t = terms(&w, 10, 250);
    let cancel = Call::CancelTrade { terms: t.clone() };
    assert_eq!(w.submit("carol", cancel.clone()).outcome, failed(ErrorCode::NotTradeParty));
    assert_eq!(w.submit("alice", cancel.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("bob", cancel).outcome, failed(ErrorCode::NoChange));
    let call = Call::Trade { terms: t.clone(), counterparty_signature: signed_by(&t, "alice", &w) };
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::TradeCancelled));
    assert_eq!(w.balance(&hkd(), "bob"), Amount(1_000));
    // Settled terms cannot be cancelled after the fact.
    let mut settled = terms(&w, 1, 10);
    settled.salt = 8;
    let sig = signed_by(&settled, "alice", &w);
    let trade = Call::Trade { terms: settled.clone(), counterparty_signature: sig };
    assert_eq!(w.submit("bob", trade).outcome, TxOutcome::Applied);
    let late = Call::CancelTrade { terms: settled };
    assert_eq!(w.submit("bob", late).outcome, failed(ErrorCode::TradeReplayed));
    invariants::check(&w.state).unwrap();
}

#[test]
fn trade_outsider_frozen_party_and_paused_class_fail() {
    // Proves trades check the submitter is a party, both parties are unfrozen, class unpaused.
    let mut w = trade_world();
    let t = terms(&w, 10, 250);
    let call = Call::Trade { terms: t.clone(), counterparty_signature: signed_by(&t, "alice", &w) };
    assert_eq!(w.submit("carol", call.clone()).outcome, failed(ErrorCode::NotTradeParty));
    let freeze = Call::Freeze { account: account("alice"), reason: text("review") };
    assert_eq!(w.submit("admin", freeze).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("bob", call.clone()).outcome, failed(ErrorCode::SignerFrozen));
    assert_eq!(
        w.submit("admin", Call::Unfreeze { account: account("alice") }).outcome,
        TxOutcome::Applied
    );
    assert_eq!(
        w.submit("admin", Call::PauseClass { class: sym("POOL-A") }).outcome,
        TxOutcome::Applied
    );
    assert_eq!(w.submit("bob", call).outcome, failed(ErrorCode::ClassPaused));
}

#[test]
fn genesis_refuses_bad_documents() {
    // Proves genesis validation: weak keys, duplicates and non-issuer currency owners.
    use volt_token::{Genesis, GenesisError, GenesisMember, MemStore, State};
    let member = |name: &str, role| GenesisMember {
        account: account(name),
        role,
        identity_expiry: FAR_FUTURE,
    };
    let base = Genesis {
        chain_id: volt_token::testkit::chain_id(),
        time: Timestamp(0),
        members: vec![member("admin", Role::Admin), member("alice", Role::Investor)],
        currencies: vec![(sym("HKD"), account("alice"))],
    };
    let err = State::genesis(MemStore::new(), &base).err().unwrap();
    assert!(matches!(err, GenesisError::BadIssuer { .. }));
    let mut dup = base.clone();
    dup.currencies.clear();
    dup.members.push(member("alice", Role::Investor));
    assert!(matches!(
        State::genesis(MemStore::new(), &dup).err().unwrap(),
        GenesisError::DuplicateMember(_)
    ));
    let _ = Keypair::for_testing("unused");
}
