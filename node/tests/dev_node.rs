//! The dev node end to end: the real `volt` binary, started with `volt node run --dev`, applies
//! its set-up, settles a transfer, a trade and a station's swap submitted over gRPC, answers
//! every read with what the ledger holds (balances, usage receipts, proofs under a certified
//! root, blocks with receipts), serves health and reflection, and stops and resumes cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod support;

use std::time::{Duration, Instant};
use support::*;
use tokio_stream::StreamExt as _;
use volt_consensus::ValidatorSet;
use volt_genesis::{GenesisDoc, Placement};
use volt_node::certificate::StateCertificate;
use volt_proto::grpc::{self as pb, get_record_request::Kind, tx_status::State as TxState};
use volt_proto::{
    Amount, Asset, Attestation, BatteryReading, Call, Custody, Height, Leg, Serial,
    SwapAttestation, Symbol, Timestamp, TradeTerms, TxOutcome,
};
use volt_token::keys::{AttestationEffect, AttestationRecord, Holding, Station, UsageReceipt};
use volt_token::tree::{self, Proof};

/// A swap the tests attest: a taxi's pack goes into a station slot, a charged pack of the
/// taxi's fleet's pool comes out of it.
struct SwapPlan {
    vehicle: Symbol,
    fleet: String,
    pool: Symbol,
    out: Serial,
    station: Symbol,
    controller: String,
    slot: u16,
    into: Serial,
}

