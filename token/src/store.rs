//! The storage seam: the ledger reads and writes canonical bytes through [`Store`], so the same
//! state machine runs over memory (tests, simulator, auditor) and over sled (the node).

use std::collections::BTreeMap;

/// A write to apply: `None` deletes the key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// A stored entry: key and value bytes.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A failure of the storage below the ledger. The block that met it is not applied.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The store could not be read or written.
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// A stored value did not decode: the store is corrupt.
    #[error("stored value under key {key} is corrupt: {reason}")]
    Corrupt {
        /// The key, in hex.
        key: String,
        /// What the codec said.
        reason: String,
    },
}

/// Key-value storage under the ledger. Implementations must apply a batch atomically.
pub trait Store {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Applies all writes, atomically.
    fn apply(&mut self, writes: &[Write]) -> Result<(), StorageError>;
    /// Every entry in key order (for invariant checks and audits).
    fn entries(&self) -> Result<Vec<Entry>, StorageError>;
    /// Every entry whose key starts with `prefix`, in key order. The ledger scans only small
    /// per-account indexes this way (bounded by `MEMBER_ASSETS_MAX` and `MEMBER_DUTIES_MAX`).
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StorageError>;
}

/// An in-memory store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStore {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.map.get(key).cloned())
    }

    fn apply(&mut self, writes: &[Write]) -> Result<(), StorageError> {
        for (key, value) in writes {
            match value {
                Some(value) => self.map.insert(key.clone(), value.clone()),
                None => self.map.remove(key),
            };
        }
        Ok(())
    }

    fn entries(&self) -> Result<Vec<Entry>, StorageError> {
        Ok(self.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        Ok(self
            .map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
