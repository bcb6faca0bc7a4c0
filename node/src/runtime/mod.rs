//! The node process: boots storage, the ledger and consensus from disk, then runs the actors —
//! consensus driver, executor (own thread), mempool, gRPC API, metrics — connected by bounded
//! channels (DESIGN.md, "The node inside").
//!
//! Start-up order: open sled (refusing another genesis), write or reopen the ledger state, open
//! the vote journal, build the core on the last applied block (the anchor) with the journal's
//! records, so blocks finalized but not yet applied are finalized again and re-executed.

// The node is the one place that owns clocks: consensus timers and block times are read here
// and handed to the pure cores as arguments.
#![allow(clippy::disallowed_methods)]

pub mod app;
pub mod driver;
pub mod executor;
pub mod pool;
pub mod snapshot;

use crate::api::{self, ApiContext};
use crate::config::NodeConfig;
use crate::mempool::MempoolLimits;
use crate::storage::NodeDb;
use crate::telemetry::Metrics;
use anyhow::{Context as _, bail};
use driver::{Driver, DriverObserver, Pace};
use executor::{Applied, Executor, Outcomes};
use snapshot::Snapshot;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, watch};
use volt_consensus::{Block, Config, Core, Epoch, FileStorage, Journal, Timeouts, ValidatorSet};
use volt_genesis::GenesisDoc;
use volt_proto::Height;
use volt_proto::sig::Keypair;
use volt_token::State;

/// A node that is running.
pub struct Running {
    /// Where gRPC listens.
    pub grpc: SocketAddr,
    /// Where `/metrics` listens.
    pub metrics: SocketAddr,
    /// The genesis document.
    pub genesis: GenesisDoc,
    /// Resolves with the first fatal error (or Ok at shutdown).
    pub done: tokio::task::JoinHandle<anyhow::Result<()>>,
    shutdown: mpsc::Sender<driver::DriverInput>,
}

impl Running {
    /// Stops accepting work and waits for the actors.
    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.shutdown);
        self.done.await.context("the node task panicked")?
    }
}

/// The wall clock in ms since the Unix epoch (block times). Only the node reads it.
#[allow(clippy::disallowed_methods)]
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `volt node run`: starts the node and runs it until Ctrl-C / SIGTERM or a fatal error.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let dev = config.dev;
    let home = config.data_dir.clone();
    let Running { grpc, metrics, genesis, mut done, shutdown } = start(config).await?;
    println!("volt node: chain {} genesis {}", genesis.chain_id.as_str(), genesis.id());
    println!("  gRPC     {grpc}");
    println!("  metrics  http://{metrics}/metrics");
    println!("  data     {}", home.display());
    if dev {
        println!("  dev chain: one validator; member keys are DEMO keys anyone can compute");
    }
    tracing::info!(%grpc, %metrics, "serving");
    tokio::select! {
        signal = shutdown_signal() => {
            signal?;
            tracing::info!("shutting down");
            drop(shutdown);
            done.await.context("the node task panicked")?
        }
        finished = &mut done => {
            finished.context("the node task panicked")??;
            bail!("the node stopped unexpectedly")
        }
    }
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}

/// The genesis document from the config's file (in dev mode the `volt` command wrote the dev
/// genesis there on first start), validated once.
fn genesis(config: &NodeConfig) -> anyhow::Result<GenesisDoc> {
    Ok(crate::config::load_genesis(&config.genesis_file)?)
}

/// This validator's key: the demo key in dev mode, else the key file (32-byte seed in hex,
/// readable by its owner only).
fn validator_key(config: &NodeConfig, doc: &GenesisDoc) -> anyhow::Result<Keypair> {
    if config.dev {
        let Some(v) = doc.validators.first() else { bail!("the dev genesis has no validator") };
        return Ok(volt_genesis::demo_keypair(&v.key_label));
    }
    let Some(path) = &config.key_file else {
        bail!("no validator key: set key_file in config.toml or pass --key-file")
    };
    read_key_file(path)
}

