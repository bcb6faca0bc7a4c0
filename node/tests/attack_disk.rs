//! Hostile disk: damage a stopped node's files, restart it. Each must give a clear error naming
//! what is wrong (non-zero exit, no panic, no backtrace) or a safe recovery with the same state
//! root and the same blocks — never a wrong answer.

// Test harness: it reads clocks and sleeps to drive a real process; a failed set-up is a
// failed test.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
use attack_support::*;
use std::path::Path;
use std::time::Duration;
use volt_proto::grpc as pb;

struct Before {
    height: u64,
    root: Vec<u8>,
    digests: Vec<Vec<u8>>,
    roots: Vec<Vec<u8>>,
}

/// Runs a dev node until it settled and made a few more blocks (a transfer in them), stops it
/// cleanly, and records what it served.
fn prepared(name: &str) -> (std::path::PathBuf, Before) {
    let home = fresh_home(name);
    let mut node = Node::start(&home);
    let doc = doc(&home);
    let before = rt().block_on(async {
        let mut c = node.client().await;
        let s = wait_settled(&mut c, Duration::from_secs(60)).await;
        let n = next_nonce(&mut c, &doc, "investor-01").await;
        submit(&mut c, &transfer(&doc, "investor-01", "investor-02", n, s.height + 100))
            .await
            .unwrap();
        wait_height(&mut c, s.height + 2, Duration::from_secs(30)).await;
        // Let a state certificate form for the tip.
        tokio::time::sleep(Duration::from_millis(500)).await;
        snapshot_of(&mut c).await
    });
    assert_eq!(node.stop(), Some(0), "clean stop failed: {}", node.stderr());
    (home, before)
}

async fn snapshot_of(
    c: &mut volt_proto::grpc::ledger_client::LedgerClient<tonic::transport::Channel>,
) -> Before {
    let s = status(c).await;
    let mut digests = Vec::new();
    let mut roots = Vec::new();
    for h in 1..=s.height {
        let b = c.get_block(pb::GetBlockRequest { height: h }).await.unwrap().into_inner();
        digests.push(b.digest);
        roots.push(b.state_root);
    }
    Before { height: s.height, root: s.state_root, digests, roots }
}

/// After damage: the node either refuses (non-zero, one clear line naming `needle`, no panic) or
/// starts and serves exactly what it served before for every height it had, the root of its
/// status matching its tip block, and keeps producing blocks.
fn refuses_or_recovers(home: &Path, before: &Before, needle: &[&str]) -> &'static str {
    match Node::try_start(home) {
        Err(msg) => {
            assert_no_panic(&msg);
            assert!(
                needle.iter().any(|n| msg.to_lowercase().contains(&n.to_lowercase())),
                "refused without naming the damage ({needle:?}): {msg}"
            );
            "refused"
        }
        Ok(mut node) => {
            rt().block_on(async {
                let mut c = node.client().await;
                let s = status(&mut c).await;
                assert!(
                    s.height >= before.height,
                    "height went back {} -> {}",
                    before.height,
                    s.height
                );
                for h in 1..=before.height {
                    match c.get_block(pb::GetBlockRequest { height: h }).await {
                        Ok(b) => {
                            let b = b.into_inner();
                            assert_eq!(
                                b.digest,
                                before.digests[h as usize - 1],
                                "block {h} changed"
                            );
                            assert_eq!(
                                b.state_root,
                                before.roots[h as usize - 1],
                                "root of {h} changed"
                            );
                        }
                        Err(st) => {
                            assert_eq!(st.code(), tonic::Code::Internal, "block {h}: {st:?}");
                            assert!(st.message().contains("corrupt"), "block {h}: {st:?}");
                        }
                    }
                }
                if s.height == before.height {
                    assert_eq!(s.state_root, before.root, "same height, other root");
                }
                wait_height(&mut c, s.height, Duration::from_secs(30)).await;
                let s2 = status(&mut c).await;
                let tip = c
                    .get_block(pb::GetBlockRequest { height: s2.height })
                    .await
                    .unwrap()
                    .into_inner();
                let s3 = status(&mut c).await;
                if s3.height == s2.height {
                    assert_eq!(tip.state_root, s2.state_root, "NodeStatus root != GetBlock root");
                }
            });
            assert!(node.alive(), "node died after damage: {}", node.stderr());
            assert_no_panic(&node.stderr());
            "recovered"
        }
    }
}

