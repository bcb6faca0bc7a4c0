//! The consensus driver: owns the Simplex core and its vote journal, keeps real timers, and
//! carries out the core's outputs in order — journal appends, one fsync, then sends, timers,
//! proposals, verifications and finalized blocks.
//!
//! Proposals wait for work: a leader asked for a payload proposes as soon as the mempool has
//! transactions (and at least `block_interval_ms` after its parent), or, on an idle chain, an
//! empty block after `heartbeat_ms` — below the replicas' leader timeout, so an idle chain costs
//! one small block per heartbeat and no churn of nullified views.

use super::app::App;
use super::executor::{Applied, ExecutorInput};
use super::pool::{PoolHandle, PoolSize};
use crate::payload::{PAYLOAD_BYTES_MAX, PAYLOAD_TXS_MAX, Payload};
use crate::storage::NodeDb;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::time::sleep_until;
use volt_consensus::{
    Block, Core, FileStorage, Input, Journal, JournalError, Message, Output, Request, Timer,
    ValidatorIndex, View,
};
use volt_proto::{Hash, Height, Timestamp};

/// Messages from the network waiting for the driver.
pub const DRIVER_INBOX_MAX: usize = 4_096;

/// What the network hands the driver (issue 10 wires libp2p here).
#[derive(Debug)]
pub enum DriverInput {
    /// Bytes from a validator, authenticated by the transport.
    Message {
        /// The sender.
        from: ValidatorIndex,
        /// The encoded consensus message.
        bytes: Vec<u8>,
    },
}

/// What the driver hands the network.
#[derive(Debug)]
pub enum Outbound {
    /// To one validator.
    Send {
        /// The recipient.
        to: ValidatorIndex,
        /// The message.
        message: Message,
    },
    /// To every other validator.
    Broadcast(Message),
    /// A fetch for certificates or blocks.
    Fetch(Request),
}

/// Why the driver stopped the node.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The vote journal failed: the node must not vote without it.
    #[error("vote journal: {0}")]
    Journal(#[from] JournalError),
    /// Storage could not be made durable before the journal prunes.
    #[error("making storage durable before pruning the vote journal: {0}")]
    Durable(crate::storage::DbError),
    /// The executor stopped.
    #[error("the executor stopped")]
    ExecutorGone,
}

/// A proposal the core asked for and the driver has not answered yet.
struct Pending {
    view: View,
    parent: Hash,
    /// Not before: the parent's time plus the block interval.
    earliest: Instant,
    /// At the latest (empty if need be): the heartbeat.
    latest: Instant,
}

/// Timing the driver needs.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Least time between a block and its child.
    pub block_interval_ms: u64,
    /// Longest a leader waits for work before proposing an empty block.
    pub heartbeat_ms: u64,
}

/// Observes the driver (metrics): view entered, journal fsync seconds.
pub trait DriverObserver: Send {
    /// The core's current view and finalized height.
    fn view(&self, view: u64, finalized: u64);
    /// One journal fsync took this long.
    fn journal_sync(&self, seconds: f64);
}

/// The consensus driver.
pub struct Driver {
    /// The core.
    pub core: Core,
    /// The vote journal.
    pub journal: Journal<FileStorage>,
    /// Blocks seen, for payloads and checks.
    pub app: App,
    /// Timing.
    pub pace: Pace,
    /// The mempool.
    pub pool: PoolHandle,
    /// Finalized blocks go here.
    pub executor: mpsc::Sender<ExecutorInput>,
    /// The applied tip (journal pruning waits for it).
    pub applied: watch::Receiver<Applied>,
    /// The store (made durable before pruning).
    pub db: NodeDb,
    /// Messages to peers; `None` with one validator.
    pub outbound: Option<mpsc::Sender<Outbound>>,
    /// Metrics.
    pub observer: Box<dyn DriverObserver>,
    /// When the driver started: the core's clock is ms since then.
    pub started: Instant,
    /// Armed timers by deadline.
    pub timers: BTreeMap<(Instant, u64), Timer>,
    /// Timer sequence (ties).
    pub seq: u64,
    /// The wall clock in ms since the epoch (block times).
    pub wall_ms: Box<dyn Fn() -> u64 + Send>,
}

impl Driver {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs until the inbox closes (shutdown) or a fatal error.
    pub async fn run(mut self, mut inbox: mpsc::Receiver<DriverInput>) -> Result<(), DriverError> {
        let mut pending: Option<Pending> = None;
        let mut size: watch::Receiver<PoolSize> = self.pool.size();
        let mut applied = self.applied.clone();
        self.step(Input::Start, &mut pending).await?;
        loop {
            let timer_at = self.timers.keys().next().map(|(at, _)| *at);
            let propose_at =
                pending.as_ref().map(|p| if size.borrow().txs > 0 { p.earliest } else { p.latest });
            let far = Instant::now() + Duration::from_secs(3_600);
            tokio::select! {
                message = inbox.recv() => {
                    let Some(DriverInput::Message { from, bytes }) = message else { return Ok(()) };
                    self.step(Input::Message { from, bytes }, &mut pending).await?;
                }
                () = sleep_until(timer_at.unwrap_or(far).into()), if timer_at.is_some() => {
                    self.fire_timers(&mut pending).await?;
                }
                () = sleep_until(propose_at.unwrap_or(far).into()), if propose_at.is_some() => {
                    if let Some(p) = pending.take() {
                        let payload = self.payload(p.parent).await;
                        self.step(Input::Proposed { view: p.view, payload }, &mut pending).await?;
                    }
                }
                changed = size.changed() => {
                    if changed.is_err() { return Ok(()) }
                }
                changed = applied.changed() => {
                    if changed.is_err() { return Err(DriverError::ExecutorGone) }
                    let tip = *applied.borrow_and_update();
                    self.app.set_applied(tip.digest, tip.height.0, tip.time);
                }
            }
        }
    }