/// From the genesis document: the first taxi with a pack, and the first station slot holding
/// a pack of the same pool.
fn plan_swap(doc: &GenesisDoc) -> SwapPlan {
    for b in &doc.batteries {
        let Placement::Vehicle(vehicle) = &b.placement else { continue };
        let fleet =
            doc.vehicles.iter().find(|v| v.id == *vehicle).expect("the vehicle").fleet.clone();
        let pool = doc.pools.iter().find(|p| p.lessee == fleet).expect("the fleet's pool");
        if pool.class != b.pool {
            continue;
        }
        let slotted = doc.batteries.iter().find_map(|c| match &c.placement {
            Placement::Station { station, slot } if c.pool == b.pool => {
                Some((station.clone(), *slot, c.serial.clone()))
            }
            _ => None,
        });
        let Some((station, slot, into)) = slotted else { continue };
        let controller =
            doc.stations.iter().find(|s| s.id == station).expect("the station").controller.clone();
        return SwapPlan {
            vehicle: vehicle.clone(),
            fleet,
            pool: pool.class.clone(),
            out: b.serial.clone(),
            station,
            controller,
            slot,
            into,
        };
    }
    panic!("the dev genesis has no taxi whose pool has a pack in a station");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_node_settles_transfer_trade_and_swap_and_proves_what_it_holds() {
    // Proves the real binary's dev chain applies its set-up, settles a transfer (exact amount),
    // a trade and a swap attestation to finality over gRPC, mints the usage receipt, proves a
    // balance under a state root its validator certified, streams its blocks in order with
    // receipts, answers health and reflection, stops on SIGTERM and resumes from its home.
    let t0 = Instant::now();
    let dir = TestDir::new("dev-node");
    let doc = dev_doc(dir.path());
    let wallet = Wallet::new(&doc);
    let home = dir.path().join("home");
    let mut node = Node::start(&home, "node-1");
    let mut c = node.client().await;
    let ready = wait_for_setup(&mut c, &doc).await;
    eprintln!("set-up applied at height {} after {:?}", ready.height, t0.elapsed());

    // NodeStatus: the dev chain, one validator, the document's genesis id.
    let status = node_status(&mut c).await;
    assert_eq!(status.chain_id, DEV_CHAIN_ID);
    assert_eq!(status.genesis_id, doc.id().as_bytes().to_vec(), "genesis id");
    assert_eq!(status.validators, 1);
    assert_eq!(doc.validators.len(), 1);
    assert!(status.height >= 1 && status.finalized_height >= status.height, "{status:?}");
    assert_eq!(status.state_root.len(), 32);
    assert!(!status.version.is_empty());

    // 1. A transfer between two investors moves the exact amount.
    let (from, to) = ("investor-01", "investor-02");
    let amount = 12_345u128;
    let before_from = get_account(&mut c, wallet.account(from)).await;
    let before_to = get_account(&mut c, wallet.account(to)).await;
    assert!(before_from.member && before_to.member);
    let tx = wallet.next_tx(&mut c, from, transfer(wallet.account(to), amount)).await;
    let transfer_status = apply(&mut c, "transfer", &tx).await;
    let receipt = decode_receipt(&transfer_status.receipt);
    assert_eq!((receipt.tx_id, receipt.outcome), (tx.id(), TxOutcome::Applied));
    assert!(transfer_status.height > 0);
    let again = tx_status(&mut c, tx.id()).await.expect("GetTxStatus");
    assert_eq!(again, transfer_status, "GetTxStatus differs from WaitTx's final status");
    let after_from = get_account(&mut c, wallet.account(from)).await;
    let after_to = get_account(&mut c, wallet.account(to)).await;
    assert_eq!(holding(&after_from, "HKD"), holding(&before_from, "HKD") - amount);
    assert_eq!(holding(&after_to, "HKD"), holding(&before_to, "HKD") + amount);
    assert_eq!(after_from.next_nonce, before_from.next_nonce + 1);

    // 2. A share-for-HKD trade: the maker signs the terms, the taker the transaction.
    let (maker, taker) = ("investor-03", "investor-04");
    let class = doc.pools[0].class.clone();
    let share = format!("share:{}", class.as_str());
    let (shares, price) = (7u128, 7 * 11_000u128);
    let maker_before = get_account(&mut c, wallet.account(maker)).await;
    let taker_before = get_account(&mut c, wallet.account(taker)).await;
    assert!(holding(&maker_before, &share) >= shares, "the maker holds {share}");
    let terms = TradeTerms {
        maker: wallet.account(maker),
        taker: wallet.account(taker),
        maker_gives: Leg { asset: Asset::Shares(class.clone()), amount: Amount(shares) },
        taker_gives: Leg { asset: hkd(), amount: Amount(price) },
        expiry_height: Height(taker_before.height + EXPIRY_BLOCKS),
        salt: 1,
    };
    let counterparty_signature = wallet.key(maker).sign_raw(&terms.signing_message(&doc.chain_id));
    let trade = Call::Trade { terms, counterparty_signature };
    let tx = wallet.next_tx(&mut c, taker, trade).await;
    apply(&mut c, "trade", &tx).await;
    let maker_after = get_account(&mut c, wallet.account(maker)).await;
    let taker_after = get_account(&mut c, wallet.account(taker)).await;
    assert_eq!(holding(&maker_after, &share), holding(&maker_before, &share) - shares);
    assert_eq!(holding(&taker_after, &share), holding(&taker_before, &share) + shares);
    assert_eq!(holding(&maker_after, "HKD"), holding(&maker_before, "HKD") + price);
    assert_eq!(holding(&taker_after, "HKD"), holding(&taker_before, "HKD") - price);

    // 3. A station's swap attestation: counter = the station's last + 1, read from its record.
    let plan = plan_swap(&doc);
    let out = battery(&mut c, plan.out.as_str()).await;
    let into = battery(&mut c, plan.into.as_str()).await;
    assert_eq!(out.custody, Custody::Vehicle(plan.vehicle.clone()), "the taxi's pack");
    let slot = Custody::Station { station: plan.station.clone(), slot: plan.slot };
    assert_eq!(into.custody, slot, "the station's pack");
    let record = get_record(&mut c, Kind::Station, plan.station.as_str()).await.expect("station");
    let json: serde_json::Value = serde_json::from_str(&record.json).expect("station JSON");
    let last = json["counter"].as_u64().expect("the station record's counter");
    let station_before: Station = decode_record(&record);
    assert_eq!(station_before.counter, last, "the JSON and the canonical record disagree");
    let counter = last + 1;
    let energy_wh = u64::from(980u16 - 200) * 52;
    let fee = Amount(u128::from(energy_wh * 450 / 1_000));
    let attestation = Attestation::Swap(SwapAttestation {
        station: plan.station.clone(),
        counter,
        station_time: Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64,
        ),
        vehicle: plan.vehicle.clone(),
        battery_out: BatteryReading {
            serial: plan.out.clone(),
            soc_permille: 200,
            soh_permille: out.health.soh_permille,
            cycles: out.health.full_cycles + 1,
        },
        battery_in: BatteryReading {
            serial: plan.into.clone(),
            soc_permille: 990,
            soh_permille: into.health.soh_permille,
            cycles: into.health.full_cycles,
        },
        energy_wh,
        fee,
        currency: sym("HKD"),
    });
    let signature =
        wallet.key(&plan.controller).sign_raw(&attestation.signing_message(&doc.chain_id));
    let fleet_before = get_account(&mut c, wallet.account(&plan.fleet)).await;
    let call = Call::SubmitAttestation { attestation, signature };
    let tx = wallet.next_tx(&mut c, &plan.controller, call).await;
    let swap_status = apply(&mut c, "swap attestation", &tx).await;
    let fleet_after = get_account(&mut c, wallet.account(&plan.fleet)).await;
    assert_eq!(holding(&fleet_after, "HKD"), holding(&fleet_before, "HKD") - fee.0, "fleet paid");
    let usage = c
        .get_usage_receipt(pb::GetUsageReceiptRequest {
            station: plan.station.as_str().to_owned(),
            counter,
        })
        .await
        .expect("GetUsageReceipt")
        .into_inner();
    let recorded: AttestationRecord = decode_record(&usage);
    assert_eq!(recorded.height.0, swap_status.height, "recorded at the swap's height");
    let AttestationEffect::Swap(receipt) = recorded.effect else {
        panic!("the attestation was not settled as a swap: {:?}", recorded.effect);
    };
    let cut_bps = u128::from(station_before.operator_cut_bps);
    let expected = UsageReceipt {
        station: plan.station.clone(),
        counter,
        batteries: vec![plan.out.clone(), plan.into.clone()],
        energy_wh,
        fee,
        operator_cut: Amount(fee.0 * cut_bps / 10_000),
        payer: wallet.account(&plan.fleet),
        class: plan.pool.clone(),
    };
    assert_eq!(receipt, expected, "usage receipt");
    let usage_json: serde_json::Value = serde_json::from_str(&usage.json).expect("receipt JSON");
    assert!(usage.json.contains(plan.out.as_str()) && usage_json.is_object(), "{}", usage.json);
    let moved = battery(&mut c, plan.into.as_str()).await;
    assert_eq!(moved.custody, Custody::Vehicle(plan.vehicle.clone()), "the charged pack left");
    let returned = battery(&mut c, plan.out.as_str()).await;
    assert_eq!(returned.custody, slot, "the taxi's pack took the slot");
    let station_after: Station =
        decode_record(&get_record(&mut c, Kind::Station, plan.station.as_str()).await.unwrap());
    assert_eq!(station_after.counter, counter);
    assert_eq!(station_after.swaps, station_before.swaps + 1);

    // 4. A balance proof under a certified state root, at or after the transfer.
    let proved_at = swap_status.height;
    let deadline = Instant::now() + Duration::from_secs(30);
    while node_status(&mut c).await.certified_height < proved_at {
        assert!(Instant::now() < deadline, "height {proved_at} was never certified");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let account = get_account(&mut c, wallet.account(to)).await;
    let key = balance_key(&hkd(), wallet.account(to));
    let listed = account.holdings.iter().find(|h| h.asset == "HKD").expect("an HKD holding");
    assert_eq!(listed.key, key, "Holding.key is the canonical Key::Balance");
    let proof =
        c.get_proof(pb::GetProofRequest { key: key.clone() }).await.expect("GetProof").into_inner();
    assert!(proof.height >= proved_at, "proof at {} before {proved_at}", proof.height);
    assert!(proof.present, "the balance is in the state");
    let root = hash_of(&proof.state_root);
    let decoded = Proof::decode(&proof.proof).expect("the proof decodes");
    tree::verify(&root, &key, Some(&proof.value), &decoded).expect("the balance proof verifies");
    let held: Holding = volt_proto::codec::decode(&proof.value, 4096).expect("a Holding");
    assert_eq!(held.amount.0, holding(&after_to, "HKD"), "the proven balance");
    let mut forged = proof.value.clone();
    *forged.last_mut().expect("a value") ^= 1;
    assert!(tree::verify(&root, &key, Some(&forged), &decoded).is_err(), "a forged value verifies");
    let certificate = StateCertificate::decode(&proof.state_certificate).expect("a certificate");
    let validators = ValidatorSet::new(&doc.validator_accounts()).expect("the validator set");
    certificate
        .verify_root(&doc.chain_id, &validators, Height(proof.height), root)
        .expect("the state certificate verifies for the root and height");
    assert_eq!(certificate.vote.block_digest, hash_of(&proof.block_digest));
    let other = volt_proto::ChainId::new("volt-hk-other").unwrap();
    assert!(certificate.verify(&other, &validators).is_err(), "verifies on another chain");
    let block =
        c.get_block(pb::GetBlockRequest { height: proof.height }).await.unwrap().into_inner();
    assert_eq!((block.state_root, block.digest), (proof.state_root.clone(), proof.block_digest));
    // Absence is proven too: a balance nobody holds.
    let stranger = volt_proto::sig::Keypair::for_testing("dev-node-e2e/stranger").account();
    let absent_key = balance_key(&hkd(), stranger);
    let absent = c.get_proof(pb::GetProofRequest { key: absent_key.clone() }).await.unwrap();
    let absent = absent.into_inner();
    assert!(!absent.present && absent.value.is_empty());
    let absent_proof = Proof::decode(&absent.proof).expect("the proof decodes");
    tree::verify(&hash_of(&absent.state_root), &absent_key, None, &absent_proof)
        .expect("the non-inclusion proof verifies");

    // 5. StreamBlocks from 1: every block in order, with its receipts, up to the swap.
    let blocks = stream_blocks(&mut c, 1, swap_status.height).await;
    let mut txs = 0usize;
    for b in &blocks {
        let block = consensus_block(b);
        assert_eq!(block.height.0, b.height);
        assert_eq!(b.digest, block.digest().as_bytes().to_vec());
        let payload = volt_node::payload::Payload::decode(&block.payload).expect("a payload");
        assert_eq!((b.tx_count as usize, b.receipts.len()), (payload.txs.len(), payload.txs.len()));
        for (tx, bytes) in payload.txs.iter().zip(&b.receipts) {
            assert_eq!(decode_receipt(bytes).tx_id, tx.id(), "block {}: receipt order", b.height);
        }
        assert!(!b.finalization.is_empty(), "block {} has no finalization certificate", b.height);
        txs += payload.txs.len();
    }
    let setup = volt_node::setup::build(&doc).expect("the dev set-up").txs.len();
    assert!(txs >= setup + 3, "{txs} transactions in blocks, the set-up alone has {setup}");
    let swap_block = &blocks[swap_status.height as usize - 1];
    let swap_receipt = decode_receipt(&swap_block.receipts[swap_status.index as usize]);
    assert_eq!(swap_receipt.tx_id, tx.id(), "the swap sits where its status says");
    let by_get = c.get_block(pb::GetBlockRequest { height: 1 }).await.unwrap().into_inner();
    assert_eq!(by_get, blocks[0], "GetBlock(1) differs from the streamed block 1");

    // 6. Health and reflection.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", node.grpc))
        .unwrap()
        .connect()
        .await
        .expect("a channel");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", "volt.ledger.v1.Ledger"] {
        let request = tonic_health::pb::HealthCheckRequest { service: service.to_owned() };
        let answer = health.check(request).await.expect("Health.Check").into_inner();
        assert_eq!(
            answer.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "health of {service:?}"
        );
    }
    let services = reflection_services(channel.clone()).await;
    for want in ["volt.ledger.v1.Ledger", "grpc.health.v1.Health"] {
        assert!(services.iter().any(|s| s == want), "reflection lists {services:?}, not {want}");
    }
    assert!(metrics_answer(node.metrics).starts_with("HTTP/1.1 200"), "GET /metrics");

    // 7. SIGTERM stops it cleanly; the same home resumes with everything final still final.
    let stopped = node.terminate(Duration::from_secs(20));
    assert!(stopped.success(), "the node exited with {stopped} on SIGTERM:\n{}", node.tail());
    let node = Node::start(&home, "node-2");
    let mut c = node.client().await;
    let resumed = node_status(&mut c).await;
    assert!(
        resumed.height >= swap_status.height,
        "resumed at {} < {}",
        resumed.height,
        swap_status.height
    );
    let after = tx_status(
        &mut c,
        transfer_status.tx_id.as_slice().try_into().map(volt_proto::Hash).unwrap(),
    )
    .await
    .expect("GetTxStatus after restart");
    assert_eq!(after, transfer_status, "the transfer's final status changed across a restart");
    let next = wallet.next_tx(&mut c, from, transfer(wallet.account(to), 1)).await;
    let status = apply(&mut c, "transfer after restart", &next).await;
    assert!(status.height > swap_status.height);
    assert_eq!(status.state(), TxState::Applied);
    eprintln!("dev node test done in {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_chain_keeps_finalizing_past_its_vote_journal_prunes() {
    // Proves a busy dev chain stays live across the consensus vote journal's prunes (every
    // 32 views): transfers keep settling, one after another, up to height 2 × 32 + 8.
    let t0 = Instant::now();
    let dir = TestDir::new("dev-live");
    let doc = dev_doc(dir.path());
    let wallet = Wallet::new(&doc);
    let node = Node::start(&dir.path().join("home"), "node");
    let mut c = node.client().await;
    wait_for_setup(&mut c, &doc).await;
    let target = 2 * JOURNAL_PRUNE_VIEWS + 8;
    let reached = drive_to_height(&mut c, &wallet, target).await;
    let status = node_status(&mut c).await;
    assert!(status.view > target, "view {} at height {reached}", status.view);
    eprintln!("dev chain live to height {reached} in {:?}", t0.elapsed());
}

/// The services reflection (v1) lists.
async fn reflection_services(channel: tonic::transport::Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("ServerReflectionInfo")
        .into_inner();
    let answer = answers.next().await.expect("one answer").expect("a reflection answer");
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("reflection answered {other:?}"),
    }
}

/// The status line and body of `GET /metrics`.
fn metrics_answer(addr: std::net::SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to /metrics");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}
