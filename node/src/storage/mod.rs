//! The node's storage: one sled database holding the ledger state, the finalized chain (blocks,
//! finalization certificates, receipts, a tx-id index, state certificates), the last applied
//! height and the genesis id.
//!
//! # Persistence model
//!
//! sled is a cache of the finalized chain that can be rebuilt (DESIGN.md, "Storage"): the vote
//! journal is the durable record, and sled is made durable before the journal forgets anything
//! sled would need.
//!
//! - **One tree, key prefixes** (`record.rs`), not sled's multi-tree transactions: one
//!   `sled::Batch` on one tree is all that atomicity needs, sled recovers it all-or-nothing
//!   (its log seals each batch with a `BatchManifest`; recovery drops a batch whose manifest or
//!   any write is missing), and it avoids the transaction machinery's retries and overhead.
//! - **One batch per finalized block**: [`SledStore`]'s `apply` only stages the ledger's writes;
//!   [`NodeDb::commit_block`] writes them with the block, its finalization, receipts, tx index
//!   entries and the new applied height in one batch. After a crash the store holds every
//!   block up to some height `h` with exactly the state after `h`: never half a block.
//! - **Checksums on every value**, bound to the key; a mismatch is [`DbError::Corrupt`] naming
//!   the record, never a wrong answer.
//! - **Durability**: a committed batch sits in sled's in-process log buffer until sled writes
//!   it (its flusher thread every [`FLUSH_EVERY_MS`], or a `flush`); sled's flush is not a
//!   durable fsync (`sync_file_range`). [`NodeDb::make_durable`] flushes, then `fsync`s every
//!   file under the database directory and the directories. docs/operations.md says exactly
//!   what survives kill -9 and power loss.
//! - **The authenticated tree** persists as a checksummed snapshot file of the state plus, per
//!   block, the list of keys it wrote; [`NodeDb::open_state`] rebuilds the tree from the file,
//!   catches it up from those lists and checks the root, or falls back to a full rebuild from
//!   sled. Measured at 10^6 keys in docs/performance.md. See `snapshot.rs`.

mod chain;
mod record;
mod snapshot;
mod state;

pub use chain::{
    BLOCK_RECORD_BYTES_MAX, CHANGED_KEYS_RECORD_BYTES_MAX, FINALIZATION_BYTES_MAX,
    RECEIPT_BYTES_MAX, RECEIPTS_RECORD_BYTES_MAX, STATE_CERTIFICATE_BYTES_MAX, StoredBlock,
};
pub use record::{CHECKSUM_BYTES, RecordKey};
pub use snapshot::{
    SNAPSHOT_BYTES_MAX, SNAPSHOT_ENTRIES_MAX, SNAPSHOT_FILE, SNAPSHOT_KEY_BYTES_MAX, SnapshotInfo,
    TreeSource,
};
pub use state::SledStore;

use std::path::{Path, PathBuf};
use volt_proto::Hash;

/// How often sled's background thread writes its log buffer to the file and `sync_all`s it
/// (sled 0.34's default, set explicitly so the documented figure is the one in force).
pub const FLUSH_EVERY_MS: u64 = 500;

/// The sled database's directory under the node's database directory.
const SLED_DIR: &str = "sled";

/// The name of the sled tree that holds every record.
const TREE: &str = "volt-node";

/// Why storage failed. Every variant stops the node: storage is not retried around.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// sled or the file system failed.
    #[error("storage I/O failed while {action}: {error}")]
    Io {
        /// What was being done.
        action: String,
        /// What the layer below said.
        error: String,
    },
    /// A stored value failed its checksum or did not decode.
    #[error("stored {record} is corrupt: {reason}")]
    Corrupt {
        /// Which record: its kind and height or key in hex.
        record: String,
        /// What was wrong.
        reason: String,
    },
    /// The data directory was created for another chain.
    #[error(
        "the data directory was created with genesis {stored}, but the node was started with \
         genesis {given}; use the genesis it was created with, or a fresh data directory"
    )]
    GenesisMismatch {
        /// The id recorded when the directory was created.
        stored: Hash,
        /// The id this start was given.
        given: Hash,
    },
    /// A record is over its named limit.
    #[error("{record} is {bytes} bytes; at most {max} are allowed")]
    TooLarge {
        /// Which record.
        record: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Blocks commit in height order, each on top of the last applied one.
    #[error("block at height {got} does not follow the applied height {applied}")]
    OutOfOrder {
        /// The applied height.
        applied: volt_proto::Height,
        /// The block's height.
        got: volt_proto::Height,
    },
    /// The ledger's view of the store failed.
    #[error(transparent)]
    Ledger(volt_token::StorageError),
    /// No genesis state has been committed yet.
    #[error("the store holds no genesis state yet")]
    NoGenesis,
}

