//! Tree persistence: a checksummed snapshot file of the ledger state, so a restart does not
//! page every entry out of sled to rebuild the authenticated tree.
//!
//! # Why this design
//!
//! Measured at 10^6 state keys (docs/performance.md): rebuilding the tree from sled is
//! dominated by sled's scan (tens of seconds cold: sled pages its tree in fragment by fragment),
//! not by hashing (~2 s for every key, value, leaf and internal node). So the snapshot is the
//! state's entries in one sequential file, and a restart rebuilds the tree from that file. It
//! stays within the rule that `volt-token` is pure and owns the tree: the token crate's tree
//! has no export or import of its nodes, and `State::open_with_tree` is the one method the
//! node needs there. (Storing the tree's nodes themselves would also skip the hashing; it needs
//! a leaf import in `token/src/tree`, left for when the hashing, not I/O, is what is slow.)
//!
//! # Crash safety without rewriting the snapshot per block
//!
//! A snapshot is written at height `H` (on clean shutdown, or whenever the runtime chooses;
//! it scans the state, so not per block). Every committed block also records, in its own
//! batch, the list of ledger keys it wrote ([`super::RecordKey::Changed`]). On open at applied
//! height `A ≥ H`, the tree is built from the snapshot, its root checked against the
//! snapshot's, then the union of keys changed in `H+1..=A` is re-read from sled and applied,
//! and the root checked against the state root stored with block `A`. Anything missing, stale
//! or damaged (no file, a checksum mismatch, a snapshot above `A`, a missing changed-key list,
//! a root mismatch) falls back to the full rebuild from sled, with the reason reported: the
//! snapshot can make a restart slow, never wrong.
//!
//! # File format (`<db dir>/tree.snapshot`, little-endian)
//! `"voltsnp1"` ‖ height u64 ‖ root 32 bytes ‖ entries u64 ‖ entries × (key length u32 ‖ key ‖
//! value length u32 ‖ value) ‖ blake3 of everything before, 32 bytes. Written to a temporary
//! file, fsynced, renamed over the old one, and the directory fsynced.

use super::chain::Sealed;
use super::record::RecordKey;
use super::state::SledStore;
use super::{DbError, NodeDb, io_error, sled_error};
use std::collections::BTreeSet;
use std::path::Path;
use volt_proto::{Hash, Height};
use volt_token::store::Write;
use volt_token::tree::StateTree;
use volt_token::{STATE_VALUE_BYTES_MAX, State, Store};

/// The snapshot's file name in the database directory.
pub const SNAPSHOT_FILE: &str = "tree.snapshot";
/// Longest ledger key a snapshot holds (the ledger's keys are far shorter).
pub const SNAPSHOT_KEY_BYTES_MAX: usize = 4096;
/// Most entries in one snapshot.
pub const SNAPSHOT_ENTRIES_MAX: u64 = 100_000_000;
/// Largest snapshot file, in bytes (it is read whole). Above it no snapshot is written and a
/// restart rebuilds from sled.
pub const SNAPSHOT_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;

const MAGIC: &[u8; 8] = b"voltsnp1";
const HEADER_BYTES: usize = 8 + 8 + 32 + 8;
const TRAILER_BYTES: usize = 32;

/// What a written snapshot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The applied height it was taken at.
    pub height: Height,
    /// The state root at that height.
    pub root: Hash,
    /// Number of state entries.
    pub entries: u64,
    /// File size.
    pub bytes: u64,
}

/// Where the open ledger's tree came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeSource {
    /// The snapshot at `height`, brought up to date by re-reading `keys_reread` keys changed by
    /// `blocks_caught_up` blocks since.
    Snapshot {
        /// The snapshot's height.
        height: Height,
        /// Blocks between the snapshot and the applied height.
        blocks_caught_up: u64,
        /// Distinct keys re-read from sled and applied to the tree.
        keys_reread: usize,
    },
    /// Rebuilt from every entry in sled, for this reason.
    Rebuilt {
        /// Why the snapshot was not used.
        reason: String,
    },
}

impl NodeDb {
    fn snapshot_path(&self) -> std::path::PathBuf {
        self.dir().join(SNAPSHOT_FILE)
    }

