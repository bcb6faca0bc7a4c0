//! Journal framing: record frames, the commit frame that closes each turn, and replay.
//!
//! # Layout (format 2)
//! `MAGIC ‖ turn ‖ turn ‖ …`, where a turn is `frame* ‖ commit`:
//! - a record frame is `len: u32 LE ‖ header_check: [u8; 4] ‖ body_check: [u8; 8] ‖ body`, with
//!   `header_check = blake3(len)[..4]`, `body_check = blake3(len ‖ body)[..8]`, `body` the
//!   canonical encoding of a [`Record`] of at most [`JOURNAL_RECORD_BYTES_MAX`] bytes;
//! - a commit frame is `COMMIT_LEN ‖ blake3(COMMIT_LEN)[..4] ‖ blake3(COMMIT_LEN ‖ turn)[..8]`,
//!   where `turn` is every byte of the turn's record frames. It is written just before the
//!   turn's sync.
//!
//! # Replay
//! Records count only once their turn's commit checks. Everything after the last valid commit
//! is the unsynced tail of a crash, whatever shape the disk left it in (a cut, zeros, or a hole
//! where a middle page was lost but a later one kept): it is truncated. A bad frame is
//! corruption, and stops the node, only when a valid commit follows it, i.e. when synced data
//! lies beyond the damage. (Damage inside the last committed turn cannot be told from a torn
//! unsynced turn; that turn's records are then dropped, the one weakness a single file without
//! a second copy keeps.)
//!
//! Files without the magic are format 1 (frames without commits) and are replayed by the old
//! rule: a bad frame is a torn tail only at the very end.

use super::{JournalError, Record};
use crate::types::BLOCK_PAYLOAD_BYTES_MAX;
use volt_proto::codec;

/// Largest record body, in bytes: a block with the largest payload and its header (a vote is
/// about 150 bytes, a certificate of [`crate::types::VALIDATORS_MAX`] signers about 8.3 KiB).
pub const JOURNAL_RECORD_BYTES_MAX: usize = BLOCK_PAYLOAD_BYTES_MAX + 4096;
/// Bytes of a frame header (and of a whole commit frame).
pub const FRAME_HEADER_BYTES: usize = 16;
/// The first bytes of a format-2 journal.
pub const MAGIC: [u8; 8] = *b"VOLTJNL2";
/// The length field that marks a commit frame (never a record length).
const COMMIT_LEN: [u8; 4] = u32::MAX.to_le_bytes();

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

/// The commit frame closing a turn whose record frames are `turn`.
pub fn commit(turn: &[u8]) -> [u8; FRAME_HEADER_BYTES] {
    let mut hasher = turn_hasher();
    hasher.update(turn);
    commit_of(&hasher)
}

/// A hasher to feed a turn's record frames into, as they are appended.
pub(super) fn turn_hasher() -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&COMMIT_LEN);
    hasher
}

/// The commit frame of the turn fed into `hasher`.
pub(super) fn commit_of(hasher: &blake3::Hasher) -> [u8; FRAME_HEADER_BYTES] {
    let mut out = [0u8; FRAME_HEADER_BYTES];
    out[..4].copy_from_slice(&COMMIT_LEN);
    out[4..8].copy_from_slice(&check4(&COMMIT_LEN));
    out[8..].copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

/// A whole journal image holding `records` as one committed turn (for rewrites and tests).
pub fn image(records: &[Record]) -> Result<Vec<u8>, JournalError> {
    let mut turn = Vec::new();
    for record in records {
        turn.extend_from_slice(&frame(record)?);
    }
    let mut out = Vec::with_capacity(MAGIC.len() + turn.len() + FRAME_HEADER_BYTES);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&turn);
    out.extend_from_slice(&commit(&turn));
    Ok(out)
}

