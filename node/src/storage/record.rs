//! The records in the node's sled tree: how each kind is keyed, sealed with a checksum, and
//! named in an error.
//!
//! Everything lives in ONE sled tree, each kind of record under its own one-byte key prefix, so
//! that one `sled::Batch` (which sled recovers all-or-nothing, see `mod.rs`) can carry a whole
//! finalized block. Heights are big-endian so blocks scan in height order.
//!
//! Each value is stored as `blake3(len(key) ‖ key ‖ value)[..8] ‖ value`. The checksum covers
//! the full sled key (prefix included), so a flipped bit, a truncated value, and an intact value
//! copied under another key or kind are all caught. A mismatch is [`DbError::Corrupt`] naming
//! the record ("block at height 12", "state key 0a1b…"), never a wrong answer.

use super::DbError;
use volt_proto::{Hash, Height};

/// Bytes of checksum in front of every stored value.
pub const CHECKSUM_BYTES: usize = 8;

/// Prefix of ledger state entries (the ledger's own keys follow).
pub(super) const STATE: u8 = b's';
const BLOCK: u8 = b'b';
const FINALIZATION: u8 = b'f';
const RECEIPTS: u8 = b'r';
const STATE_CERTIFICATE: u8 = b'c';
const TX_INDEX: u8 = b't';
const META: u8 = b'm';
const CHANGED: u8 = b'k';

/// The key of one record, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKey {
    /// A ledger state entry under the ledger's key bytes.
    State(Vec<u8>),
    /// The canonical bytes of the finalized `volt_consensus::Block` at a height.
    Block(Height),
    /// The finalization certificate of the block at a height.
    Finalization(Height),
    /// The receipts of the block at a height, with its state root and time.
    Receipts(Height),
    /// The state certificate (2f+1 signatures over the state root) of a height.
    StateCertificate(Height),
    /// Where a transaction landed: its id → (height, position).
    TxIndex(Hash),
    /// The last height whose block, state writes and receipts landed.
    AppliedHeight,
    /// The id of the genesis the data directory was created with.
    GenesisId,
    /// The ledger keys the block at a height wrote (for bringing a tree snapshot up to date).
    Changed(Height),
}

impl RecordKey {
    /// The sled key.
    pub fn encode(&self) -> Vec<u8> {
        let with = |prefix: u8, rest: &[u8]| {
            let mut key = Vec::with_capacity(1 + rest.len());
            key.push(prefix);
            key.extend_from_slice(rest);
            key
        };
        match self {
            RecordKey::State(key) => with(STATE, key),
            RecordKey::Block(h) => with(BLOCK, &h.0.to_be_bytes()),
            RecordKey::Finalization(h) => with(FINALIZATION, &h.0.to_be_bytes()),
            RecordKey::Receipts(h) => with(RECEIPTS, &h.0.to_be_bytes()),
            RecordKey::StateCertificate(h) => with(STATE_CERTIFICATE, &h.0.to_be_bytes()),
            RecordKey::TxIndex(id) => with(TX_INDEX, &id.0),
            RecordKey::AppliedHeight => with(META, b"applied-height"),
            RecordKey::GenesisId => with(META, b"genesis-id"),
            RecordKey::Changed(h) => with(CHANGED, &h.0.to_be_bytes()),
        }
    }

    /// A human-readable name of the record, for errors.
    pub fn describe(&self) -> String {
        match self {
            RecordKey::State(key) => format!("state key {}", hex::encode(key)),
            RecordKey::Block(h) => format!("block at height {h}"),
            RecordKey::Finalization(h) => format!("finalization certificate at height {h}"),
            RecordKey::Receipts(h) => format!("receipts at height {h}"),
            RecordKey::StateCertificate(h) => format!("state certificate at height {h}"),
            RecordKey::TxIndex(id) => format!("tx index entry for tx {id}"),
            RecordKey::AppliedHeight => "applied height".to_owned(),
            RecordKey::GenesisId => "genesis id".to_owned(),
            RecordKey::Changed(h) => format!("changed-key list at height {h}"),
        }
    }
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

/// `value` with its checksum in front, bound to the sled key `key`.
pub fn seal(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(CHECKSUM_BYTES + value.len());
    sealed.extend_from_slice(&checksum(key, value));
    sealed.extend_from_slice(value);
    sealed
}

/// The value under sled key `key` after checking its checksum; `what` names the record.
pub fn unseal<'a>(
    key: &[u8],
    sealed: &'a [u8],
    what: impl Fn() -> String,
) -> Result<&'a [u8], DbError> {
    if sealed.len() < CHECKSUM_BYTES {
        return Err(DbError::Corrupt {
            record: what(),
            reason: format!("value of {} bytes has no checksum", sealed.len()),
        });
    }
    let (stored, value) = sealed.split_at(CHECKSUM_BYTES);
    let expected = checksum(key, value);
    if stored != expected {
        return Err(DbError::Corrupt {
            record: what(),
            reason: format!(
                "checksum mismatch: stored {}, computed {}",
                hex::encode(stored),
                hex::encode(expected)
            ),
        });
    }
    Ok(value)
}

/// Refuses a value over its named limit, on write and on read.
pub fn check_size(what: &RecordKey, bytes: usize, max: usize) -> Result<(), DbError> {
    if bytes > max {
        return Err(DbError::TooLarge { record: what.describe(), bytes, max });
    }
    Ok(())
}
