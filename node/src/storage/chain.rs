//! The finalized chain in the node's tree: blocks by height with their finalization
//! certificates, receipts, state roots and state certificates, the tx-id index and the applied
//! height, and the one-batch commit of a finalized block.

use super::record::{self, RecordKey, check_size};
use super::state::SledStore;
use super::{DbError, NodeDb, sled_error};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use volt_consensus::{Block, Certificate};
use volt_proto::{Hash, Height, Receipt, Timestamp, TxOutcome, codec};

/// Largest stored block (canonical bytes): the consensus payload ceiling plus room for the
/// header (epoch, views, height, parent digest, length prefix).
pub const BLOCK_RECORD_BYTES_MAX: usize = volt_consensus::types::BLOCK_PAYLOAD_BYTES_MAX + 1024;
/// Largest stored finalization certificate: 128 validators' 64-byte signatures, a 16-byte
/// bitmap and the vote, with room to spare.
pub const FINALIZATION_BYTES_MAX: usize = 16 * 1024;
/// Room for one encoded receipt (a 32-byte id and an outcome of at most a few bytes).
pub const RECEIPT_BYTES_MAX: usize = 64;
/// Largest stored receipts record: a full block's receipts plus its root and time.
pub const RECEIPTS_RECORD_BYTES_MAX: usize = volt_token::BLOCK_TXS_MAX * RECEIPT_BYTES_MAX + 1024;
/// Largest stored state certificate (the runtime's encoding; opaque here): 2f+1 of at most 128
/// validators' signatures over (chain id, height, block digest, root), with room to spare.
pub const STATE_CERTIFICATE_BYTES_MAX: usize = 64 * 1024;
/// Largest changed-key list of one block; a block that writes more stores "too many" instead
/// (see `Sealed::changed_keys`).
pub const CHANGED_KEYS_RECORD_BYTES_MAX: usize = 8 * 1024 * 1024;
/// A tx index value: height (8 bytes), position (4), whether the receipt used the nonce (1).
const TX_INDEX_BYTES: usize = 13;
/// An applied height: 8 bytes.
const HEIGHT_BYTES: usize = 8;

/// A finalized, executed block as stored: what the API serves and restart reads back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlock {
    /// Its height (equal to `block.height`).
    pub height: Height,
    /// The block (its canonical bytes are stored).
    pub block: Block,
    /// The finalization certificate that made it final.
    pub finalization: Certificate,
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// The state root after executing it.
    pub state_root: Hash,
    /// The block time the ledger applied.
    pub time: Timestamp,
}

/// What executing a block produced, stored under [`RecordKey::Receipts`].
#[derive(Serialize, Deserialize)]
struct Outcome {
    state_root: Hash,
    time: Timestamp,
    receipts: Vec<Receipt>,
}

/// Where a transaction landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TxLocation {
    height: Height,
    index: u32,
    /// False for a `Rejected` receipt: it used no nonce, so a later occurrence of the same
    /// transaction (which may apply) replaces it. A receipt that used the nonce is the only
    /// one the transaction can ever have (any later replay is rejected) and is never replaced.
    used_nonce: bool,
}

impl TxLocation {
    fn encode(&self) -> [u8; TX_INDEX_BYTES] {
        let mut out = [0u8; TX_INDEX_BYTES];
        out[..8].copy_from_slice(&self.height.0.to_be_bytes());
        out[8..12].copy_from_slice(&self.index.to_be_bytes());
        out[12] = u8::from(self.used_nonce);
        out
    }

    fn decode(key: &RecordKey, bytes: &[u8]) -> Result<TxLocation, DbError> {
        let corrupt = |reason: String| DbError::Corrupt { record: key.describe(), reason };
        let bytes: [u8; TX_INDEX_BYTES] = bytes
            .try_into()
            .map_err(|_| corrupt(format!("{} bytes where {TX_INDEX_BYTES} belong", bytes.len())))?;
        let used_nonce = match bytes[12] {
            0 => false,
            1 => true,
            other => return Err(corrupt(format!("nonce flag {other} is neither 0 nor 1"))),
        };
        let mut height = [0u8; 8];
        height.copy_from_slice(&bytes[..8]);
        let mut index = [0u8; 4];
        index.copy_from_slice(&bytes[8..12]);
        Ok(TxLocation {
            height: Height(u64::from_be_bytes(height)),
            index: u32::from_be_bytes(index),
            used_nonce,
        })
    }
}

fn decode<T: Serialize + serde::de::DeserializeOwned>(
    key: &RecordKey,
    bytes: &[u8],
    max: usize,
) -> Result<T, DbError> {
    check_size(key, bytes.len(), max)?;
    codec::decode(bytes, max)
        .map_err(|error| DbError::Corrupt { record: key.describe(), reason: error.to_string() })
}

/// A batch under construction: every value sealed against its key and checked against its
/// limit as it is added.
pub(super) struct Sealed(pub(super) sled::Batch);

impl Sealed {
    pub(super) fn put(&mut self, key: &RecordKey, value: &[u8], max: usize) -> Result<(), DbError> {
        check_size(key, value.len(), max)?;
        let sled_key = key.encode();
        let sealed = record::seal(&sled_key, value);
        self.0.insert(sled_key, sealed);
        Ok(())
    }

