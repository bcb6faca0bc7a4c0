//! The mempool's rules, one test each, and a property test over random sequences.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;
use volt_proto::codec::CodecError;
use volt_proto::sig::Keypair;
use volt_proto::{Call, ChainId, ErrorCode, Signature, Text, TxBody};

const CHAIN: &str = "volt-test";

/// A ledger held in memory: member records, a chain id and a height.
struct Fake {
    chain: ChainId,
    height: Height,
    signers: BTreeMap<AccountId, SignerView>,
}

impl Fake {
    /// Members `a`, `b`, `c`, `d` at nonce 0, height 10.
    fn new() -> Fake {
        let chain = ChainId::new(CHAIN).unwrap();
        let view = SignerView { next_nonce: Nonce(0), frozen: false, revoked: false };
        let signers = ["a", "b", "c", "d"].iter().map(|n| (key(n).account(), view)).collect();
        Fake { chain, height: Height(10), signers }
    }

    fn view(&mut self, name: &str) -> &mut SignerView {
        self.signers.get_mut(&key(name).account()).unwrap()
    }
}

impl Ledger for Fake {
    fn signer(&self, account: AccountId) -> Option<SignerView> {
        self.signers.get(&account).copied()
    }
    fn chain_id(&self) -> &ChainId {
        &self.chain
    }
    fn height(&self) -> Height {
        self.height
    }
}

fn key(name: &str) -> Keypair {
    Keypair::for_testing(name)
}

fn body(name: &str, nonce: u64, expiry: u64, pad: usize) -> TxBody {
    TxBody {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: key(name).account(),
        nonce: Nonce(nonce),
        expiry_height: Height(expiry),
        call: Call::Freeze {
            account: key("target").account(),
            reason: Text::new(&"x".repeat(pad)).unwrap(),
        },
    }
}

/// `name`'s transaction with `nonce`, valid until height 100, in canonical bytes.
fn tx(name: &str, nonce: u64) -> Vec<u8> {
    body(name, nonce, 100, 0).sign(&key(name)).encode()
}

fn limits() -> MempoolLimits {
    MempoolLimits { txs_max: 100, bytes_max: 1 << 20, account_txs_max: 10, nonce_ahead_max: 20 }
}

fn id_of(bytes: &[u8]) -> Hash {
    SignedTx::decode(bytes).unwrap().id()
}

fn refusal(pool: &mut Mempool, bytes: &[u8], ledger: &Fake) -> Refusal {
    pool.admit(bytes, ledger).expect_err("should be refused")
}

/// (signer, nonce) of each selected transaction.
fn nonces(txs: &[SignedTx]) -> Vec<(AccountId, u64)> {
    txs.iter().map(|t| (t.body.signer, t.body.nonce.0)).collect()
}

/// Every structure agrees with the others and within the limits.
fn check_invariants(pool: &Mempool) {
    let l = pool.limits;
    assert!(pool.txs.len() <= l.txs_max, "count {} over {}", pool.txs.len(), l.txs_max);
    assert!(pool.bytes <= l.bytes_max, "bytes {} over {}", pool.bytes, l.bytes_max);
    assert_eq!(pool.bytes, pool.txs.values().map(|e| e.size).sum::<usize>());
    let queued: usize = pool.accounts.values().map(|q| q.nonces.len()).sum();
    assert_eq!(queued, pool.txs.len());
    assert_eq!(pool.by_age.len(), pool.accounts.len());
    for (account, queue) in &pool.accounts {
        assert!(!queue.nonces.is_empty() && queue.nonces.len() <= l.account_txs_max);
        let oldest = queue.nonces.values().map(|id| pool.txs[id].seq).min().unwrap();
        assert_eq!(queue.oldest, oldest);
        assert!(pool.by_age.contains(&(oldest, *account)));
        for (nonce, id) in &queue.nonces {
            let e = &pool.txs[id];
            assert_eq!((e.tx.body.signer, e.tx.body.nonce), (*account, *nonce));
        }
    }
}

#[test]
fn admits_a_valid_transaction() {
    // Proves a well-formed, signed, current transaction is admitted and counted in both bounds.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let bytes = tx("a", 0);
    let id = pool.admit(&bytes, &ledger).unwrap();
    assert_eq!(id, id_of(&bytes));
    assert!(pool.contains(&id));
    assert_eq!((pool.len(), pool.bytes()), (1, bytes.len()));
    check_invariants(&pool);
}