fn flip_sled(home: &Path, pick: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let doc = doc(home);
    let db = volt_node::storage::NodeDb::open(&home.join("data/db"), doc.id()).unwrap();
    let tree = db.raw();
    let (k, v) =
        tree.iter().map(|r| r.unwrap()).filter(|(k, _)| pick(k)).last().expect("no such key");
    let mut v = v.to_vec();
    let i = v.len() / 2;
    v[i] ^= 0x40;
    tree.insert(&k, v).unwrap();
    db.make_durable().unwrap();
    k.to_vec()
}

#[test]
fn attack_disk_flipped_tip_block_value() {
    let (home, before) = prepared("flip-block");
    flip_sled(&home, |k| k[0] == b'b');
    let out = refuses_or_recovers(&home, &before, &["corrupt", "block at height"]);
    eprintln!("flipped tip block: {out}");
}

#[test]
fn attack_disk_flipped_receipts_value() {
    let (home, before) = prepared("flip-receipts");
    flip_sled(&home, |k| k[0] == b'r');
    let out = refuses_or_recovers(&home, &before, &["corrupt", "receipts"]);
    eprintln!("flipped receipts: {out}");
}

#[test]
fn attack_disk_flipped_applied_height() {
    let (home, before) = prepared("flip-applied");
    flip_sled(&home, |k| k == b"mapplied-height");
    let out = refuses_or_recovers(&home, &before, &["corrupt", "applied height"]);
    eprintln!("flipped applied height: {out}");
}

/// A flipped ledger state value (a holding of investor-01): with a clean shutdown the tree is
/// loaded from tree.snapshot, not from sled, so sled's damage is only seen when the ledger reads
/// the key. The node must never serve or execute on the damaged value: every answer about that
/// key equals the one before, or the node stops naming the key.
#[test]
fn attack_disk_flipped_state_value_is_never_served_or_executed() {
    let home = fresh_home("flip-state");
    let mut node = Node::start(&home);
    let doc = doc(&home);
    let (who_name, who, holdings, key_bytes, h_before) = rt().block_on(async {
        let mut c = node.client().await;
        wait_settled(&mut c, Duration::from_secs(60)).await;
        for name in investors(&doc) {
            let who = key(&doc, &name).account();
            let a = c
                .get_account(pb::GetAccountRequest { account: who.0.to_vec() })
                .await
                .unwrap()
                .into_inner();
            if let Some(h) = a.holdings.iter().find(|h| !h.key.is_empty() && h.amount != "0") {
                let k = h.key.clone();
                return (name, who, a.holdings, k, a.height);
            }
        }
        panic!("no investor holds anything");
    });
    assert_eq!(node.stop(), Some(0));
    let mut sled_key = vec![b's'];
    sled_key.extend_from_slice(&key_bytes);
    let flipped = flip_sled(&home, |k| k == sled_key.as_slice());
    assert_eq!(flipped, sled_key);
    let mut node = match Node::try_start(&home) {
        Err(msg) => {
            assert_no_panic(&msg);
            assert!(msg.contains("corrupt"), "refused without naming the damage: {msg}");
            return;
        }
        Ok(n) => n,
    };
    rt().block_on(async {
        let mut c = node.client().await;
        match c.get_account(pb::GetAccountRequest { account: who.0.to_vec() }).await {
            Ok(a) => {
                let a = a.into_inner();
                if a.height == h_before {
                    assert_eq!(a.holdings, holdings, "the damaged holding was served");
                }
            }
            Err(s) => assert!(s.message().contains("corrupt"), "{s:?}"),
        }
        // Execute a transfer that reads the damaged key.
        let n = next_nonce(&mut c, &doc, &who_name).await;
        let s = status(&mut c).await;
        let id = submit(&mut c, &transfer(&doc, &who_name, "investor-02", n, s.height + 100)).await;
        let Ok(id) = id else { return };
        tokio::time::sleep(Duration::from_secs(5)).await;
        if let Ok(st) = c.get_tx_status(pb::GetTxStatusRequest { tx_id: id }).await {
            let st = st.into_inner();
            // Applied on top of the damaged value is a wrong answer unless the value used was
            // the correct one: check the holding moved by exactly 1 from its old amount.
            if st.state == APPLIED {
                let a = c
                    .get_account(pb::GetAccountRequest { account: who.0.to_vec() })
                    .await
                    .unwrap()
                    .into_inner();
                let old = holdings.iter().find(|h| h.key == key_bytes).unwrap();
                let new = a.holdings.iter().find(|h| h.key == key_bytes).unwrap();
                let (o, n): (u128, u128) =
                    (old.amount.parse().unwrap(), new.amount.parse().unwrap());
                assert!(o.abs_diff(n) <= 1, "balance {o} became {n}: executed on a damaged value");
            }
        }
    });
    if !node.alive() {
        let err = node.stderr();
        assert_no_panic(&err);
        assert!(
            err.contains("corrupt") && err.contains("state key"),
            "stopped without naming the key: {err}"
        );
    }
}

