//! The executor: finalized blocks → the ledger → one atomic sled batch → a state-root vote.
//!
//! It runs on its own thread (sled and the ledger are synchronous) and owns the ledger. After
//! each block it publishes a [`Snapshot`] (what the API and mempool admission read), then tells
//! the mempool what the block made stale. A storage failure or a diverged state root stops the
//! node: nothing is acknowledged that is not stored, and a validator never serves a state that
//! a quorum contradicts.

use super::pool::PoolHandle;
use super::snapshot::Snapshot;
use crate::certificate::{Collector, StateCertificate, StateVote};
use crate::payload::Payload;
use crate::storage::{NodeDb, SledStore, StoredBlock};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use volt_consensus::{Block, Certificate, ValidatorIndex, ValidatorSet};
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash, Height, SignedTx, Timestamp, TxOutcome};
use volt_token::{BlockContext, State};

/// Finalized blocks waiting for the executor; a full queue makes the consensus driver wait.
pub const EXECUTOR_QUEUE_MAX: usize = 64;
/// A tree snapshot is written every this many blocks (and at a clean shutdown), so a restart
/// re-reads only the keys changed since (about 2.5 s of writing at 10^6 keys).
pub const TREE_SNAPSHOT_EVERY_BLOCKS: u64 = 2_000;
/// Heights above the last certified one for which state votes are collected.
pub const STATE_VOTE_HEIGHTS_MAX: u64 = 256;
/// Recent snapshots kept until their state certificate forms (tree clones share nodes, so each
/// costs only the paths its block changed).
pub const RECENT_SNAPSHOTS_MAX: usize = 64;

/// What the executor is handed.
#[derive(Debug)]
pub enum ExecutorInput {
    /// A finalized block, in height order.
    Finalized {
        /// The block.
        block: Block,
        /// The finalization certificate.
        certificate: Certificate,
    },
    /// Another validator's signed state vote (verified by the executor).
    StateVote {
        /// The signer.
        from: ValidatorIndex,
        /// The vote.
        vote: StateVote,
        /// Its signature.
        signature: volt_proto::Signature,
    },
}

/// The last applied block, for the driver (journal pruning waits for it) and the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Its height.
    pub height: Height,
    /// Its digest.
    pub digest: Hash,
    /// Its block time.
    pub time: Timestamp,
}

/// Why the executor stopped the node.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The ledger refused a finalized block (a storage failure or a height gap).
    #[error("cannot apply finalized block {height}: {source}")]
    Apply {
        /// The block height.
        height: u64,
        /// Why.
        source: volt_token::BlockError,
    },
    /// The store failed.
    #[error("storage failed at height {height}: {source}")]
    Storage {
        /// The block height.
        height: u64,
        /// Why.
        source: crate::storage::DbError,
    },
    /// A quorum certified another root than this node computed.
    #[error(
        "DIVERGED at height {height}: this node computed state root {mine}, but a quorum of \
         validators certified {certified}; stop this validator, keep its data for analysis, and \
         resync it from genesis"
    )]
    Diverged {
        /// The height.
        height: u64,
        /// Our root.
        mine: Hash,
        /// The certified root.
        certified: Hash,
    },
}

/// Counts the executor keeps (read by the metrics).
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcomes {
    /// Transactions applied.
    pub applied: u64,
    /// Failed.
    pub failed: u64,
    /// Rejected.
    pub rejected: u64,
    /// Disputed.
    pub disputed: u64,
}

/// The executor's state.
pub struct Executor {
    /// The ledger over sled.
    pub state: State<SledStore>,
    /// The node's store.
    pub db: NodeDb,
    /// This validator's key and index (state votes).
    pub key: Keypair,
    /// This validator's index.
    pub me: ValidatorIndex,
    /// The genesis set (state-vote checks, quorum).
    pub validators: ValidatorSet,
    /// The chain.
    pub chain_id: ChainId,
    /// The last applied block.
    pub applied: Applied,
    /// Where snapshots go.
    pub snapshot: watch::Sender<Arc<Snapshot>>,
    /// Where the latest certified snapshot goes (what proofs are served against).
    pub certified_tx: watch::Sender<Arc<Snapshot>>,
    /// Snapshots waiting for their certificate, oldest first.
    pub recent: std::collections::VecDeque<Arc<Snapshot>>,
    /// Where the applied tip goes.
    pub applied_tx: watch::Sender<Applied>,
    /// The mempool.
    pub pool: PoolHandle,
    /// Own state votes to send to the other validators (None with one validator).
    pub votes_out: Option<mpsc::Sender<(StateVote, volt_proto::Signature)>>,
    /// Collectors by height.
    pub collectors: BTreeMap<Height, Collector>,
    /// The last certified height.
    pub certified: Height,
    /// Outcome counts, published with each block.
    pub outcomes: watch::Sender<Outcomes>,
    /// Metrics.
    pub metrics: Arc<crate::telemetry::Metrics>,
    /// The wall clock, ms since the epoch (injected: tests pin it).
    pub clock: Box<dyn Fn() -> u64 + Send>,
}

