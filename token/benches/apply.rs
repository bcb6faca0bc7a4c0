//! Block application throughput: cash transfers per second through [`State::apply_block`]
//! (batch signature check, execution, store write and state-root update, on the in-memory
//! store), printed beside the raw ed25519-dalek batch-verify rate and `volt_proto::sig`'s batch
//! rate over the same signatures, measured in the same run. Goal: application reaches at least
//! half the raw batch-verify rate.
//!
//! Run: `cargo bench -p volt-token --bench apply` (about 10 s once built, on two cores).
//!
//! A manual timing loop rather than criterion's sampler: every block must carry fresh nonces, so
//! each timed iteration applies a different pre-signed block to one warm state (as a node
//! does), and the figures we want are rates side by side, not a regression history. Each figure
//! is the median of its rounds.
//!
//! Besides the totals, the bench splits a block's time into phases measured from outside the
//! ledger (the phases inside `apply_block` are private): the per-transaction encode, id and
//! signing message; the batch verify; writing the block's changes into a `MemStore`; and
//! applying them to a `StateTree` of the same size. What is left is execution.

// A benchmark measures wall time: `Instant::now` is banned in the pure crates' code, not here.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};
use volt_proto::sig::{self, BatchItem, Domain, Keypair, PublicKey};
use volt_proto::{
    AccountId, Amount, Asset, Call, Hash, Height, Nonce, Role, SignedTx, Timestamp, TxBody,
    TxOutcome, codec,
};
use volt_token::store::{Store, Write};
use volt_token::testkit::Rng;
use volt_token::testkit::{BLOCK_INTERVAL_MS, FAR_FUTURE, GENESIS_TIME, chain_id, sym};
use volt_token::tree::StateTree;
use volt_token::{BlockContext, Genesis, GenesisMember, MemStore, State};

/// Funded accounts that send and receive.
const INVESTORS: usize = 1_000;
/// Transfers per block.
const SIZES: [usize; 2] = [1_000, 5_000];
/// Timed rounds per size (each applies a fresh block; the median is reported).
const ROUNDS: [usize; 2] = [15, 7];
/// Cash each investor starts with: far more than the transfers move.
const FUNDING: u128 = 1_000_000_000;

/// A ledger with an issuer and `INVESTORS` funded investors, plus everything needed to sign.
struct Bench {
    state: State<MemStore>,
    issuer: Keypair,
    investors: Vec<Keypair>,
    accounts: Vec<AccountId>,
    nonces: Vec<u64>,
    next: BlockContext,
    rng: Rng,
}

impl Bench {
    fn new() -> Bench {
        let issuer = Keypair::for_testing("bench/issuer");
        let investors: Vec<Keypair> =
            (0..INVESTORS).map(|i| Keypair::for_testing(&format!("bench/investor/{i}"))).collect();
        let accounts: Vec<AccountId> = investors.iter().map(Keypair::account).collect();
        let member = |account, role| GenesisMember { account, role, identity_expiry: FAR_FUTURE };
        let mut members = vec![member(issuer.account(), Role::Issuer)];
        members.extend(accounts.iter().map(|a| member(*a, Role::Investor)));
        let genesis = Genesis {
            chain_id: chain_id(),
            time: GENESIS_TIME,
            members,
            currencies: vec![(sym("HKD"), issuer.account())],
        };
        let state = match State::genesis(MemStore::new(), &genesis) {
            Ok(state) => state,
            Err(error) => panic!("bench genesis refused: {error}"),
        };
        let mut bench = Bench {
            state,
            issuer,
            investors,
            accounts,
            nonces: vec![0; INVESTORS],
            next: BlockContext {
                height: Height(1),
                time: Timestamp(GENESIS_TIME.0 + BLOCK_INTERVAL_MS),
            },
            rng: Rng(0x766f_6c74),
        };
        bench.fund();
        bench
    }

    /// One block of mints: every investor gets `FUNDING`.
    fn fund(&mut self) {
        let txs: Vec<SignedTx> = (self.accounts.iter().enumerate())
            .map(|(i, to)| {
                let call = Call::Mint { currency: sym("HKD"), to: *to, amount: Amount(FUNDING) };
                self.body(self.issuer.account(), i as u64, call).sign(&self.issuer)
            })
            .collect();
        self.apply(&txs);
    }

    fn body(&self, signer: AccountId, nonce: u64, call: Call) -> TxBody {
        TxBody {
            chain_id: chain_id(),
            signer,
            nonce: Nonce(nonce),
            expiry_height: Height(u64::MAX),
            call,
        }
    }