    /// Adds the staged ledger writes.
    fn state(&mut self, store: &SledStore) -> Result<(), DbError> {
        for (key, value) in store.staged().iter() {
            let key = RecordKey::State(key.clone());
            match value {
                Some(value) => self.put(&key, value, volt_token::STATE_VALUE_BYTES_MAX)?,
                None => self.0.remove(key.encode()),
            }
        }
        Ok(())
    }

    /// The list of ledger keys the block wrote, or `None` if it is over
    /// [`CHANGED_KEYS_RECORD_BYTES_MAX`]: then no tree snapshot below this height can be brought
    /// up to date, and the next restart rebuilds the tree (slower, never wrong).
    fn changed_keys(&mut self, height: Height, store: &SledStore) -> Result<(), DbError> {
        let keys: Vec<Vec<u8>> = store.staged().keys().cloned().collect();
        let bytes: usize = keys.iter().map(|k| k.len() + 8).sum();
        let list = (bytes <= CHANGED_KEYS_RECORD_BYTES_MAX - 1024).then_some(keys);
        let encoded = codec::encode(&list);
        self.put(&RecordKey::Changed(height), &encoded, CHANGED_KEYS_RECORD_BYTES_MAX)
    }

    fn applied_height(&mut self, height: Height) -> Result<(), DbError> {
        self.put(&RecordKey::AppliedHeight, &height.0.to_be_bytes(), HEIGHT_BYTES)
    }
}

impl NodeDb {
    /// The last height whose block, state writes and receipts landed (0 = genesis applied);
    /// [`DbError::NoGenesis`] before [`NodeDb::commit_genesis`].
    pub fn applied_height(&self) -> Result<Height, DbError> {
        self.applied_height_if_any()?.ok_or(DbError::NoGenesis)
    }

    /// True if the genesis state has been committed.
    pub fn has_genesis(&self) -> Result<bool, DbError> {
        Ok(self.applied_height_if_any()?.is_some())
    }

    fn applied_height_if_any(&self) -> Result<Option<Height>, DbError> {
        let key = RecordKey::AppliedHeight;
        let Some(bytes) = self.get(&key)? else {
            return Ok(None);
        };
        let bytes: [u8; HEIGHT_BYTES] = bytes.as_slice().try_into().map_err(|_| {
            let reason = format!("{} bytes where {HEIGHT_BYTES} belong", bytes.len());
            DbError::Corrupt { record: key.describe(), reason }
        })?;
        Ok(Some(Height(u64::from_be_bytes(bytes))))
    }

    /// Commits the genesis state staged in `store` by `State::genesis`, with applied height 0,
    /// in one batch. Refused if a genesis is already committed.
    pub fn commit_genesis(&self, store: &SledStore) -> Result<(), DbError> {
        if let Some(applied) = self.applied_height_if_any()? {
            return Err(DbError::OutOfOrder { applied, got: Height(0) });
        }
        let mut batch = Sealed(sled::Batch::default());
        batch.state(store)?;
        batch.applied_height(Height(0))?;
        self.tree.apply_batch(batch.0).map_err(sled_error("committing the genesis state"))?;
        store.discard_staged();
        Ok(())
    }

    /// Commits one finalized, executed block in ONE atomic sled batch: the state writes staged
    /// in `store` by `State::apply_block`, the block, its finalization certificate, receipts
    /// (with the state root and time), tx index entries and the new applied height. Either all
    /// of it lands or none. The block must follow the applied height.
    ///
    /// # Panics
    /// If `block.height` differs from `block.block.height` (a caller's mistake).
    pub fn commit_block(&self, store: &SledStore, block: &StoredBlock) -> Result<(), DbError> {
        assert_eq!(block.height, block.block.height, "a stored block's height is its block's");
        let applied = self.applied_height()?;
        if applied.checked_next() != Some(block.height) {
            return Err(DbError::OutOfOrder { applied, got: block.height });
        }
        let h = block.height;
        let mut batch = Sealed(sled::Batch::default());
        batch.state(store)?;
        let block_bytes = codec::encode(&block.block);
        batch.put(&RecordKey::Block(h), &block_bytes, BLOCK_RECORD_BYTES_MAX)?;
        let finalization = codec::encode(&block.finalization);
        batch.put(&RecordKey::Finalization(h), &finalization, FINALIZATION_BYTES_MAX)?;
        let outcome = Outcome {
            state_root: block.state_root,
            time: block.time,
            receipts: block.receipts.clone(),
        };
        let outcome = codec::encode(&outcome);
        batch.put(&RecordKey::Receipts(h), &outcome, RECEIPTS_RECORD_BYTES_MAX)?;
        for (id, location) in self.index_entries(h, &block.receipts)? {
            batch.put(&RecordKey::TxIndex(id), &location.encode(), TX_INDEX_BYTES)?;
        }
        batch.changed_keys(h, store)?;
        batch.applied_height(h)?;
        self.tree.apply_batch(batch.0).map_err(sled_error("committing a block"))?;
        store.discard_staged();
        Ok(())
    }

