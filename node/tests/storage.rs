//! The node's storage (issue 9): one atomic batch per finalized block, checksums that name the
//! damaged record, the genesis guard, restart, and the tree snapshot with its fallback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use volt_consensus::{Block, Certificate, Epoch, View, Vote};
use volt_node::payload::Payload;
use volt_node::storage::{
    DbError, NodeDb, RecordKey, SNAPSHOT_FILE, STATE_CERTIFICATE_BYTES_MAX, SledStore, StoredBlock,
    TreeSource,
};
use volt_proto::{Amount, Call, Hash, Height, Role, Signature, SignedTx, TxOutcome};
use volt_token::testkit::{World, account, genesis, hkd, sym};
use volt_token::{Genesis, Key, State, Store};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volt-storage-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn chain_genesis() -> Genesis {
    genesis(&[
        ("admin", Role::Admin),
        ("issuer", Role::Issuer),
        ("alice", Role::Investor),
        ("bob", Role::Investor),
    ])
}

const GENESIS_A: &[u8] = b"genesis a";

/// Reopens a database just closed in this process. sled releases its file lock when its last
/// background I/O thread lets go of the pages, a moment after the last handle drops.
// A test waits on a real file lock; the ban on sleeping is for the pure crates.
#[allow(clippy::disallowed_methods)]
fn reopen(dir: &Path, genesis_id: Hash) -> Result<NodeDb, DbError> {
    for _ in 0..100 {
        match NodeDb::open(dir, genesis_id) {
            Err(DbError::Io { error, .. }) if error.contains("could not acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
    NodeDb::open(dir, genesis_id)
}

/// A chain on sled beside a `World` (in memory) that signs its transactions.
struct Chain {
    db: NodeDb,
    state: State<SledStore>,
    world: World,
    parent: Hash,
}

impl Chain {
    fn create(dir: &Path) -> Chain {
        let g = chain_genesis();
        let db = NodeDb::open(dir, Hash::of(GENESIS_A)).unwrap();
        let state = State::genesis(db.state_store(), &g).unwrap();
        db.commit_genesis(state.store()).unwrap();
        Chain { db, state, world: World::from_genesis(&g), parent: Hash::ZERO }
    }

    /// A block that mints to alice, pays bob, and carries one replay (rejected).
    fn txs(&mut self, i: u128) -> Vec<SignedTx> {
        let mint = Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(100) };
        let pay = Call::Transfer { asset: hkd(), to: account("bob"), amount: Amount(1 + i) };
        let mint = self.world.tx("issuer", mint);
        vec![mint.clone(), self.world.tx("alice", pay), mint]
    }

    /// Applies `txs` on sled (staged) and in the world; returns what `commit_block` takes.
    fn apply(&mut self, txs: &[SignedTx]) -> StoredBlock {
        let ctx = self.world.next;
        let result = self.state.apply_block(ctx, txs).unwrap();
        assert_eq!(self.world.block(txs), result);
        let payload = Payload { time: ctx.time, txs: txs.to_vec() }.encode();
        let block = Block {
            epoch: Epoch(0),
            view: View(ctx.height.0),
            height: ctx.height,
            parent_view: View(ctx.height.0 - 1),
            parent: self.parent,
            payload,
        };
        self.parent = block.digest();
        let finalization = Certificate {
            vote: Vote::Finalize(block.proposal()),
            signers: vec![1],
            signatures: vec![Signature([ctx.height.0 as u8; 64])],
        };
        StoredBlock {
            height: ctx.height,
            block,
            finalization,
            receipts: result.receipts,
            state_root: result.state_root,
            time: ctx.time,
        }
    }

    fn block(&mut self, i: u128) -> StoredBlock {
        let txs = self.txs(i);
        self.commit(&txs)
    }

    fn commit(&mut self, txs: &[SignedTx]) -> StoredBlock {
        let stored = self.apply(txs);
        self.db.commit_block(self.state.store(), &stored).unwrap();
        stored
    }
}

#[test]
fn staged_writes_are_invisible_until_commit_block_writes_everything_at_once() {
    // Proves SledStore::apply only stages (a second handle, i.e. what a restart sees, reads the
    // old state) and commit_block lands state, block, receipts, index and height together.
    let dir = temp_dir("atomic");
    let mut chain = Chain::create(&dir);
    let meta = Key::Meta.encode();
    let before = chain.db.state_store().get(&meta).unwrap();
    let txs = chain.txs(0);
    let stored = chain.apply(&txs);
    assert!(chain.state.store().has_staged());
    // The ledger reads its own staged block; a fresh handle and the chain records do not.
    assert_ne!(chain.state.store().get(&meta).unwrap(), before);
    assert_eq!(chain.db.state_store().get(&meta).unwrap(), before);
    assert_eq!(chain.db.applied_height().unwrap(), Height(0));
    assert_eq!(chain.db.block(Height(1)).unwrap(), None);
    assert_eq!(chain.db.tx_location(&stored.receipts[0].tx_id).unwrap(), None);
    let fresh = State::open(chain.db.state_store()).unwrap();
    assert_ne!(fresh.root(), stored.state_root);

    chain.db.commit_block(chain.state.store(), &stored).unwrap();
    assert!(!chain.state.store().has_staged());
    assert_eq!(chain.db.applied_height().unwrap(), Height(1));
    assert_eq!(chain.db.block(Height(1)).unwrap(), Some(stored.clone()));
    assert_eq!(chain.db.tx_location(&stored.receipts[1].tx_id).unwrap(), Some((Height(1), 1)));
    assert_eq!(State::open(chain.db.state_store()).unwrap().root(), stored.state_root);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn blocks_commit_in_height_order_only() {
    // Proves a block that does not follow the applied height is refused, and nothing lands
    // before the genesis is committed.
    let dir = temp_dir("order");
    let mut chain = Chain::create(&dir);
    let txs = chain.txs(0);
    let mut stored = chain.apply(&txs);
    stored.height = Height(2);
    stored.block.height = Height(2);
    let error = chain.db.commit_block(chain.state.store(), &stored).unwrap_err();
    assert!(matches!(error, DbError::OutOfOrder { .. }), "{error}");
    assert_eq!(chain.db.block(Height(2)).unwrap(), None);
    assert!(matches!(
        chain.db.commit_genesis(chain.state.store()),
        Err(DbError::OutOfOrder { .. })
    ));
    drop(chain);
    let empty = temp_dir("order-empty");
    let db = NodeDb::open(&empty, Hash::of(GENESIS_A)).unwrap();
    assert!(!db.has_genesis().unwrap());
    assert!(matches!(db.applied_height(), Err(DbError::NoGenesis)));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn a_restart_reads_back_blocks_receipts_index_height_certificates_and_state() {
    // Proves everything committed survives a close and reopen, and the ledger reopened on sled
    // has the root and balances of the in-memory run.
    let dir = temp_dir("restart");
    let mut chain = Chain::create(&dir);
    let blocks: Vec<StoredBlock> = (0..3).map(|i| chain.block(i)).collect();
    chain.db.put_state_certificate(Height(2), b"cert-2").unwrap();
    chain.db.make_durable().unwrap();
    let root = chain.state.root();
    let world_root = chain.world.state.root();
    drop(chain);

    let db = reopen(&dir, Hash::of(GENESIS_A)).unwrap();
    assert!(db.has_genesis().unwrap());
    assert_eq!(db.applied_height().unwrap(), Height(3));
    for stored in &blocks {
        assert_eq!(db.block(stored.height).unwrap().as_ref(), Some(stored));
        assert_eq!(db.tx_location(&stored.receipts[1].tx_id).unwrap(), Some((stored.height, 1)));
    }
    assert_eq!(db.block(Height(4)).unwrap(), None);
    assert_eq!(db.state_certificate(Height(2)).unwrap(), Some(b"cert-2".to_vec()));
    assert_eq!(db.state_certificate(Height(1)).unwrap(), None);
    let (state, _) = db.open_state().unwrap();
    assert_eq!(state.root(), root);
    assert_eq!(state.root(), world_root);
    assert_eq!(state.balance(&hkd(), account("bob")).unwrap(), Amount(1 + 2 + 3));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_tx_index_keeps_the_receipt_that_used_the_nonce() {
    // Proves a replay included in the same or a later block (rejected) never hides the
    // receipt that counted, and an unknown id has no location.
    let dir = temp_dir("index");
    let mut chain = Chain::create(&dir);
    let txs = chain.txs(0);
    let first = chain.commit(&txs);
    // Block 1's third tx is a replay of its first: rejected, the index still points at 0.
    assert!(matches!(first.receipts[2].outcome, TxOutcome::Rejected(_)));
    let mint = first.receipts[0].tx_id;
    assert_eq!(chain.db.tx_location(&mint).unwrap(), Some((Height(1), 0)));
    // Replayed again, alone, in block 2: still rejected, still indexed at block 1.
    let again = chain.commit(&txs[..1]);
    assert!(matches!(again.receipts[0].outcome, TxOutcome::Rejected(_)));
    assert_eq!(chain.db.tx_location(&mint).unwrap(), Some((Height(1), 0)));
    // A rejected occurrence is replaced by a later one that uses the nonce: a transaction
    // sent too early (nonce skipped) and then again in order.
    let pay = || Call::Transfer { asset: hkd(), to: account("bob"), amount: Amount(1) };
    let (a, b) = (chain.world.tx("alice", pay()), chain.world.tx("alice", pay()));
    let early = chain.commit(std::slice::from_ref(&b));
    assert!(matches!(early.receipts[0].outcome, TxOutcome::Rejected(_)));
    assert_eq!(chain.db.tx_location(&b.id()).unwrap(), Some((Height(3), 0)));
    let in_order = chain.commit(&[a, b.clone()]);
    assert_eq!(in_order.receipts[1].outcome, TxOutcome::Applied);
    assert_eq!(chain.db.tx_location(&b.id()).unwrap(), Some((Height(4), 1)));
    assert_eq!(chain.db.tx_location(&Hash::of(b"never sent")).unwrap(), None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Flips the last byte of the raw sled value under `key`.
fn flip(db: &NodeDb, key: &RecordKey) {
    let sled_key = key.encode();
    let mut value = db.raw().get(&sled_key).unwrap().expect("record present").to_vec();
    let last = value.len() - 1;
    value[last] ^= 1;
    db.raw().insert(sled_key, value).unwrap();
}

fn assert_names(error: impl std::fmt::Display, record: &str) {
    let message = error.to_string();
    assert!(message.contains(record), "error {message:?} does not name {record:?}");
    assert!(message.contains("checksum mismatch"), "error {message:?} gives no reason");
}

#[test]
fn a_flipped_byte_in_any_record_kind_is_reported_by_name_on_read() {
    // Proves every kind of record is checksummed on read and the error names its kind and
    // height or key, never returning the damaged value.
    let dir = temp_dir("flip");
    let mut chain = Chain::create(&dir);
    let stored = chain.block(0);
    chain.db.put_state_certificate(Height(1), b"cert").unwrap();
    let db = &chain.db;
    let h = Height(1);

    flip(db, &RecordKey::Block(h));
    assert_names(db.block(h).unwrap_err(), "block at height 1");
    flip(db, &RecordKey::Block(h));
    flip(db, &RecordKey::Finalization(h));
    assert_names(db.block(h).unwrap_err(), "finalization certificate at height 1");
    flip(db, &RecordKey::Finalization(h));
    flip(db, &RecordKey::Receipts(h));
    assert_names(db.block(h).unwrap_err(), "receipts at height 1");
    flip(db, &RecordKey::Receipts(h));
    assert_eq!(db.block(h).unwrap(), Some(stored.clone()));

    flip(db, &RecordKey::StateCertificate(h));
    assert_names(db.state_certificate(h).unwrap_err(), "state certificate at height 1");
    let id = stored.receipts[0].tx_id;
    flip(db, &RecordKey::TxIndex(id));
    assert_names(db.tx_location(&id).unwrap_err(), &format!("tx index entry for tx {id}"));
    flip(db, &RecordKey::AppliedHeight);
    assert_names(db.applied_height().unwrap_err(), "applied height");
    flip(db, &RecordKey::AppliedHeight);

    let meta = Key::Meta.encode();
    flip(db, &RecordKey::State(meta.clone()));
    let error = db.state_store().get(&meta).unwrap_err();
    assert_names(&error, &format!("state key {}", hex::encode(&meta)));
    assert!(db.state_store().entries().is_err());
    assert!(db.open_state().is_err());
    // An intact value copied under another key fails too: the checksum covers the key.
    let sealed = db.raw().get(RecordKey::Block(h).encode()).unwrap().unwrap();
    db.raw().insert(RecordKey::Block(Height(9)).encode(), sealed).unwrap();
    assert_names(db.block(Height(9)).unwrap_err(), "block at height 9");

    flip(db, &RecordKey::GenesisId);
    drop(chain);
    let error = reopen(&dir, Hash::of(GENESIS_A)).err().expect("damaged genesis id");
    assert_names(error, "genesis id");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_different_genesis_id_is_refused_naming_both() {
    // Proves a data directory created for one genesis refuses to open for another.
    let dir = temp_dir("genesis");
    drop(NodeDb::open(&dir, Hash::of(GENESIS_A)).unwrap());
    let (a, b) = (Hash::of(GENESIS_A), Hash::of(b"genesis b"));
    let error = reopen(&dir, b).err().expect("another genesis must be refused");
    assert!(
        matches!(error, DbError::GenesisMismatch { stored, given } if stored == a && given == b)
    );
    let message = error.to_string();
    assert!(message.contains(&a.to_string()) && message.contains(&b.to_string()), "{message}");
    assert!(reopen(&dir, a).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_oversized_state_certificate_is_refused() {
    // Proves the state certificate's named limit holds on write.
    let dir = temp_dir("limit");
    let db = NodeDb::open(&dir, Hash::of(GENESIS_A)).unwrap();
    let big = vec![0u8; STATE_CERTIFICATE_BYTES_MAX + 1];
    assert!(matches!(db.put_state_certificate(Height(1), &big), Err(DbError::TooLarge { .. })));
    db.put_state_certificate(Height(1), &big[1..]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_tree_snapshot_round_trips_and_catches_up_on_later_blocks() {
    // Proves a restart uses the snapshot, brings it up to date from the changed-key lists of
    // the blocks after it, and reaches the root a full rebuild reaches.
    let dir = temp_dir("snapshot");
    let mut chain = Chain::create(&dir);
    let _ = chain.block(0);
    let info = chain.db.write_tree_snapshot(&chain.state).unwrap();
    assert_eq!((info.height, info.root), (Height(1), chain.state.root()));
    let _ = chain.block(1);
    let _ = chain.block(2);
    let root = chain.state.root();
    drop(chain);
    let db = reopen(&dir, Hash::of(GENESIS_A)).unwrap();
    let (state, source) = db.open_state().unwrap();
    assert_eq!(state.root(), root);
    let TreeSource::Snapshot { height, blocks_caught_up, keys_reread } = source else {
        panic!("the snapshot was not used: {source:?}");
    };
    assert_eq!((height, blocks_caught_up), (Height(1), 2));
    assert!(keys_reread > 0);
    assert_eq!(State::open(db.state_store()).unwrap().root(), root);
    // A snapshot at the applied height needs no catching up.
    db.write_tree_snapshot(&state).unwrap();
    let (again, source) = db.open_state().unwrap();
    assert_eq!(again.root(), root);
    assert!(matches!(source, TreeSource::Snapshot { blocks_caught_up: 0, .. }), "{source:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reopens and expects a rebuild whose reason mentions `why`, with root `root`.
fn expect_rebuild(dir: &Path, root: Hash, why: &str) {
    let db = reopen(dir, Hash::of(GENESIS_A)).unwrap();
    let (state, source) = db.open_state().unwrap();
    assert_eq!(state.root(), root);
    match source {
        TreeSource::Rebuilt { reason } => assert!(reason.contains(why), "{reason:?} vs {why:?}"),
        other => panic!("expected a rebuild ({why}), got {other:?}"),
    }
}

#[test]
fn a_missing_corrupt_or_unusable_snapshot_falls_back_to_the_rebuild_with_the_same_root() {
    // Proves every bad snapshot is detected and the rebuild gives the committed root.
    let dir = temp_dir("snapshot-bad");
    let mut chain = Chain::create(&dir);
    let _ = chain.block(0);
    let root_1 = chain.state.root();
    chain.db.write_tree_snapshot(&chain.state).unwrap();
    let path = dir.join(SNAPSHOT_FILE);
    let good = std::fs::read(&path).unwrap();
    drop(chain);

    // A flipped byte in an entry.
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    expect_rebuild(&dir, root_1, "checksum");
    // Truncated.
    std::fs::write(&path, &good[..good.len() - 5]).unwrap();
    expect_rebuild(&dir, root_1, "checksum");
    // Missing.
    std::fs::remove_file(&path).unwrap();
    expect_rebuild(&dir, root_1, "no snapshot");

    // A snapshot from a later height than the store (the store lost blocks after it).
    std::fs::write(&path, &good).unwrap();
    let other = temp_dir("snapshot-bad-genesis-only");
    let fresh = Chain::create(&other);
    let root_0 = fresh.state.root();
    drop(fresh);
    std::fs::write(other.join(SNAPSHOT_FILE), &good).unwrap();
    expect_rebuild(&other, root_0, "above the applied");

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

#[test]
fn a_stale_snapshot_without_its_catch_up_list_falls_back_to_the_rebuild() {
    // Proves a snapshot below the applied height is used only if every block since recorded
    // its changed keys; otherwise the rebuild gives the committed root.
    let dir = temp_dir("snapshot-stale");
    let mut chain = Chain::create(&dir);
    let _ = chain.block(0);
    chain.db.write_tree_snapshot(&chain.state).unwrap();
    let _ = chain.block(1);
    let _ = chain.block(2);
    let root = chain.state.root();
    chain.db.raw().remove(RecordKey::Changed(Height(2)).encode()).unwrap();
    drop(chain);
    expect_rebuild(&dir, root, "no changed-key list at height 2");
    let _ = std::fs::remove_dir_all(&dir);
}
