//! The shared in-process mempool: first in, first out, bounded, deduplicated by id.

use std::collections::{BTreeMap, BTreeSet};
use volt_proto::{Hash, SignedTx};

/// Most transactions waiting at once.
pub const MEMPOOL_TXS_MAX: usize = 20_000;

/// Pending transactions in arrival order.
#[derive(Default)]
pub struct Mempool {
    queue: BTreeMap<u64, (Hash, SignedTx, usize)>,
    ids: BTreeMap<Hash, u64>,
    next: u64,
}

impl Mempool {
    /// Waiting transactions.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when another transaction would be refused.
    pub fn is_full(&self) -> bool {
        self.queue.len() >= MEMPOOL_TXS_MAX
    }

    /// Adds a transaction; false if full or already present.
    pub fn push(&mut self, tx: SignedTx) -> bool {
        let id = tx.id();
        if self.is_full() || self.ids.contains_key(&id) {
            return false;
        }
        let bytes = tx.encode().len();
        self.ids.insert(id, self.next);
        self.queue.insert(self.next, (id, tx, bytes));
        self.next += 1;
        true
    }

    /// Removes transactions that were finalized.
    pub fn remove(&mut self, ids: &[Hash]) {
        for id in ids {
            if let Some(seq) = self.ids.remove(id) {
                self.queue.remove(&seq);
            }
        }
    }

    /// The oldest transactions not in `exclude`, up to `txs_max` and `bytes_max` encoded bytes.
    pub fn select(
        &self,
        exclude: &BTreeSet<Hash>,
        txs_max: usize,
        bytes_max: usize,
    ) -> Vec<SignedTx> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (id, tx, size) in self.queue.values() {
            if out.len() >= txs_max {
                break;
            }
            if exclude.contains(id) {
                continue;
            }
            if bytes + size > bytes_max {
                break;
            }
            bytes += size;
            out.push(tx.clone());
        }
        out
    }
}
