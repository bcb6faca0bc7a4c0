//! Per-signature verification cost: ed25519-dalek's `verify_strict` and `verify_batch` against
//! Volt's cofactored `sig::verify` and `sig::verify_batch`, batches of 64 and 1024. Criterion
//! reports throughput in signatures per second (`elem/s`).
//!
//! Run: `cargo bench -p volt-proto --bench verify -- --quick`.

// Benchmark setup: a failed unwrap is a broken benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use std::hint::black_box;
use volt_proto::sig::{self, BatchItem, Domain, Keypair, PublicKey};
use volt_proto::{ChainId, Signature};

/// One signed message, in both libraries' types.
struct Signed {
    key: PublicKey,
    dalek_key: ed25519_dalek::VerifyingKey,
    message: Vec<u8>,
    signature: Signature,
    dalek_signature: ed25519_dalek::Signature,
}

fn signed(count: usize) -> Vec<Signed> {
    let chain = ChainId::new("volt-bench").unwrap();
    (0..count)
        .map(|i| {
            let keypair = Keypair::for_testing(&format!("bench signer {i}"));
            // A transaction-sized payload (a transfer body is about 150 bytes).
            let payload = [i as u8; 150];
            let message = sig::signing_message(Domain::Tx, &chain, &payload);
            let signature = keypair.sign_raw(&message);
            Signed {
                key: keypair.public_key(),
                dalek_key: ed25519_dalek::VerifyingKey::from_bytes(keypair.account().as_bytes())
                    .unwrap(),
                dalek_signature: ed25519_dalek::Signature::from_bytes(&signature.0),
                message,
                signature,
            }
        })
        .collect()
}

fn single(c: &mut Criterion) {
    let one = signed(1).pop().unwrap();
    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(1));
    group.bench_function("dalek verify_strict", |b| {
        b.iter(|| {
            black_box(&one.dalek_key)
                .verify_strict(black_box(&one.message), black_box(&one.dalek_signature))
                .unwrap()
        })
    });
    group.bench_function("volt sig::verify", |b| {
        b.iter(|| {
            sig::verify(black_box(&one.key), black_box(&one.message), black_box(&one.signature))
                .unwrap()
        })
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    let all = signed(1024);
    let mut group = c.benchmark_group("batch");
    for size in [64usize, 1024] {
        let set = &all[..size];
        group.throughput(Throughput::Elements(size as u64));
        let messages: Vec<&[u8]> = set.iter().map(|s| s.message.as_slice()).collect();
        let dalek_signatures: Vec<_> = set.iter().map(|s| s.dalek_signature).collect();
        let dalek_keys: Vec<_> = set.iter().map(|s| s.dalek_key).collect();
        group.bench_with_input(BenchmarkId::new("dalek verify_batch", size), &size, |b, _| {
            b.iter(|| {
                ed25519_dalek::verify_batch(
                    black_box(&messages),
                    black_box(&dalek_signatures),
                    black_box(&dalek_keys),
                )
                .unwrap()
            })
        });
        let items: Vec<BatchItem<'_>> = set
            .iter()
            .map(|s| BatchItem { key: &s.key, message: &s.message, signature: &s.signature })
            .collect();
        group.bench_with_input(BenchmarkId::new("volt sig::verify_batch", size), &size, |b, _| {
            b.iter(|| sig::verify_batch(black_box(&items)).unwrap())
        });
    }
    group.finish();
}

// In a private module: the macro's generated `pub fn` needs no docs there.
mod group {
    criterion::criterion_group!(benches, super::single, super::batch);
}
criterion_main!(group::benches);
