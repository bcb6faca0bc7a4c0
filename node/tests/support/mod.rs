//! Shared helpers of the node's end-to-end tests: start the real `volt` binary on a fresh home,
//! wait for its dev chain's set-up, sign transactions with the dev genesis's demo keys, talk
//! gRPC to it, and re-execute its blocks from genesis.

// Not every test file uses every helper; the tests wait on a real process, so they read the
// wall clock and sleep.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use volt_genesis::{GenesisDoc, Placement};
use volt_proto::grpc::{self as pb, ledger_client::LedgerClient, tx_status::State as TxState};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Call, Custody, Hash, Height, Nonce, Receipt, SignedTx, Symbol, TxBody,
};
use volt_token::keys::{Battery, Key};
use volt_token::{BlockContext, MemStore, State};

/// The gRPC client the tests use.
pub type Client = LedgerClient<Channel>;

/// The dev chain's id.
pub const DEV_CHAIN_ID: &str = "volt-hk-dev";
/// How long the node may take to print its addresses.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the dev chain's set-up transactions may take to apply.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one transaction may take to become final.
pub const FINAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Expiry margin for the tests' transactions, in blocks.
pub const EXPIRY_BLOCKS: u64 = 1_000;
/// Largest gRPC message the test client accepts (blocks with receipts).
pub const CLIENT_MESSAGE_MAX: usize = 64 << 20;

/// A fresh directory for one test, removed when the test passes (kept for a look when it fails).
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    /// `$TMPDIR/volt-e2e-<pid>-<n>-<name>`, emptied first; `n` counts the directories made by
    /// this process, so tests of one binary that run in parallel never share one.
    pub fn new(name: &str) -> TestDir {
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("volt-e2e-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test dir");
        TestDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test data kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The `volt` binary under test.
pub fn volt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_volt"))
}

/// Where [`dev_doc`] writes the dev genesis in a test dir ([`Node::start`] runs on it).
pub fn genesis_file(dir: &Path) -> PathBuf {
    dir.join("dev-genesis.json")
}

/// The dev genesis document, as `volt genesis dev --out FILE` writes it into `dir`, for the
/// node to run on (`--genesis-file`): the dev genesis time is the time it is written.
pub fn dev_doc(dir: &Path) -> GenesisDoc {
    let file = genesis_file(dir);
    let out = volt()
        .args(["genesis", "dev", "--out"])
        .arg(&file)
        .output()
        .expect("run `volt genesis dev`");
    assert!(
        out.status.success(),
        "`volt genesis dev --out` failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("read the dev genesis file");
    let doc: GenesisDoc = serde_json::from_str(&text).expect("the dev genesis is a GenesisDoc");
    assert_eq!(doc.chain_id.as_str(), DEV_CHAIN_ID);
    doc
}

/// A running `volt node run --dev` process. Dropping it kills the process.
pub struct Node {
    child: Option<Child>,
    /// Its data directory.
    pub home: PathBuf,
    /// Its stderr (logs), and its stdout copied line by line.
    pub log: PathBuf,
    /// Where it serves gRPC.
    pub grpc: SocketAddr,
    /// Where it serves `/metrics`.
    pub metrics: SocketAddr,
    /// When it was started.
    pub started: Instant,
}

fn parse_addr(line: &str, label: &str) -> Option<SocketAddr> {
    let rest = line.trim_start().strip_prefix(label)?.trim();
    let rest = rest.strip_prefix("http://").unwrap_or(rest);
    let addr = rest.split('/').next()?;
    addr.parse().ok()
}

impl Node {
    /// Starts the dev node on `home` (created if missing; reused on a restart) with the dev
    /// genesis [`dev_doc`] wrote beside it, and waits until it prints its gRPC and metrics
    /// addresses.
    pub fn start(home: &Path, log_name: &str) -> Node {
        let genesis = genesis_file(home.parent().expect("the home is inside the test dir"));
        std::fs::create_dir_all(home).expect("create the home dir");
        let log = home.parent().unwrap_or(home).join(format!("{log_name}.log"));
        let stderr = std::fs::File::create(&log).expect("create the node log");
        let mut stdout_copy = stderr.try_clone().expect("clone the log handle");
        let started = Instant::now();
        let mut child = volt()
            .args(["node", "run", "--dev", "--home"])
            .arg(home)
            .arg("--genesis")
            .arg(&genesis)
            .args(["--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn `volt node run --dev`");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<(Option<SocketAddr>, Option<SocketAddr>)>();
        // Reads stdout to its end so the pipe never fills, and reports the addresses.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(stdout_copy, "[stdout] {line}");
                let grpc = parse_addr(&line, "gRPC");
                let metrics = parse_addr(&line, "metrics");
                if grpc.is_some() || metrics.is_some() {
                    let _ = tx.send((grpc, metrics));
                }
            }
        });
        let (mut grpc, mut metrics) = (None, None);
        let deadline = Instant::now() + START_TIMEOUT;
        while grpc.is_none() || metrics.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the node exited at start with {status}:\n{}", tail(&log));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the node printed no addresses in {START_TIMEOUT:?}:\n{}", tail(&log));
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((g, m)) => {
                    grpc = grpc.or(g);
                    metrics = metrics.or(m);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Node {
            child: Some(child),
            home: home.to_owned(),
            log,
            grpc: grpc.expect("gRPC address"),
            metrics: metrics.expect("metrics address"),
            started,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// A gRPC client, connected (retrying for a few seconds).
    pub async fn client(&self) -> Client {
        connect(self.grpc).await
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// A crash: SIGKILL, then reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A clean stop: SIGTERM, then wait (at most `timeout`) for it to exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("the node is running");
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "could not send SIGTERM");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the node") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the node did not stop within {timeout:?} of SIGTERM:\n{}", tail(&self.log));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of its log.
    pub fn tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("--- node log {} ---\n{}", self.log.display(), tail(&self.log));
            }
        }
    }
}