    /// The tx index entries a block writes. A receipt that used the nonce always indexes; a
    /// rejected one only if the transaction has no entry yet or only a rejected one, so a
    /// replay included later never hides the receipt that counted.
    fn index_entries(
        &self,
        height: Height,
        receipts: &[Receipt],
    ) -> Result<BTreeMap<Hash, TxLocation>, DbError> {
        let mut entries: BTreeMap<Hash, TxLocation> = BTreeMap::new();
        for (index, receipt) in receipts.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| DbError::TooLarge {
                record: RecordKey::Receipts(height).describe(),
                bytes: receipts.len(),
                max: u32::MAX as usize,
            })?;
            let used_nonce = !matches!(receipt.outcome, TxOutcome::Rejected(_));
            let location = TxLocation { height, index, used_nonce };
            let id = receipt.tx_id;
            let earlier = match entries.get(&id) {
                Some(found) => Some(*found),
                None if used_nonce => None,
                None => self.tx_index(&id)?,
            };
            if used_nonce || !earlier.is_some_and(|e| e.used_nonce) {
                entries.insert(id, location);
            }
        }
        Ok(entries)
    }

    fn tx_index(&self, id: &Hash) -> Result<Option<TxLocation>, DbError> {
        let key = RecordKey::TxIndex(*id);
        match self.get(&key)? {
            None => Ok(None),
            Some(bytes) => TxLocation::decode(&key, &bytes).map(Some),
        }
    }

    /// Where transaction `id` landed: (height, position in the block). If it appeared more
    /// than once, the receipt that used its nonce (or the latest rejection if none did).
    pub fn tx_location(&self, id: &Hash) -> Result<Option<(Height, u32)>, DbError> {
        Ok(self.tx_index(id)?.map(|l| (l.height, l.index)))
    }

    /// The ledger keys the block at `h` wrote: `Ok(None)` if not recorded (missing, or over
    /// the limit).
    pub(super) fn changed_keys(&self, h: Height) -> Result<Option<Vec<Vec<u8>>>, DbError> {
        let key = RecordKey::Changed(h);
        match self.get(&key)? {
            None => Ok(None),
            Some(bytes) => decode(&key, &bytes, CHANGED_KEYS_RECORD_BYTES_MAX),
        }
    }

    /// The state root stored with the block at `h` (receipts record).
    pub(super) fn state_root(&self, h: Height) -> Result<Option<Hash>, DbError> {
        let key = RecordKey::Receipts(h);
        match self.get(&key)? {
            None => Ok(None),
            Some(bytes) => {
                let outcome: Outcome = decode(&key, &bytes, RECEIPTS_RECORD_BYTES_MAX)?;
                Ok(Some(outcome.state_root))
            }
        }
    }

    /// The stored block at height `h`, with its certificate, receipts, root and time.
    pub fn block(&self, h: Height) -> Result<Option<StoredBlock>, DbError> {
        let key = RecordKey::Block(h);
        let Some(bytes) = self.get(&key)? else {
            return Ok(None);
        };
        let block: Block = decode(&key, &bytes, BLOCK_RECORD_BYTES_MAX)?;
        let key = RecordKey::Finalization(h);
        let finalization: Certificate =
            decode(&key, &self.beside(h, &key)?, FINALIZATION_BYTES_MAX)?;
        let key = RecordKey::Receipts(h);
        let outcome: Outcome = decode(&key, &self.beside(h, &key)?, RECEIPTS_RECORD_BYTES_MAX)?;
        if block.height != h {
            let reason = format!("it says height {}", block.height);
            return Err(DbError::Corrupt { record: RecordKey::Block(h).describe(), reason });
        }
        Ok(Some(StoredBlock {
            height: h,
            block,
            finalization,
            receipts: outcome.receipts,
            state_root: outcome.state_root,
            time: outcome.time,
        }))
    }

    /// A record written in the same batch as the block at `h`: missing means damage.
    fn beside(&self, h: Height, key: &RecordKey) -> Result<Vec<u8>, DbError> {
        self.get(key)?.ok_or_else(|| DbError::Corrupt {
            record: key.describe(),
            reason: format!("missing although the block at height {h} is stored"),
        })
    }

    /// Stores the state certificate of height `h` (the runtime's canonical bytes), beside the
    /// block. It forms after the block commits, so it is written on its own.
    pub fn put_state_certificate(&self, h: Height, cert_bytes: &[u8]) -> Result<(), DbError> {
        let key = RecordKey::StateCertificate(h);
        check_size(&key, cert_bytes.len(), STATE_CERTIFICATE_BYTES_MAX)?;
        self.put(&key, cert_bytes)
    }

    /// The state certificate of height `h`, if one formed.
    pub fn state_certificate(&self, h: Height) -> Result<Option<Vec<u8>>, DbError> {
        let key = RecordKey::StateCertificate(h);
        let bytes = self.get(&key)?;
        if let Some(bytes) = &bytes {
            check_size(&key, bytes.len(), STATE_CERTIFICATE_BYTES_MAX)?;
        }
        Ok(bytes)
    }
}
