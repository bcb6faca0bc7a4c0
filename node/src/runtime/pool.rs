//! The mempool actor: one task owns the [`Mempool`]; the API, the consensus driver and the
//! executor talk to it through a bounded mailbox ([`PoolHandle`]).

use super::snapshot::Snapshot;
use crate::mempool::{Mempool, MempoolLimits, Refusal};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use volt_proto::{Hash, SignedTx};

/// Requests waiting for the mempool actor at once; a full mailbox makes callers wait.
pub const POOL_MAILBOX_MAX: usize = 1_024;

/// The mempool's size, published after every change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolSize {
    /// Transactions waiting.
    pub txs: usize,
    /// Their encoded bytes.
    pub bytes: usize,
}

enum Command {
    Submit {
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Hash, Refusal>>,
    },
    Select {
        exclude: BTreeSet<Hash>,
        txs_max: usize,
        bytes_max: usize,
        reply: oneshot::Sender<Vec<SignedTx>>,
    },
    Finalized {
        ids: Vec<Hash>,
    },
    Contains {
        id: Hash,
        reply: oneshot::Sender<bool>,
    },
}

/// The mempool actor stopped (the node is shutting down).
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[error("the mempool is shutting down")]
pub struct PoolClosed;

/// The cloneable front door of the mempool actor.
#[derive(Clone)]
pub struct PoolHandle {
    tx: mpsc::Sender<Command>,
    size: watch::Receiver<PoolSize>,
}

impl PoolHandle {
    /// Starts the actor. Admission reads the signer's record from the latest `snapshot`.
    pub fn spawn(limits: MempoolLimits, snapshot: watch::Receiver<Arc<Snapshot>>) -> PoolHandle {
        let (tx, rx) = mpsc::channel(POOL_MAILBOX_MAX);
        let (size_tx, size) = watch::channel(PoolSize::default());
        tokio::spawn(run(Mempool::new(limits), rx, snapshot, size_tx));
        PoolHandle { tx, size }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, PoolClosed> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| PoolClosed)?;
        answer.await.map_err(|_| PoolClosed)
    }

    /// Admits one canonical `SignedTx` (checked: codec, chain, signer, nonce, signature, caps).
    pub async fn submit(&self, bytes: Vec<u8>) -> Result<Result<Hash, Refusal>, PoolClosed> {
        self.ask(|reply| Command::Submit { bytes, reply }).await
    }

    /// Transactions for a block, skipping `exclude` (already in unapplied ancestors).
    pub async fn select(
        &self,
        exclude: BTreeSet<Hash>,
        txs_max: usize,
        bytes_max: usize,
    ) -> Result<Vec<SignedTx>, PoolClosed> {
        self.ask(|reply| Command::Select { exclude, txs_max, bytes_max, reply }).await
    }

    /// A block was applied: drop its transactions and whatever it made stale.
    pub async fn finalized(&self, ids: Vec<Hash>) -> Result<(), PoolClosed> {
        self.tx.send(Command::Finalized { ids }).await.map_err(|_| PoolClosed)
    }

    /// As [`PoolHandle::finalized`], from a thread outside the runtime (the executor).
    pub fn finalized_blocking(&self, ids: Vec<Hash>) -> Result<(), PoolClosed> {
        self.tx.blocking_send(Command::Finalized { ids }).map_err(|_| PoolClosed)
    }

    /// True if the transaction waits in the mempool.
    pub async fn contains(&self, id: Hash) -> Result<bool, PoolClosed> {
        self.ask(|reply| Command::Contains { id, reply }).await
    }

    /// The size now, and a receiver that sees every change.
    pub fn size(&self) -> watch::Receiver<PoolSize> {
        self.size.clone()
    }
}

async fn run(
    mut pool: Mempool,
    mut rx: mpsc::Receiver<Command>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    size: watch::Sender<PoolSize>,
) {
    while let Some(command) = rx.recv().await {
        let ledger = Arc::clone(&snapshot.borrow());
        match command {
            Command::Submit { bytes, reply } => {
                let _ = reply.send(pool.admit(&bytes, ledger.as_ref()));
            }
            Command::Select { exclude, txs_max, bytes_max, reply } => {
                let _ = reply.send(pool.select(&exclude, txs_max, bytes_max, ledger.as_ref()));
            }
            Command::Finalized { ids } => {
                pool.on_finalized(&ids, ledger.as_ref());
            }
            Command::Contains { id, reply } => {
                let _ = reply.send(pool.contains(&id));
            }
        }
        let now = PoolSize { txs: pool.len(), bytes: pool.bytes() };
        size.send_if_modified(|old| std::mem::replace(old, now) != now);
    }
}
