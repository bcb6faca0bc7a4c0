//! Storage figures for issue 9, in one run:
//!
//! 1. **Block application on sled beside the in-memory store**: the same pre-signed blocks of
//!    cash transfers applied to a `State<MemStore>` and to a `State<SledStore>` (the ledger's
//!    `apply_block`, state root included), the sled side also committing each block with
//!    `NodeDb::commit_block` (state writes, block, finalization, receipts, tx index, applied
//!    height in one batch). Goal: sled ≥ 0.7× the in-memory rate. `make_durable` after a block
//!    is timed apart: the runtime calls it before the vote journal prunes, not per block.
//! 2. **Restart with 10^6 state keys**: `NodeDb::open` + `NodeDb::open_state`, first without a
//!    tree snapshot (every entry read from sled, checksummed, the tree rebuilt), then with one
//!    (`write_tree_snapshot` timed too). Goal: serving again in < 10 s.
//!
//! Run: `cargo bench -p volt-node --bench storage` (set `VOLT_BENCH_KEYS` to change the
//! restart size; default 1,000,000). `cargo test --benches` runs a tiny version.
//!
//! A manual timing loop, like `token/benches/apply.rs`: every block needs fresh nonces, and the
//! figures wanted are rates side by side; each is the median of its rounds.

// A benchmark measures wall time.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use volt_consensus::{Block, Certificate, Epoch, View, Vote};
use volt_node::payload::Payload;
use volt_node::storage::{NodeDb, SledStore, StoredBlock};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Call, Hash, Height, Nonce, Role, Signature, SignedTx, Timestamp,
    TxBody, TxOutcome,
};
use volt_token::keys::{Holding, Key};
use volt_token::testkit::{BLOCK_INTERVAL_MS, FAR_FUTURE, GENESIS_TIME, Rng, chain_id, sym};
use volt_token::{BlockContext, Genesis, GenesisMember, MemStore, State, Store};

/// Funded accounts that send and receive.
const INVESTORS: usize = 1_000;
/// Transfers per block (the node's payload allows at most 1,000).
const TXS_PER_BLOCK: usize = 1_000;
/// Timed rounds (blocks); the median is reported.
const ROUNDS: usize = 15;
/// Cash each investor starts with.
const FUNDING: u128 = 1_000_000_000;
/// Default number of state keys for the restart figure.
const RESTART_KEYS: usize = 1_000_000;

fn fail<T>(what: &str, error: impl std::fmt::Display) -> T {
    panic!("{what}: {error}")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volt-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn genesis_id() -> Hash {
    Hash::of(b"volt-bench-genesis")
}

struct Signers {
    issuer: Keypair,
    investors: Vec<Keypair>,
    accounts: Vec<AccountId>,
    nonces: Vec<u64>,
    issuer_nonce: u64,
    rng: Rng,
}

impl Signers {
    fn new() -> Signers {
        let investors: Vec<Keypair> =
            (0..INVESTORS).map(|i| Keypair::for_testing(&format!("bench/investor/{i}"))).collect();
        let accounts = investors.iter().map(Keypair::account).collect();
        Signers {
            issuer: Keypair::for_testing("bench/issuer"),
            investors,
            accounts,
            nonces: vec![0; INVESTORS],
            issuer_nonce: 0,
            rng: Rng(0x766f_6c74),
        }
    }

    fn genesis(&self) -> Genesis {
        let member = |account, role| GenesisMember { account, role, identity_expiry: FAR_FUTURE };
        let mut members = vec![member(self.issuer.account(), Role::Issuer)];
        members.extend(self.accounts.iter().map(|a| member(*a, Role::Investor)));
        Genesis {
            chain_id: chain_id(),
            time: GENESIS_TIME,
            members,
            currencies: vec![(sym("HKD"), self.issuer.account())],
        }
    }

    fn body(signer: AccountId, nonce: u64, call: Call) -> TxBody {
        TxBody {
            chain_id: chain_id(),
            signer,
            nonce: Nonce(nonce),
            expiry_height: Height(u64::MAX),
            call,
        }
    }

    fn funding(&mut self) -> Vec<SignedTx> {
        let mut txs = Vec::new();
        for to in self.accounts.clone() {
            let call = Call::Mint { currency: sym("HKD"), to, amount: Amount(FUNDING) };
            let nonce = self.issuer_nonce;
            self.issuer_nonce += 1;
            txs.push(Self::body(self.issuer.account(), nonce, call).sign(&self.issuer));
        }
        txs
    }

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
                Self::body(self.accounts[from], nonce, call).sign(&self.investors[from])
            })
            .collect()
    }
}

/// The block and finalization the node would store for `txs` at `ctx` (a dummy signature: the
/// storage layer stores certificates, it does not check them).
fn consensus_block(ctx: BlockContext, parent: Hash, txs: &[SignedTx]) -> (Block, Certificate) {
    let payload = Payload { time: ctx.time, txs: txs.to_vec() }.encode();
    let block = Block {
        epoch: Epoch(0),
        view: View(ctx.height.0),
        height: ctx.height,
        parent_view: View(ctx.height.0 - 1),
        parent,
        payload,
    };
    let vote = Vote::Finalize(block.proposal());
    let certificate = Certificate { vote, signers: vec![1], signatures: vec![Signature([7; 64])] };
    (block, certificate)
}

