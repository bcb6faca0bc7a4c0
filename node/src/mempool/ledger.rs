//! What the mempool reads from the ledger, and the limits it keeps.

use volt_proto::{AccountId, ChainId, Height, Nonce};
use volt_token::{State, Store};

/// Most transactions waiting at once, by default.
pub const MEMPOOL_TXS_MAX: usize = 20_000;
/// Most encoded bytes waiting at once, by default (enough for 20,000 typical transactions of
/// about 300 bytes, or 1,024 of the largest legitimate ones).
pub const MEMPOOL_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most transactions of one signer waiting at once, by default: one account cannot fill the
/// mempool.
pub const MEMPOOL_ACCOUNT_TXS_MAX: usize = 256;
/// Furthest a nonce may run ahead of the signer's next nonce, by default.
pub const MEMPOOL_NONCE_AHEAD_MAX: u64 = 256;

/// The mempool's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions waiting at once.
    pub txs_max: usize,
    /// Most canonical-encoding bytes waiting at once.
    pub bytes_max: usize,
    /// Most transactions of one signer waiting at once.
    pub account_txs_max: usize,
    /// A nonce more than this beyond the signer's next nonce is refused.
    pub nonce_ahead_max: u64,
}

impl Default for MempoolLimits {
    fn default() -> MempoolLimits {
        MempoolLimits {
            txs_max: MEMPOOL_TXS_MAX,
            bytes_max: MEMPOOL_BYTES_MAX,
            account_txs_max: MEMPOOL_ACCOUNT_TXS_MAX,
            nonce_ahead_max: MEMPOOL_NONCE_AHEAD_MAX,
        }
    }
}

/// What admission needs to know about a signer, read from the ledger at the latest applied
/// height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignerView {
    /// The nonce the signer's next transaction must carry.
    pub next_nonce: Nonce,
    /// A frozen signer's calls fail (the nonce is still used), so its transactions wait.
    pub frozen: bool,
    /// A revoked member can no longer sign.
    pub revoked: bool,
}

/// The ledger as the mempool sees it: the state at the latest applied height.
pub trait Ledger {
    /// The member record of `account`, or `None` if it is not a member.
    fn signer(&self, account: AccountId) -> Option<SignerView>;
    /// The chain every transaction must name.
    fn chain_id(&self) -> &ChainId;
    /// The latest applied height; the next block has height `height() + 1`.
    fn height(&self) -> Height;
}

/// A [`Ledger`] over a `volt_token::State` whose latest applied height is `height`.
pub struct StateLedger<'a, S: Store> {
    /// The ledger state.
    pub state: &'a State<S>,
    /// The height `state` was last applied at.
    pub height: Height,
}

impl<S: Store> Ledger for StateLedger<'_, S> {
    fn signer(&self, account: AccountId) -> Option<SignerView> {
        // A store that cannot read the record cannot vouch for the signer: refusing (or
        // evicting) is the safe answer; the transaction can be submitted again.
        let member = self.state.member(account).ok()??;
        Some(SignerView {
            next_nonce: member.next_nonce,
            frozen: member.frozen,
            revoked: member.revoked,
        })
    }

    fn chain_id(&self) -> &ChainId {
        self.state.chain_id()
    }

    fn height(&self) -> Height {
        self.height
    }
}