#[test]
fn refuses_malformed_and_non_canonical_bytes() {
    // Proves random bytes and a valid encoding with a trailing byte are refused as Malformed.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let r = refusal(&mut pool, &[0xff; 40], &ledger);
    assert!(matches!(r, Refusal::Malformed(_)), "{r:?}");
    let mut bytes = tx("a", 0);
    bytes.push(0);
    let r = refusal(&mut pool, &bytes, &ledger);
    assert!(matches!(r, Refusal::Malformed(CodecError::TrailingBytes { .. })), "{r:?}");
    assert_eq!(r.reason(), "Malformed");
    assert!(pool.is_empty());
}

#[test]
fn refuses_too_large() {
    // Proves input over TX_BYTES_MAX is refused as TxTooLarge before it is decoded.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let r = refusal(&mut pool, &vec![0u8; TX_BYTES_MAX + 1], &ledger);
    assert_eq!(r, Refusal::TooLarge { bytes: TX_BYTES_MAX + 1, max: TX_BYTES_MAX });
    assert_eq!(r.reason(), "TxTooLarge");
}

#[test]
fn refuses_wrong_chain() {
    // Proves a transaction signed for another chain is refused as WrongChain.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let mut b = body("a", 0, 100, 0);
    b.chain_id = ChainId::new("other-chain").unwrap();
    let r = refusal(&mut pool, &b.sign(&key("a")).encode(), &ledger);
    assert!(matches!(r, Refusal::WrongChain { .. }), "{r:?}");
    assert_eq!(r.reason(), "WrongChain");
}

#[test]
fn refuses_bad_signatures_including_small_order_r() {
    // Proves a flipped signature, another key's signature and a crafted small-order R (identity
    // point, s = 0) are all refused as BadSignature, and nothing is admitted.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let mut flipped = body("a", 0, 100, 0).sign(&key("a"));
    flipped.signature.0[5] ^= 1;
    let by_other = body("a", 0, 100, 0).sign(&key("b"));
    let mut identity = [0u8; 64];
    identity[0] = 1; // the identity point's compressed encoding
    let small_order = SignedTx { body: body("a", 0, 100, 0), signature: Signature(identity) };
    for tx in [flipped, by_other, small_order.clone()] {
        let r = refusal(&mut pool, &tx.encode(), &ledger);
        assert!(matches!(r, Refusal::BadSignature(_)), "{r:?}");
        assert_eq!(r.reason(), "BadSignature");
    }
    let r = refusal(&mut pool, &small_order.encode(), &ledger);
    assert_eq!(r, Refusal::BadSignature(sig::SigError::SmallOrderR));
    assert!(pool.is_empty());
}

#[test]
fn refuses_expired_below_next_height() {
    // Proves expiry below the next height is refused as Expired, and expiry at it is admitted.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let r = refusal(&mut pool, &body("a", 0, 10, 0).sign(&key("a")).encode(), &ledger);
    assert_eq!(r, Refusal::Expired { expiry_height: Height(10), next_height: Height(11) });
    pool.admit(&body("a", 0, 11, 0).sign(&key("a")).encode(), &ledger).unwrap();
}

#[test]
fn refuses_unknown_and_revoked_signers() {
    // Proves a non-member and a revoked member are refused as UnknownSigner.
    let mut ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let r = refusal(&mut pool, &tx("stranger", 0), &ledger);
    let stranger = key("stranger").account();
    assert_eq!(r, Refusal::UnknownSigner { account: stranger, revoked: false });
    ledger.view("a").revoked = true;
    let r = refusal(&mut pool, &tx("a", 0), &ledger);
    assert_eq!(r, Refusal::UnknownSigner { account: key("a").account(), revoked: true });
    assert_eq!(r.reason(), "UnknownSigner");
}

#[test]
fn refuses_frozen_signer() {
    // Proves a frozen signer's transaction is refused as SignerFrozen.
    let mut ledger = Fake::new();
    ledger.view("a").frozen = true;
    let mut pool = Mempool::new(limits());
    let r = refusal(&mut pool, &tx("a", 0), &ledger);
    assert_eq!(r, Refusal::Frozen(key("a").account()));
    assert_eq!(r.reason(), "SignerFrozen");
}

#[test]
fn refuses_replayed_nonce() {
    // Proves a nonce below the ledger's next nonce is refused as NonceReplayed.
    let mut ledger = Fake::new();
    ledger.view("a").next_nonce = Nonce(3);
    let mut pool = Mempool::new(limits());
    let r = refusal(&mut pool, &tx("a", 2), &ledger);
    assert_eq!(r, Refusal::NonceReplayed { nonce: Nonce(2), next: Nonce(3) });
    pool.admit(&tx("a", 3), &ledger).unwrap();
}