    /// Writes a snapshot of `state` (committed, nothing staged) at the applied height, then
    /// forgets the changed-key lists it covers. Scans every entry: call it on clean shutdown
    /// or every many blocks, on the thread that commits (a concurrent commit would tear it).
    ///
    /// # Panics
    /// If `state` has staged writes (a caller's mistake: snapshot between commits).
    pub fn write_tree_snapshot(&self, state: &State<SledStore>) -> Result<SnapshotInfo, DbError> {
        assert!(!state.store().has_staged(), "snapshot a committed state, between blocks");
        let height = self.applied_height()?;
        let root = state.root();
        if let Some(stored) = self.state_root(height)?
            && stored != root
        {
            let reason = format!("the ledger's root {root} differs from the stored root {stored}");
            return Err(DbError::Corrupt { record: format!("state at height {height}"), reason });
        }
        let entries = state.entries().map_err(DbError::Ledger)?;
        let bytes = encode(height, root, &entries)?;
        let info =
            SnapshotInfo { height, root, entries: entries.len() as u64, bytes: bytes.len() as u64 };
        drop(entries);
        write_durably(&self.snapshot_path(), &bytes)?;
        self.forget_changed_keys(height)?;
        Ok(info)
    }

    /// Changed-key lists at or below `height` are covered by the snapshot.
    fn forget_changed_keys(&self, height: Height) -> Result<(), DbError> {
        let range = RecordKey::Changed(Height(0)).encode()..=RecordKey::Changed(height).encode();
        let mut batch = Sealed(sled::Batch::default());
        for item in self.tree.range(range) {
            let (key, _) = item.map_err(sled_error("listing changed-key lists"))?;
            batch.0.remove(key);
        }
        self.tree.apply_batch(batch.0).map_err(sled_error("forgetting changed-key lists"))
    }

    /// Opens the ledger on this database: the tree from the snapshot brought up to date if it
    /// is usable, else rebuilt from every entry; either way its root is checked against the
    /// root stored with the applied height.
    pub fn open_state(&self) -> Result<(State<SledStore>, TreeSource), DbError> {
        let applied = self.applied_height()?;
        let stored_root = self.state_root(applied)?;
        let (state, source) = match self.tree_from_snapshot(applied, stored_root)? {
            Ok((tree, source)) => {
                let state = State::open_with_tree(self.state_store(), tree);
                (state.map_err(DbError::Ledger)?, source)
            }
            Err(reason) => {
                let state = State::open(self.state_store()).map_err(DbError::Ledger)?;
                (state, TreeSource::Rebuilt { reason })
            }
        };
        if let Some(stored) = stored_root
            && stored != state.root()
        {
            let reason = format!("rebuilt root {} differs from the stored {stored}", state.root());
            return Err(DbError::Corrupt { record: format!("state at height {applied}"), reason });
        }
        Ok((state, source))
    }

    /// The tree from the snapshot at `applied`, or why it cannot be used. Only sled failures
    /// are errors; a bad snapshot is a reason to rebuild.
    fn tree_from_snapshot(
        &self,
        applied: Height,
        stored_root: Option<Hash>,
    ) -> Result<Result<(StateTree, TreeSource), String>, DbError> {
        let (height, root, writes) = match read(&self.snapshot_path()) {
            Ok(snapshot) => snapshot,
            Err(reason) => return Ok(Err(reason)),
        };
        if height > applied {
            return Ok(Err(format!(
                "the snapshot at height {height} is above the applied {applied}"
            )));
        }
        let mut tree = StateTree::new();
        if tree.apply(writes) != root {
            return Ok(Err(format!("the snapshot's entries do not give its root {root}")));
        }
        let mut changed = BTreeSet::new();
        for h in height.0 + 1..=applied.0 {
            match self.changed_keys(Height(h))? {
                Some(keys) => changed.extend(keys),
                None => return Ok(Err(format!("no changed-key list at height {h}"))),
            }
        }
        let store = self.state_store();
        let mut writes: Vec<Write> = Vec::with_capacity(changed.len());
        for key in changed {
            let value = store.get(&key).map_err(DbError::Ledger)?;
            writes.push((key, value));
        }
        let keys_reread = writes.len();
        let caught_up = tree.apply(writes);
        if let Some(stored) = stored_root
            && stored != caught_up
        {
            return Ok(Err(format!(
                "the snapshot brought up to height {applied} gives root {caught_up}, not the \
                 stored {stored}"
            )));
        }
        let blocks_caught_up = applied.0 - height.0;
        Ok(Ok((tree, TreeSource::Snapshot { height, blocks_caught_up, keys_reread })))
    }
}

