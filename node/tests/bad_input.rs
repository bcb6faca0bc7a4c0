//! Bad input over gRPC against the real `volt` binary: every malformed, oversized, misdirected,
//! unauthenticated or stale transaction and every lookup of something that does not exist is
//! answered with its status code and `ErrorInfo.reason`, and none of it changes the ledger or
//! stops the node.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod support;

use std::time::Instant;
use support::*;
use tonic::Code;
use volt_proto::grpc::{self as pb, get_record_request::Kind, tx_status::State as TxState};
use volt_proto::sig::Keypair;
use volt_proto::{Amount, Call, ChainId, Hash, Serial, Signature, TX_BYTES_MAX, Text};

/// A name for each refused submission and the code and reason it must get.
struct Case {
    what: &'static str,
    bytes: Vec<u8>,
    code: Code,
    reason: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_its_code_and_reason_and_changes_nothing() {
    // Proves each kind of bad submission and lookup gets its own gRPC code and reason, the node
    // stays up, and no refused transaction reaches a block or moves a nonce or a balance.
    let t0 = Instant::now();
    let dir = TestDir::new("bad-input");
    let doc = dev_doc(dir.path());
    let wallet = Wallet::new(&doc);
    let mut node = Node::start(&dir.path().join("home"), "node");
    let mut c = node.client().await;
    wait_for_setup(&mut c, &doc).await;
    let mut rng = Rng::new(seed());

    // Set-up: one applied transfer (so investor-01 has a used nonce to replay) and a frozen
    // investor (the admin's Freeze).
    let (signer, receiver, frozen) = ("investor-01", "investor-02", "investor-19");
    let to = wallet.account(receiver);
    let first = wallet.next_tx(&mut c, signer, transfer(to, 100)).await;
    apply(&mut c, "a first transfer", &first).await;
    let why = Text::new("e2e: frozen for the bad-input test").unwrap();
    let freeze = Call::Freeze { account: wallet.account(frozen), reason: why };
    let freeze = wallet.next_tx(&mut c, "admin", freeze).await;
    apply(&mut c, "the admin's freeze", &freeze).await;
    assert!(get_account(&mut c, wallet.account(frozen)).await.frozen, "the investor is frozen");

    // The baseline everything is compared with afterwards.
    let before = node_status(&mut c).await;
    let watched = [signer, receiver, frozen];
    let mut accounts_before = Vec::new();
    for name in watched {
        accounts_before.push(get_account(&mut c, wallet.account(name)).await);
    }
    let next = accounts_before[0].next_nonce;
    assert_eq!(next, first.body.nonce.0 + 1);
    let expiry = before.height + EXPIRY_BLOCKS;
    let good = |nonce: u64, amount: u128| wallet.tx(signer, nonce, expiry, transfer(to, amount));

    let mut cases = Vec::new();
    // Random bytes are not a transaction.
    cases.push(Case {
        what: "random bytes",
        bytes: rng.bytes(300),
        code: Code::InvalidArgument,
        reason: "Malformed",
    });
    // Nothing at all is not a transaction.
    cases.push(Case {
        what: "empty bytes",
        bytes: Vec::new(),
        code: Code::InvalidArgument,
        reason: "Malformed",
    });
    // A valid transaction cut short does not decode.
    let mut truncated = good(next, 1).encode();
    truncated.truncate(truncated.len() - 7);
    cases.push(Case {
        what: "truncated tx",
        bytes: truncated,
        code: Code::InvalidArgument,
        reason: "Malformed",
    });
    // A valid transaction with a byte appended is not canonical.
    let mut trailing = good(next, 1).encode();
    trailing.push(0);
    cases.push(Case {
        what: "trailing byte",
        bytes: trailing,
        code: Code::InvalidArgument,
        reason: "Malformed",
    });
    // A signed transaction over 64 KiB: a battery class naming 1,300 serials.
    let serials =
        (0..1_300).map(|i| Serial::new(&format!("E2E-OVERSIZED-{i:036}")).unwrap()).collect();
    let big = Call::CreateBatteryClass {
        class: sym("E2E-BIG"),
        name: Text::new("oversized").unwrap(),
        supply_max: Amount(1),
        batteries: serials,
        revenue_currency: sym("HKD"),
    };
    let big = wallet.tx("issuer", 0, expiry, big).encode();
    assert!(big.len() > TX_BYTES_MAX, "the oversized tx is only {} bytes", big.len());
    cases.push(Case {
        what: "tx over 64 KiB",
        bytes: big,
        code: Code::InvalidArgument,
        reason: "TxTooLarge",
    });
    // Another chain's transaction.
    let mut body = wallet.body(signer, next, expiry, transfer(to, 2));
    body.chain_id = ChainId::new("volt-hk-other").unwrap();
    let wrong_chain = body.sign(wallet.key(signer)).encode();
    cases.push(Case {
        what: "wrong chain id",
        bytes: wrong_chain,
        code: Code::InvalidArgument,
        reason: "WrongChain",
    });
    // A signature over other bytes.
    let mut forged = good(next, 3);
    forged.signature = good(next, 4).signature;
    cases.push(Case {
        what: "bad signature",
        bytes: forged.encode(),
        code: Code::InvalidArgument,
        reason: "BadSignature",
    });
    // A signature of all zeroes.
    let mut zero = good(next, 3);
    zero.signature = Signature([0; 64]);
    cases.push(Case {
        what: "zero signature",
        bytes: zero.encode(),
        code: Code::InvalidArgument,
        reason: "BadSignature",
    });
    // A used nonce, with another body.
    cases.push(Case {
        what: "replayed nonce",
        bytes: good(next - 1, 5).encode(),
        code: Code::FailedPrecondition,
        reason: "NonceReplayed",
    });
    // The very transaction that already applied.
    cases.push(Case {
        what: "replayed tx",
        bytes: first.encode(),
        code: Code::FailedPrecondition,
        reason: "NonceReplayed",
    });
    // A nonce far beyond the signer's next.
    cases.push(Case {
        what: "nonce far ahead",
        bytes: good(next + 1_000_000, 6).encode(),
        code: Code::FailedPrecondition,
        reason: "NonceTooFarAhead",
    });
    // An expiry height below the current height.
    let expired = wallet.tx(signer, next, before.height - 1, transfer(to, 7)).encode();
    cases.push(Case {
        what: "expired",
        bytes: expired,
        code: Code::FailedPrecondition,
        reason: "Expired",
    });
    // A key that is no member.
    let stranger = Keypair::for_testing("bad-input-e2e/stranger");
    let mut body = wallet.body(signer, 0, expiry, transfer(to, 8));
    body.signer = stranger.account();
    let unknown = body.sign(&stranger).encode();
    cases.push(Case {
        what: "unknown signer",
        bytes: unknown,
        code: Code::FailedPrecondition,
        reason: "UnknownSigner",
    });
    // A frozen member.
    let frozen_tx = wallet.next_tx(&mut c, frozen, transfer(to, 9)).await.encode();
    cases.push(Case {
        what: "frozen signer",
        bytes: frozen_tx,
        code: Code::FailedPrecondition,
        reason: "SignerFrozen",
    });

    for case in cases {
        let result = submit_bytes(&mut c, case.bytes).await;
        assert_refused(case.what, result, case.code, case.reason);
    }

    // A request over the gRPC message limit is refused before the handler, with a reason too.
    let huge = rng.bytes(5 << 20);
    match submit_bytes(&mut c, huge).await {
        Ok(id) => panic!("a 5 MiB request was accepted as {id}"),
        Err(status) => assert_eq!(
            (status.code(), reason(&status).as_str()),
            (Code::ResourceExhausted, "MessageTooLarge"),
            "5 MiB request: {}",
            status.message()
        ),
    }

    // A gapped nonce waits in the mempool: the same bytes again are a duplicate, another body
    // with the same nonce is refused while it waits.
    let gapped = good(next + 1, 10);
    let gapped_id = submit(&mut c, &gapped).await.expect("a gapped nonce is admitted");
    assert_refused("duplicate", submit(&mut c, &gapped).await, Code::AlreadyExists, "Duplicate");
    let rival = good(next + 1, 11);
    assert_refused(
        "same nonce pending",
        submit(&mut c, &rival).await,
        Code::FailedPrecondition,
        "NoncePending",
    );
    let pending = tx_status(&mut c, gapped_id).await.expect("GetTxStatus");
    assert_eq!(pending.state(), TxState::Pending);

    // Lookups of what does not exist.
    let missing = get_record(&mut c, Kind::Battery, "NO-SUCH-BATTERY").await;
    assert_refused("unknown battery", missing, Code::NotFound, "UnknownRecord");
    let missing = get_record(&mut c, Kind::Station, "HK-NOPE-999").await;
    assert_refused("unknown station", missing, Code::NotFound, "UnknownRecord");
    let missing = get_record(&mut c, Kind::Lease, &"ab".repeat(32)).await;
    assert_refused("unknown lease", missing, Code::NotFound, "UnknownRecord");
    let bad = get_record(&mut c, Kind::Lease, "not-hex").await;
    assert_refused("malformed lease id", bad, Code::InvalidArgument, "BadArgument");
    let bad = get_record(&mut c, Kind::Unspecified, "HKD").await;
    assert_refused("no record kind", bad, Code::InvalidArgument, "BadArgument");
    let request = pb::GetUsageReceiptRequest {
        station: doc.stations[0].id.as_str().into(),
        counter: 1 << 40,
    };
    let missing = c.get_usage_receipt(request).await.map(tonic::Response::into_inner);
    assert_refused("unknown usage receipt", missing, Code::NotFound, "UnknownRecord");
    let far =
        c.get_block(pb::GetBlockRequest { height: 1 << 40 }).await.map(tonic::Response::into_inner);
    assert_refused("unknown height", far, Code::NotFound, "UnknownHeight");
    // An unknown account is an empty answer, not an error.
    let nobody = get_account(&mut c, stranger.account()).await;
    assert_eq!(
        (nobody.member, nobody.role.as_str(), nobody.next_nonce, nobody.frozen, nobody.revoked),
        (false, "", 0, false, false)
    );
    assert!(nobody.holdings.is_empty() && nobody.member_record.is_empty());
    assert_eq!(nobody.account, stranger.account().as_bytes().to_vec());
    let short = c.get_account(pb::GetAccountRequest { account: vec![1, 2, 3] }).await;
    assert_refused(
        "3-byte account",
        short.map(tonic::Response::into_inner),
        Code::InvalidArgument,
        "BadArgument",
    );
    let short = tx_status(&mut c, Hash([0; 32])).await.expect("an unknown tx id");
    assert_eq!(short.state(), TxState::Unknown);
    let bad_id = c.get_tx_status(pb::GetTxStatusRequest { tx_id: vec![0; 5] }).await;
    assert_refused(
        "5-byte tx id",
        bad_id.map(tonic::Response::into_inner),
        Code::InvalidArgument,
        "BadArgument",
    );

    // The node is up, and nothing refused reached the ledger: the watched accounts are as they
    // were, and every block since the baseline is empty (so the state root moved, if at all,
    // only by the block height and time every block writes).
    assert!(node.running(), "the node died:\n{}", node.tail());
    let after = node_status(&mut c).await;
    for (name, was) in watched.iter().zip(&accounts_before) {
        let now = get_account(&mut c, wallet.account(name)).await;
        assert_eq!(
            (now.next_nonce, &now.holdings, now.frozen),
            (was.next_nonce, &was.holdings, was.frozen),
            "{name} changed"
        );
    }
    if after.height == before.height {
        assert_eq!(after.state_root, before.state_root, "the state root moved without a block");
    } else {
        let blocks = stream_blocks(&mut c, before.height + 1, after.height).await;
        for b in &blocks {
            assert_eq!(
                (b.tx_count, b.receipts.len()),
                (0, 0),
                "block {} carries transactions",
                b.height
            );
        }
    }
    assert_eq!(after.mempool_txs, 1, "only the gapped transaction waits");

    // Filling the gap settles both, in nonce order: the node still works.
    let fill = good(next, 12);
    apply(&mut c, "the gap's nonce", &fill).await;
    let gapped_final = wait_final(&mut c, gapped_id).await.expect("the gapped tx");
    assert_eq!(gapped_final.state(), TxState::Applied, "{}", gapped_final.error_code);
    let now = get_account(&mut c, wallet.account(signer)).await;
    assert_eq!(now.next_nonce, next + 2);
    assert_eq!(holding(&now, "HKD"), holding(&accounts_before[0], "HKD") - 22);
    eprintln!("bad input test done in {:?}", t0.elapsed());
}