#[test]
fn refuses_nonce_too_far_ahead() {
    // Proves next + nonce_ahead_max is admitted and one more is refused as NonceTooFarAhead.
    let mut ledger = Fake::new();
    ledger.view("a").next_nonce = Nonce(5);
    let mut pool = Mempool::new(limits());
    pool.admit(&tx("a", 25), &ledger).unwrap();
    let r = refusal(&mut pool, &tx("a", 26), &ledger);
    assert_eq!(r, Refusal::NonceTooFarAhead { nonce: Nonce(26), next: Nonce(5), max: 20 });
    assert_eq!(r.reason(), "NonceTooFarAhead");
}

#[test]
fn refuses_duplicate_id() {
    // Proves the same transaction twice is refused as Duplicate, and the pool does not change.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let bytes = tx("a", 0);
    let id = pool.admit(&bytes, &ledger).unwrap();
    assert_eq!(refusal(&mut pool, &bytes, &ledger), Refusal::Duplicate(id));
    assert_eq!(pool.len(), 1);
}

#[test]
fn refuses_a_second_transaction_for_a_pending_nonce() {
    // Proves a different transaction for a pending (signer, nonce) is refused as NoncePending
    // (no replace-by-fee) and the first one stays.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let first = pool.admit(&tx("a", 0), &ledger).unwrap();
    let other = body("a", 0, 100, 3).sign(&key("a")).encode();
    let r = refusal(&mut pool, &other, &ledger);
    assert_eq!(r, Refusal::NoncePending { nonce: Nonce(0), pending: first });
    assert!(pool.contains(&first) && pool.len() == 1);
}

#[test]
fn per_account_cap_leaves_room_for_others() {
    // Proves one account is refused AccountQueueFull at account_txs_max while another still
    // gets in, and that the refusal counts as resource exhaustion.
    let ledger = Fake::new();
    let mut pool = Mempool::new(MempoolLimits { account_txs_max: 3, ..limits() });
    for n in 0..3 {
        pool.admit(&tx("a", n), &ledger).unwrap();
    }
    let r = refusal(&mut pool, &tx("a", 3), &ledger);
    assert_eq!(r, Refusal::AccountQueueFull { account: key("a").account(), max: 3 });
    assert!(r.is_resource_exhausted());
    pool.admit(&tx("b", 0), &ledger).unwrap();
    assert_eq!(pool.len(), 4);
}

#[test]
fn full_by_count_refuses_without_growing() {
    // Proves a pool at txs_max refuses with a resource-exhausted MempoolFull and stays the same.
    let ledger = Fake::new();
    let mut pool = Mempool::new(MempoolLimits { txs_max: 3, ..limits() });
    for (name, n) in [("a", 0), ("a", 1), ("b", 0)] {
        pool.admit(&tx(name, n), &ledger).unwrap();
    }
    let (len, bytes) = (pool.len(), pool.bytes());
    let r = refusal(&mut pool, &tx("c", 0), &ledger);
    assert!(matches!(r, Refusal::MempoolFull { txs: 3, txs_max: 3, .. }), "{r:?}");
    assert!(r.is_resource_exhausted());
    assert_eq!(r.reason(), "MempoolFull");
    assert_eq!((pool.len(), pool.bytes()), (len, bytes));
    check_invariants(&pool);
}

#[test]
fn full_by_bytes_refuses_without_growing() {
    // Proves a transaction that would cross bytes_max is refused MempoolFull, while a smaller
    // one that fits is still admitted.
    let ledger = Fake::new();
    let small = tx("a", 0);
    let big = body("b", 0, 100, 200).sign(&key("b")).encode();
    let bytes_max = small.len() * 2 + 10;
    assert!(big.len() > small.len() + 10);
    let mut pool = Mempool::new(MempoolLimits { bytes_max, ..limits() });
    pool.admit(&small, &ledger).unwrap();
    let r = refusal(&mut pool, &big, &ledger);
    assert!(matches!(r, Refusal::MempoolFull { .. }) && r.is_resource_exhausted(), "{r:?}");
    assert_eq!(pool.bytes(), small.len());
    pool.admit(&tx("c", 0), &ledger).unwrap();
    assert!(pool.bytes() <= bytes_max);
}