/// The last 40 lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A client for `addr`, retrying the connection for up to 10 s.
pub async fn connect(addr: SocketAddr) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match try_connect(addr).await {
            Ok(client) => return client,
            Err(e) if Instant::now() > deadline => panic!("cannot connect to {addr}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One connection attempt.
pub async fn try_connect(addr: SocketAddr) -> Result<Client, tonic::transport::Error> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await?;
    Ok(LedgerClient::new(channel).max_decoding_message_size(CLIENT_MESSAGE_MAX))
}

/// The `ErrorInfo.reason` of a status (empty if it carries none).
pub fn reason(status: &Status) -> String {
    status.get_details_error_info().map(|i| i.reason).unwrap_or_default()
}

/// Asserts `result` is an error with `code` and `ErrorInfo.reason` `want`.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, Status>,
    code: Code,
    want: &str,
) {
    match result {
        Ok(v) => panic!("{what}: expected {code:?}/{want}, got Ok({v:?})"),
        Err(status) => {
            assert_eq!(
                (status.code(), reason(&status).as_str()),
                (code, want),
                "{what}: wrong code or reason; message: {:?}",
                status.message()
            );
            let domain = status.get_details_error_info().map(|i| i.domain).unwrap_or_default();
            assert_eq!(domain, "volt.ledger.v1", "{what}: ErrorInfo domain");
        }
    }
}

/// The demo keys of every member of the dev genesis.
pub struct Wallet {
    /// The genesis document.
    pub doc: GenesisDoc,
    keys: BTreeMap<String, Keypair>,
}

impl Wallet {
    /// The keys of every member (`volt_genesis::demo_keypair(&member.key_label)`).
    pub fn new(doc: &GenesisDoc) -> Wallet {
        let keys = doc
            .members
            .iter()
            .map(|m| (m.name.clone(), volt_genesis::demo_keypair(&m.key_label)))
            .collect();
        Wallet { doc: doc.clone(), keys }
    }

    /// Member `name`'s key.
    pub fn key(&self, name: &str) -> &Keypair {
        self.keys.get(name).unwrap_or_else(|| panic!("no member {name} in the dev genesis"))
    }

    /// Member `name`'s account.
    pub fn account(&self, name: &str) -> AccountId {
        self.key(name).account()
    }

    /// The body of a transaction from `name`.
    pub fn body(&self, name: &str, nonce: u64, expiry: u64, call: Call) -> TxBody {
        TxBody {
            chain_id: self.doc.chain_id.clone(),
            signer: self.account(name),
            nonce: Nonce(nonce),
            expiry_height: Height(expiry),
            call,
        }
    }

