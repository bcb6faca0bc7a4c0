//! The ledger's [`Store`] on sled: state entries under the `s` prefix of the node's one tree,
//! each sealed with a checksum (see `record.rs`).
//!
//! [`Store::apply`] does not write: it STAGES the block's writes in an overlay that every read
//! consults first, so the ledger sees its own block while sled still holds the last committed
//! one. [`super::NodeDb::commit_block`] then writes the staged state together with the block,
//! its certificate, receipts, tx index and applied height in one atomic sled batch; until then a
//! crash or a fresh open sees none of it.
//!
//! One `SledStore` belongs to one `volt_token::State`: its overlay is private to it. Other
//! handles from [`super::NodeDb::state_store`] see committed state only.

use super::DbError;
use super::record::{self, RecordKey, STATE};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use volt_token::store::{Entry, StorageError, Store, Write};

/// Staged writes by ledger key: `None` deletes.
pub(super) type Staged = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The ledger state on sled, with the staged writes of the block being applied.
pub struct SledStore {
    tree: sled::Tree,
    // A mutex, not a `RefCell`: `commit_block` drains it through `&SledStore` (the ledger owns
    // the store and lends it as `State::store()`), and the handle must stay `Sync` so a `State`
    // can be shared with readers. It is never contended: one executor applies and commits.
    staged: Mutex<Staged>,
}

pub(super) fn to_storage(error: DbError) -> StorageError {
    match error {
        DbError::Corrupt { record, reason } => StorageError::Corrupt { key: record, reason },
        other => StorageError::Io(other.to_string()),
    }
}

fn io(error: sled::Error) -> StorageError {
    StorageError::Io(error.to_string())
}

/// Unseals a state entry read from sled under `sled_key` (prefix included).
fn open_entry(sled_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StorageError> {
    let what = || RecordKey::State(sled_key[1..].to_vec()).describe();
    record::unseal(sled_key, sealed, what).map(<[u8]>::to_vec).map_err(to_storage)
}

impl SledStore {
    pub(super) fn new(tree: sled::Tree) -> SledStore {
        SledStore { tree, staged: Mutex::new(Staged::new()) }
    }

    pub(super) fn staged(&self) -> MutexGuard<'_, Staged> {
        // A panic while staging leaves a map that is still a valid set of writes.
        self.staged.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True if writes are staged and not yet committed.
    pub fn has_staged(&self) -> bool {
        !self.staged().is_empty()
    }

    /// Drops the staged writes (a block whose commit was refused). The ledger's in-memory tree
    /// still holds them, so the caller must reopen its `State` afterwards.
    pub fn discard_staged(&self) {
        self.staged().clear();
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(staged) = self.staged().get(key) {
            return Ok(staged.clone());
        }
        let sled_key = RecordKey::State(key.to_vec()).encode();
        match self.tree.get(&sled_key).map_err(io)? {
            None => Ok(None),
            Some(sealed) => open_entry(&sled_key, &sealed).map(Some),
        }
    }

    fn apply(&mut self, writes: &[Write]) -> Result<(), StorageError> {
        let mut staged = self.staged();
        for (key, value) in writes {
            staged.insert(key.clone(), value.clone());
        }
        Ok(())
    }

    fn entries(&self) -> Result<Vec<Entry>, StorageError> {
        self.scan_prefix(&[])
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        let mut sled_prefix = Vec::with_capacity(1 + prefix.len());
        sled_prefix.push(STATE);
        sled_prefix.extend_from_slice(prefix);
        let mut entries = Vec::new();
        for item in self.tree.scan_prefix(&sled_prefix) {
            let (sled_key, sealed) = item.map_err(io)?;
            entries.push((sled_key[1..].to_vec(), open_entry(&sled_key, &sealed)?));
        }
        let staged = self.staged();
        let overlay: Vec<_> = staged
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .collect();
        if overlay.is_empty() {
            return Ok(entries);
        }
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = entries.into_iter().collect();
        for (key, value) in overlay {
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged.into_iter().collect())
    }
}