#[test]
fn select_offers_only_the_contiguous_run() {
    // Proves select returns nonces contiguous from the next nonce (a gap stops the run),
    // counts excluded ancestors' transactions as used, and starts at the ledger's next nonce.
    let mut ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let ids: Vec<Hash> =
        [0, 1, 3].iter().map(|n| pool.admit(&tx("a", *n), &ledger).unwrap()).collect();
    let a = key("a").account();
    let none = BTreeSet::new();
    assert_eq!(nonces(&pool.select(&none, 10, 1 << 20, &ledger)), vec![(a, 0), (a, 1)]);
    let ancestors = BTreeSet::from([ids[0]]);
    assert_eq!(nonces(&pool.select(&ancestors, 10, 1 << 20, &ledger)), vec![(a, 1)]);
    ledger.view("a").next_nonce = Nonce(2);
    assert!(pool.select(&none, 10, 1 << 20, &ledger).is_empty(), "nonce 2 is missing");
    ledger.view("a").next_nonce = Nonce(3);
    assert_eq!(nonces(&pool.select(&none, 10, 1 << 20, &ledger)), vec![(a, 3)]);
}

#[test]
fn select_serves_the_oldest_transaction_first() {
    // Proves that across accounts the earliest-arrived transaction goes first while each
    // account stays in nonce order (b's nonce 2, the first to arrive, waits for 0 and 1), and
    // the count limit cuts the rest.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    for (name, n) in [("b", 2), ("a", 0), ("b", 0), ("a", 1), ("b", 1)] {
        pool.admit(&tx(name, n), &ledger).unwrap();
    }
    let (a, b) = (key("a").account(), key("b").account());
    let got = nonces(&pool.select(&BTreeSet::new(), 4, 1 << 20, &ledger));
    assert_eq!(got, vec![(a, 0), (b, 0), (a, 1), (b, 1)]);
    let all = nonces(&pool.select(&BTreeSet::new(), 10, 1 << 20, &ledger));
    assert_eq!(all, vec![(a, 0), (b, 0), (a, 1), (b, 1), (b, 2)]);
}

#[test]
fn select_respects_bytes_and_stops_a_run_that_does_not_fit() {
    // Proves the byte limit holds, and an account whose next transaction does not fit stops
    // there (no later nonce of it) while a smaller account's transactions still fill the block.
    let ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let big = body("a", 0, 100, 200).sign(&key("a")).encode();
    pool.admit(&big, &ledger).unwrap();
    pool.admit(&tx("a", 1), &ledger).unwrap();
    let small = tx("b", 0);
    pool.admit(&small, &ledger).unwrap();
    pool.admit(&tx("b", 1), &ledger).unwrap();
    let b = key("b").account();
    let got = pool.select(&BTreeSet::new(), 10, small.len() * 2 + 1, &ledger);
    assert_eq!(nonces(&got), vec![(b, 0), (b, 1)]);
    let total: usize = got.iter().map(|t| t.encode().len()).sum();
    assert!(total <= small.len() * 2 + 1);
}

#[test]
fn select_skips_frozen_signers_and_stops_at_expired() {
    // Proves a signer frozen since admission offers nothing, and a run stops before a
    // transaction that expired since admission.
    let mut ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    pool.admit(&tx("a", 0), &ledger).unwrap();
    pool.admit(&tx("b", 0), &ledger).unwrap();
    pool.admit(&body("b", 1, 11, 0).sign(&key("b")).encode(), &ledger).unwrap();
    pool.admit(&tx("b", 2), &ledger).unwrap();
    ledger.view("a").frozen = true;
    ledger.height = Height(11);
    let b = key("b").account();
    assert_eq!(nonces(&pool.select(&BTreeSet::new(), 10, 1 << 20, &ledger)), vec![(b, 0)]);
}

#[test]
fn finalization_removes_included_and_evicts_stale() {
    // Proves on_finalized drops the block's transactions, then evicts used nonces, expired
    // transactions and revoked signers' transactions, reporting each with its reason, and
    // keeps the rest.
    let mut ledger = Fake::new();
    let mut pool = Mempool::new(limits());
    let included = pool.admit(&tx("a", 0), &ledger).unwrap();
    let used_elsewhere = pool.admit(&tx("b", 0), &ledger).unwrap();
    let expiring = pool.admit(&body("c", 0, 11, 0).sign(&key("c")).encode(), &ledger).unwrap();
    let revoked = pool.admit(&tx("d", 0), &ledger).unwrap();
    let kept = pool.admit(&tx("a", 1), &ledger).unwrap();
    ledger.height = Height(11);
    ledger.view("a").next_nonce = Nonce(1);
    ledger.view("b").next_nonce = Nonce(1);
    ledger.view("d").revoked = true;
    let stale = pool.on_finalized(&[included], &ledger);
    let reasons: BTreeMap<Hash, &str> = stale.iter().map(|(id, r)| (*id, r.reason())).collect();
    let want = BTreeMap::from([
        (used_elsewhere, "NonceReplayed"),
        (expiring, "Expired"),
        (revoked, "UnknownSigner"),
    ]);
    assert_eq!(reasons, want);
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&kept));
    check_invariants(&pool);
    let a = key("a").account();
    assert_eq!(nonces(&pool.select(&BTreeSet::new(), 10, 1 << 20, &ledger)), vec![(a, 1)]);
}

