//! Whole-state invariant checks, run by tests after every block (and available to auditors).
//!
//! These walk every entry, so they are O(state): use them in tests and audits, not per block in
//! production.

use crate::State;
use crate::keys::{Currency, Holding, Key, Member, ShareClass};
use crate::store::Store;
use std::collections::BTreeMap;
use volt_proto::{Amount, Asset, codec};

/// A broken invariant, with what was expected and what was found.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Σ balances of an asset differs from its recorded supply.
    #[error("asset {asset:?}: recorded supply {recorded} but balances sum to {summed}")]
    Supply {
        /// The asset.
        asset: Asset,
        /// minted − burned, or issued − redeemed.
        recorded: Amount,
        /// Σ balances.
        summed: Amount,
    },
    /// A share class issued more than its maximum supply, or a currency burned more than minted.
    #[error("asset {0:?}: issued beyond its cap or burned beyond its mint")]
    Bounds(Asset),
    /// A balance exists for an unknown asset or an unknown account.
    #[error("balance of {0:?} has no asset or no member record")]
    Orphan(Asset),
    /// A non-zero balance is missing from its holder's `holdings`.
    #[error("a holding of {0:?} is not listed in its holder's holdings")]
    Unlisted(Asset),
    /// A key or value does not decode.
    #[error("entry does not decode: {0}")]
    Decode(String),
}

const KEY_BYTES_MAX: usize = 4096;

/// Checks every invariant listed in the crate docs over the whole state.
pub fn check<S: Store>(state: &State<S>) -> Result<(), Violation> {
    let entries = state
        .entries()
        .map_err(|e| Violation::Decode(e.to_string()))?;
    let mut recorded: BTreeMap<Asset, Amount> = BTreeMap::new();
    let mut summed: BTreeMap<Asset, Amount> = BTreeMap::new();
    let mut members: BTreeMap<_, Member> = BTreeMap::new();
    let mut holdings = Vec::new();
    for (key, value) in &entries {
        let key: Key = codec::decode(key, KEY_BYTES_MAX).map_err(|e| decode_err("key", e))?;
        let big = crate::STATE_VALUE_BYTES_MAX;
        match key {
            Key::Currency(symbol) => {
                let c: Currency = codec::decode(value, big).map_err(|e| decode_err("cur", e))?;
                let asset = Asset::Cash(symbol);
                let supply = c
                    .minted
                    .checked_sub(c.burned)
                    .ok_or(Violation::Bounds(asset.clone()))?;
                recorded.insert(asset, supply);
            }
            Key::Class(symbol) => {
                let c: ShareClass = codec::decode(value, big).map_err(|e| decode_err("cls", e))?;
                let asset = Asset::Shares(symbol);
                if c.issued > c.supply_max || c.redeemed > c.issued {
                    return Err(Violation::Bounds(asset));
                }
                recorded.insert(asset, c.outstanding());
            }
            Key::Member(account) => {
                let m: Member = codec::decode(value, big).map_err(|e| decode_err("mem", e))?;
                members.insert(account, m);
            }
            Key::Balance(asset, account) => {
                let h: Holding = codec::decode(value, big).map_err(|e| decode_err("bal", e))?;
                let sum = summed.entry(asset.clone()).or_default();
                *sum = sum
                    .checked_add(h.amount)
                    .ok_or(Violation::Bounds(asset.clone()))?;
                holdings.push((asset, account, h.amount));
            }
            Key::Meta | Key::TradeSettled(_) => {}
        }
    }
    for (asset, account, amount) in holdings {
        let member = members
            .get(&account)
            .ok_or(Violation::Orphan(asset.clone()))?;
        if !recorded.contains_key(&asset) {
            return Err(Violation::Orphan(asset));
        }
        if !amount.is_zero() && !member.holdings.contains(&asset) {
            return Err(Violation::Unlisted(asset));
        }
    }
    for (asset, recorded) in recorded {
        let summed = summed.get(&asset).copied().unwrap_or_default();
        if summed != recorded {
            return Err(Violation::Supply {
                asset,
                recorded,
                summed,
            });
        }
    }
    Ok(())
}

fn decode_err(what: &str, error: volt_proto::codec::CodecError) -> Violation {
    Violation::Decode(format!("{what}: {error}"))
}