    /// `n` signed transfers between random distinct investors. Signer `k % INVESTORS` sends
    /// the `k`-th, so a block of 1,000 has distinct signers and a block of 5,000 has each
    /// signer five times with sequential nonces, in block order.
    fn transfers(&mut self, n: usize) -> Vec<SignedTx> {
        (0..n)
            .map(|k| {
                let from = k % INVESTORS;
                let to = (from + 1 + self.rng.below(INVESTORS - 1)) % INVESTORS;
                let call = Call::Transfer {
                    asset: Asset::Cash(sym("HKD")),
                    to: self.accounts[to],
                    amount: Amount(1 + self.rng.below(100) as u128),
                };
                let nonce = self.nonces[from];
                self.nonces[from] += 1;
                self.body(self.accounts[from], nonce, call).sign(&self.investors[from])
            })
            .collect()
    }

    /// Applies a block, checks every transaction applied, and returns how long it took.
    fn apply(&mut self, txs: &[SignedTx]) -> Duration {
        let start = Instant::now();
        let result = self.state.apply_block(self.next, txs);
        let elapsed = start.elapsed();
        let result = match result {
            Ok(result) => result,
            Err(error) => panic!("bench block refused: {error}"),
        };
        let applied = (result.receipts.iter()).filter(|r| r.outcome == TxOutcome::Applied).count();
        assert_eq!(applied, txs.len(), "every bench transaction must apply");
        black_box(result.state_root);
        self.next = BlockContext {
            height: Height(self.next.height.0 + 1),
            time: Timestamp(self.next.time.0 + BLOCK_INTERVAL_MS),
        };
        elapsed
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

/// What `apply_block` does to each transaction before verifying: the canonical body, its id and
/// the domain-separated signing message.
fn messages(txs: &[SignedTx]) -> Vec<Vec<u8>> {
    txs.iter()
        .map(|tx| {
            let body = codec::encode(&tx.body);
            black_box(Hash::of(&body));
            sig::signing_message(Domain::Tx, &tx.body.chain_id, &body)
        })
        .collect()
}

/// One raw ed25519-dalek batch verify over `txs`' signatures (inputs decoded beforehand).
fn dalek_batch(txs: &[SignedTx], messages: &[Vec<u8>]) -> Duration {
    let keys: Vec<ed25519_dalek::VerifyingKey> = txs
        .iter()
        .map(|tx| match ed25519_dalek::VerifyingKey::from_bytes(&tx.body.signer.0) {
            Ok(key) => key,
            Err(error) => panic!("bench key does not decode: {error}"),
        })
        .collect();
    let signatures: Vec<ed25519_dalek::Signature> =
        txs.iter().map(|tx| ed25519_dalek::Signature::from_bytes(&tx.signature.0)).collect();
    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let start = Instant::now();
    let verdict = ed25519_dalek::verify_batch(&messages, &signatures, &keys);
    let elapsed = start.elapsed();
    assert!(verdict.is_ok(), "dalek batch must verify");
    elapsed
}

/// One `volt_proto::sig::verify_batch` over `txs`' signatures (keys decompressed beforehand, as
/// the ledger's key cache does).
fn volt_batch(txs: &[SignedTx], messages: &[Vec<u8>]) -> Duration {
    let keys: Vec<PublicKey> = txs
        .iter()
        .map(|tx| match PublicKey::from_account(tx.body.signer) {
            Ok(key) => key,
            Err(error) => panic!("bench key refused: {error}"),
        })
        .collect();
    let items: Vec<BatchItem<'_>> = (0..txs.len())
        .map(|i| BatchItem { key: &keys[i], message: &messages[i], signature: &txs[i].signature })
        .collect();
    let start = Instant::now();
    let verdict = sig::verify_batch(&items);
    let elapsed = start.elapsed();
    assert!(verdict.is_ok(), "volt batch must verify");
    elapsed
}

/// The writes a block made: every entry that changed between two snapshots of the store.
fn diff(before: &MemStore, after: &MemStore) -> Vec<Write> {
    let entries = |store: &MemStore| -> BTreeMap<Vec<u8>, Vec<u8>> {
        match store.entries() {
            Ok(entries) => entries.into_iter().collect(),
            Err(error) => panic!("bench store: {error}"),
        }
    };
    let (before, after) = (entries(before), entries(after));
    let mut writes: Vec<Write> = (after.iter())
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    writes.extend((before.keys()).filter(|k| !after.contains_key(*k)).map(|k| (k.clone(), None)));
    writes
}

/// Time to write `writes` into a copy of `store`, and into a tree over the same entries.
fn store_and_tree(store: &MemStore, writes: &[Write], rounds: usize) -> (Duration, Duration) {
    let mut store_samples = Vec::new();
    let mut tree_samples = Vec::new();
    let entries = match store.entries() {
        Ok(entries) => entries,
        Err(error) => panic!("bench store: {error}"),
    };
    let mut base = StateTree::new();
    base.apply(entries.into_iter().map(|(k, v)| (k, Some(v))));
    for _ in 0..rounds {
        let mut copy = store.clone();
        let start = Instant::now();
        if let Err(error) = copy.apply(writes) {
            panic!("bench store: {error}");
        }
        store_samples.push(start.elapsed());
        // The ledger hands the tree an owned batch: cloning it is the caller's cost.
        let (mut tree, batch) = (base.clone(), writes.to_vec());
        let start = Instant::now();
        black_box(tree.apply(batch));
        tree_samples.push(start.elapsed());
    }
    (median(store_samples), median(tree_samples))
}

/// Per-round timings; each figure reported is the median over rounds.
#[derive(Default)]
struct Samples {
    apply: Vec<Duration>,
    prep: Vec<Duration>,
    dalek: Vec<Duration>,
    volt: Vec<Duration>,
    /// Per round: raw dalek verify time / block time = applied rate / raw verify rate.
    ratio: Vec<f64>,
}

fn run_size(n: usize, rounds: usize) {
    let mut bench = Bench::new();
    // A warm-up block fills the ledger's decompressed-key cache, as on a running node.
    let warm = bench.transfers(n);
    bench.apply(&warm);
    let sign_start = Instant::now();
    let blocks: Vec<Vec<SignedTx>> = (0..rounds).map(|_| bench.transfers(n)).collect();
    let signing = sign_start.elapsed() / rounds as u32;
    // Each round applies one block and, right after, verifies the same signatures raw: the
    // machine is shared, so measurements taken side by side drift together.
    let mut samples = Samples::default();
    let mut before_last = None;
    for (i, txs) in blocks.iter().enumerate() {
        if i + 1 == blocks.len() {
            before_last = Some(bench.state.store().clone());
        }
        let apply = bench.apply(txs);
        let start = Instant::now();
        let messages = black_box(messages(txs));
        samples.prep.push(start.elapsed());
        let dalek = dalek_batch(txs, &messages);
        samples.volt.push(volt_batch(txs, &messages));
        samples.ratio.push(dalek.as_secs_f64() / apply.as_secs_f64());
        samples.apply.push(apply);
        samples.dalek.push(dalek);
    }
    let Some(before) = before_last else {
        panic!("no block was timed");
    };
    let writes = diff(&before, bench.state.store());
    let (store, tree) = store_and_tree(&before, &writes, rounds);
    samples.ratio.sort_by(f64::total_cmp);
    let ratio = samples.ratio[samples.ratio.len() / 2];
    let apply = median(samples.apply);
    let (prep, volt) = (median(samples.prep), median(samples.volt));
    println!(
        "N={n:>5}: transfers/s applied {:>8.0} | raw dalek batch verify sig/s {:>8.0} \
         | volt batch verify sig/s {:>8.0} | ratio applied/raw {ratio:.2}",
        rate(n, apply),
        rate(n, median(samples.dalek)),
        rate(n, volt),
    );
    let rest = apply.saturating_sub(prep + volt + store + tree);
    println!(
        "         block {:.1} ms ~ encode+id+message {:.1} + volt batch verify {:.1} + store \
         apply {:.1} ({} writes) + tree apply {:.1} + execution and the rest {:.1}",
        ms(apply),
        ms(prep),
        ms(volt),
        ms(store),
        writes.len(),
        ms(tree),
        ms(rest),
    );
    println!(
        "         signing {:.1} ms per block (client side, not part of applying)",
        ms(signing)
    );
}

/// The machine's load, printed beside the figures: other work on a shared machine slows them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_owned()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once with no argument:
    // then one small round is enough to prove the bench works.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    println!("load average before: {}", load());
    for (n, rounds) in SIZES.into_iter().zip(ROUNDS) {
        if quick {
            run_size(n.min(200), 1);
        } else {
            run_size(n, rounds);
        }
    }
    println!("load average after: {}", load());
}