#[test]
fn attack_disk_corrupt_tree_snapshot() {
    let (home, before) = prepared("snap-corrupt");
    let path = home.join("data/db/tree.snapshot");
    let mut bytes = std::fs::read(&path).expect("a clean stop writes tree.snapshot");
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let out = refuses_or_recovers(&home, &before, &["snapshot"]);
    eprintln!("corrupt snapshot: {out}");
}

#[test]
fn attack_disk_truncated_tree_snapshot() {
    let (home, before) = prepared("snap-trunc");
    let path = home.join("data/db/tree.snapshot");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let out = refuses_or_recovers(&home, &before, &["snapshot"]);
    eprintln!("truncated snapshot: {out}");
}

#[test]
fn attack_disk_empty_tree_snapshot() {
    let (home, before) = prepared("snap-empty");
    std::fs::write(home.join("data/db/tree.snapshot"), b"").unwrap();
    let out = refuses_or_recovers(&home, &before, &["snapshot"]);
    eprintln!("empty snapshot: {out}");
}

#[test]
fn attack_disk_truncated_journal_mid_file() {
    let (home, before) = prepared("journal-trunc");
    let path = home.join("data/votes.journal");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = refuses_or_recovers(&home, &before, &["journal"]);
    eprintln!("truncated journal: {out}");
}

#[test]
fn attack_disk_corrupt_journal_mid_file() {
    let (home, before) = prepared("journal-corrupt");
    let path = home.join("data/votes.journal");
    let mut bytes = std::fs::read(&path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let out = refuses_or_recovers(&home, &before, &["journal"]);
    eprintln!("corrupt journal: {out}");
}

/// Deleting the journal: operations.md says never to; the node must not then vote again on
/// heights it already finalized with different blocks. Either it refuses (it has blocks but no
/// journal), or it recovers with the same blocks.
#[test]
fn attack_disk_deleted_journal() {
    let (home, before) = prepared("journal-deleted");
    std::fs::remove_file(home.join("data/votes.journal")).unwrap();
    let out = refuses_or_recovers(&home, &before, &["journal"]);
    eprintln!("deleted journal: {out}");
}

#[test]
fn attack_disk_swapped_genesis_is_refused_naming_both_ids() {
    let (home, _before) = prepared("genesis-swap");
    let old = doc(&home).id();
    std::thread::sleep(Duration::from_millis(1100));
    let other = home.join("other-genesis.json");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_volt"))
        .args(["genesis", "dev", "--out"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::copy(&other, home.join("genesis.json")).unwrap();
    let new = doc(&home).id();
    assert_ne!(old, new);
    let (code, out, err) = run_to_exit(&home, Duration::from_secs(60));
    assert_no_panic(&err);
    assert!(matches!(code, Some(c) if c != 0), "started on another genesis: {code:?} {out} {err}");
    let text = format!("{out}{err}");
    assert!(
        text.contains(&old.to_string()) && text.contains(&new.to_string()),
        "error does not name both ids: {text}"
    );
    let error_lines = err.lines().filter(|l| l.contains("error")).count();
    assert!(error_lines >= 1, "{err}");
}

#[test]
fn attack_disk_second_node_on_same_home_refuses() {
    let home = fresh_home("double");
    let mut first = Node::start(&home);
    let (code, out, err) = run_to_exit(&home, Duration::from_secs(60));
    assert_no_panic(&err);
    assert!(
        matches!(code, Some(c) if c != 0),
        "second node did not refuse (timeout = hung): {code:?}\n{out}\n{err}"
    );
    assert!(err.to_lowercase().contains("lock"), "no clear reason: {err}");
    assert!(first.alive(), "the first node died: {}", first.stderr());
    rt().block_on(async {
        let mut c = first.client().await;
        let s = status(&mut c).await;
        wait_height(&mut c, s.height, Duration::from_secs(30)).await;
    });
}