impl Executor {
    /// Runs until the input closes or a fatal error.
    pub fn run(mut self, mut input: mpsc::Receiver<ExecutorInput>) -> Result<(), ExecutorError> {
        while let Some(next) = input.blocking_recv() {
            match next {
                ExecutorInput::Finalized { block, certificate } => {
                    self.apply(block, certificate)?;
                    if self.applied.height.0.is_multiple_of(TREE_SNAPSHOT_EVERY_BLOCKS) {
                        self.snapshot_tree();
                    }
                }
                ExecutorInput::StateVote { from, vote, signature } => {
                    self.state_vote(from, vote, signature)?
                }
            }
        }
        // A clean shutdown: the next start loads the tree instead of rebuilding it.
        self.snapshot_tree();
        Ok(())
    }

    /// Writes the tree snapshot; a failure only costs the next start a rebuild, so it is
    /// logged, not fatal.
    fn snapshot_tree(&self) {
        match self.db.write_tree_snapshot(&self.state) {
            Ok(info) => tracing::info!(?info, "wrote the state tree snapshot"),
            Err(error) => tracing::warn!(%error, "could not write the state tree snapshot"),
        }
    }

    /// Applies one finalized block and stores it with everything it produced, atomically.
    pub fn apply(&mut self, block: Block, certificate: Certificate) -> Result<(), ExecutorError> {
        let height = block.height;
        if height.0 <= self.applied.height.0 {
            return Ok(()); // Re-delivered after a restart: already stored.
        }
        // A payload that does not decode was still accepted by a quorum: it applies as empty,
        // the same way on every replica.
        let payload = Payload::decode(&block.payload)
            .unwrap_or(Payload { time: self.applied.time, txs: Vec::new() });
        let time = payload.time.max(self.applied.time);
        let ctx = BlockContext { height, time };
        let started = std::time::Instant::now();
        let result = self
            .state
            .apply_block(ctx, &payload.txs)
            .map_err(|source| ExecutorError::Apply { height: height.0, source })?;
        let digest = block.digest();
        let stored = StoredBlock {
            height,
            block,
            finalization: certificate,
            receipts: result.receipts,
            state_root: result.state_root,
            time,
        };
        if let Err(source) = self.db.commit_block(self.state.store(), &stored) {
            self.metrics.storage_errors.inc();
            return Err(ExecutorError::Storage { height: height.0, source });
        }
        self.metrics.block_apply.observe(started.elapsed().as_secs_f64());
        self.count(&stored);
        // A certificate that peers formed before this node executed the block: check it now.
        let early = self
            .db
            .state_certificate(height)
            .map_err(|source| ExecutorError::Storage { height: height.0, source })?;
        if let Some(cert) = early.and_then(|bytes| StateCertificate::decode(&bytes).ok())
            && cert.vote.state_root != result.state_root
        {
            return Err(ExecutorError::Diverged {
                height: height.0,
                mine: result.state_root,
                certified: cert.vote.state_root,
            });
        }
        self.applied = Applied { height, digest, time };
        let latency_ms = (self.clock)().saturating_sub(payload.time.0);
        self.metrics.finality_latency.observe(latency_ms as f64 / 1_000.0);
        crate::telemetry::Metrics::set(&self.metrics.height, height.0);
        let vote = StateVote { height, block_digest: digest, state_root: result.state_root };
        let signature = vote.sign(&self.key, &self.chain_id);
        if let Some(out) = &self.votes_out {
            // A full queue drops the vote: peers certify without it or ask again (issue 10).
            let _ = out.try_send((vote, signature));
        }
        self.publish();
        self.state_vote(self.me, vote, signature)?;
        let ids: Vec<Hash> = payload.txs.iter().map(SignedTx::id).collect();
        let _ = self.pool.finalized_blocking(ids);
        let _ = self.applied_tx.send(self.applied);
        Ok(())
    }

