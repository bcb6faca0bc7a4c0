//! Crash recovery of the real `volt` binary: the dev node is killed with SIGKILL while clients
//! are submitting transfers, and restarted on the same home, again and again. Whatever it ever
//! reported final stays final with the same receipt, it keeps producing blocks, and its state
//! root is what re-executing its stored blocks from genesis gives.
//!
//! Kills: 3 by default; `VOLT_CRASH_KILLS=20 cargo test -p volt-node --test crash` is the
//! documented longer run (about 10 s a kill). `VOLT_E2E_SEED` replays the kill timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;
use volt_proto::grpc as pb;
use volt_proto::{AccountId, Hash};

/// Clients submitting at once.
const SENDERS: usize = 16;
/// Kills without `VOLT_CRASH_KILLS`.
const KILLS_DEFAULT: usize = 3;

/// Every final status a client was told, by transaction id.
type Finals = Arc<Mutex<BTreeMap<Hash, pb::TxStatus>>>;

/// What the clients ran into besides finality, by kind (for the failure message).
type Misses = Arc<Mutex<BTreeMap<String, u64>>>;

fn count(misses: &Misses, what: String) {
    *misses.lock().unwrap().entry(what).or_insert(0) += 1;
}

/// One client: transfers 1 cent from `name` to `to` again and again, each with the nonce
/// GetAccount reports and each followed to finality, recording every final status it is told.
/// Ends when `stop` is set; errors (the node dying) only make it retry.
async fn sender(
    addr: SocketAddr,
    wallet: Arc<Wallet>,
    name: String,
    to: AccountId,
    finals: Finals,
    misses: Misses,
    stop: Arc<AtomicBool>,
) {
    let pause = || tokio::time::sleep(Duration::from_millis(50));
    let mut client = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(c) = client.as_mut() else {
            client = try_connect(addr).await.ok();
            if client.is_none() {
                pause().await;
            }
            continue;
        };
        let request = pb::GetAccountRequest { account: wallet.account(&name).as_bytes().to_vec() };
        let Ok(account) = c.get_account(request).await.map(tonic::Response::into_inner) else {
            pause().await;
            continue;
        };
        let expiry = account.height + EXPIRY_BLOCKS;
        let tx = wallet.tx(&name, account.next_nonce, expiry, transfer(to, 1));
        if let Err(e) = submit(c, &tx).await {
            count(&misses, format!("submit {:?} {}", e.code(), reason(&e)));
            pause().await;
            continue;
        }
        match wait_final(c, tx.id()).await {
            Ok(status) => {
                assert!(is_final(&status));
                finals.lock().unwrap().insert(tx.id(), status);
            }
            Err(e) => count(&misses, format!("wait {:?} {}", e.code(), e.message())),
        }
    }
}

/// Starts the senders against `addr`.
fn start_load(
    addr: SocketAddr,
    wallet: &Arc<Wallet>,
    finals: &Finals,
    misses: &Misses,
) -> (Arc<AtomicBool>, Vec<tokio::task::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handles = (0..SENDERS)
        .map(|i| {
            let name = format!("investor-{:02}", i + 1);
            let to = wallet.account(&format!("investor-{:02}", (i + 1) % 20 + 1));
            let task = sender(
                addr,
                Arc::clone(wallet),
                name,
                to,
                Arc::clone(finals),
                Arc::clone(misses),
                Arc::clone(&stop),
            );
            tokio::spawn(task)
        })
        .collect();
    (stop, handles)
}

