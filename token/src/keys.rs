//! The state layout: every key the ledger writes and the record stored under it.
//!
//! A key's bytes are the canonical encoding of [`Key`]; a value's bytes are the canonical
//! encoding of its record. The authenticated tree commits to exactly these bytes, so a wallet
//! that wants a proof for its balance builds `Key::Balance(asset, account)` and encodes it.

use serde::{Deserialize, Serialize};
use volt_proto::{AccountId, Amount, Asset, ChainId, Hash, Height, Nonce, Role, Symbol, Text};
use volt_proto::{Timestamp, codec};

/// Every key of the ledger state. Variants are only ever appended, so stored keys keep meaning.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    /// Chain-wide facts: [`Meta`].
    Meta,
    /// A member: [`Member`].
    Member(AccountId),
    /// A holding of an asset by an account: [`Holding`].
    Balance(Asset, AccountId),
    /// A currency's settlement token: [`Currency`].
    Currency(Symbol),
    /// A share class: [`ShareClass`].
    Class(Symbol),
    /// A settled trade, by trade id: the [`Height`] it settled at.
    TradeSettled(Hash),
}

impl Key {
    /// The canonical bytes of this key.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

/// Chain-wide facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The chain every transaction must name.
    pub chain_id: ChainId,
    /// The last block applied (0 = genesis only).
    pub height: Height,
    /// The time of that block.
    pub time: Timestamp,
}

/// A registered member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// What it may do.
    pub role: Role,
    /// When its identity verification lapses.
    pub identity_expiry: Timestamp,
    /// Frozen accounts neither send nor receive.
    pub frozen: bool,
    /// Revoked members can no longer sign or receive; the record stays for the audit trail.
    pub revoked: bool,
    /// The nonce its next transaction must carry.
    pub next_nonce: Nonce,
    /// Assets it holds a (possibly zero) balance of, so recovery can move them all.
    pub holdings: Vec<Asset>,
}

impl Member {
    /// True if the member may receive assets at `now`: registered, not revoked, identity valid.
    pub fn is_verified(&self, now: Timestamp) -> bool {
        !self.revoked && self.identity_expiry > now
    }
}

/// An account's holding of one asset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// Units held.
    pub amount: Amount,
}

/// A currency's settlement token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    /// The only account that may mint and burn it.
    pub issuer: AccountId,
    /// Units ever minted.
    pub minted: Amount,
    /// Units ever burned.
    pub burned: Amount,
}

/// A share class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareClass {
    /// The account that created it and alone may issue it.
    pub issuer: AccountId,
    /// A human name.
    pub name: Text,
    /// Shares that can ever be issued.
    pub supply_max: Amount,
    /// Shares ever issued.
    pub issued: Amount,
    /// Shares ever redeemed.
    pub redeemed: Amount,
    /// Paused classes do not move.
    pub paused: bool,
}

impl ShareClass {
    /// Shares outstanding: issued − redeemed.
    pub fn outstanding(&self) -> Amount {
        // Redemptions are bounded by holdings, which are bounded by issues.
        Amount(self.issued.0.saturating_sub(self.redeemed.0))
    }
}