    async fn fire_timers(&mut self, pending: &mut Option<Pending>) -> Result<(), DriverError> {
        let now = Instant::now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            self.step(Input::Timeout(timer), pending).await?;
        }
        Ok(())
    }

    /// The payload for a block on top of `parent`: the proposer's clock (never before the
    /// parent's time) and mempool transactions not already in unapplied ancestors.
    async fn payload(&mut self, parent: Hash) -> Vec<u8> {
        let parent_time = self.app.time_of(&parent).map_or(0, |t| t.0);
        let time = Timestamp((self.wall_ms)().max(parent_time));
        let txs = match self.app.pending_ids(parent) {
            // Room for the payload's own framing below the byte limit.
            Some(exclude) => self
                .pool
                .select(exclude, PAYLOAD_TXS_MAX, PAYLOAD_BYTES_MAX - 64)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Payload { time, txs }.encode()
    }

    /// Hands one input to the core and carries out its outputs in order.
    async fn step(
        &mut self,
        input: Input,
        pending: &mut Option<Pending>,
    ) -> Result<(), DriverError> {
        let outputs = self.core.handle(self.now_ms(), input);
        for output in outputs {
            self.perform(output, pending).await?;
        }
        let finalized = self.core.finalized().height.0;
        self.observer.view(self.core.view().0, finalized);
        Ok(())
    }

    async fn perform(
        &mut self,
        output: Output,
        pending: &mut Option<Pending>,
    ) -> Result<(), DriverError> {
        match output {
            Output::JournalAppend(record) => self.journal.append(&record)?,
            Output::JournalRewrite(records) => {
                self.durable_before_prune().await?;
                self.journal.rewrite(&records)?;
            }
            Output::JournalSync => {
                let started = Instant::now();
                self.journal.sync()?;
                self.observer.journal_sync(started.elapsed().as_secs_f64());
            }
            Output::Send { to, message } => self.send(Outbound::Send { to, message }),
            Output::Broadcast(message) => {
                if let Message::Propose { block, .. } = &message
                    && let Ok(payload) = Payload::decode(&block.payload)
                {
                    self.app.remember(block, &payload);
                }
                self.send(Outbound::Broadcast(message));
            }
            Output::Fetch(request) => self.send(Outbound::Fetch(request)),
            Output::SetTimer { timer, at_ms } => {
                let delay = at_ms.saturating_sub(self.now_ms());
                self.seq += 1;
                let at = Instant::now() + Duration::from_millis(delay);
                self.timers.insert((at, self.seq), timer);
            }
            Output::Propose { view, parent, .. } => {
                let parent_time = self.app.time_of(&parent).map_or(0, |t| t.0);
                let wall = (self.wall_ms)();
                let wait = (parent_time + self.pace.block_interval_ms).saturating_sub(wall);
                let now = Instant::now();
                let earliest = now + Duration::from_millis(wait);
                let latest = now + Duration::from_millis(self.pace.heartbeat_ms.max(wait));
                *pending = Some(Pending { view, parent, earliest, latest });
            }
            Output::Verify(block) => {
                let view = block.view;
                let digest = block.digest();
                let valid = match self.app.verify(&block, (self.wall_ms)()) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!(view = view.0, %digest, %why, "refused a proposal");
                        false
                    }
                };
                Box::pin(self.step(Input::Verified { view, digest, valid }, pending)).await?;
            }
            Output::Finalized { block, certificate } => self.finalized(block, certificate).await?,
        }
        Ok(())
    }

    async fn finalized(
        &mut self,
        block: Block,
        certificate: volt_consensus::Certificate,
    ) -> Result<(), DriverError> {
        if let Ok(payload) = Payload::decode(&block.payload) {
            self.app.remember(&block, &payload);
        }
        let input = ExecutorInput::Finalized { block, certificate };
        self.executor.send(input).await.map_err(|_| DriverError::ExecutorGone)
    }

    fn send(&self, message: Outbound) {
        if let Some(out) = &self.outbound {
            // A full queue drops the message: consensus repeats what matters (retries, fetches).
            let _ = out.try_send(message);
        }
    }

    /// Before the journal forgets anything, every block consensus finalized must be applied
    /// and the store durable (flush + fsync): then a crash at any point restarts from a store
    /// at least as far as what the journal no longer holds.
    async fn durable_before_prune(&mut self) -> Result<(), DriverError> {
        let target: Height = self.core.finalized().height;
        let mut applied = self.applied.clone();
        while applied.borrow_and_update().height < target {
            if applied.changed().await.is_err() {
                return Err(DriverError::ExecutorGone);
            }
        }
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.make_durable())
            .await
            .map_err(|_| DriverError::ExecutorGone)?
            .map_err(DriverError::Durable)
    }
}

/// The genesis (or applied) block the core starts from, by height.
pub fn anchor(
    db: &NodeDb,
    genesis: &Block,
    height: Height,
) -> Result<Block, crate::storage::DbError> {
    if height.0 == 0 {
        return Ok(genesis.clone());
    }
    Ok(db.block(height)?.map_or_else(|| genesis.clone(), |stored| stored.block))
}
