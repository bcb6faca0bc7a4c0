//! The block payload: the proposer's clock and a list of signed transactions, in the canonical
//! codec, with named limits checked on decode.

use serde::{Deserialize, Serialize};
use volt_proto::codec::{self, CodecError};
use volt_proto::{SignedTx, TX_BYTES_MAX, Timestamp};

/// Most transactions in one block payload (the ledger allows more; this keeps blocks small).
pub const PAYLOAD_TXS_MAX: usize = 1_000;
/// Largest encoded payload, in bytes (below the consensus ceiling of 1 MiB).
pub const PAYLOAD_BYTES_MAX: usize = 512 * 1024;

/// What a block carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The proposer's clock when it built the block (the ledger's block time, never
    /// decreasing: replicas apply `max(time, last block time)`).
    pub time: Timestamp,
    /// Transactions, in order.
    pub txs: Vec<SignedTx>,
}

/// Why a payload was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// Not canonical, trailing bytes, or over [`PAYLOAD_BYTES_MAX`].
    #[error("payload does not decode: {0}")]
    Codec(#[from] CodecError),
    /// Too many transactions.
    #[error("payload carries {actual} transactions; at most {max} are allowed")]
    TooManyTxs {
        /// Transactions carried.
        actual: usize,
        /// Limit.
        max: usize,
    },
    /// One transaction is over the transaction size limit.
    #[error("transaction {index} is {actual} bytes; at most {max} are allowed")]
    TxTooLarge {
        /// Its position.
        index: usize,
        /// Its encoded size.
        actual: usize,
        /// Limit.
        max: usize,
    },
}

impl Payload {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes untrusted bytes and checks every limit.
    pub fn decode(bytes: &[u8]) -> Result<Payload, PayloadError> {
        let payload: Payload = codec::decode(bytes, PAYLOAD_BYTES_MAX)?;
        if payload.txs.len() > PAYLOAD_TXS_MAX {
            return Err(PayloadError::TooManyTxs {
                actual: payload.txs.len(),
                max: PAYLOAD_TXS_MAX,
            });
        }
        for (index, tx) in payload.txs.iter().enumerate() {
            let actual = tx.encode().len();
            if actual > TX_BYTES_MAX {
                return Err(PayloadError::TxTooLarge { index, actual, max: TX_BYTES_MAX });
            }
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        // Proves a payload round-trips and trailing or oversized input is refused.
        let payload = Payload { time: Timestamp(7), txs: Vec::new() };
        let bytes = payload.encode();
        assert_eq!(Payload::decode(&bytes), Ok(payload));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Payload::decode(&trailing).is_err());
        assert!(Payload::decode(&vec![0u8; PAYLOAD_BYTES_MAX + 1]).is_err());
    }
}
