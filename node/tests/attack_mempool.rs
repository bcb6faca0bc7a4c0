//! Mempool and block production under a hostile client: floods from one account and from many,
//! nonce gaps, txs that expire while pending. The mempool must stay bounded (RESOURCE_EXHAUSTED,
//! no growth), the chain must keep producing blocks and the mempool drain.

// Test harness: it reads clocks and sleeps to drive a real process; a failed set-up is a
// failed test.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
use attack_support::*;
use std::time::{Duration, Instant};
use tonic::Code;

fn small_limits(home: &std::path::Path, txs: usize, account: usize) {
    std::fs::write(
        home.join("config.toml"),
        format!(
            "dev = true\n[limits]\nmempool_txs_max = {txs}\nmempool_account_txs_max = {account}\nmempool_nonce_ahead_max = 64\n"
        ),
    )
    .unwrap();
}

/// One account floods: it gets at most `account_txs_max` in, then ResourceExhausted with
/// AccountQueueFull; another account still gets in.
#[test]
fn attack_mempool_per_account_cap() {
    let home = fresh_home("acct-cap");
    small_limits(&home, 1000, 8);
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s = wait_settled(&mut c, Duration::from_secs(90)).await;
        let n = next_nonce(&mut c, &doc, "investor-01").await;
        let mut admitted = 0;
        let mut refused = None;
        // Far-ahead nonces (gap at n) so nothing is selected while we flood.
        for i in 1..=40u64 {
            match submit(
                &mut c,
                &transfer(&doc, "investor-01", "investor-02", n + i, s.height + 10_000),
            )
            .await
            {
                Ok(_) => admitted += 1,
                Err(st) => {
                    refused.get_or_insert((st.code(), reason(&st)));
                }
            }
        }
        assert!(admitted <= 8, "one account got {admitted} txs in, the cap is 8");
        let (code, why) = refused.expect("no refusal at all");
        assert_eq!(code, Code::ResourceExhausted);
        assert_eq!(why, "AccountQueueFull");
        let m = next_nonce(&mut c, &doc, "investor-02").await;
        submit(&mut c, &transfer(&doc, "investor-02", "investor-03", m, s.height + 100))
            .await
            .expect("another account is crowded out");
    });
}

/// Many accounts flood past the global cap: ResourceExhausted/MempoolFull, and the mempool
/// gauges never exceed the cap.
#[test]
fn attack_mempool_global_cap_no_growth() {
    let home = fresh_home("global-cap");
    small_limits(&home, 30, 8);
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s = wait_settled(&mut c, Duration::from_secs(600)).await;
        let names = member_names(&doc);
        let mut full = 0;
        let mut max_seen = 0u64;
        for name in names.iter().take(20) {
            let n = next_nonce(&mut c, &doc, name).await;
            // Gap nonces: never selectable, so the mempool stays full while we look.
            for i in 1..=6u64 {
                if let Err(st) =
                    submit(&mut c, &transfer(&doc, name, "investor-02", n + i, s.height + 10_000))
                        .await
                {
                    if st.code() == Code::ResourceExhausted && reason(&st) == "MempoolFull" {
                        full += 1;
                    } else {
                        assert_eq!(st.code(), Code::ResourceExhausted, "{st:?}");
                    }
                }
            }
            let m = node.metric("volt_mempool_txs").unwrap_or(0.0) as u64;
            max_seen = max_seen.max(m);
        }
        let st = status(&mut c).await;
        assert!(full > 0, "never MempoolFull past the cap");
        assert!(
            st.mempool_txs <= 30 && max_seen <= 30,
            "mempool grew past its cap: {} / {max_seen}",
            st.mempool_txs
        );
        let bytes = node.metric("volt_mempool_bytes").unwrap();
        assert!(bytes as u64 == st.mempool_bytes || st.mempool_txs > 0);
    });
}

