//! Crash at the worst moment: kill -9 during heavy submission, right after WaitTx reported
//! APPLIED, during start-up. After restart every tx reported final is still final with the same
//! receipt bytes, NodeStatus's root equals the root of GetBlock(height), and blocks keep coming.

// Test harness: it reads clocks and sleeps to drive a real process; a failed set-up is a
// failed test.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
use attack_support::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use volt_proto::grpc as pb;

type Finals = BTreeMap<Vec<u8>, (i32, u64, u32, Vec<u8>)>;

async fn check_after_restart(node: &Node, finals: &Finals) {
    let mut c = node.client().await;
    for (id, (state, height, index, receipt)) in finals {
        let st = tx_status(&mut c, id).await;
        assert_eq!(
            (st.state, st.height, st.index, &st.receipt),
            (*state, *height, *index, receipt),
            "tx {} reported final was lost or changed",
            hex::encode(id)
        );
    }
    let s = status(&mut c).await;
    let b = c.get_block(pb::GetBlockRequest { height: s.height }).await.unwrap().into_inner();
    let s2 = status(&mut c).await;
    if s2.height == s.height {
        assert_eq!(
            b.state_root, s.state_root,
            "NodeStatus root != GetBlock({}).state_root",
            s.height
        );
    }
    wait_height(&mut c, s.height, Duration::from_secs(30)).await;
}

/// Submits transfers from every investor as fast as possible until `stop_at`, recording those
/// reported final.
async fn hammer(
    node: &Node,
    doc: &volt_genesis::GenesisDoc,
    finals: &mut Finals,
    run_for: Duration,
) {
    let mut c = node.client().await;
    let s = status(&mut c).await;
    let names = investors(doc);
    let mut nonces = BTreeMap::new();
    for n in &names {
        nonces.insert(n.clone(), next_nonce(&mut c, doc, n).await);
    }
    let mut ids = Vec::new();
    let until = Instant::now() + run_for;
    'outer: while Instant::now() < until {
        for (i, n) in names.iter().enumerate() {
            let to = &names[(i + 1) % names.len()];
            let nonce = nonces[n];
            let tx = transfer(doc, n, to, nonce, s.height + 10_000);
            match submit(&mut c, &tx).await {
                Ok(id) => {
                    *nonces.get_mut(n).unwrap() += 1;
                    ids.push(id);
                }
                Err(st) if st.code() == tonic::Code::ResourceExhausted => {}
                Err(st) if st.code() == tonic::Code::Unavailable => break 'outer,
                Err(_) => {}
            }
            if Instant::now() >= until {
                break 'outer;
            }
        }
        // Record what is final so far.
        let mut keep = Vec::new();
        for id in ids.drain(..) {
            match c.get_tx_status(pb::GetTxStatusRequest { tx_id: id.clone() }).await {
                Ok(st) => {
                    let st = st.into_inner();
                    if st.state != PENDING && st.state != UNKNOWN {
                        finals.insert(id, (st.state, st.height, st.index, st.receipt));
                    } else {
                        keep.push(id);
                    }
                }
                Err(_) => break 'outer,
            }
        }
        ids = keep;
    }
}

/// Kill rounds of a loop: 2 by default (CI time), `full` with `VOLT_ATTACK_FULL=1` (the
/// attacker's original runs).
fn rounds(full: usize) -> usize {
    if std::env::var_os("VOLT_ATTACK_FULL").is_some() { full } else { 2 }
}

#[test]
fn attack_crash_kill9_during_heavy_submission_loop() {
    let home = fresh_home("kill-loop");
    let doc = doc_after_first_start(&home);
    let mut finals = Finals::new();
    for round in 0..rounds(6) {
        let mut node = Node::start(&home);
        rt().block_on(async {
            check_after_restart(&node, &finals).await;
            let ms = 1500 + 700 * (round % 3) as u64;
            hammer(&node, &doc, &mut finals, Duration::from_millis(ms)).await;
        });
        node.kill9();
        assert_no_panic(&node.stderr());
    }
    let node = Node::start(&home);
    rt().block_on(check_after_restart(&node, &finals));
    eprintln!("{} final txs survived 6 kill -9s", finals.len());
    assert!(!finals.is_empty(), "no tx became final at all");
}

fn doc_after_first_start(home: &std::path::Path) -> volt_genesis::GenesisDoc {
    let node = Node::start(home);
    rt().block_on(async {
        let mut c = node.client().await;
        wait_settled(&mut c, Duration::from_secs(60)).await;
    });
    drop(node); // kill -9 already, at an idle moment
    doc(home)
}

#[test]
fn attack_crash_kill9_right_after_waittx_applied() {
    let home = fresh_home("kill-applied");
    let doc = doc_after_first_start(&home);
    let mut finals = Finals::new();
    for _round in 0..rounds(5) {
        let mut node = Node::start(&home);
        rt().block_on(async {
            check_after_restart(&node, &finals).await;
            let mut c = node.client().await;
            let s = status(&mut c).await;
            let n = next_nonce(&mut c, &doc, "investor-05").await;
            let id =
                submit(&mut c, &transfer(&doc, "investor-05", "investor-06", n, s.height + 100))
                    .await
                    .unwrap();
            let mut stream =
                c.wait_tx(pb::GetTxStatusRequest { tx_id: id.clone() }).await.unwrap().into_inner();
            while let Some(st) = stream.message().await.unwrap() {
                if st.state != PENDING {
                    assert_ne!(st.state, UNKNOWN, "{st:?}"); // final: applied or failed
                    // The worst moment: the client was told, sled may not have written yet.
                    node.kill9();
                    finals.insert(id.clone(), (st.state, st.height, st.index, st.receipt));
                    break;
                }
            }
        });
        node.kill9();
    }
    let node = Node::start(&home);
    rt().block_on(check_after_restart(&node, &finals));
}

#[test]
fn attack_crash_kill9_during_startup() {
    let home = fresh_home("kill-startup");
    let doc = doc_after_first_start(&home);
    let mut finals = Finals::new();
    {
        let node = Node::start(&home);
        rt().block_on(hammer(&node, &doc, &mut finals, Duration::from_secs(3)));
    }
    // Kill it at a spread of moments during start-up (before it prints its addresses too).
    for delay_ms in [5u64, 30, 80, 150, 300, 600] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_volt"))
            .args(["node", "run", "--dev", "--home"])
            .arg(&home)
            .args(["--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let node = Node::start(&home);
    rt().block_on(check_after_restart(&node, &finals));
    let mut node = node;
    assert!(node.alive());
    assert_no_panic(&node.stderr());
}
