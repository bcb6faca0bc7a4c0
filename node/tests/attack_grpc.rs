//! Hostile client: odd lookups, refused submissions, stream floods. Every refusal must carry a
//! status code and an ErrorInfo reason, and leave the state root unchanged; the node must stay
//! up and responsive.

// Test harness: it reads clocks and sleeps to drive a real process; a failed set-up is a
// failed test.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
use attack_support::*;
use std::time::{Duration, Instant};
use tonic::Code;
use volt_proto::grpc as pb;
use volt_proto::{Amount, Call, Serial, Symbol, Text};

/// Checks a refusal: code, ErrorInfo reason, and that the root did not move (no block in between
/// is not guaranteed, so the root is compared at an unchanged height).
fn expect(r: Result<impl std::fmt::Debug, tonic::Status>, code: Code, what: &str) -> String {
    match r {
        Ok(v) => panic!("{what}: expected {code:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "{what}: wrong code, message {:?}", s.message());
            reason(&s)
        }
    }
}

#[test]
fn attack_grpc_odd_lookups_are_refused_with_code_and_reason() {
    let home = fresh_home("lookups");
    let node = Node::start(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        wait_settled(&mut c, Duration::from_secs(60)).await;
        let before = status(&mut c).await;

        let r = c.get_block(pb::GetBlockRequest { height: u64::MAX }).await;
        assert_eq!(expect(r, Code::NotFound, "GetBlock(u64::MAX)"), "UnknownHeight");
        let r = c.get_block(pb::GetBlockRequest { height: 0 }).await;
        // Height 0 is genesis, which has no stored block: NotFound with a reason, not Internal.
        let _ = r.map(|_| ()).map_err(|s| {
            assert_ne!(s.code(), Code::Internal, "{s:?}");
            reason(&s)
        });

        for len in [0usize, 31, 33, 1 << 20] {
            let r = c.get_account(pb::GetAccountRequest { account: vec![7; len] }).await;
            assert_eq!(
                expect(r, Code::InvalidArgument, &format!("GetAccount {len} bytes")),
                "BadArgument"
            );
        }
        // A well-formed but unknown account: NotFound or an empty non-member, never Internal.
        let r = c.get_account(pb::GetAccountRequest { account: vec![9; 32] }).await;
        if let Err(s) = &r {
            assert_ne!(s.code(), Code::Internal, "{s:?}");
            reason(s);
        }

        for len in [0usize, 31, 33] {
            let r = c.get_tx_status(pb::GetTxStatusRequest { tx_id: vec![1; len] }).await;
            expect(r, Code::InvalidArgument, &format!("GetTxStatus {len} bytes"));
        }

        // GetProof: a 1 MiB key (bigger than any state key) and an empty key.
        let r = c.get_proof(pb::GetProofRequest { key: vec![0xAB; 1 << 20] }).await;
        expect(r, Code::InvalidArgument, "GetProof 1 MiB key");
        let r = c.get_proof(pb::GetProofRequest { key: Vec::new() }).await;
        match r {
            Ok(p) => assert!(!p.into_inner().present, "empty key present?"),
            Err(s) => {
                assert_ne!(s.code(), Code::Internal, "{s:?}");
                reason(&s);
            }
        }

        // GetRecord with absurd ids, every kind.
        let long = "x".repeat(100_000);
        for kind in 0..=7i32 {
            for id in ["", "\u{0}", long.as_str(), "../../etc/passwd", "HK-\u{1F600}"] {
                let r = c.get_record(pb::GetRecordRequest { kind, id: id.to_owned() }).await;
                match r {
                    Ok(rec) => panic!(
                        "GetRecord kind {kind} id {:?}: Ok {:?}",
                        &id[..id.len().min(20)],
                        rec.into_inner().key
                    ),
                    Err(s) => {
                        assert!(
                            matches!(s.code(), Code::InvalidArgument | Code::NotFound),
                            "GetRecord kind {kind}: {:?} {}",
                            s.code(),
                            s.message()
                        );
                        reason(&s);
                    }
                }
            }
        }
        let r = c
            .get_usage_receipt(pb::GetUsageReceiptRequest {
                station: long.clone(),
                counter: u64::MAX,
            })
            .await;
        match r {
            Ok(_) => panic!("usage receipt for junk"),
            Err(s) => {
                assert_ne!(s.code(), Code::Internal);
                reason(&s);
            }
        }

        // StreamBlocks from u64::MAX: either refused, or an open stream with nothing in it; and
        // the node stays responsive.
        match c.stream_blocks(pb::StreamBlocksRequest { from_height: u64::MAX }).await {
            Err(s) => {
                reason(&s);
            }
            Ok(stream) => {
                let mut stream = stream.into_inner();
                let next = tokio::time::timeout(Duration::from_secs(3), stream.message()).await;
                if let Ok(m) = next {
                    match m {
                        Ok(Some(b)) => panic!("a block from u64::MAX: height {}", b.height),
                        Ok(None) => {}
                        Err(s) => {
                            reason(&s);
                        }
                    }
                }
            }
        }
        let after = status(&mut c).await;
        assert!(after.height >= before.height);
        // The chain keeps going.
        wait_height(&mut c, after.height, Duration::from_secs(30)).await;
    });
    let mut node = node;
    assert!(node.alive(), "node died: {}", node.stderr());
    assert_no_panic(&node.stderr());
}

