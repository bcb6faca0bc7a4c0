//! Journal framing: record frames, the commit frame that closes each turn, and replay.
//!
//! # Layout (format 3)
//! `header ‖ turn ‖ turn ‖ …`, where the header is `MAGIC ‖ salt: [u8; 16] ‖
//! blake3(MAGIC ‖ salt)[..8]` and a turn is `frame* ‖ commit`:
//! - a record frame is `len: u32 LE ‖ header_check: [u8; 4] ‖ body_check: [u8; 8] ‖ body`, with
//!   `header_check = blake3(len)[..4]`, `body_check = blake3(len ‖ body)[..8]`, `body` the
//!   canonical encoding of a [`Record`] of at most [`JOURNAL_RECORD_BYTES_MAX`] bytes;
//! - a commit frame is `COMMIT_LEN ‖ blake3(COMMIT_LEN)[..4] ‖ check: [u8; 8] ‖ turn_len: u32
//!   LE`, `check = blake3_keyed(key(salt), turn ‖ turn_len)[..8]`, where `turn` is every byte of
//!   the turn's record frames. It is written just before the turn's sync.
//!
//! Each turn after the first opens with an echo frame, `ECHO_LEN ‖ blake3(ECHO_LEN)[..4] ‖
//! previous commit's check ‖ previous turn_len ‖ blake3_keyed(key(salt), offset ‖ those 12
//! bytes)[..8]`, written only after the previous turn's sync returned: a valid echo at offset
//! `e` proves every byte before `e` was synced, even when the damage destroyed the commit
//! frame just before it.
//!
//! The salt is drawn when the journal is created ([`super::JournalStorage::fresh_salt`]) and
//! kept across rewrites. Block payloads are chosen by peers, so a payload may hold bytes that
//! look like commit frames; without the salt nobody can make one that checks, and the turn
//! length lets replay check a commit found after damage on its own.
//!
//! # Replay
//! Records count only once their turn's commit checks. Everything after the last valid commit
//! is the unsynced tail of a crash, whatever shape the disk left it in (a cut, zeros, or a hole
//! where a middle page was lost but a later one kept): it is truncated. A bad frame is
//! corruption, and stops the node, only when a valid commit of a later turn follows it, i.e.
//! when synced data lies beyond the damage. (Damage inside the last synced turn, with nothing
//! valid after it, cannot be told from a torn unsynced turn; that turn's records are then
//! dropped, the one weakness a single file without a second copy keeps.)
//!
//! Files without the magic are format 1 (frames without commits) and are replayed by the old
//! rule: a bad frame is a torn tail only at the very end.

use super::{JournalError, Record};
use crate::types::BLOCK_PAYLOAD_BYTES_MAX;
use volt_proto::codec;

/// Largest record body, in bytes: a block with the largest payload and its header (a vote is
/// about 150 bytes, a certificate of [`crate::types::VALIDATORS_MAX`] signers about 8.3 KiB).
pub const JOURNAL_RECORD_BYTES_MAX: usize = BLOCK_PAYLOAD_BYTES_MAX + 4096;
/// Bytes of a frame header.
pub const FRAME_HEADER_BYTES: usize = 16;
/// Bytes of a commit frame.
pub const COMMIT_BYTES: usize = 20;
/// The first bytes of a format-3 journal.
pub const MAGIC: [u8; 8] = *b"VOLTJNL3";
/// Bytes of the journal header (magic, salt, check).
pub const HEADER_BYTES: usize = 32;
/// A journal's salt.
pub type Salt = [u8; 16];
/// Bytes hashed at most while looking for a valid commit after damage: a payload full of
/// commit look-alikes cannot make a restart slow (past it, the damage counts as a torn tail).
const DAMAGE_SCAN_BYTES_MAX: usize = 256 * 1024 * 1024;
/// The length field that marks a commit frame (never a record length).
const COMMIT_LEN: [u8; 4] = u32::MAX.to_le_bytes();
/// The length field that marks an echo frame.
const ECHO_LEN: [u8; 4] = (u32::MAX - 1).to_le_bytes();
/// Bytes of an echo frame.
pub const ECHO_BYTES: usize = 28;

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

