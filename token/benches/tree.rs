//! Benchmarks of the state tree at ledger scale: a block's worth of writes into a tree of
//! 10^6 keys, and proof generation and verification.
//!
//! Run: `cargo bench -p volt-token --bench tree`.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use volt_token::tree::{StateTree, verify};

/// Keys in the state, as the issue sizes it.
const STATE_KEYS: u64 = 1_000_000;
/// Writes per block.
const BLOCK_WRITES: u64 = 4096;

/// A balance-like key: prefix, 32-byte account, currency (40 bytes).
fn key(i: u64) -> Vec<u8> {
    let mut key = b"bal/".to_vec();
    key.extend_from_slice(blake3::hash(&i.to_le_bytes()).as_bytes());
    key.extend_from_slice(b"/HKD");
    key
}

/// A balance-like value: a 16-byte amount and an 8-byte version.
fn value(i: u64, version: u64) -> Vec<u8> {
    let mut value = u128::from(i).to_le_bytes().to_vec();
    value.extend_from_slice(&version.to_le_bytes());
    value
}

fn full_tree() -> StateTree {
    let mut tree = StateTree::new();
    tree.apply((0..STATE_KEYS).map(|i| (key(i), Some(value(i, 0)))));
    tree
}

/// One block of writes: mostly changed values, some new keys and as many deletions of keys
/// added by earlier blocks, so the tree keeps its size.
fn block(round: u64) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let spread = STATE_KEYS / BLOCK_WRITES;
    let mut writes: Vec<_> = (0..BLOCK_WRITES - 512)
        .map(|j| {
            let i = (j * spread + round * 7919) % STATE_KEYS;
            (key(i), Some(value(i, round + 1)))
        })
        .collect();
    let fresh = STATE_KEYS + round * 256;
    writes.extend((fresh..fresh + 256).map(|i| (key(i), Some(value(i, 0)))));
    if round > 0 {
        let old = fresh - 256;
        writes.extend((old..old + 256).map(|i| (key(i), None)));
    }
    writes
}

fn bench_tree(c: &mut Criterion) {
    let mut tree = full_tree();
    let proof = tree.prove(&key(42));
    eprintln!(
        "tree of {} keys: proof of {} siblings, {} bytes encoded",
        tree.len(),
        proof.siblings.len(),
        proof.encode().len()
    );

    let mut group = c.benchmark_group("tree");
    group.sample_size(30);
    group.throughput(Throughput::Elements(BLOCK_WRITES));
    let mut round = 0;
    group.bench_function("apply_4096_writes_into_1m_keys", |b| {
        b.iter_batched(
            || {
                round += 1;
                block(round)
            },
            |writes| black_box(tree.apply(writes)),
            BatchSize::LargeInput,
        )
    });
    let snapshot = tree.clone();
    group.bench_function("apply_4096_writes_into_a_shared_1m_tree", |b| {
        // With a clone alive, each update copies the paths it touches (copy on write).
        b.iter_batched(
            || {
                round += 1;
                (snapshot.clone(), block(round))
            },
            |(mut tree, writes)| black_box(tree.apply(writes)),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("tree_proof");
    group.throughput(Throughput::Elements(1));
    let root = tree.root();
    let (k, v) = (key(42), tree.get(&key(42)).map(<[u8]>::to_vec));
    group.bench_function("prove_1m_keys", |b| b.iter(|| black_box(tree.prove(&k))));
    let proof = tree.prove(&k);
    group.bench_function("verify_1m_keys", |b| {
        b.iter(|| verify(&root, &k, v.as_deref(), black_box(&proof)))
    });
    group.finish();

    let mut group = c.benchmark_group("tree_build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("build_100k_keys_from_empty", |b| {
        b.iter_batched(
            || (0..100_000).map(|i| (key(i), Some(value(i, 0)))).collect::<Vec<_>>(),
            |writes| black_box(StateTree::new().apply(writes)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_tree);
criterion_main!(benches);