/// Refused submissions: each has a code and reason, and the state root at the current height is
/// unchanged (the refusal wrote nothing).
#[test]
fn attack_grpc_refused_submissions_have_code_reason_and_change_nothing() {
    let home = fresh_home("refusals");
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s0 = wait_settled(&mut c, Duration::from_secs(60)).await;
        let who = "investor-01";
        let nonce = next_nonce(&mut c, &doc, who).await;
        let expiry = s0.height + 500;

        // Junk.
        for (what, bytes) in [
            ("empty", Vec::new()),
            ("random", (0..200u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>()),
            ("truncated", {
                let b = transfer(&doc, who, "investor-02", nonce, expiry).encode();
                b[..b.len() / 2].to_vec()
            }),
            ("over 64 KiB", vec![0u8; 64 * 1024 + 1]),
        ] {
            let before = status(&mut c).await;
            let r = submit_bytes(&mut c, bytes).await;
            let reason = expect(r, Code::InvalidArgument, what);
            assert!(["Malformed", "TxTooLarge"].contains(&reason.as_str()), "{what}: {reason}");
            let after = status(&mut c).await;
            assert_eq!(after.mempool_txs, before.mempool_txs, "{what} entered the mempool");
        }

        // A gRPC message over the server limit (4 MiB default).
        let r = submit_bytes(&mut c, vec![0u8; 5 << 20]).await;
        match r {
            Ok(_) => panic!("5 MiB message accepted"),
            Err(s) => {
                assert!(
                    matches!(
                        s.code(),
                        Code::ResourceExhausted | Code::InvalidArgument | Code::OutOfRange
                    ),
                    "{s:?}"
                );
                // Rich errors everywhere: the over-limit message too.
                reason(&s);
            }
        }

        // Wrong chain, bad signature, unknown signer, replayed nonce, far-ahead nonce, expired.
        let good = transfer(&doc, who, "investor-02", nonce, expiry);
        let mut wrong_sig = good.clone();
        wrong_sig.signature = transfer(&doc, who, "investor-03", nonce, expiry).signature;
        let r = submit(&mut c, &wrong_sig).await;
        assert_eq!(expect(r, Code::InvalidArgument, "bad signature"), "BadSignature");
        let far = transfer(&doc, who, "investor-02", nonce + 100_000, expiry);
        assert_eq!(
            expect(submit(&mut c, &far).await, Code::FailedPrecondition, "far nonce"),
            "NonceTooFarAhead"
        );
        let expired = transfer(&doc, who, "investor-02", nonce, s0.height.saturating_sub(1).max(1));
        assert_eq!(
            expect(submit(&mut c, &expired).await, Code::FailedPrecondition, "expired"),
            "Expired"
        );
        if nonce > 0 {
            let replay = transfer(&doc, who, "investor-02", nonce - 1, expiry);
            assert_eq!(
                expect(submit(&mut c, &replay).await, Code::FailedPrecondition, "replay"),
                "NonceReplayed"
            );
        }
        // Unknown signer: a key that is no member.
        let stranger = volt_genesis::demo_keypair("attack/not-a-member");
        let body = volt_proto::TxBody {
            chain_id: doc.chain_id.clone(),
            signer: stranger.account(),
            nonce: volt_proto::Nonce(0),
            expiry_height: volt_proto::Height(expiry),
            call: good.body.call.clone(),
        };
        assert_eq!(
            expect(
                submit(&mut c, &body.sign(&stranger)).await,
                Code::FailedPrecondition,
                "stranger"
            ),
            "UnknownSigner"
        );

        // The same tx twice; then another tx with the same (signer, nonce).
        let id = submit(&mut c, &good).await.expect("good tx");
        let second = submit(&mut c, &good).await;
        match second {
            // Still pending: a duplicate.
            Err(s) => {
                assert!(
                    matches!(s.code(), Code::AlreadyExists | Code::FailedPrecondition),
                    "{s:?}"
                );
                let r = reason(&s);
                assert!(["Duplicate", "NonceReplayed"].contains(&r.as_str()), "{r}");
            }
            Ok(id2) => {
                panic!("the same tx admitted twice ({} / {})", hex::encode(&id), hex::encode(id2))
            }
        }
        let rival = transfer(&doc, who, "investor-03", nonce, expiry);
        match submit(&mut c, &rival).await {
            Err(s) => {
                let r = reason(&s);
                assert!(["NoncePending", "NonceReplayed"].contains(&r.as_str()), "{r}");
                assert_eq!(s.code(), Code::FailedPrecondition);
            }
            Ok(_) => panic!("a rival tx for a pending nonce was admitted"),
        }
        // Wait for it to apply, then resubmit it: NonceReplayed (or Duplicate), never admitted.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let st = tx_status(&mut c, &id).await;
            if st.state != PENDING && st.state != UNKNOWN {
                break;
            }
            assert!(Instant::now() < deadline, "tx never final");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let again = submit(&mut c, &good).await;
        assert!(again.is_err(), "a final tx was admitted again");
        let s = again.unwrap_err();
        assert_eq!(reason(&s), "NonceReplayed");

        // The state root is the root of the block at that height.
        let st = status(&mut c).await;
        let b = c.get_block(pb::GetBlockRequest { height: st.height }).await.unwrap().into_inner();
        let st2 = status(&mut c).await;
        if st2.height == st.height {
            assert_eq!(b.state_root, st.state_root, "NodeStatus root != GetBlock root");
        }
    });
    let mut node = node;
    assert!(node.alive());
    assert_no_panic(&node.stderr());
}