fn encode(height: Height, root: Hash, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<u8>, DbError> {
    let too_large = |bytes: usize, max: usize| DbError::TooLarge {
        record: format!("tree snapshot at height {height}"),
        bytes,
        max,
    };
    let size: usize = entries.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let size = HEADER_BYTES + size + TRAILER_BYTES;
    if size as u64 > SNAPSHOT_BYTES_MAX {
        return Err(too_large(size, SNAPSHOT_BYTES_MAX as usize));
    }
    if entries.len() as u64 > SNAPSHOT_ENTRIES_MAX {
        return Err(too_large(entries.len(), SNAPSHOT_ENTRIES_MAX as usize));
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&height.0.to_le_bytes());
    out.extend_from_slice(&root.0);
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, value) in entries {
        if key.len() > SNAPSHOT_KEY_BYTES_MAX {
            return Err(too_large(key.len(), SNAPSHOT_KEY_BYTES_MAX));
        }
        // Both lengths fit in u32: keys by the check above, values by the ledger's limit.
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    Ok(out)
}

/// Reads and checks a snapshot file: (height, root, entries as puts), or why it is unusable.
fn read(path: &Path) -> Result<(Height, Hash, Vec<Write>), String> {
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err("no snapshot".to_owned());
        }
        Err(error) => return Err(format!("the snapshot cannot be read: {error}")),
    };
    if size > SNAPSHOT_BYTES_MAX {
        return Err(format!("the snapshot is {size} bytes, over {SNAPSHOT_BYTES_MAX}"));
    }
    let bytes =
        std::fs::read(path).map_err(|error| format!("the snapshot cannot be read: {error}"))?;
    if bytes.len() < HEADER_BYTES + TRAILER_BYTES || &bytes[..8] != MAGIC {
        return Err("the snapshot has no valid header".to_owned());
    }
    let (body, trailer) = bytes.split_at(bytes.len() - TRAILER_BYTES);
    if blake3::hash(body).as_bytes() != trailer {
        return Err("the snapshot fails its checksum".to_owned());
    }
    let mut reader = Reader { bytes: body, at: 8 };
    let height = Height(reader.u64()?);
    let root = Hash(reader.take(32)?.try_into().map_err(|_| "short root".to_owned())?);
    let count = reader.u64()?;
    if count > SNAPSHOT_ENTRIES_MAX {
        return Err(format!("the snapshot claims {count} entries, over {SNAPSHOT_ENTRIES_MAX}"));
    }
    let mut writes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key = reader.sized(SNAPSHOT_KEY_BYTES_MAX)?.to_vec();
        let value = reader.sized(STATE_VALUE_BYTES_MAX)?.to_vec();
        writes.push((key, Some(value)));
    }
    if reader.at != body.len() {
        return Err("the snapshot has bytes after its last entry".to_owned());
    }
    Ok((height, root, writes))
}

/// A bounds-checked cursor over the snapshot's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("the snapshot ends early at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut out = [0u8; 8];
        out.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(out))
    }

    fn sized(&mut self, max: usize) -> Result<&'a [u8], String> {
        let mut len = [0u8; 4];
        len.copy_from_slice(self.take(4)?);
        let len = u32::from_le_bytes(len) as usize;
        if len > max {
            return Err(format!("an entry of {len} bytes is over {max}"));
        }
        self.take(len)
    }
}

/// Writes `bytes` to `path` so that after return either the old or the new file is there,
/// complete, across power loss: temporary file, fsync, rename, fsync the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), DbError> {
    use std::io::Write as _;
    let temporary = path.with_extension("tmp");
    let action = |what: &str| format!("{what} {}", temporary.display());
    let mut file = std::fs::File::create(&temporary).map_err(io_error(action("creating")))?;
    file.write_all(bytes).map_err(io_error(action("writing")))?;
    file.sync_all().map_err(io_error(action("syncing")))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io_error(action("renaming")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir_file =
        std::fs::File::open(dir).map_err(io_error(format!("opening {}", dir.display())))?;
    dir_file.sync_all().map_err(io_error(format!("syncing {}", dir.display())))
}