/// The journal header for `salt`.
pub fn header(salt: &Salt) -> [u8; HEADER_BYTES] {
    let mut out = [0u8; HEADER_BYTES];
    out[..8].copy_from_slice(&MAGIC);
    out[8..24].copy_from_slice(salt);
    let check = blake3::hash(&out[..24]);
    out[24..].copy_from_slice(&check.as_bytes()[..8]);
    out
}

fn key(salt: &Salt) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"volt journal commit key");
    hasher.update(salt);
    *hasher.finalize().as_bytes()
}

/// A hasher to feed a turn's record frames into, as they are appended.
pub(super) fn turn_hasher(salt: &Salt) -> blake3::Hasher {
    blake3::Hasher::new_keyed(&key(salt))
}

/// The commit frame of the `turn_len` bytes fed into `hasher`.
pub(super) fn commit_of(hasher: &blake3::Hasher, turn_len: usize) -> [u8; COMMIT_BYTES] {
    let turn_len = (turn_len as u32).to_le_bytes();
    let mut hasher = hasher.clone();
    hasher.update(&turn_len);
    let mut out = [0u8; COMMIT_BYTES];
    out[..4].copy_from_slice(&COMMIT_LEN);
    out[4..8].copy_from_slice(&check4(&COMMIT_LEN));
    out[8..16].copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out[16..].copy_from_slice(&turn_len);
    out
}

/// The commit frame closing a turn whose record frames are `turn`, under `salt`.
pub fn commit_salted(salt: &Salt, turn: &[u8]) -> [u8; COMMIT_BYTES] {
    let mut hasher = turn_hasher(salt);
    hasher.update(turn);
    commit_of(&hasher, turn.len())
}

/// The commit frame of `turn` under the all-zero salt (for tests and tools).
pub fn commit(turn: &[u8]) -> [u8; COMMIT_BYTES] {
    commit_salted(&[0; 16], turn)
}

