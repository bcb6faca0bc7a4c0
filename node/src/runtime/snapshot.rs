//! What the executor publishes after each block: a consistent, immutable view of the state at
//! one height (the tree clone is O(1)), read by the API and by mempool admission while the next
//! block executes.

use crate::certificate::StateCertificate;
use crate::mempool::{Ledger, SignerView};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use volt_proto::codec::{self, CodecError};
use volt_proto::{AccountId, ChainId, Hash, Height, Timestamp};
use volt_token::keys::Member;
use volt_token::tree::StateTree;
use volt_token::{Key, STATE_VALUE_BYTES_MAX};

/// The state after one applied block.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The chain.
    pub chain_id: ChainId,
    /// The last applied height (0: genesis).
    pub height: Height,
    /// Its block time.
    pub time: Timestamp,
    /// Its block digest (the genesis block's at height 0).
    pub block_digest: Hash,
    /// The state root.
    pub root: Hash,
    /// Every key and value, authenticated.
    pub tree: StateTree,
    /// The state certificate over this root, once formed.
    pub certificate: Option<Arc<StateCertificate>>,
}

impl Snapshot {
    /// The raw value under `key`.
    pub fn get(&self, key: &Key) -> Option<&[u8]> {
        self.tree.get(&key.encode())
    }

    /// A typed record; a value that does not decode is an error, never a wrong answer.
    pub fn record<T: DeserializeOwned + serde::Serialize>(
        &self,
        key: &Key,
    ) -> Result<Option<T>, CodecError> {
        self.get(key).map(|bytes| codec::decode(bytes, STATE_VALUE_BYTES_MAX)).transpose()
    }
}

impl Ledger for Snapshot {
    fn signer(&self, account: AccountId) -> Option<SignerView> {
        let member: Member = self.record(&Key::Member(account)).ok().flatten()?;
        Some(SignerView {
            next_nonce: member.next_nonce,
            frozen: member.frozen,
            revoked: member.revoked,
        })
    }

    fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    fn height(&self) -> Height {
        self.height
    }
}