#[test]
fn reasons_are_error_code_names_where_one_exists() {
    // Proves each refusal with a ledger code uses that code's name as its reason, and only the
    // room refusals are resource exhaustion.
    let a = key("a").account();
    let chain = ChainId::new(CHAIN).unwrap();
    let all = [
        Refusal::Malformed(CodecError::NonCanonical),
        Refusal::TooLarge { bytes: 1, max: 0 },
        Refusal::WrongChain { expected: chain.clone(), got: chain },
        Refusal::BadSignature(sig::SigError::Invalid),
        Refusal::Expired { expiry_height: Height(0), next_height: Height(1) },
        Refusal::UnknownSigner { account: a, revoked: false },
        Refusal::Frozen(a),
        Refusal::NonceReplayed { nonce: Nonce(0), next: Nonce(1) },
        Refusal::NonceTooFarAhead { nonce: Nonce(9), next: Nonce(0), max: 1 },
        Refusal::Duplicate(Hash::ZERO),
        Refusal::NoncePending { nonce: Nonce(0), pending: Hash::ZERO },
        Refusal::AccountQueueFull { account: a, max: 1 },
        Refusal::MempoolFull { txs: 1, txs_max: 1, bytes: 0, tx_bytes: 1, bytes_max: 1 },
    ];
    let mut with_code = 0;
    for r in &all {
        if let Some(code) = r.error_code() {
            assert_eq!(r.reason(), format!("{code:?}"));
            with_code += 1;
        }
        let room = matches!(r.reason(), "MempoolFull" | "AccountQueueFull");
        assert_eq!(r.is_resource_exhausted(), room, "{r:?}");
        assert_eq!(r.grpc_code() == tonic::Code::ResourceExhausted, room, "{r:?}");
    }
    assert_eq!(with_code, 6);
    assert_eq!(Refusal::Frozen(a).error_code(), Some(ErrorCode::SignerFrozen));
}

/// One step of a random run.
#[derive(Clone, Debug)]
enum Op {
    /// Account `who` submits nonce next + `ahead`, expiring `life` blocks from now, padded.
    Admit { who: usize, ahead: u64, life: u64, pad: usize },
    /// A block of at most `txs` transactions and `bytes` bytes is built, finalized and applied.
    Block { txs: usize, bytes: usize },
    /// An account is revoked.
    Revoke { who: usize },
    /// An account's next nonce is used by a transaction this mempool never saw (another node's).
    Elsewhere { who: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, 0..6u64, 0..4u64, 0..120usize)
            .prop_map(|(who, ahead, life, pad)| Op::Admit { who, ahead, life, pad }),
        3 => (0..6usize, 100..1500usize).prop_map(|(txs, bytes)| Op::Block { txs, bytes }),
        1 => (0..4usize).prop_map(|who| Op::Revoke { who }),
        1 => (0..4usize).prop_map(|who| Op::Elsewhere { who }),
    ]
}

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