fn read_key_file(path: &Path) -> anyhow::Result<Keypair> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!("{} is readable by others; run chmod 600 on it", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes =
        hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} must hold a 32-byte seed in hex", path.display()))?;
    Ok(Keypair::from_seed(seed))
}

/// Starts every actor; returns once gRPC and metrics listen.
pub async fn start(config: NodeConfig) -> anyhow::Result<Running> {
    let doc = genesis(&config)?;
    let key = validator_key(&config, &doc)?;
    let validators = ValidatorSet::new(&doc.validator_accounts()).context("genesis validators")?;
    let Some(me) = validators.index_of(&key.account()) else {
        bail!(
            "this node's key {} is not a validator of chain {}",
            key.account(),
            doc.chain_id.as_str()
        )
    };
    let metrics = Arc::new(Metrics::new());
    let gauges = Arc::new(Gauges::default());
    // Spawned below: keeps the mempool gauges in step with the actor's published size.
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let db = NodeDb::open(&config.data_dir.join("db"), doc.id())
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let genesis_block = Block::genesis(Epoch(0), doc.id().as_bytes().to_vec());
    let state = open_state(&db, &doc)?;
    let height = db.applied_height()?;
    let tip = db.block(height)?;
    let applied = Applied {
        height,
        digest: tip.as_ref().map_or(genesis_block.digest(), |b| b.block.digest()),
        time: tip.as_ref().map_or(doc.genesis_time, |b| b.time),
    };
    tracing::info!(
        chain = doc.chain_id.as_str(), genesis = %doc.id(), height = height.0,
        root = %state.root(), validator = me, "ledger opened"
    );
    let anchor = match &tip {
        Some(stored) => stored.block.clone(),
        None if height.0 == 0 => genesis_block.clone(),
        None => bail!("the store says height {} is applied but holds no block there", height.0),
    };
    let journal_path = config.data_dir.join("votes.journal");
    // A validator of a real network that lost its journal but kept its blocks may have voted
    // in views it no longer remembers: starting would risk signing twice. (With one validator
    // there is nobody to equivocate to, and the dev chain restarts.)
    if validators.len() > 1 && height.0 > 0 && !journal_path.exists() {
        bail!(
            "the vote journal {} is missing but the store holds {} applied blocks: this validator \
             could sign twice in a view it no longer remembers; restore the journal, or wipe the \
             data directory and resync",
            journal_path.display(),
            height.0
        );
    }
    let storage = FileStorage::open(&journal_path)
        .with_context(|| format!("opening the vote journal {}", journal_path.display()))?;
    let (journal, replay) = Journal::open(storage).context("reading the vote journal")?;
    if replay.truncated_bytes > 0 {
        tracing::warn!(bytes = replay.truncated_bytes, "cut a torn tail off the vote journal");
    }
    let c = &doc.consensus;
    let timeouts = Timeouts {
        leader_ms: c.leader_timeout_ms,
        advance_ms: c.advance_timeout_ms,
        retry_ms: c.retry_ms,
        fetch_retry_ms: c.fetch_retry_ms,
    };
    let cfg = Config {
        chain_id: doc.chain_id.clone(),
        epoch: Epoch(0),
        validators: validators.clone(),
        me,
        key: key.clone(),
        timeouts,
        canary: Default::default(),
    };
    let core = Core::new(cfg, anchor.clone(), &replay.records).context("starting consensus")?;

    let first = Arc::new(Snapshot {
        chain_id: doc.chain_id.clone(),
        height,
        time: applied.time,
        block_digest: applied.digest,
        root: state.root(),
        tree: state.tree().clone(),
        certificate: match db.state_certificate(height)? {
            Some(bytes) => Some(Arc::new(crate::certificate::StateCertificate::decode(&bytes)?)),
            None => None,
        },
    });
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::clone(&first));
    let (certified_tx, certified_rx) = watch::channel(Arc::clone(&first));
    let (applied_tx, applied_rx) = watch::channel(applied);
    let (outcomes_tx, outcomes_rx) = watch::channel(Outcomes::default());
    let limits = &config.limits;
    let pool = pool::PoolHandle::spawn(
        MempoolLimits {
            txs_max: limits.mempool_txs_max,
            bytes_max: limits.mempool_bytes_max,
            account_txs_max: limits.mempool_account_txs_max,
            nonce_ahead_max: limits.mempool_nonce_ahead_max,
        },
        snapshot_rx.clone(),
    );
    Metrics::set(&metrics.height, height.0);
    Metrics::set(&metrics.finalized_height, height.0);
    tokio::spawn(mempool_gauges(pool.size(), Arc::clone(&metrics)));
    let (exec_tx, exec_rx) = mpsc::channel(executor::EXECUTOR_QUEUE_MAX);
    let executor = Executor {
        state,
        db: db.clone(),
        key: key.clone(),
        me,
        validators: validators.clone(),
        chain_id: doc.chain_id.clone(),
        applied,
        snapshot: snapshot_tx,
        certified_tx,
        recent: VecDeque::from([first]),
        applied_tx,
        pool: pool.clone(),
        votes_out: None,
        collectors: BTreeMap::new(),
        // Re-signed below if the applied height's certificate did not survive a crash.
        certified: match db.state_certificate(height)? {
            Some(_) => height,
            None => Height(height.0.saturating_sub(1)),
        },
        outcomes: outcomes_tx,
        metrics: Arc::clone(&metrics),
        clock: Box::new(wall_ms),
    };
    let mut executor = executor;
    executor.revote_tip().context("re-signing the state of the applied height")?;
    let exec_thread = std::thread::Builder::new()
        .name("volt-executor".into())
        .spawn(move || executor.run(exec_rx))
        .context("starting the executor thread")?;

    let (inbox_tx, inbox_rx) = mpsc::channel(driver::DRIVER_INBOX_MAX);
    let block_interval_ms = c.block_interval_ms;
    let heartbeat_ms = (c.leader_timeout_ms / 2).max(block_interval_ms);
    let driver = Driver {
        core,
        journal,
        app: app::App::new(&anchor, applied.time),
        pace: Pace { block_interval_ms, heartbeat_ms },
        pool: pool.clone(),
        executor: exec_tx,
        applied: applied_rx.clone(),
        db: db.clone(),
        outbound: None,
        observer: Box::new(MetricsObserver(Arc::clone(&metrics), Arc::clone(&gauges))),
        started: Instant::now(),
        timers: BTreeMap::new(),
        seq: 0,
        wall_ms: Box::new(wall_ms),
        sent: height,
    };
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let driver_task = tokio::spawn(driver.run(inbox_rx, started_tx));
    // Blocks the journal re-finalized (sled loses its last unflushed commits on kill -9) are
    // applied again before any client is answered: a client never reads "unknown" for a
    // transaction it was told is final.
    if let Ok(target) = started_rx.await {
        let mut applied = applied_rx.clone();
        while applied.borrow_and_update().height < target {
            if applied.changed().await.is_err() {
                break;
            }
        }
        if target > height {
            tracing::info!(
                from = height.0,
                to = target.0,
                "re-applied blocks finalized before a crash"
            );
        }
    }

    let context = ApiContext {
        doc: doc.clone(),
        validators,
        db: db.clone(),
        pool: pool.clone(),
        latest: snapshot_rx,
        certified: certified_rx,
        applied: applied_rx,
        outcomes: outcomes_rx,
        metrics: Arc::clone(&metrics),
        limits: config.limits.clone(),
        gauges: Arc::clone(&gauges),
        streams: Arc::new(tokio::sync::Semaphore::new(api::STREAMS_MAX)),
    };
    let (grpc, api_task) = api::serve(config.grpc_listen, context).await?;
    let (metrics_addr, metrics_task) =
        crate::telemetry::serve_metrics(config.metrics_listen, Arc::clone(&metrics)).await?;
    if config.dev {
        tokio::spawn(dev_setup(doc.clone(), pool.clone()));
    }
    let done = tokio::spawn(async move {
        let result = driver_task.await.context("the consensus driver panicked")?;
        api_task.abort();
        metrics_task.abort();
        let exec = tokio::task::spawn_blocking(move || exec_thread.join()).await?;
        match exec {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(anyhow::Error::new(error)),
            Err(_) => bail!("the executor panicked"),
        }
        result.map_err(anyhow::Error::new)
    });
    Ok(Running { grpc, metrics: metrics_addr, genesis: doc, done, shutdown: inbox_tx })
}

