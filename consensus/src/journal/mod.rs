//! The vote journal: an append-only, checksum-framed log of the node's own votes, entry
//! certificates, notarized blocks and highest entered view, synced before any vote of an
//! event-loop turn leaves the node. Each sync closes the turn with a commit frame, so replay
//! can tell a torn unsynced tail (any shape, holes included) from corruption of synced data;
//! see [`mod@frame`] for the layout and the replay rule.

mod file;
pub mod frame;
mod memory;

pub use file::FileStorage;
pub use memory::MemoryStorage;

pub use frame::{
    COMMIT_BYTES, FRAME_HEADER_BYTES, HEADER_BYTES, JOURNAL_RECORD_BYTES_MAX, MAGIC, Salt, frame,
    parse,
};

use crate::types::{Block, Certificate, SignedVote, View};
use serde::{Deserialize, Serialize};

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// The node entered this view.
    Entered(View),
    /// The node signed this vote (kept to re-send it and to never sign a conflicting one).
    Vote(SignedVote),
    /// Records below this view were pruned: never sign a vote for a lower view.
    Floor(View),
    /// The certificate through which the node entered the view after it. Kept so that, for
    /// every view between the last finalized one and the current one, some honest node can
    /// still prove after a restart how that view ended (see the crate docs, "Persistence").
    Certificate(Certificate),
    /// A block this node notarized, journaled before the vote: every notarized block then
    /// survives at f+1 honest nodes, so it can always be fetched again.
    Block(Block),
}

/// The file-like storage under the journal. Implementations: [`FileStorage`] (std::fs with
/// `sync_data`) and [`MemoryStorage`] (the simulator's faulty disk).
pub trait JournalStorage {
    /// Appends bytes at the end (not durable until [`JournalStorage::sync`]).
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes every appended byte durable.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Reads the whole content.
    fn read_all(&mut self) -> std::io::Result<Vec<u8>>;
    /// Cuts the content to `len` bytes, durably.
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
    /// Replaces the whole content atomically and durably (all old bytes or all new ones survive a
    /// crash).
    fn replace(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// A salt for a new journal, unpredictable to peers (block payloads are theirs to choose
    /// and must not be able to imitate commit frames). The default draws it from the standard
    /// library's per-process random hash keys (no random-number crate enters the pure crate);
    /// the simulator's memory disk returns a fixed salt to stay deterministic.
    fn fresh_salt(&mut self) -> Salt {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut salt = [0u8; 16];
        for (i, chunk) in salt.chunks_mut(8).enumerate() {
            let mut hasher = std::hash::RandomState::new().build_hasher();
            hasher.write_usize(i);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        salt
    }
}

/// Why the journal failed. Every variant is fatal to the node.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The storage failed.
    #[error("journal I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// A record in the middle of the file is damaged.
    #[error(
        "journal is corrupt at byte {offset} of {len}: {reason}; refusing to start (restore the \
         file or wipe it only if this validator has never voted with it)"
    )]
    Corrupt {
        /// Where the damaged frame starts.
        offset: usize,
        /// File length.
        len: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A record to append is larger than [`JOURNAL_RECORD_BYTES_MAX`] (a programmer error).
    #[error("journal record of {actual} bytes exceeds {max}")]
    RecordTooLarge {
        /// Bytes of the record.
        actual: usize,
        /// Limit.
        max: usize,
    },
}

/// What replay found.
#[derive(Debug, Default)]
pub struct Replay {
    /// The good records, in order.
    pub records: Vec<Record>,
    /// Bytes cut from a torn tail (0 if the file ended cleanly).
    pub truncated_bytes: usize,
}

/// The journal over a storage.
#[derive(Debug)]
pub struct Journal<S: JournalStorage> {
    storage: S,
    /// This journal's salt (keys its commit checks).
    salt: Salt,
    /// The record frames appended since the last commit (what the next commit covers).
    turn: blake3::Hasher,
    /// Bytes appended since the last commit.
    turn_len: usize,
    /// The file length (where the next append lands).
    len: u64,
    /// The last commit frame written, echoed at the start of the next turn.
    last_commit: Option<[u8; frame::COMMIT_BYTES]>,
    /// Format 1: no magic, no commit frames (the simulator's canary only).
    format_1: bool,
}