    fn count(&self, stored: &StoredBlock) {
        let m = &self.metrics;
        self.outcomes.send_modify(|o| {
            for receipt in &stored.receipts {
                match receipt.outcome {
                    TxOutcome::Applied => (o.applied += 1, m.txs_applied.inc()),
                    TxOutcome::Failed(_) => (o.failed += 1, m.txs_failed.inc()),
                    TxOutcome::Rejected(_) => (o.rejected += 1, m.txs_rejected.inc()),
                    TxOutcome::Disputed(_) => (o.disputed += 1, m.txs_disputed.inc()),
                };
            }
        });
    }

    /// After a restart: signs the applied height's state again if its certificate did not
    /// survive (a crash between storing the block and storing the certificate). The vote is
    /// the same bytes as before: same block, same root.
    pub fn revote_tip(&mut self) -> Result<(), ExecutorError> {
        let h = self.applied.height;
        if h.0 == 0 || self.certified >= h {
            return Ok(());
        }
        let vote = StateVote {
            height: h,
            block_digest: self.applied.digest,
            state_root: self.state.root(),
        };
        let signature = vote.sign(&self.key, &self.chain_id);
        if let Some(out) = &self.votes_out {
            let _ = out.try_send((vote, signature));
        }
        self.state_vote(self.me, vote, signature)
    }

    /// Publishes the state just applied (not yet certified).
    fn publish(&mut self) {
        let snapshot = Arc::new(Snapshot {
            chain_id: self.chain_id.clone(),
            height: self.applied.height,
            time: self.applied.time,
            block_digest: self.applied.digest,
            root: self.state.root(),
            tree: self.state.tree().clone(),
            certificate: None,
        });
        if self.recent.len() >= RECENT_SNAPSHOTS_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(Arc::clone(&snapshot));
        let _ = self.snapshot.send(snapshot);
    }

    /// A certificate formed for height `h`: the snapshot of `h` becomes the certified one.
    fn publish_certified(&mut self, h: Height, certificate: StateCertificate) {
        while self.recent.front().is_some_and(|s| s.height < h) {
            self.recent.pop_front();
        }
        if let Some(snapshot) = self.recent.front().filter(|s| s.height == h) {
            let mut certified = Snapshot::clone(snapshot);
            certified.certificate = Some(Arc::new(certificate));
            let _ = self.certified_tx.send(Arc::new(certified));
        }
    }

    /// Counts a state vote (own or a peer's); stores the certificate once a quorum agrees and
    /// stops the node if it certifies another root than ours.
    pub fn state_vote(
        &mut self,
        from: ValidatorIndex,
        vote: StateVote,
        signature: volt_proto::Signature,
    ) -> Result<(), ExecutorError> {
        let h = vote.height;
        if h <= self.certified || h.0 > self.certified.0 + STATE_VOTE_HEIGHTS_MAX {
            return Ok(());
        }
        if from != self.me {
            let Ok(key) = self.validators.key(from) else { return Ok(()) };
            let message = volt_proto::sig::signing_message(
                volt_proto::sig::Domain::StateRoot,
                &self.chain_id,
                &vote.signed_payload(),
            );
            if volt_proto::sig::verify(key, &message, &signature).is_err() {
                return Ok(());
            }
        }
        let quorum = self.validators.quorum();
        let collector = self.collectors.entry(h).or_default();
        let Some(cert) = collector.add(quorum, from, vote, signature) else { return Ok(()) };
        self.collectors = self.collectors.split_off(&Height(h.0 + 1));
        self.certified = h;
        crate::telemetry::Metrics::set(&self.metrics.certified_height, h.0);
        let stored =
            self.db.block(h).map_err(|source| ExecutorError::Storage { height: h.0, source })?;
        if let Some(stored) = stored
            && stored.state_root != cert.vote.state_root
        {
            return Err(ExecutorError::Diverged {
                height: h.0,
                mine: stored.state_root,
                certified: cert.vote.state_root,
            });
        }
        self.db
            .put_state_certificate(h, &cert.encode())
            .map_err(|source| ExecutorError::Storage { height: h.0, source })?;
        self.publish_certified(h, cert);
        Ok(())
    }
}
