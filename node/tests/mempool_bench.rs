//! Admission throughput of the mempool, signature check included. Not a correctness test: run
//! it on demand with
//! `cargo test -p volt-node --release --test mempool_bench -- --ignored --nocapture`.

// The benchmark reads the wall clock to time itself; nothing it measures does.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::Instant;
use volt_node::mempool::{Ledger, Mempool, MempoolLimits, SignerView};
use volt_proto::sig::Keypair;
use volt_proto::{AccountId, Amount, Asset, Call, ChainId, Height, Nonce, Symbol, TxBody};

/// Signers in the run.
const ACCOUNTS: usize = 200;
/// Transactions per signer.
const TXS_PER_ACCOUNT: u64 = 50;

struct Members {
    chain: ChainId,
    signers: BTreeMap<AccountId, SignerView>,
}

impl Ledger for Members {
    fn signer(&self, account: AccountId) -> Option<SignerView> {
        self.signers.get(&account).copied()
    }
    fn chain_id(&self) -> &ChainId {
        &self.chain
    }
    fn height(&self) -> Height {
        Height(1)
    }
}

#[test]
#[ignore = "a measurement, run on demand"]
fn admissions_per_second() {
    // Proves nothing; prints how many typical transfers per second `admit` takes in (decode,
    // checks and one signature verification each), signing excluded.
    let chain = ChainId::new("volt-bench").unwrap();
    let keys: Vec<Keypair> =
        (0..ACCOUNTS).map(|i| Keypair::for_testing(&format!("bench-{i}"))).collect();
    let view = SignerView { next_nonce: Nonce(0), frozen: false, revoked: false };
    let signers = keys.iter().map(|k| (k.account(), view)).collect();
    let ledger = Members { chain: chain.clone(), signers };
    let to = keys[0].account();
    let mut txs = Vec::new();
    for nonce in 0..TXS_PER_ACCOUNT {
        for key in &keys {
            let body = TxBody {
                chain_id: chain.clone(),
                signer: key.account(),
                nonce: Nonce(nonce),
                expiry_height: Height(1_000),
                call: Call::Transfer {
                    asset: Asset::Cash(Symbol::new("HKD").unwrap()),
                    to,
                    amount: Amount(100),
                },
            };
            txs.push(body.sign(key).encode());
        }
    }
    let limits = MempoolLimits {
        txs_max: txs.len(),
        bytes_max: 64 << 20,
        account_txs_max: TXS_PER_ACCOUNT as usize,
        nonce_ahead_max: TXS_PER_ACCOUNT,
    };
    let mut pool = Mempool::new(limits);
    let started = Instant::now();
    for bytes in &txs {
        pool.admit(bytes, &ledger).unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(pool.len(), txs.len());
    let size = txs[0].len();
    println!(
        "mempool admission: {} transfers ({size} bytes each) in {secs:.3} s = {:.0} per second",
        txs.len(),
        txs.len() as f64 / secs
    );
}