/// Stops the senders; a sender that panicked fails the test.
async fn stop_load(stop: Arc<AtomicBool>, handles: Vec<tokio::task::JoinHandle<()>>) {
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        handle.abort();
        if let Err(e) = handle.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_mid_load_the_node_keeps_what_it_finalized_and_replays_to_its_root() {
    // Proves a SIGKILL mid-load loses nothing the node reported final (once it is back at the
    // height it had reached: same status, same receipt bytes after every restart), the
    // restarted node keeps finalizing, and its stored blocks re-execute from genesis to every
    // stored state root and to its current root.
    crash_run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_kill_the_node_never_reads_unknown_for_what_it_reported_final() {
    // Proves the first answers of a restarted node already hold every status it reported final
    // before the kill: a client is never told "unknown" about a transaction it saw applied.
    crash_run(true).await;
}

/// Kills the node under load `VOLT_CRASH_KILLS` times (3 by default) and checks each restart;
/// `strict` checks the statuses at the restarted node's first answer instead of once it is
/// back at its height.
async fn crash_run(strict: bool) {
    let t0 = Instant::now();
    let kills = std::env::var("VOLT_CRASH_KILLS").ok().and_then(|k| k.parse().ok());
    let kills: usize = kills.unwrap_or(KILLS_DEFAULT);
    let seed = seed();
    eprintln!("crash test: {kills} kills, VOLT_E2E_SEED={seed}");
    let mut rng = Rng::new(seed);
    let dir = TestDir::new("crash");
    let doc = dev_doc(dir.path());
    let wallet = Arc::new(Wallet::new(&doc));
    let home = dir.path().join("home");
    let mut node = Node::start(&home, "run-0");
    let mut c = node.client().await;
    wait_for_setup(&mut c, &doc).await;
    let finals: Finals = Arc::default();

    for kill in 0..kills {
        // Load, until this incarnation has finalized some of it, then a random moment more.
        let misses: Misses = Arc::default();
        let (stop, handles) = start_load(node.grpc, &wallet, &finals, &misses);
        let had = finals.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while finals.lock().unwrap().len() < had + SENDERS {
            if Instant::now() > deadline {
                let status = node_status(&mut c).await;
                let misses = misses.lock().unwrap().clone();
                panic!(
                    "kill {kill}: the chain stopped: the load finalized nothing for 20 s; the clients saw {:?}; node status \
                     {status:?}\n{}",
                    misses,
                    node.tail()
                );
            }
            assert!(node.running(), "kill {kill}: the node died by itself:\n{}", node.tail());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(1_500))).await;
        let height = node_status(&mut c).await.height;
        node.kill9();
        stop_load(stop, handles).await;
        let reported: Vec<(Hash, pb::TxStatus)> =
            finals.lock().unwrap().iter().map(|(id, s)| (*id, s.clone())).collect();

        node = Node::start(&home, &format!("run-{}", kill + 1));
        c = node.client().await;
        let reopened = node_status(&mut c).await.height;
        if !strict {
            wait_height(&mut c, height, Duration::from_secs(30)).await;
        }
        for (id, status) in &reported {
            let now = tx_status(&mut c, *id).await.expect("GetTxStatus after a restart");
            assert_eq!(&now, status, "kill {kill}: tx {id}'s final status changed");
        }
        // It keeps producing blocks, and settles new transactions.
        let resumed = node_status(&mut c).await;
        assert!(
            resumed.height >= height,
            "kill {kill}: restarted at {} < {height}",
            resumed.height
        );
        let tx =
            wallet.next_tx(&mut c, "investor-20", transfer(wallet.account("investor-10"), 1)).await;
        let status = apply(&mut c, "a transfer after the restart", &tx).await;
        assert!(status.height > height, "kill {kill}: no new block after the restart");
        finals.lock().unwrap().insert(tx.id(), status);
        eprintln!(
            "kill {kill}: killed at height {height}, reopened at {reopened}, {} final txs kept, \
             resumed at {} ({:?})",
            reported.len(),
            resumed.height,
            t0.elapsed()
        );
    }

    // It stays live past the vote journal's next prune after the last restart.
    let height = node_status(&mut c).await.height;
    let target = (height / JOURNAL_PRUNE_VIEWS + 1) * JOURNAL_PRUNE_VIEWS + 8;
    drive_to_height(&mut c, &wallet, target).await;

    // Re-execution from genesis reaches every stored root and the node's current one.
    let status = node_status(&mut c).await;
    let blocks = stream_blocks(&mut c, 1, status.height).await;
    let root = replay(&doc, &blocks);
    assert_eq!(root, hash_of(&status.state_root), "re-executed root differs from NodeStatus");
    // The receipts in the blocks are the ones the clients were told.
    let finals = finals.lock().unwrap().clone();
    for (id, reported) in &finals {
        let block = &blocks[reported.height as usize - 1];
        let receipt = &block.receipts[reported.index as usize];
        assert_eq!(receipt, &reported.receipt, "tx {id}: receipt in block {}", block.height);
        assert_eq!(decode_receipt(receipt).tx_id, *id);
    }
    assert!(node.running());
    let stopped = node.terminate(Duration::from_secs(20));
    assert!(stopped.success(), "exit {stopped} on SIGTERM:\n{}", node.tail());
    eprintln!(
        "crash test: {} final txs, {} blocks, {:?}",
        finals.len(),
        blocks.len(),
        t0.elapsed()
    );
}
