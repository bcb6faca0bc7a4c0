//! The ledger's [`Store`] on sled, with a checksum on every value.
//!
//! Each value is stored as `blake3(key ‖ value)[..8] ‖ value`: the checksum covers the key too,
//! so a value copied under another key is caught as well as a flipped bit. A mismatch on read is
//! [`StorageError::Corrupt`] naming the key in hex — never a wrong answer. A batch of writes is
//! one atomic sled batch.
//!
//! Durability: sled's `flush` writes its log but does not `fsync` it durably (sled 0.34's open
//! issue "Data is not written durably"); [`SledStore::flush`] is the call the node makes before
//! it lets the vote journal forget anything it would need to rebuild this store. What survives
//! which crash is the node's to document (issue 9, docs/operations.md).

use std::path::Path;
use volt_token::store::{Entry, StorageError, Store, Write};

/// Bytes of checksum in front of every stored value.
pub const CHECKSUM_BYTES: usize = 8;

/// The ledger state in a sled tree.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
}

fn io(error: sled::Error) -> StorageError {
    StorageError::Io(error.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn checksum(key: &[u8], value: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let mut hasher = blake3::Hasher::new();
    // The key's length first, so (key, value) splits cannot collide.
    hasher.update(&(key.len() as u64).to_le_bytes());
    hasher.update(key);
    hasher.update(value);
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..CHECKSUM_BYTES]);
    out
}

fn seal(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(CHECKSUM_BYTES + value.len());
    sealed.extend_from_slice(&checksum(key, value));
    sealed.extend_from_slice(value);
    sealed
}

fn open_sealed(key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StorageError> {
    let corrupt = |reason: String| StorageError::Corrupt { key: hex(key), reason };
    if sealed.len() < CHECKSUM_BYTES {
        return Err(corrupt(format!("value of {} bytes has no checksum", sealed.len())));
    }
    let (stored, value) = sealed.split_at(CHECKSUM_BYTES);
    let expected = checksum(key, value);
    if stored != expected {
        return Err(corrupt(format!(
            "checksum mismatch: stored {}, computed {}",
            hex(stored),
            hex(&expected)
        )));
    }
    Ok(value.to_vec())
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    pub fn open(path: &Path) -> Result<SledStore, StorageError> {
        let db = sled::open(path).map_err(io)?;
        let tree = db.open_tree("state").map_err(io)?;
        Ok(SledStore { db, tree })
    }

    /// Writes everything applied so far to sled's log (see the module docs on durability).
    pub fn flush(&self) -> Result<(), StorageError> {
        self.db.flush().map(|_| ()).map_err(io)
    }

    /// The sled tree, for tests that damage a value on purpose.
    #[doc(hidden)]
    pub fn raw(&self) -> &sled::Tree {
        &self.tree
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.tree.get(key).map_err(io)? {
            None => Ok(None),
            Some(sealed) => open_sealed(key, &sealed).map(Some),
        }
    }

    fn apply(&mut self, writes: &[Write]) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for (key, value) in writes {
            match value {
                Some(value) => batch.insert(key.as_slice(), seal(key, value)),
                None => batch.remove(key.as_slice()),
            }
        }
        self.tree.apply_batch(batch).map_err(io)
    }

    fn entries(&self) -> Result<Vec<Entry>, StorageError> {
        self.scan_prefix(&[])
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        let mut entries = Vec::new();
        for item in self.tree.scan_prefix(prefix) {
            let (key, sealed) = item.map_err(io)?;
            entries.push((key.to_vec(), open_sealed(&key, &sealed)?));
        }
        Ok(entries)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use volt_proto::{Amount, Call};
    use volt_token::testkit::{World, account, genesis, sym};
    use volt_token::{BlockContext, MemStore, State};

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("volt-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writes_read_back_scan_by_prefix_and_survive_a_reopen() {
        // Proves values round-trip, deletes apply, prefixes scan in key order, and a reopened
        // store holds what was applied.
        let dir = temp_dir("roundtrip");
        {
            let mut store = SledStore::open(&dir).unwrap();
            let writes: Vec<Write> = vec![
                (b"a1".to_vec(), Some(b"one".to_vec())),
                (b"a2".to_vec(), Some(Vec::new())),
                (b"b1".to_vec(), Some(b"two".to_vec())),
            ];
            store.apply(&writes).unwrap();
            store.apply(&[(b"b1".to_vec(), None)]).unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(&dir).unwrap();
        assert_eq!(store.get(b"a1").unwrap(), Some(b"one".to_vec()));
        assert_eq!(store.get(b"a2").unwrap(), Some(Vec::new()));
        assert_eq!(store.get(b"b1").unwrap(), None);
        let scanned: Vec<Vec<u8>> =
            store.scan_prefix(b"a").unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(scanned, vec![b"a1".to_vec(), b"a2".to_vec()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_flipped_byte_or_a_moved_value_is_reported_by_key() {
        // Proves damage is caught on every read path and names the key, never read as data.
        let dir = temp_dir("flip");
        let mut store = SledStore::open(&dir).unwrap();
        store.apply(&[(b"k".to_vec(), Some(b"value".to_vec()))]).unwrap();
        let mut sealed = store.raw().get(b"k").unwrap().unwrap().to_vec();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        store.raw().insert(b"k", sealed.clone()).unwrap();
        let error = store.get(b"k").unwrap_err();
        assert!(matches!(&error, StorageError::Corrupt { key, .. } if key == "6b"), "{error}");
        assert!(store.entries().is_err());
        // An intact value copied under another key fails too: the checksum covers the key.
        sealed[last] ^= 1;
        store.raw().insert(b"other", sealed).unwrap();
        assert!(store.get(b"other").is_err());
        store.raw().insert(b"short", b"abc".as_slice()).unwrap();
        assert!(store.get(b"short").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_ledger_on_sled_reaches_the_same_roots_as_in_memory() {
        // Proves the ledger runs unchanged on sled: the same blocks give the same state root as
        // on the in-memory store, and a reopened sled state rebuilds that root.
        let dir = temp_dir("ledger");
        let g = genesis(&[
            ("admin", volt_proto::Role::Admin),
            ("issuer", volt_proto::Role::Issuer),
            ("alice", volt_proto::Role::Investor),
            ("bob", volt_proto::Role::Investor),
        ]);
        let mut world = World::from_genesis(&g);
        let mut sled_state = State::genesis(SledStore::open(&dir).unwrap(), &g).unwrap();
        let mut mem_state = State::genesis(MemStore::new(), &g).unwrap();
        for i in 0..5u128 {
            let mint =
                Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(100 + i) };
            let pay = Call::Transfer {
                asset: volt_token::testkit::hkd(),
                to: account("bob"),
                amount: Amount(7),
            };
            let txs = vec![world.tx("issuer", mint), world.tx("alice", pay)];
            let ctx: BlockContext = world.next;
            let on_sled = sled_state.apply_block(ctx, &txs).unwrap();
            let in_memory = mem_state.apply_block(ctx, &txs).unwrap();
            assert_eq!(on_sled, in_memory);
            world.block(&txs);
        }
        let root = sled_state.root();
        drop(sled_state);
        let reopened = State::open(SledStore::open(&dir).unwrap()).unwrap();
        assert_eq!(reopened.root(), root);
        assert_eq!(
            reopened.balance(&volt_token::testkit::hkd(), account("bob")).unwrap(),
            Amount(35)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