struct Ledgers {
    memory: State<MemStore>,
    sled: State<SledStore>,
    db: NodeDb,
    next: BlockContext,
    parent: Hash,
    /// Per sled block: `apply_block` alone (the rest of its time is building and committing).
    sled_apply: Vec<Duration>,
}

impl Ledgers {
    fn new(dir: &std::path::Path, genesis: &Genesis) -> Ledgers {
        let db = NodeDb::open(dir, genesis_id()).unwrap_or_else(|e| fail("open", e));
        let sled = State::genesis(db.state_store(), genesis).unwrap_or_else(|e| fail("gen", e));
        db.commit_genesis(sled.store()).unwrap_or_else(|e| fail("commit genesis", e));
        let memory = State::genesis(MemStore::new(), genesis).unwrap_or_else(|e| fail("gen", e));
        let next =
            BlockContext { height: Height(1), time: Timestamp(GENESIS_TIME.0 + BLOCK_INTERVAL_MS) };
        Ledgers { memory, sled, db, next, parent: Hash::ZERO, sled_apply: Vec::new() }
    }

    fn in_memory(&mut self, txs: &[SignedTx]) -> Duration {
        let start = Instant::now();
        let result = self.memory.apply_block(self.next, txs);
        let elapsed = start.elapsed();
        let result = result.unwrap_or_else(|e| fail("memory block", e));
        black_box(result.state_root);
        elapsed
    }

    /// Applies and commits on sled; the time includes building the stored block (payload
    /// encoding), as the node pays it.
    fn on_sled(&mut self, txs: &[SignedTx]) -> Duration {
        let start = Instant::now();
        let result = self.sled.apply_block(self.next, txs).unwrap_or_else(|e| fail("sled", e));
        self.sled_apply.push(start.elapsed());
        let (block, finalization) = consensus_block(self.next, self.parent, txs);
        let digest = block.digest();
        let stored = StoredBlock {
            height: self.next.height,
            block,
            finalization,
            receipts: result.receipts,
            state_root: result.state_root,
            time: self.next.time,
        };
        self.db.commit_block(self.sled.store(), &stored).unwrap_or_else(|e| fail("commit", e));
        let elapsed = start.elapsed();
        let applied = stored.receipts.iter().filter(|r| r.outcome == TxOutcome::Applied).count();
        assert_eq!(applied, txs.len(), "every bench transaction must apply");
        self.parent = digest;
        elapsed
    }