    /// A transaction from `name`, signed.
    pub fn tx(&self, name: &str, nonce: u64, expiry: u64, call: Call) -> SignedTx {
        self.body(name, nonce, expiry, call).sign(self.key(name))
    }

    /// A transaction from `name` with its next nonce read from the node, expiring
    /// [`EXPIRY_BLOCKS`] after the node's height.
    pub async fn next_tx(&self, client: &mut Client, name: &str, call: Call) -> SignedTx {
        let account = get_account(client, self.account(name)).await;
        assert!(account.member, "{name} is not a member on the node");
        let expiry = account.height + EXPIRY_BLOCKS;
        self.tx(name, account.next_nonce, expiry, call)
    }
}

/// `Symbol::new`, for names the tests know are valid.
pub fn sym(text: &str) -> Symbol {
    Symbol::new(text).expect("a valid symbol")
}

/// HKD cash.
pub fn hkd() -> Asset {
    Asset::Cash(sym("HKD"))
}

/// An HKD transfer.
pub fn transfer(to: AccountId, amount: u128) -> Call {
    Call::Transfer { asset: hkd(), to, amount: Amount(amount) }
}

/// NodeStatus.
pub async fn node_status(client: &mut Client) -> pb::NodeStatusResponse {
    client.node_status(pb::NodeStatusRequest {}).await.expect("NodeStatus").into_inner()
}

/// GetAccount.
pub async fn get_account(client: &mut Client, account: AccountId) -> pb::Account {
    let request = pb::GetAccountRequest { account: account.as_bytes().to_vec() };
    client.get_account(request).await.expect("GetAccount").into_inner()
}

/// The amount of `asset` (as the API writes it: `HKD`, `share:POOL-KLN`) in an account answer.
pub fn holding(account: &pb::Account, asset: &str) -> u128 {
    account
        .holdings
        .iter()
        .find(|h| h.asset == asset)
        .map_or(0, |h| h.amount.parse().expect("a decimal amount"))
}

/// GetRecord.
pub async fn get_record(
    client: &mut Client,
    kind: pb::get_record_request::Kind,
    id: &str,
) -> Result<pb::Record, Status> {
    let request = pb::GetRecordRequest { kind: kind as i32, id: id.to_owned() };
    client.get_record(request).await.map(tonic::Response::into_inner)
}

/// Decodes a record's canonical bytes.
pub fn decode_record<T: serde::Serialize + serde::de::DeserializeOwned>(record: &pb::Record) -> T {
    volt_proto::codec::decode(&record.value, volt_token::STATE_VALUE_BYTES_MAX)
        .expect("a record decodes canonically")
}

/// A battery's ledger record.
pub async fn battery(client: &mut Client, serial: &str) -> Battery {
    let record = get_record(client, pb::get_record_request::Kind::Battery, serial)
        .await
        .unwrap_or_else(|e| panic!("battery {serial}: {e}"));
    decode_record(&record)
}

/// The 32-byte hash in a response field.
pub fn hash_of(bytes: &[u8]) -> Hash {
    Hash(bytes.try_into().unwrap_or_else(|_| panic!("{} bytes is not a hash", bytes.len())))
}

/// SubmitTx.
pub async fn submit(client: &mut Client, tx: &SignedTx) -> Result<Hash, Status> {
    submit_bytes(client, tx.encode()).await
}

/// SubmitTx with raw bytes.
pub async fn submit_bytes(client: &mut Client, bytes: Vec<u8>) -> Result<Hash, Status> {
    let response = client.submit_tx(pb::SubmitTxRequest { signed_tx: bytes }).await?;
    Ok(hash_of(&response.into_inner().tx_id))
}

/// True for a final state.
pub fn is_final(status: &pb::TxStatus) -> bool {
    !matches!(status.state(), TxState::Unknown | TxState::Pending)
}

/// GetTxStatus.
pub async fn tx_status(client: &mut Client, id: Hash) -> Result<pb::TxStatus, Status> {
    let request = pb::GetTxStatusRequest { tx_id: id.as_bytes().to_vec() };
    client.get_tx_status(request).await.map(tonic::Response::into_inner)
}