/// Nonce-gap squatting: members park far-ahead (gap) txs with an expiry far in the future. They
/// can never be selected; the mempool must not stay full of them for ever — a legitimate
/// submission from another member must get in within a bounded time (here 60 s).
#[test]
fn attack_mempool_nonce_gap_squatting_does_not_lock_out_others() {
    let home = fresh_home("gap-squat");
    small_limits(&home, 40, 8);
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s = wait_settled(&mut c, Duration::from_secs(120)).await;
        let names = member_names(&doc);
        let squatters: Vec<_> = names.iter().filter(|n| n.starts_with("controller-")).take(5).cloned().collect();
        for name in &squatters {
            let n = next_nonce(&mut c, &doc, name).await;
            for i in 1..=8u64 {
                // The furthest expiry the mempool takes (EXPIRY_HORIZON_BLOCKS_MAX = 100,000).
                let expiry = s.height + 90_000;
                let _ = submit(&mut c, &transfer(&doc, name, "investor-02", n + i, expiry)).await;
            }
        }
        let st = status(&mut c).await;
        assert_eq!(st.mempool_txs, 40, "the squatters did not fill the mempool");
        let victim = "investor-07";
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let m = next_nonce(&mut c, &doc, victim).await;
            let h = status(&mut c).await.height;
            match submit(&mut c, &transfer(&doc, victim, "investor-08", m, h + 100)).await {
                Ok(_) => break,
                Err(e) => {
                    assert!(Instant::now() < deadline,
                        "a legitimate tx is still refused ({}) after 60 s: gap txs with expiry u64::MAX hold the mempool for ever",
                        reason(&e));
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// Txs that expire while pending (a gap keeps them waiting, then the expiry passes): the chain
/// keeps producing blocks, the mempool drains, and the gap filler then applies.
#[test]
fn attack_mempool_expiring_pending_txs_drain_and_chain_continues() {
    let home = fresh_home("expire");
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s = wait_settled(&mut c, Duration::from_secs(90)).await;
        let who = "investor-09";
        let n = next_nonce(&mut c, &doc, who).await;
        // n+1..n+5 wait behind the gap at n and expire within 2 blocks.
        for i in 1..=5u64 {
            submit(&mut c, &transfer(&doc, who, "investor-10", n + i, s.height + 2)).await.unwrap();
        }
        wait_height(&mut c, s.height + 4, Duration::from_secs(60)).await;
        let st = status(&mut c).await;
        assert_eq!(st.mempool_txs, 0, "expired txs were not evicted");
        // Now the gap filler and a follow-up apply.
        let id =
            submit(&mut c, &transfer(&doc, who, "investor-10", n, st.height + 100)).await.unwrap();
        let id2 = submit(&mut c, &transfer(&doc, who, "investor-10", n + 1, st.height + 100))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let a = tx_status(&mut c, &id).await;
            let b = tx_status(&mut c, &id2).await;
            if a.state != PENDING && b.state != PENDING {
                assert_ne!(a.state, UNKNOWN);
                assert_ne!(b.state, UNKNOWN);
                break;
            }
            assert!(Instant::now() < deadline, "stalled: {a:?} {b:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

/// A burst of valid txs from every investor (a long nonce run each): the mempool drains to zero
/// and the chain keeps producing blocks; every admitted tx ends final.
#[test]
fn attack_mempool_burst_drains() {
    let home = fresh_home("burst");
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s = wait_settled(&mut c, Duration::from_secs(90)).await;
        let mut ids = Vec::new();
        for name in investors(&doc) {
            let n = next_nonce(&mut c, &doc, &name).await;
            for i in 0..60u64 {
                if let Ok(id) =
                    submit(&mut c, &transfer(&doc, &name, "investor-01", n + i, s.height + 1000))
                        .await
                {
                    ids.push(id);
                }
            }
        }
        assert!(ids.len() > 500);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let st = status(&mut c).await;
            if st.mempool_txs == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "mempool did not drain: {st:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        for id in &ids {
            let st = tx_status(&mut c, id).await;
            assert!(st.state != PENDING && st.state != UNKNOWN, "{st:?}");
        }
        let h = status(&mut c).await.height;
        wait_height(&mut c, h, Duration::from_secs(30)).await;
    });
}