/// The echo frame written at `offset` for a previous commit frame `previous`.
pub(super) fn echo(salt: &Salt, offset: u64, previous: &[u8; COMMIT_BYTES]) -> [u8; ECHO_BYTES] {
    let mut out = [0u8; ECHO_BYTES];
    out[..4].copy_from_slice(&ECHO_LEN);
    out[4..8].copy_from_slice(&check4(&ECHO_LEN));
    out[8..16].copy_from_slice(&previous[8..16]);
    out[16..20].copy_from_slice(&previous[16..20]);
    let mut hasher = blake3::Hasher::new_keyed(&key(salt));
    hasher.update(b"echo");
    hasher.update(&offset.to_le_bytes());
    hasher.update(&out[8..20]);
    out[20..].copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

fn echo_valid(salt: &Salt, bytes: &[u8], at: usize) -> bool {
    if bytes.len() < at + ECHO_BYTES || bytes[at..at + 4] != ECHO_LEN {
        return false;
    }
    let mut previous = [0u8; COMMIT_BYTES];
    previous[8..20].copy_from_slice(&bytes[at + 8..at + 20]);
    echo(salt, at as u64, &previous)[..] == bytes[at..at + ECHO_BYTES]
}

/// A whole journal image holding `records` as one committed turn (for rewrites and tests).
pub fn image(salt: &Salt, records: &[Record]) -> Result<Vec<u8>, JournalError> {
    let mut turn = Vec::new();
    for record in records {
        turn.extend_from_slice(&frame(record)?);
    }
    let mut out = Vec::with_capacity(HEADER_BYTES + turn.len() + COMMIT_BYTES);
    out.extend_from_slice(&header(salt));
    out.extend_from_slice(&turn);
    out.extend_from_slice(&commit_salted(salt, &turn));
    Ok(out)
}

/// One frame read at `at`: a record and its end, a commit and its end, or damage.
enum Frame {
    Record(Record, usize),
    /// A commit: its check, the turn length it claims, and its end.
    Commit([u8; 8], usize, usize),
    /// An echo of the previous commit (checked by the caller, which knows the salt); its end.
    Echo(usize),
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
    if len == ECHO_LEN {
        if rest.len() < ECHO_BYTES {
            return Frame::Bad("echo frame cut short");
        }
        return Frame::Echo(at + ECHO_BYTES);
    }
    if len == COMMIT_LEN {
        if rest.len() < COMMIT_BYTES {
            return Frame::Bad("commit frame cut short");
        }
        let mut turn_len = [0u8; 4];
        turn_len.copy_from_slice(&rest[16..20]);
        return Frame::Commit(check, u32::from_le_bytes(turn_len) as usize, at + COMMIT_BYTES);
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

/// Parses journal bytes: the committed records, where the committed prefix ends, and the
/// salt (`None` for a format-1 or empty journal), or corruption.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Record>, usize, Option<Salt>), JournalError> {
    if bytes.len() < HEADER_BYTES && bytes.starts_with(&MAGIC[..bytes.len().min(8)]) {
        return Ok((Vec::new(), 0, None)); // torn at creation, before the header was synced
    }
    if !bytes.starts_with(&MAGIC) {
        let (records, good) = parse_format_1(bytes)?;
        return Ok((records, good, None));
    }
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&bytes[8..24]);
    if bytes[..HEADER_BYTES] != header(&salt) {
        let len = bytes.len();
        return Err(JournalError::Corrupt { offset: 0, len, reason: "journal header mismatch" });
    }
    let mut records = Vec::new();
    let mut turn = Vec::new();
    let mut committed = HEADER_BYTES;
    let mut at = committed;
    while at < bytes.len() {
        match read_frame(bytes, at) {
            Frame::Record(record, end) => {
                turn.push(record);
                at = end;
            }
            Frame::Commit(check, turn_len, end)
                if turn_len == at - committed
                    && check == commit_salted(&salt, &bytes[committed..at])[8..16] =>
            {
                records.append(&mut turn);
                committed = end;
                at = end;
            }
            Frame::Echo(end) if echo_valid(&salt, bytes, at) => at = end,
            Frame::Echo(_) => return damaged(bytes, &salt, committed, at, "echo mismatch"),
            Frame::Commit(..) => return damaged(bytes, &salt, committed, at, "commit mismatch"),
            Frame::Bad(reason) => return damaged(bytes, &salt, committed, at, reason),
        }
    }
    Ok((records, committed, Some(salt)))
}

/// Damage at `at` after the committed prefix `..committed`: corruption when a valid commit of
/// a later turn lies beyond it, a torn tail otherwise. A commit carries its turn's length, so
/// it is checked on its own; a later turn starts at or after the damage.
fn damaged(
    bytes: &[u8],
    salt: &Salt,
    committed: usize,
    at: usize,
    reason: &'static str,
) -> Result<(Vec<Record>, usize, Option<Salt>), JournalError> {
    let marker = &commit(&[])[..8];
    let mut budget = DAMAGE_SCAN_BYTES_MAX;
    let corrupt = || Err(JournalError::Corrupt { offset: at, len: bytes.len(), reason });
    for c in at..bytes.len().saturating_sub(COMMIT_BYTES - 1) {
        // An echo proves the turn before it was synced.
        if c > at && echo_valid(salt, bytes, c) {
            return corrupt();
        }
        if &bytes[c..c + 8] != marker {
            continue;
        }
        let mut turn_len = [0u8; 4];
        turn_len.copy_from_slice(&bytes[c + 16..c + 20]);
        let turn_len = u32::from_le_bytes(turn_len) as usize;
        if turn_len > c - at || turn_len > budget {
            continue;
        }
        budget -= turn_len;
        if bytes[c + 8..c + 16] == commit_salted(salt, &bytes[c - turn_len..c])[8..16] {
            return corrupt();
        }
    }
    let (records, good, _) = parse(&bytes[..committed])?;
    Ok((records, good, Some(*salt)))
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
            Frame::Commit(..) | Frame::Echo(_) => {
                return Err(corrupt(at, "commit frame in a format-1 journal"));
            }
        }
    }
    Ok((records, at))
}

fn is_last_frame(rest: &[u8]) -> bool {
    let mut len = [0u8; 4];
    len.copy_from_slice(&rest[..4]);
    FRAME_HEADER_BYTES + u32::from_le_bytes(len) as usize == rest.len()
}
