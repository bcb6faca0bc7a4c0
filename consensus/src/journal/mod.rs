//! The vote journal: an append-only, length- and checksum-framed log of the node's own votes and
//! of the highest view it entered, synced before any vote of an event-loop turn leaves the node.
//!
//! # Frame
//! `len: u32 LE ‖ header_check: [u8; 4] ‖ body_check: [u8; 8] ‖ body: [u8; len]`, where
//! `header_check` is blake3(`len`)[..4] and `body_check` is blake3(`len ‖ body`)[..8]; `body` is
//! the canonical encoding of a [`Record`].
//!
//! # Replay
//! Storage can tear the tail of the file (a write that was never synced is kept in part or not at
//! all, or the file was extended with zeros). Replay therefore accepts records while they check,
//! and classifies the first bad spot:
//! - fewer bytes than a frame header left, only zeros left, or a frame whose body runs past the
//!   end of file, or a bad body checksum in the *last* frame: a torn tail. The file is truncated
//!   to the end of the last good record and replay succeeds.
//! - anything else (a bad header checksum, or a bad body checksum with more bytes after the
//!   frame, an oversized length, a body that does not decode): corruption in the middle. Replay
//!   fails with [`JournalError::Corrupt`] and the node must stop: guessing could make it sign a
//!   vote that conflicts with one it already sent.
//!
//! A bad body checksum in the last frame cannot be told apart from a torn write, so a bit flip
//! there is treated as a torn tail (the vote is lost; see the crate docs for why that is the one
//! accepted weakness of a single-file journal without a trailer).

mod file;
mod memory;

pub use file::FileStorage;
pub use memory::MemoryStorage;

use crate::types::{BLOCK_PAYLOAD_BYTES_MAX, Block, Certificate, SignedVote, View};
use serde::{Deserialize, Serialize};
use volt_proto::codec;

/// Largest record body, in bytes: a block with the largest payload and its header (a vote is
/// about 150 bytes, a certificate of [`crate::types::VALIDATORS_MAX`] signers about 8.3 KiB).
pub const JOURNAL_RECORD_BYTES_MAX: usize = BLOCK_PAYLOAD_BYTES_MAX + 4096;
/// Bytes of a frame header.
pub const FRAME_HEADER_BYTES: usize = 16;

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
    unsynced: bool,
}

fn check4(len: &[u8; 4]) -> [u8; 4] {
    let h = blake3::hash(len);
    let mut out = [0u8; 4];
    out.copy_from_slice(&h.as_bytes()[..4]);
    out
}

fn check8(len: &[u8; 4], body: &[u8]) -> [u8; 8] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(len);
    hasher.update(body);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

/// The framed bytes of one record.
pub fn frame(record: &Record) -> Result<Vec<u8>, JournalError> {
    let body = codec::encode(record);
    if body.len() > JOURNAL_RECORD_BYTES_MAX {
        return Err(JournalError::RecordTooLarge {
            actual: body.len(),
            max: JOURNAL_RECORD_BYTES_MAX,
        });
    }
    let len = (body.len() as u32).to_le_bytes();
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + body.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&check4(&len));
    out.extend_from_slice(&check8(&len, &body));
    out.extend_from_slice(&body);
    Ok(out)
}

/// Parses journal bytes: the good records and where the good prefix ends, or corruption.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Record>, usize), JournalError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    let corrupt = |offset, reason| JournalError::Corrupt { offset, len: bytes.len(), reason };
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < FRAME_HEADER_BYTES || rest.iter().all(|b| *b == 0) {
            break; // torn tail
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&rest[..4]);
        if rest[4..8] != check4(&len) {
            return Err(corrupt(at, "frame header checksum mismatch"));
        }
        let body_len = u32::from_le_bytes(len) as usize;
        if body_len > JOURNAL_RECORD_BYTES_MAX {
            return Err(corrupt(at, "frame length over the record limit"));
        }
        let end = FRAME_HEADER_BYTES + body_len;
        if rest.len() < end {
            break; // torn tail: the body was never fully written
        }
        let body = &rest[FRAME_HEADER_BYTES..end];
        if rest[8..16] != check8(&len, body) {
            if rest.len() == end {
                break; // the last frame: indistinguishable from a torn write
            }
            return Err(corrupt(at, "record checksum mismatch"));
        }
        let record: Record = codec::decode(body, JOURNAL_RECORD_BYTES_MAX)
            .map_err(|_| corrupt(at, "record does not decode"))?;
        records.push(record);
        at += end;
    }
    Ok((records, at))
}

impl<S: JournalStorage> Journal<S> {
    /// Opens and replays: truncates a torn tail, fails on corruption.
    pub fn open(mut storage: S) -> Result<(Journal<S>, Replay), JournalError> {
        let bytes = storage.read_all()?;
        let (records, good) = parse(&bytes)?;
        let truncated_bytes = bytes.len() - good;
        if truncated_bytes > 0 {
            storage.truncate(good as u64)?;
        }
        Ok((Journal { storage, unsynced: false }, Replay { records, truncated_bytes }))
    }

    /// Appends a record (durable after [`Journal::sync`]).
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let bytes = frame(record)?;
        self.storage.append(&bytes)?;
        self.unsynced = true;
        Ok(())
    }

    /// Syncs if anything was appended since the last sync.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.unsynced {
            self.storage.sync()?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Replaces the whole journal with `records` (pruning), atomically and durably.
    pub fn rewrite(&mut self, records: &[Record]) -> Result<(), JournalError> {
        let mut bytes = Vec::new();
        for record in records {
            bytes.extend_from_slice(&frame(record)?);
        }
        self.storage.replace(&bytes)?;
        self.unsynced = false;
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