pub(crate) fn sled_error(action: &str) -> impl Fn(sled::Error) -> DbError + '_ {
    move |error| DbError::Io { action: action.to_owned(), error: error.to_string() }
}

pub(crate) fn io_error(action: String) -> impl Fn(std::io::Error) -> DbError {
    move |error| DbError::Io { action: action.clone(), error: error.to_string() }
}

/// The node's database: one sled `Db` at a directory. Cloning shares it (sled handles are
/// reference-counted).
#[derive(Clone)]
pub struct NodeDb {
    dir: PathBuf,
    db: sled::Db,
    pub(super) tree: sled::Tree,
}

impl NodeDb {
    /// Opens or creates the database in `dir`. On create it records `genesis_id`; on open it
    /// refuses a different one ([`DbError::GenesisMismatch`] naming both ids).
    pub fn open(dir: &Path, genesis_id: Hash) -> Result<NodeDb, DbError> {
        let db = sled::Config::new()
            .path(dir.join(SLED_DIR))
            .flush_every_ms(Some(FLUSH_EVERY_MS))
            .open()
            .map_err(sled_error("opening the database"))?;
        let tree = db.open_tree(TREE).map_err(sled_error("opening the node tree"))?;
        let node = NodeDb { dir: dir.to_path_buf(), db, tree };
        match node.read_hash(&RecordKey::GenesisId)? {
            Some(stored) if stored != genesis_id => {
                return Err(DbError::GenesisMismatch { stored, given: genesis_id });
            }
            Some(_) => {}
            None => {
                node.put(&RecordKey::GenesisId, &genesis_id.0)?;
                // The genesis id must never be lost while the data it guards survives.
                node.make_durable()?;
            }
        }
        Ok(node)
    }

    /// The directory the database lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ledger store handle for `volt_token::State` (its own, empty overlay).
    pub fn state_store(&self) -> SledStore {
        SledStore::new(self.tree.clone())
    }

    /// Flushes sled, then `fsync`s every file under the database directory and every directory
    /// in it: after this returns, everything committed so far survives power loss. The runtime
    /// calls it before the vote journal prunes below a height.
    pub fn make_durable(&self) -> Result<(), DbError> {
        self.db.flush().map_err(sled_error("flushing"))?;
        sync_tree(&self.dir)
    }

    /// The sled tree, for tests that damage a value on purpose.
    #[doc(hidden)]
    pub fn raw(&self) -> &sled::Tree {
        &self.tree
    }

    /// Writes one sealed record outside a block batch.
    pub(super) fn put(&self, key: &RecordKey, value: &[u8]) -> Result<(), DbError> {
        let sled_key = key.encode();
        self.tree
            .insert(&sled_key, record::seal(&sled_key, value))
            .map_err(sled_error("writing a record"))?;
        Ok(())
    }

    /// Reads and unseals one record.
    pub(super) fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, DbError> {
        let sled_key = key.encode();
        let Some(sealed) = self.tree.get(&sled_key).map_err(sled_error("reading a record"))? else {
            return Ok(None);
        };
        record::unseal(&sled_key, &sealed, || key.describe()).map(|v| Some(v.to_vec()))
    }

    fn read_hash(&self, key: &RecordKey) -> Result<Option<Hash>, DbError> {
        let Some(bytes) = self.get(key)? else {
            return Ok(None);
        };
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| DbError::Corrupt {
            record: key.describe(),
            reason: format!("{} bytes where a 32-byte hash belongs", bytes.len()),
        })?;
        Ok(Some(Hash(array)))
    }
}

/// `fsync`s every file under `dir` and every directory, `dir` included (a file's directory
/// entry is durable only once its directory is synced).
fn sync_tree(dir: &Path) -> Result<(), DbError> {
    let listing = std::fs::read_dir(dir).map_err(io_error(format!("listing {}", dir.display())))?;
    for entry in listing {
        let entry = entry.map_err(io_error(format!("listing {}", dir.display())))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_error(format!("inspecting {}", path.display())))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            sync_path(&path)?;
        }
    }
    sync_path(dir)
}

fn sync_path(path: &Path) -> Result<(), DbError> {
    let action = || format!("syncing {}", path.display());
    let file = std::fs::File::open(path).map_err(io_error(action()))?;
    file.sync_all().map_err(io_error(action()))
}