/// Follows WaitTx until the transaction is final (re-opening the stream if it ends early).
pub async fn wait_final(client: &mut Client, id: Hash) -> Result<pb::TxStatus, Status> {
    let deadline = Instant::now() + FINAL_TIMEOUT;
    loop {
        let request = pb::GetTxStatusRequest { tx_id: id.as_bytes().to_vec() };
        let mut stream = client.wait_tx(request).await?.into_inner();
        let mut last = None;
        while let Some(status) = stream.next().await {
            let status = status?;
            assert_eq!(status.tx_id, id.as_bytes().to_vec(), "WaitTx answered for another tx");
            let done = is_final(&status);
            last = Some(status);
            if done {
                break;
            }
        }
        match last {
            Some(status) if is_final(&status) => return Ok(status),
            Some(status) if status.state() == TxState::Unknown => {
                return Err(Status::not_found(format!("tx {id} is unknown to the node")));
            }
            _ if Instant::now() > deadline => {
                return Err(Status::deadline_exceeded(format!("tx {id} not final in time")));
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Submits and waits for finality; panics on any refusal.
pub async fn submit_final(client: &mut Client, what: &str, tx: &SignedTx) -> pb::TxStatus {
    let id = submit(client, tx).await.unwrap_or_else(|e| {
        panic!("{what}: SubmitTx refused: {:?} {} {}", e.code(), reason(&e), e.message())
    });
    assert_eq!(id, tx.id(), "{what}: SubmitTx answered another id");
    wait_final(client, id).await.unwrap_or_else(|e| panic!("{what}: WaitTx: {e}"))
}

/// Submits, waits, and asserts the transaction APPLIED.
pub async fn apply(client: &mut Client, what: &str, tx: &SignedTx) -> pb::TxStatus {
    let status = submit_final(client, what, tx).await;
    assert_eq!(
        status.state(),
        TxState::Applied,
        "{what}: not applied: {} ({})",
        status.error_code,
        status.reason
    );
    status
}

/// Decodes a receipt's canonical bytes.
pub fn decode_receipt(bytes: &[u8]) -> Receipt {
    volt_proto::codec::decode(bytes, 1024).expect("a receipt decodes canonically")
}

/// Waits until the node has applied the dev chain's set-up: a block applied, the mempool
/// empty, every station registered, the last placed vehicle's battery in its vehicle, and an
/// investor funded.
pub async fn wait_for_setup(client: &mut Client, doc: &GenesisDoc) -> pb::NodeStatusResponse {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    let last_station = doc.stations.last().expect("the dev genesis has stations").id.clone();
    let (serial, vehicle) = doc
        .batteries
        .iter()
        .rev()
        .find_map(|b| match &b.placement {
            Placement::Vehicle(v) => Some((b.serial.clone(), v.clone())),
            _ => None,
        })
        .expect("a battery in a vehicle");
    let investor = volt_genesis::demo_keypair(
        &doc.members.iter().find(|m| m.name == "investor-20").expect("investor-20").key_label,
    )
    .account();
    loop {
        let status = node_status(client).await;
        let station =
            get_record(client, pb::get_record_request::Kind::Station, last_station.as_str());
        let ready = status.height > 0
            && status.mempool_txs == 0
            && station.await.is_ok()
            && match get_record(client, pb::get_record_request::Kind::Battery, serial.as_str())
                .await
            {
                Ok(record) => {
                    decode_record::<Battery>(&record).custody == Custody::Vehicle(vehicle.clone())
                }
                Err(_) => false,
            }
            && holding(&get_account(client, investor).await, "HKD") > 0;
        if ready {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the dev chain's set-up did not apply within {SETUP_TIMEOUT:?}; last status {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the node's applied height reaches `height`.
pub async fn wait_height(
    client: &mut Client,
    height: u64,
    timeout: Duration,
) -> pb::NodeStatusResponse {
    let deadline = Instant::now() + timeout;
    loop {
        let status = node_status(client).await;
        if status.height >= height {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "height {} not reached within {timeout:?}; at {}",
            height,
            status.height
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Views between two prunes of the consensus vote journal (`volt_consensus`'s
/// `JOURNAL_PRUNE_VIEWS`): a node that stays live must finalize past multiples of it.
pub const JOURNAL_PRUNE_VIEWS: u64 = 32;

/// Settles transfers one after another (investor-20 to investor-10, 1 cent each) until the
/// node's applied height reaches `target`; panics naming the height and view where the chain
/// stopped if one takes longer than 20 s.
pub async fn drive_to_height(client: &mut Client, wallet: &Wallet, target: u64) -> u64 {
    let (from, to) = ("investor-20", wallet.account("investor-10"));
    loop {
        let status = node_status(client).await;
        if status.height >= target {
            return status.height;
        }
        let tx = wallet.next_tx(client, from, transfer(to, 1)).await;
        let id = submit(client, &tx).await.expect("a transfer is admitted");
        let waited = tokio::time::timeout(Duration::from_secs(20), wait_final(client, id)).await;
        if !matches!(waited, Ok(Ok(_))) {
            let now = node_status(client).await;
            panic!(
                "the chain stopped: no block for 20 s at height {} (view {}, finalized {}) with \
                 {} transactions in the mempool, on the way to height {target}",
                now.height, now.view, now.finalized_height, now.mempool_txs
            );
        }
    }
}

/// Blocks `from..=to` through StreamBlocks.
pub async fn stream_blocks(client: &mut Client, from: u64, to: u64) -> Vec<pb::FinalizedBlock> {
    let request = pb::StreamBlocksRequest { from_height: from };
    let mut stream = client.stream_blocks(request).await.expect("StreamBlocks").into_inner();
    let mut blocks = Vec::new();
    let first = from.max(1);
    while first + (blocks.len() as u64) <= to {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
        let block = next
            .expect("StreamBlocks stalled for 30 s")
            .expect("StreamBlocks ended early")
            .expect("StreamBlocks item");
        assert_eq!(block.height, first + blocks.len() as u64, "StreamBlocks out of order");
        blocks.push(block);
    }
    blocks
}

/// A finalized block's consensus block.
pub fn consensus_block(block: &pb::FinalizedBlock) -> volt_consensus::Block {
    volt_proto::codec::decode(&block.block, 2 << 20).expect("a consensus block decodes")
}

/// The ledger's genesis of the document.
pub fn ledger_genesis(doc: &GenesisDoc) -> volt_token::Genesis {
    volt_node::setup::ledger_genesis(doc).expect("the ledger genesis of the dev document")
}

/// Re-executes `blocks` (heights 1, 2, … in order) from genesis into a fresh
/// `State<MemStore>` the way the node's executor does (the payload's time, never before the
/// previous block's; an undecodable payload applies as empty), and checks every block's stored
/// state root, receipts and time along the way. Returns the final root.
pub fn replay(doc: &GenesisDoc, blocks: &[pb::FinalizedBlock]) -> Hash {
    let mut state =
        State::genesis(MemStore::new(), &ledger_genesis(doc)).expect("the genesis state");
    let mut time = doc.genesis_time;
    for (i, finalized) in blocks.iter().enumerate() {
        let block = consensus_block(finalized);
        assert_eq!(block.height.0, i as u64 + 1, "blocks are not consecutive from 1");
        assert_eq!(finalized.height, block.height.0, "FinalizedBlock.height");
        assert_eq!(finalized.digest, block.digest().as_bytes().to_vec(), "FinalizedBlock.digest");
        let payload = volt_node::payload::Payload::decode(&block.payload)
            .unwrap_or(volt_node::payload::Payload { time, txs: Vec::new() });
        time = payload.time.max(time);
        let result = state
            .apply_block(BlockContext { height: block.height, time }, &payload.txs)
            .unwrap_or_else(|e| panic!("re-executing block {}: {e}", block.height.0));
        let receipts: Vec<Vec<u8>> =
            result.receipts.iter().map(volt_proto::codec::encode).collect();
        assert_eq!(
            receipts,
            finalized.receipts,
            "block {}: receipts differ on re-execution",
            i + 1
        );
        assert_eq!(
            result.state_root,
            hash_of(&finalized.state_root),
            "block {}: the stored state root differs from the re-executed one",
            i + 1
        );
        assert_eq!(finalized.time_ms, time.0, "block {}: block time", i + 1);
        assert_eq!(finalized.tx_count as usize, payload.txs.len(), "block {}: tx_count", i + 1);
    }
    state.root()
}

/// A small deterministic generator (xorshift64*), seeded from the test.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The seed for a test: `VOLT_E2E_SEED`, or the clock.
pub fn seed() -> u64 {
    std::env::var("VOLT_E2E_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

/// The key of an account's balance of `asset`, as the API and proofs encode it.
pub fn balance_key(asset: &Asset, account: AccountId) -> Vec<u8> {
    Key::Balance(asset.clone(), account).encode()
}