/// Asserts each account's transactions in `txs` are exactly next, next + 1, … in order.
fn assert_contiguous(txs: &[SignedTx], ledger: &Fake) {
    let mut expect: BTreeMap<AccountId, u64> = BTreeMap::new();
    for t in txs {
        let next = expect
            .entry(t.body.signer)
            .or_insert_with(|| ledger.signer(t.body.signer).map_or(u64::MAX, |v| v.next_nonce.0));
        assert_eq!(t.body.nonce.0, *next, "non-contiguous nonce selected");
        assert!(t.body.expiry_height > ledger.height, "expired transaction selected");
        *next += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_runs_keep_every_bound_and_select_contiguously(ops in prop::collection::vec(op(), 1..60)) {
        // Proves that under random admissions, blocks, revocations and nonces used elsewhere
        // every bound holds and the indexes agree after each step, a pipelined pair of
        // selections (the second excluding the first, as an unfinalized parent) never offers a
        // non-contiguous nonce, and finalizing a block leaves nothing stale behind.
        let mut ledger = Fake::new();
        let limits = MempoolLimits {
            txs_max: 6, bytes_max: 1200, account_txs_max: 3, nonce_ahead_max: 4,
        };
        let mut pool = Mempool::new(limits);
        for op in ops {
            match op {
                Op::Admit { who, ahead, life, pad } => {
                    let name = NAMES[who];
                    let next = ledger.signer(key(name).account()).map_or(0, |v| v.next_nonce.0);
                    let expiry = ledger.height.0 + life;
                    let bytes = body(name, next + ahead, expiry, pad).sign(&key(name)).encode();
                    let before = (pool.len(), pool.bytes());
                    if let Err(r) = pool.admit(&bytes, &ledger) {
                        prop_assert_eq!((pool.len(), pool.bytes()), before, "{:?}", r);
                    }
                }
                Op::Block { txs, bytes } => {
                    let first = pool.select(&BTreeSet::new(), txs, bytes, &ledger);
                    let size: usize = first.iter().map(|t| t.encode().len()).sum();
                    prop_assert!(first.len() <= txs && size <= bytes);
                    let parent: BTreeSet<Hash> = first.iter().map(SignedTx::id).collect();
                    let second = pool.select(&parent, txs, bytes, &ledger);
                    let both: Vec<SignedTx> = first.iter().chain(&second).cloned().collect();
                    assert_contiguous(&both, &ledger);
                    // Apply the first block as the ledger would, then finalize it.
                    ledger.height = Height(ledger.height.0 + 1);
                    for t in &first {
                        if let Some(v) = ledger.signers.get_mut(&t.body.signer) {
                            v.next_nonce = Nonce(v.next_nonce.0 + 1);
                        }
                    }
                    let ids: Vec<Hash> = parent.into_iter().collect();
                    pool.on_finalized(&ids, &ledger);
                    for e in pool.txs.values() {
                        let v = ledger.signer(e.tx.body.signer).unwrap();
                        prop_assert!(!v.revoked && e.tx.body.nonce >= v.next_nonce);
                        prop_assert!(e.tx.body.expiry_height > ledger.height);
                    }
                }
                Op::Revoke { who } => ledger.view(NAMES[who]).revoked = true,
                Op::Elsewhere { who } => ledger.view(NAMES[who]).next_nonce.0 += 1,
            }
            check_invariants(&pool);
        }
    }
}

#[test]
fn a_ready_transaction_evicts_gap_transactions_from_a_full_mempool() {
    // Proves parked transactions behind a nonce gap never lock out one that could go into the
    // next block: it evicts the newest gap transaction; a gap transaction evicts nothing.
    let ledger = Fake::new();
    let mut pool = Mempool::new(MempoolLimits { txs_max: 4, ..limits() });
    for nonce in 1..=2 {
        pool.admit(&tx("a", nonce), &ledger).unwrap(); // a waits behind its missing nonce 0
        pool.admit(&tx("b", nonce), &ledger).unwrap();
    }
    let gap = refusal(&mut pool, &tx("c", 5), &ledger);
    assert!(gap.is_resource_exhausted(), "{gap:?}");
    assert_eq!(pool.len(), 4);
    let newest_gap = id_of(&tx("b", 2));
    pool.admit(&tx("c", 0), &ledger).unwrap();
    check_invariants(&pool);
    assert_eq!(pool.len(), 4);
    assert!(!pool.contains(&newest_gap), "the newest gap transaction gives way");
    assert!(pool.contains(&id_of(&tx("a", 1))));
    // A bad signature on a ready transaction evicts nothing.
    let mut forged = SignedTx::decode(&tx("d", 0)).unwrap();
    forged.signature = Signature([7; 64]);
    assert!(matches!(refusal(&mut pool, &forged.encode(), &ledger), Refusal::BadSignature(_)));
    assert_eq!(pool.len(), 4);
    // Once only ready transactions wait, a full mempool refuses again.
    let mut ledger = ledger;
    ledger.view("a").next_nonce = Nonce(1);
    ledger.view("b").next_nonce = Nonce(1);
    let full = refusal(&mut pool, &tx("d", 0), &ledger);
    assert!(full.is_resource_exhausted(), "{full:?}");
    assert_eq!(pool.len(), 4);
    check_invariants(&pool);
}
