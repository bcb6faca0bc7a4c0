//! An in-memory journal disk with the faults a real one has: unsynced bytes are lost or torn at a
//! crash. Used by the simulator and the journal tests.

use super::JournalStorage;

/// Memory storage: `durable` survives a crash, `pending` (appended, not yet synced) does not.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    durable: Vec<u8>,
    pending: Vec<u8>,
    syncs: u64,
}

impl MemoryStorage {
    /// An empty disk.
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// A disk holding `bytes` durably (for corruption tests).
    pub fn with_bytes(bytes: Vec<u8>) -> MemoryStorage {
        MemoryStorage { durable: bytes, pending: Vec::new(), syncs: 0 }
    }

    /// Simulates a power loss: of the unsynced bytes only the first `keep` survive (a torn
    /// write when `0 < keep < pending`); `keep` is clamped.
    pub fn crash(&mut self, keep: usize) {
        let keep = keep.min(self.pending.len());
        self.durable.extend_from_slice(&self.pending[..keep]);
        self.pending.clear();
    }

    /// Simulates a power loss that kept the first `keep` unsynced bytes except the `holes`
    /// (offsets into the unsynced bytes), which read back as zeros: pages of the write were
    /// lost while later ones reached the disk. Both are clamped.
    pub fn crash_with_holes(&mut self, keep: usize, holes: &[std::ops::Range<usize>]) {
        let keep = keep.min(self.pending.len());
        for hole in holes {
            let end = hole.end.min(keep);
            let start = hole.start.min(end);
            self.pending[start..end].fill(0);
        }
        self.crash(keep);
    }

    /// Unsynced bytes.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Durable bytes.
    pub fn durable(&self) -> &[u8] {
        &self.durable
    }

    /// Number of syncs performed.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }
}

impl JournalStorage for MemoryStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.durable.append(&mut self.pending);
        self.syncs += 1;
        Ok(())
    }

    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut all = self.durable.clone();
        all.extend_from_slice(&self.pending);
        Ok(all)
    }

    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        let mut all = self.read_all()?;
        all.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        self.durable = all;
        self.pending.clear();
        Ok(())
    }

    fn replace(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.durable = bytes.to_vec();
        self.pending.clear();
        self.syncs += 1;
        Ok(())
    }

    fn fresh_salt(&mut self) -> super::Salt {
        // Deterministic for the simulator, and not the all-zero salt tools use.
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&blake3::hash(b"volt memory journal salt").as_bytes()[..16]);
        salt
    }
}