/// One frame read at `at`: a record and its end, a commit and its end, or damage.
enum Frame {
    Record(Record, usize),
    Commit([u8; 8], usize),
    Bad(&'static str),
}

fn read_frame(bytes: &[u8], at: usize) -> Frame {
    let rest = &bytes[at..];
    if rest.len() < FRAME_HEADER_BYTES {
        return Frame::Bad("frame header cut short");
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&rest[..4]);
    if rest[4..8] != check4(&len) {
        return Frame::Bad("frame header checksum mismatch");
    }
    let mut check = [0u8; 8];
    check.copy_from_slice(&rest[8..16]);
    if len == COMMIT_LEN {
        return Frame::Commit(check, at + FRAME_HEADER_BYTES);
    }
    let body_len = u32::from_le_bytes(len) as usize;
    if body_len > JOURNAL_RECORD_BYTES_MAX {
        return Frame::Bad("frame length over the record limit");
    }
    let end = FRAME_HEADER_BYTES + body_len;
    if rest.len() < end {
        return Frame::Bad("frame body cut short");
    }
    let body = &rest[FRAME_HEADER_BYTES..end];
    if check != check8(&len, body) {
        return Frame::Bad("record checksum mismatch");
    }
    match codec::decode(body, JOURNAL_RECORD_BYTES_MAX) {
        Ok(record) => Frame::Record(record, at + end),
        Err(_) => Frame::Bad("record does not decode"),
    }
}

/// Parses journal bytes: the committed records and where the committed prefix ends, or
/// corruption.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Record>, usize), JournalError> {
    if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) {
        return Ok((Vec::new(), 0)); // torn at creation
    }
    if !bytes.starts_with(&MAGIC) {
        return parse_format_1(bytes);
    }
    let mut records = Vec::new();
    let mut turn = Vec::new();
    let mut committed = MAGIC.len();
    let mut at = committed;
    while at < bytes.len() {
        match read_frame(bytes, at) {
            Frame::Record(record, end) => {
                turn.push(record);
                at = end;
            }
            Frame::Commit(check, end) if check == check8(&COMMIT_LEN, &bytes[committed..at]) => {
                records.append(&mut turn);
                committed = end;
                at = end;
            }
            Frame::Commit(..) => return damaged(bytes, committed, at, "commit checksum mismatch"),
            Frame::Bad(reason) => return damaged(bytes, committed, at, reason),
        }
    }
    Ok((records, committed))
}

/// Damage at `at` after the committed prefix `..committed`: corruption when a valid commit
/// lies beyond it, a torn tail otherwise.
fn damaged(
    bytes: &[u8],
    committed: usize,
    at: usize,
    reason: &'static str,
) -> Result<(Vec<Record>, usize), JournalError> {
    let prefix = commit(&[]);
    let marker = &prefix[..8];
    let candidates: Vec<usize> = (at..bytes.len().saturating_sub(FRAME_HEADER_BYTES - 1))
        .filter(|i| &bytes[*i..*i + 8] == marker)
        .collect();
    // A commit is proven valid by the bytes since the commit before it (or the one before that,
    // in case a record's payload happens to hold the marker); the first one after the damage
    // by the bytes since the committed prefix, or since the damaged frame if that frame was
    // itself a commit (16 bytes).
    for (j, c) in candidates.iter().enumerate() {
        let earlier = candidates[j.saturating_sub(2)..j].iter().map(|p| p + FRAME_HEADER_BYTES);
        let first = if j == 0 { vec![committed, at + FRAME_HEADER_BYTES] } else { Vec::new() };
        for start in earlier.chain(first) {
            if start <= *c && bytes[c + 8..c + 16] == check8(&COMMIT_LEN, &bytes[start..*c]) {
                let len = bytes.len();
                return Err(JournalError::Corrupt { offset: at, len, reason });
            }
        }
    }
    parse(&bytes[..committed])
}

/// Format 1: frames without commits; a bad frame is a torn tail only at the end of the file.
pub(super) fn parse_format_1(bytes: &[u8]) -> Result<(Vec<Record>, usize), JournalError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    let corrupt = |offset, reason| JournalError::Corrupt { offset, len: bytes.len(), reason };
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < FRAME_HEADER_BYTES || rest.iter().all(|b| *b == 0) {
            break;
        }
        match read_frame(bytes, at) {
            Frame::Record(record, end) => {
                records.push(record);
                at = end;
            }
            Frame::Bad("frame body cut short") => break,
            Frame::Bad("record checksum mismatch") if is_last_frame(rest) => break,
            Frame::Bad(reason) => return Err(corrupt(at, reason)),
            Frame::Commit(..) => return Err(corrupt(at, "commit frame in a format-1 journal")),
        }
    }
    Ok((records, at))
}

fn is_last_frame(rest: &[u8]) -> bool {
    let mut len = [0u8; 4];
    len.copy_from_slice(&rest[..4]);
    FRAME_HEADER_BYTES + u32::from_le_bytes(len) as usize == rest.len()
}
