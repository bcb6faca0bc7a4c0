//! Shared helpers for the attack tests: start a real `volt node run --dev` process on a home,
//! talk to it over gRPC, read its metrics, kill it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use volt_genesis::GenesisDoc;
use volt_proto::grpc::{self as pb, ledger_client::LedgerClient};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Call, ChainId, Height, Nonce, SignedTx, Symbol, TxBody,
};

pub fn fresh_home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "volt-attack-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_fast_dev_genesis(&dir);
    dir
}

/// The dev genesis with a 4 s leader timeout, so an idle test chain makes a heartbeat block
/// every 2 s (not 10 s) and tests that wait for a few more blocks finish sooner.
fn write_fast_dev_genesis(home: &Path) {
    let file = home.join("genesis.json");
    let out = Command::new(env!("CARGO_BIN_EXE_volt"))
        .args(["genesis", "dev", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["consensus"]["leader_timeout_ms"] = 4_000.into();
    doc["consensus"]["advance_timeout_ms"] = 6_000.into();
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

pub struct Node {
    pub child: Option<Child>,
    pub home: PathBuf,
    pub grpc: String,
    pub metrics: String,
    pub stderr_path: PathBuf,
}

/// Runs `volt node run --dev --home HOME` to completion (for start-up refusals).
pub fn run_to_exit(home: &Path, timeout: Duration) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_volt"))
        .args(["node", "run", "--dev", "--home"])
        .arg(home)
        .args(["--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status.code(), out, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let mut out = String::new();
            let mut err = String::new();
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (None, out, err);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Node {
    /// Starts the dev node on `home` and waits for its addresses.
    pub fn start(home: &Path) -> Node {
        Self::try_start(home).unwrap_or_else(|e| panic!("node did not start: {e}"))
    }

    pub fn try_start(home: &Path) -> Result<Node, String> {
        let n = std::fs::read_dir(home).map(|d| d.count()).unwrap_or(0);
        let stderr_path = home.join(format!("node-stderr-{n}-{}.log", rand_suffix()));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_volt"))
            .args(["node", "run", "--dev", "--home"])
            .arg(home)
            .args(["--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut grpc = None;
            let mut metrics = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("  gRPC     ") {
                    grpc = Some(rest.trim().to_owned());
                }
                if let Some(rest) = line.strip_prefix("  metrics  http://") {
                    metrics = Some(rest.trim().trim_end_matches("/metrics").to_owned());
                }
                if let (Some(g), Some(m)) = (&grpc, &metrics) {
                    let _ = tx.send((g.clone(), m.clone()));
                    grpc = None;
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(90)) {
            Ok((grpc, metrics)) => Ok(Node {
                child: Some(child),
                home: home.to_path_buf(),
                grpc,
                metrics,
                stderr_path,
            }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                Err(format!("exit {:?}; stderr: {err}", status.code()))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub async fn client(&self) -> LedgerClient<Channel> {
        let ch =
            Channel::from_shared(format!("http://{}", self.grpc)).unwrap().connect().await.unwrap();
        LedgerClient::new(ch).max_decoding_message_size(64 << 20)
    }

    pub fn metrics_text(&self) -> String {
        http_get(&self.metrics, "/metrics")
    }

    pub fn metric(&self, name: &str) -> Option<f64> {
        let text = self.metrics_text();
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }

    /// The process's resident memory in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    pub fn threads(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("Threads:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

pub fn doc(home: &Path) -> GenesisDoc {
    let text = std::fs::read_to_string(home.join("genesis.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn key(doc: &GenesisDoc, name: &str) -> Keypair {
    let m =
        doc.members.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no member {name}"));
    volt_genesis::demo_keypair(&m.key_label)
}

pub fn investors(doc: &GenesisDoc) -> Vec<String> {
    doc.members.iter().filter(|m| m.name.starts_with("investor-")).map(|m| m.name.clone()).collect()
}

pub fn member_names(doc: &GenesisDoc) -> Vec<String> {
    doc.members.iter().map(|m| m.name.clone()).collect()
}

pub fn chain(doc: &GenesisDoc) -> ChainId {
    doc.chain_id.clone()
}

/// A 1-cent HKD transfer from `from` to `to` (any outcome is fine for these tests).
pub fn transfer(doc: &GenesisDoc, from: &str, to: &str, nonce: u64, expiry: u64) -> SignedTx {
    let k = key(doc, from);
    let to: AccountId = key(doc, to).account();
    let body = TxBody {
        chain_id: chain(doc),
        signer: k.account(),
        nonce: Nonce(nonce),
        expiry_height: Height(expiry),
        call: Call::Transfer {
            asset: Asset::Cash(Symbol::new("HKD").unwrap()),
            to,
            amount: Amount(1),
        },
    };
    body.sign(&k)
}

pub fn signed(doc: &GenesisDoc, from: &str, nonce: u64, expiry: u64, call: Call) -> SignedTx {
    let k = key(doc, from);
    TxBody {
        chain_id: chain(doc),
        signer: k.account(),
        nonce: Nonce(nonce),
        expiry_height: Height(expiry),
        call,
    }
    .sign(&k)
}

pub async fn status(c: &mut LedgerClient<Channel>) -> pb::NodeStatusResponse {
    c.node_status(pb::NodeStatusRequest::default()).await.unwrap().into_inner()
}

pub async fn next_nonce(c: &mut LedgerClient<Channel>, doc: &GenesisDoc, name: &str) -> u64 {
    let account = key(doc, name).account();
    let a = c
        .get_account(pb::GetAccountRequest { account: account.0.to_vec() })
        .await
        .unwrap()
        .into_inner();
    a.next_nonce
}

/// Waits until the dev set-up is applied: the mempool is empty and height > 0.
pub async fn wait_settled(
    c: &mut LedgerClient<Channel>,
    timeout: Duration,
) -> pb::NodeStatusResponse {
    let deadline = Instant::now() + timeout;
    let mut quiet = 0;
    loop {
        let s = status(c).await;
        // The dev set-up submits in waves: empty for 3 s in a row means it is done.
        if s.height > 0 && s.mempool_txs == 0 {
            quiet += 1;
            if quiet >= 15 {
                return s;
            }
        } else {
            quiet = 0;
        }
        assert!(Instant::now() < deadline, "node did not settle: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the applied height passes `h`.
pub async fn wait_height(
    c: &mut LedgerClient<Channel>,
    h: u64,
    timeout: Duration,
) -> pb::NodeStatusResponse {
    let deadline = Instant::now() + timeout;
    loop {
        let s = status(c).await;
        if s.height > h {
            return s;
        }
        assert!(Instant::now() < deadline, "height stuck at {} (wanted > {h}): {s:?}", s.height);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn submit(
    c: &mut LedgerClient<Channel>,
    tx: &SignedTx,
) -> Result<Vec<u8>, tonic::Status> {
    c.submit_tx(pb::SubmitTxRequest { signed_tx: tx.encode() }).await.map(|r| r.into_inner().tx_id)
}

pub async fn submit_bytes(
    c: &mut LedgerClient<Channel>,
    bytes: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    c.submit_tx(pb::SubmitTxRequest { signed_tx: bytes }).await.map(|r| r.into_inner().tx_id)
}

/// The ErrorInfo reason of a status, or a panic naming the status.
pub fn reason(s: &tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_else(|| panic!("status without ErrorInfo: {:?} {}", s.code(), s.message()))
}

/// Fails if the stderr shows a panic or a backtrace.
pub fn assert_no_panic(text: &str) {
    assert!(!text.contains("panicked at"), "panic in output:\n{text}");
    assert!(!text.contains("stack backtrace"), "backtrace in output:\n{text}");
}

/// A multi-thread runtime for the async parts of a test.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A tx status as `(state, height, index, receipt)`.
pub async fn tx_status(c: &mut LedgerClient<Channel>, id: &[u8]) -> pb::TxStatus {
    c.get_tx_status(pb::GetTxStatusRequest { tx_id: id.to_vec() }).await.unwrap().into_inner()
}

pub const APPLIED: i32 = pb::tx_status::State::Applied as i32;
pub const PENDING: i32 = pb::tx_status::State::Pending as i32;
pub const UNKNOWN: i32 = pb::tx_status::State::Unknown as i32;