    /// Both sides applied the block: move on to the next height.
    fn advance(&mut self) {
        assert_eq!(self.sled.root(), self.memory.root(), "sled and memory must agree");
        self.next = BlockContext {
            height: Height(self.next.height.0 + 1),
            time: Timestamp(self.next.time.0 + BLOCK_INTERVAL_MS),
        };
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

fn apply_side_by_side(txs_per_block: usize, rounds: usize) {
    let dir = temp_dir("apply");
    let mut signers = Signers::new();
    let mut ledgers = Ledgers::new(&dir, &signers.genesis());
    let funding = signers.funding();
    ledgers.in_memory(&funding);
    ledgers.on_sled(&funding);
    ledgers.advance();
    // A warm-up block fills both ledgers' key caches, as on a running node.
    let warm = signers.transfers(txs_per_block);
    ledgers.in_memory(&warm);
    ledgers.on_sled(&warm);
    ledgers.advance();
    let blocks: Vec<Vec<SignedTx>> =
        (0..rounds).map(|_| signers.transfers(txs_per_block)).collect();
    let (mut memory, mut sled, mut durable, mut ratio) = (vec![], vec![], vec![], vec![]);
    // Each round applies one block to each side, alternating which goes first: the machine is
    // shared, so figures taken side by side drift together.
    for (i, txs) in blocks.iter().enumerate() {
        let (m, s) = if i % 2 == 0 {
            let m = ledgers.in_memory(txs);
            (m, ledgers.on_sled(txs))
        } else {
            let s = ledgers.on_sled(txs);
            (ledgers.in_memory(txs), s)
        };
        ledgers.advance();
        let start = Instant::now();
        ledgers.db.make_durable().unwrap_or_else(|e| fail("make_durable", e));
        durable.push(start.elapsed());
        ratio.push(m.as_secs_f64() / s.as_secs_f64());
        memory.push(m);
        sled.push(s);
    }
    ratio.sort_by(f64::total_cmp);
    let timed = ledgers.sled_apply.split_off(ledgers.sled_apply.len() - rounds);
    let sled_apply = median(timed);
    let (memory, sled, durable) = (median(memory), median(sled), median(durable));
    println!(
        "apply, {txs_per_block} transfers/block: in-memory {:>7.0} tx/s ({:.1} ms/block) | \
         sled + commit {:>7.0} tx/s ({:.1} ms/block) | sled/in-memory {:.2} (median of {} \
         per-round ratios; goal >= 0.70)",
        rate(txs_per_block, memory),
        ms(memory),
        rate(txs_per_block, sled),
        ms(sled),
        ratio[ratio.len() / 2],
        ratio.len(),
    );
    println!(
        "  sled block split: apply_block {:.1} ms (execution reading sled through the overlay) \
         + payload encoding and commit_block {:.1} ms",
        ms(sled_apply),
        ms(sled.saturating_sub(sled_apply)),
    );
    println!("make_durable after one block (flush + fsync every sled file): {:.1} ms", ms(durable));
    drop(ledgers);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fills a fresh database with a genesis and `keys` cash balances (real ledger keys and
/// values: `Key::Balance(HKD, account)` → `Holding`), committed as the genesis state.
fn populate(dir: &std::path::Path, keys: usize) -> Hash {
    let db = NodeDb::open(dir, genesis_id()).unwrap_or_else(|e| fail("open", e));
    let signers = Signers::new();
    let state =
        State::genesis(db.state_store(), &signers.genesis()).unwrap_or_else(|e| fail("gen", e));
    let mut rng = Rng(42);
    let hkd = Asset::Cash(sym("HKD"));
    let mut tree = volt_token::tree::StateTree::new();
    let writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..keys)
        .map(|_| {
            let mut account = [0u8; 32];
            for chunk in account.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes());
            }
            let key = Key::Balance(hkd.clone(), AccountId(account)).encode();
            let holding = Holding { amount: Amount(u128::from(rng.next())), ..Holding::default() };
            (key, Some(volt_proto::codec::encode(&holding)))
        })
        .collect();
    let mut store = db.state_store();
    store.apply(&writes).unwrap_or_else(|e| fail("stage", e));
    // Merge the genesis writes staged by `State::genesis` into the same commit.
    let genesis_entries = state.store().entries().unwrap_or_else(|e| fail("entries", e));
    let genesis_writes: Vec<_> = genesis_entries.into_iter().map(|(k, v)| (k, Some(v))).collect();
    store.apply(&genesis_writes).unwrap_or_else(|e| fail("stage", e));
    state.store().discard_staged();
    db.commit_genesis(&store).unwrap_or_else(|e| fail("commit", e));
    db.make_durable().unwrap_or_else(|e| fail("durable", e));
    tree.apply(writes.into_iter().chain(genesis_writes));
    tree.root()
}

fn restart(keys: usize) {
    let dir = temp_dir("restart");
    let start = Instant::now();
    let root = populate(&dir, keys);
    let populate = start.elapsed();
    println!(
        "restart, {keys} state keys + genesis ({:.0} MB on disk, populated in {:.1} s); each \
         open is a fresh NodeDb (sled's cache cold, the OS page cache warm):",
        dir_size(&dir) as f64 / 1e6,
        populate.as_secs_f64()
    );
    // 1. No snapshot: the tree is rebuilt from every entry in sled.
    let (state, db) = timed_open(&dir, root, "no snapshot, rebuild from sled");
    // 2. Write a snapshot at the applied height, as on clean shutdown.
    let start = Instant::now();
    let info = db.write_tree_snapshot(&state).unwrap_or_else(|e| fail("snapshot", e));
    println!(
        "  write_tree_snapshot: {:.2} s ({} entries, {:.0} MB, fsynced)",
        start.elapsed().as_secs_f64(),
        info.entries,
        info.bytes as f64 / 1e6
    );
    drop(state);
    drop(db);
    // 3. With the snapshot.
    let (state, db) = timed_open(&dir, root, "from the snapshot");
    drop(state);
    drop(db);
    println!("  peak resident set of this process: {:.0} MB", peak_resident_mb());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens the database and the ledger, prints the times, checks the root.
fn timed_open(dir: &std::path::Path, root: Hash, what: &str) -> (State<SledStore>, NodeDb) {
    let start = Instant::now();
    let db = NodeDb::open(dir, genesis_id()).unwrap_or_else(|e| fail("reopen", e));
    let opened = start.elapsed();
    let (state, source) = db.open_state().unwrap_or_else(|e| fail("open_state", e));
    let total = start.elapsed();
    assert_eq!(state.root(), root, "the reopened tree must have the populated root");
    println!(
        "  {what}: NodeDb::open {:.2} s + open_state {:.2} s = serving again after {:.2} s \
         (goal < 10 s) [{source:?}]",
        opened.as_secs_f64(),
        (total - opened).as_secs_f64(),
        total.as_secs_f64(),
    );
    (state, db)
}

fn peak_resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return 0;
    };
    listing
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The machine's load, printed beside the figures.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_owned()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once without it: then a
    // tiny run proves the bench works.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    println!("load average before: {}", load());
    if quick {
        apply_side_by_side(50, 3);
        restart(1_000);
    } else {
        apply_side_by_side(TXS_PER_BLOCK, ROUNDS);
        let keys = std::env::var("VOLT_BENCH_KEYS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(RESTART_KEYS);
        restart(keys);
    }
    println!("load average after: {}", load());
}