impl<S: JournalStorage> Journal<S> {
    fn with(storage: S, salt: Salt, format_1: bool, len: usize) -> Journal<S> {
        let turn = frame::turn_hasher(&salt);
        let len = len as u64;
        Journal { storage, salt, turn, turn_len: 0, len, last_commit: None, format_1 }
    }

    /// Opens and replays: truncates a torn tail, fails on corruption. A new journal gets a
    /// header with a fresh salt; a format-1 journal is rewritten in format 3 after its replay.
    pub fn open(mut storage: S) -> Result<(Journal<S>, Replay), JournalError> {
        let bytes = storage.read_all()?;
        let (records, good, salt) = parse(&bytes)?;
        let truncated_bytes = bytes.len() - good;
        let (salt, len) = match salt {
            Some(salt) => {
                if truncated_bytes > 0 {
                    storage.truncate(good as u64)?;
                }
                (salt, good)
            }
            None => {
                let salt = storage.fresh_salt();
                let image = if records.is_empty() {
                    frame::header(&salt).to_vec()
                } else {
                    frame::image(&salt, &records)?
                };
                storage.replace(&image)?;
                (salt, image.len())
            }
        };
        let mut journal = Journal::with(storage, salt, false, len);
        // The next turn echoes the last commit on disk, as it would had the node not restarted.
        let image = journal.storage.read_all()?;
        if image.len() >= frame::HEADER_BYTES + frame::COMMIT_BYTES {
            let mut last = [0u8; frame::COMMIT_BYTES];
            last.copy_from_slice(&image[image.len() - frame::COMMIT_BYTES..]);
            journal.last_commit = (last[..4] == u32::MAX.to_le_bytes()).then_some(last);
        }
        Ok((journal, Replay { records, truncated_bytes }))
    }

    /// BROKEN ON PURPOSE, for the simulator's canary only: a format-1 journal (no commit
    /// frames, the old replay rule), as before issue 8's defect 6 was fixed.
    #[doc(hidden)]
    pub fn open_format_1(mut storage: S) -> Result<(Journal<S>, Replay), JournalError> {
        let bytes = storage.read_all()?;
        let (records, good) = frame::parse_format_1(&bytes)?;
        let truncated_bytes = bytes.len() - good;
        if truncated_bytes > 0 {
            storage.truncate(good as u64)?;
        }
        Ok((Journal::with(storage, [0; 16], true, good), Replay { records, truncated_bytes }))
    }

    /// Appends a record (durable after [`Journal::sync`]).
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        if self.turn_len == 0
            && let Some(previous) = self.last_commit
        {
            let echo = frame::echo(&self.salt, self.len, &previous);
            self.write(&echo)?;
        }
        let bytes = frame(record)?;
        self.write(&bytes)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        self.storage.append(bytes)?;
        self.turn.update(bytes);
        self.turn_len += bytes.len();
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Closes the turn with a commit frame and syncs, if anything was appended since the last
    /// sync.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.turn_len > 0 {
            if !self.format_1 {
                let commit = frame::commit_of(&self.turn, self.turn_len);
                self.storage.append(&commit)?;
                self.len += commit.len() as u64;
                self.last_commit = Some(commit);
            }
            self.storage.sync()?;
            self.turn = frame::turn_hasher(&self.salt);
            self.turn_len = 0;
        }
        Ok(())
    }

    /// Replaces the whole journal with `records` (pruning), atomically and durably.
    pub fn rewrite(&mut self, records: &[Record]) -> Result<(), JournalError> {
        let image = if self.format_1 {
            records.iter().map(frame).collect::<Result<Vec<_>, _>>()?.concat()
        } else {
            frame::image(&self.salt, records)?
        };
        self.storage.replace(&image)?;
        self.turn = frame::turn_hasher(&self.salt);
        self.turn_len = 0;
        self.len = image.len() as u64;
        let mut last = [0u8; frame::COMMIT_BYTES];
        let tail = image.len().saturating_sub(frame::COMMIT_BYTES);
        last.copy_from_slice(&image[tail..]);
        self.last_commit = (!self.format_1).then_some(last);
        Ok(())
    }

    /// The storage (to inspect it, or to crash it in the simulator).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The storage, borrowed.
    pub fn storage(&self) -> &S {
        &self.storage
    }
}