/// Writes the genesis state into an empty store, or reopens the stored ledger.
fn open_state(db: &NodeDb, doc: &GenesisDoc) -> anyhow::Result<State<crate::storage::SledStore>> {
    if db.has_genesis()? {
        let (state, source) = db.open_state().context("reopening the ledger")?;
        tracing::info!(?source, "state tree loaded");
        return Ok(state);
    }
    let genesis = crate::setup::ledger_genesis(doc)?;
    let state = State::genesis(db.state_store(), &genesis).context("writing the genesis state")?;
    db.commit_genesis(state.store()).context("storing the genesis state")?;
    Ok(state)
}

/// Dev chain: submits the pilot's set-up transactions (stations, batteries, pools, shares,
/// balances, leases) to the node's own mempool, waiting whenever it is full. On a restart the
/// ones already applied are refused as replayed, which is expected.
async fn dev_setup(doc: GenesisDoc, pool: pool::PoolHandle) {
    let setup = match crate::setup::build(&doc) {
        Ok(setup) => setup,
        Err(error) => {
            tracing::error!(%error, "dev set-up transactions could not be built");
            return;
        }
    };
    let mut admitted = 0usize;
    for tx in setup.txs {
        let bytes = tx.encode();
        loop {
            match pool.submit(bytes.clone()).await {
                Err(_) => return,
                Ok(Ok(_)) => {
                    admitted += 1;
                    break;
                }
                Ok(Err(refusal)) if refusal.is_resource_exhausted() => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Ok(Err(refusal)) => {
                    tracing::debug!(reason = refusal.reason(), "set-up transaction refused");
                    break;
                }
            }
        }
    }
    tracing::info!(admitted, "dev chain: set-up transactions submitted (demo keys: DEMO ONLY)");
}

/// What the consensus driver last reported, for the API's node status.
#[derive(Debug, Default)]
pub struct Gauges {
    /// The current view.
    pub view: AtomicU64,
    /// The finalized height.
    pub finalized: AtomicU64,
}

/// Mirrors the mempool's size into the metrics until the mempool stops.
async fn mempool_gauges(mut size: watch::Receiver<pool::PoolSize>, metrics: Arc<Metrics>) {
    loop {
        let now = *size.borrow_and_update();
        Metrics::set(&metrics.mempool_txs, now.txs as u64);
        Metrics::set(&metrics.mempool_bytes, now.bytes as u64);
        if size.changed().await.is_err() {
            return;
        }
    }
}

struct MetricsObserver(Arc<Metrics>, Arc<Gauges>);

impl DriverObserver for MetricsObserver {
    fn view(&self, view: u64, finalized: u64) {
        self.1.view.store(view, Ordering::Relaxed);
        self.1.finalized.store(finalized, Ordering::Relaxed);
        Metrics::set(&self.0.view, view);
        Metrics::set(&self.0.finalized_height, finalized);
    }
    fn journal_sync(&self, seconds: f64) {
        self.0.journal_syncs.inc();
        self.0.journal_fsync.observe(seconds);
    }
}