/// A tx just under 64 KiB is admitted (or refused for its content, never as too large) and one
/// just over is refused as TxTooLarge, both with reasons.
#[test]
fn attack_grpc_tx_size_boundary() {
    let home = fresh_home("size");
    let node = Node::start(&home);
    let doc = doc(&home);
    rt().block_on(async {
        let mut c = node.client().await;
        let s0 = wait_settled(&mut c, Duration::from_secs(60)).await;
        let who = "issuer";
        let nonce = next_nonce(&mut c, &doc, who).await;
        let build = |n: usize, nonce: u64| {
            let batteries = (0..n).map(|i| Serial::new(&format!("{:0>50}", i)).unwrap()).collect();
            signed(
                &doc,
                who,
                nonce,
                s0.height + 1000,
                Call::CreateBatteryClass {
                    class: Symbol::new("ATTACKBIG").unwrap(),
                    name: Text::new("big").unwrap(),
                    supply_max: Amount(1),
                    batteries,
                    revenue_currency: Symbol::new("HKD").unwrap(),
                },
            )
        };
        // Find n with encode() just under / just over 64 KiB.
        let mut n = 1000;
        while build(n + 1, nonce).encode().len() <= 64 * 1024 {
            n += 1;
        }
        let under = build(n, nonce);
        let over = build(n + 1, nonce);
        assert!(under.encode().len() <= 64 * 1024 && over.encode().len() > 64 * 1024);
        let r = submit(&mut c, &over).await;
        assert_eq!(expect(r, Code::InvalidArgument, "over 64 KiB"), "TxTooLarge");
        match submit(&mut c, &under).await {
            Ok(id) => {
                // It must become final (failed is fine) and the chain keep going.
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let st = tx_status(&mut c, &id).await;
                    if st.state != PENDING {
                        assert_ne!(st.state, UNKNOWN);
                        break;
                    }
                    assert!(Instant::now() < deadline, "the 64 KiB tx never became final");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            Err(s) => {
                assert_ne!(reason(&s), "TxTooLarge", "a tx under the limit refused as too large");
            }
        }
        let h = status(&mut c).await.height;
        wait_height(&mut c, h, Duration::from_secs(30)).await;
    });
    let mut node = node;
    assert!(node.alive());
    assert_no_panic(&node.stderr());
}

/// Thousands of open WaitTx and StreamBlocks streams (over several connections, so the
/// per-connection concurrency limit does not bound them): the node must keep answering
/// NodeStatus promptly, keep producing blocks, and its memory and threads must stay bounded.
#[test]
fn attack_grpc_stream_flood_node_stays_responsive() {
    let home = fresh_home("streams");
    let node = Node::start(&home);
    let (rss_before, rss_peak, threads_peak, worst_status_ms, h_before, h_during) =
        rt().block_on(async {
            let mut c = node.client().await;
            let s0 = wait_settled(&mut c, Duration::from_secs(60)).await;
            let rss_before = node.rss_kib();
            let mut clients = Vec::new();
            for _ in 0..20 {
                clients.push(node.client().await);
            }
            let mut streams = Vec::new();
            for i in 0..4000u32 {
                let mut cl = clients[(i % 20) as usize].clone();
                if i % 2 == 0 {
                    let mut id = [0u8; 32];
                    id[..4].copy_from_slice(&i.to_le_bytes());
                    streams.push(tokio::spawn(async move {
                        let r = cl.wait_tx(pb::GetTxStatusRequest { tx_id: id.to_vec() }).await;
                        if let Ok(s) = r {
                            let mut s = s.into_inner();
                            let _ = s.message().await;
                            tokio::time::sleep(Duration::from_secs(600)).await;
                            drop(s);
                        }
                    }));
                } else {
                    streams.push(tokio::spawn(async move {
                        // A reader that never reads: from height 1, the server fills its buffer.
                        let r = cl.stream_blocks(pb::StreamBlocksRequest { from_height: 1 }).await;
                        if let Ok(s) = r {
                            tokio::time::sleep(Duration::from_secs(600)).await;
                            drop(s);
                        }
                    }));
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
            let mut worst = 0u128;
            let mut rss_peak = 0;
            let mut threads_peak = 0;
            let h_before = status(&mut c).await.height;
            for _ in 0..10 {
                let t = Instant::now();
                let r = tokio::time::timeout(
                    Duration::from_secs(10),
                    c.node_status(pb::NodeStatusRequest::default()),
                )
                .await;
                worst = worst.max(t.elapsed().as_millis());
                assert!(matches!(r, Ok(Ok(_))), "NodeStatus failed under a stream flood: {r:?}");
                rss_peak = rss_peak.max(node.rss_kib());
                threads_peak = threads_peak.max(node.threads());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let h_during = status(&mut c).await.height;
            for s in streams {
                s.abort();
            }
            drop(clients);
            let _ = s0;
            (rss_before, rss_peak, threads_peak, worst, h_before, h_during)
        });
    eprintln!(
        "stream flood: rss {rss_before} KiB -> {rss_peak} KiB, threads {threads_peak}, worst NodeStatus {worst_status_ms} ms, height {h_before} -> {h_during}"
    );
    let mut node = node;
    assert!(node.alive(), "node died under a stream flood: {}", node.stderr());
    assert!(worst_status_ms < 2_000, "NodeStatus took {worst_status_ms} ms under a stream flood");
    assert!(h_during > h_before, "no block while 4,000 streams were open");
    assert!(
        rss_peak < rss_before + 512 * 1024,
        "RSS grew by {} KiB with 4,000 streams",
        rss_peak - rss_before
    );
    assert_no_panic(&node.stderr());
}
