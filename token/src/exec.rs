//! The execution context of one transaction: typed reads and writes over an overlay, so a call
//! that fails leaves nothing behind.

use crate::keys::{Duty, Holding, Key, MEMBER_ASSETS_MAX, MEMBER_DUTIES_MAX, Member, ShareClass};
use crate::revenue;
use crate::revenue::SCALE_BITS;
use crate::store::{StorageError, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use volt_proto::{
    AccountId, Amount, Asset, ChainId, ErrorCode, Height, Role, Symbol, Timestamp, codec,
};

/// Largest stored value the ledger will decode, in bytes.
pub const STATE_VALUE_BYTES_MAX: usize = 1024 * 1024;

/// Pending writes: `None` is a delete.
pub(crate) type Pending = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The height and time a block is applied at: the only clock the ledger has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// The block's height.
    pub height: Height,
    /// The block's agreed time.
    pub time: Timestamp,
}

/// Why a call did not apply.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The call was refused: its writes are dropped and the receipt carries the code.
    Code(ErrorCode),
    /// The store failed or is corrupt: the whole block stops.
    Storage(StorageError),
}

impl From<ErrorCode> for Fail {
    fn from(code: ErrorCode) -> Self {
        Fail::Code(code)
    }
}

impl From<StorageError> for Fail {
    fn from(error: StorageError) -> Self {
        Fail::Storage(error)
    }
}

pub(crate) type Outcome<T> = Result<T, Fail>;

/// Fails with `code` unless `condition` holds.
pub(crate) fn ensure(condition: bool, code: ErrorCode) -> Outcome<()> {
    if condition { Ok(()) } else { Err(Fail::Code(code)) }
}

/// Reads through three layers: this transaction's writes, the block's, then the store.
pub(crate) struct Cx<'a> {
    store: &'a dyn Store,
    block: &'a Pending,
    writes: Pending,
    /// Set when a write is over the store's value limit.
    oversized: bool,
    /// The block's height and time.
    pub ctx: BlockContext,
    /// The chain id.
    pub chain_id: &'a ChainId,
    /// The transaction's signer.
    pub signer: AccountId,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(
        store: &'a dyn Store,
        block: &'a Pending,
        ctx: BlockContext,
        chain_id: &'a ChainId,
        signer: AccountId,
    ) -> Cx<'a> {
        Cx { store, block, writes: Pending::new(), oversized: false, ctx, chain_id, signer }
    }

    /// The writes made so far.
    pub(crate) fn into_writes(self) -> Pending {
        self.writes
    }

    fn raw(&self, key: &[u8]) -> Outcome<Option<Vec<u8>>> {
        if let Some(value) = self.writes.get(key) {
            return Ok(value.clone());
        }
        if let Some(value) = self.block.get(key) {
            return Ok(value.clone());
        }
        Ok(self.store.get(key)?)
    }

    /// The record under `key`, if any.
    pub(crate) fn get<T: Serialize + DeserializeOwned>(&self, key: &Key) -> Outcome<Option<T>> {
        let bytes = key.encode();
        match self.raw(&bytes)? {
            None => Ok(None),
            Some(value) => decode_value(&bytes, &value).map(Some),
        }
    }

    /// Stores `value` under `key`. A value over [`STATE_VALUE_BYTES_MAX`] marks the
    /// transaction as failed (see [`Cx::check_sizes`]).
    pub(crate) fn put<T: Serialize>(&mut self, key: &Key, value: &T) {
        let bytes = codec::encode(value);
        self.oversized |= bytes.len() > STATE_VALUE_BYTES_MAX;
        self.writes.insert(key.encode(), Some(bytes));
    }

    /// Deletes `key`.
    pub(crate) fn delete(&mut self, key: &Key) {
        self.writes.insert(key.encode(), None);
    }

    /// A member record, or `code` if there is none.
    pub(crate) fn member_or(&self, account: AccountId, code: ErrorCode) -> Outcome<Member> {
        self.get(&Key::Member(account))?.ok_or(Fail::Code(code))
    }

    /// The signer's member record (authentication guarantees it exists).
    pub(crate) fn signer_member(&self) -> Outcome<Member> {
        self.member_or(self.signer, ErrorCode::UnknownSigner)
    }

    /// Fails unless the signer holds one of `roles`.
    pub(crate) fn require_role(&self, roles: &[Role]) -> Outcome<Member> {
        let member = self.signer_member()?;
        ensure(roles.contains(&member.role), ErrorCode::WrongRole)?;
        Ok(member)
    }

    /// Fails unless `account` may receive assets now: a verified, unfrozen member whose role
    /// holds assets.
    pub(crate) fn require_receiver(&self, account: AccountId) -> Outcome<Member> {
        let member = self.member_or(account, ErrorCode::ReceiverNotVerified)?;
        ensure(member.is_verified(self.ctx.time), ErrorCode::ReceiverNotVerified)?;
        ensure(holds_assets(member.role), ErrorCode::ReceiverNotVerified)?;
        ensure(!member.frozen, ErrorCode::ReceiverFrozen)?;
        Ok(member)
    }

    /// Fails unless `account` may send assets now (used for trade counterparties; the signer
    /// is checked before every call).
    pub(crate) fn require_sender(&self, account: AccountId) -> Outcome<Member> {
        let member = self.member_or(account, ErrorCode::UnknownAccount)?;
        ensure(!member.revoked, ErrorCode::UnknownAccount)?;
        ensure(!member.frozen, ErrorCode::SignerFrozen)?;
        ensure(member.identity_expiry > self.ctx.time, ErrorCode::IdentityExpired)?;
        ensure(holds_assets(member.role), ErrorCode::WrongRole)?;
        Ok(member)
    }

    /// A copy of the writes so far, to return to with [`Cx::restore`].
    pub(crate) fn snapshot(&self) -> Pending {
        self.writes.clone()
    }

    /// Drops every write made since `snapshot`.
    pub(crate) fn restore(&mut self, snapshot: Pending) {
        self.writes = snapshot;
    }

    /// For shares of a class with revenue: settles the holder's earnings before its balance
    /// changes, so revenue always follows the balance held when it arrived.
    fn settle_revenue(&self, asset: &Asset, holding: &mut Holding) -> Outcome<()> {
        if let Asset::Shares(class) = asset {
            let record: Option<ShareClass> = self.get(&Key::Class(class.clone()))?;
            if let Some(revenue) = record.and_then(|r| r.revenue) {
                revenue::settle(holding, revenue.per_share)?;
            }
        }
        Ok(())
    }

    /// Adds `amount` of revenue to `class` (its pot and accumulator).
    pub(crate) fn distribute(&mut self, class: &Symbol, amount: Amount) -> Outcome<()> {
        let key = Key::Class(class.clone());
        let mut record: ShareClass = self.get(&key)?.ok_or(ErrorCode::UnknownClass)?;
        let outstanding = record.outstanding();
        let revenue = record.revenue.as_mut().ok_or(ErrorCode::NoRevenue)?;
        revenue::distribute(revenue, amount, outstanding)?;
        self.put(&key, &record);
        Ok(())
    }

    /// Takes `amount` of `asset` from `account`. Zero takes nothing and writes nothing.
    pub(crate) fn debit(
        &mut self,
        asset: &Asset,
        account: AccountId,
        amount: Amount,
    ) -> Outcome<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let key = Key::Balance(asset.clone(), account);
        let before: Holding = self.get(&key)?.ok_or(ErrorCode::InsufficientBalance)?;
        let mut holding = before.clone();
        self.settle_revenue(asset, &mut holding)?;
        holding.amount =
            holding.amount.checked_sub(amount).ok_or(ErrorCode::InsufficientBalance)?;
        self.store_holding(asset, account, &before, &holding)
    }

    /// Gives `amount` of `asset` to `account`, listing the asset among its holdings. Zero
    /// gives nothing and writes nothing.
    pub(crate) fn credit(
        &mut self,
        asset: &Asset,
        account: AccountId,
        amount: Amount,
    ) -> Outcome<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let key = Key::Balance(asset.clone(), account);
        let before: Holding = self.get(&key)?.unwrap_or_default();
        let mut holding = before.clone();
        self.settle_revenue(asset, &mut holding)?;
        holding.amount = holding.amount.checked_add(amount).ok_or(ErrorCode::Overflow)?;
        self.store_holding(asset, account, &before, &holding)
    }

    /// Writes a holding (`before` is the stored one, default if none) and keeps the holder's
    /// index in step: a holding with shares or at least one whole unit of revenue is listed
    /// under [`Key::Holds`]; an empty one is deleted. A zero balance whose revenue is a fraction
    /// below one unit keeps its record (the fraction stays exact) but is not listed, so it takes
    /// no room in the holder's cap (and stays with the old key at a wallet recovery). The index
    /// always matches the stored holding (an invariant), so it is not read here.
    pub(crate) fn store_holding(
        &mut self,
        asset: &Asset,
        account: AccountId,
        before: &Holding,
        holding: &Holding,
    ) -> Outcome<()> {
        let key = Key::Balance(asset.clone(), account);
        if holding.amount.is_zero() && holding.revenue_accrued == 0 {
            self.delete(&key);
        } else {
            self.put(&key, holding);
        }
        let (was, is) = (listed(before), listed(holding));
        if was == is {
            return Ok(());
        }
        self.set_listed(account, asset, is)
    }

    /// Adds or removes `asset` from `account`'s holdings index, counting it in the member.
    fn set_listed(&mut self, account: AccountId, asset: &Asset, listed: bool) -> Outcome<()> {
        let index = Key::Holds(account, asset.clone());
        let mut member = self.member_or(account, ErrorCode::ReceiverNotVerified)?;
        if listed {
            ensure(member.assets < MEMBER_ASSETS_MAX, ErrorCode::TooManyHoldings)?;
            member.assets += 1;
            self.put(&index, &());
        } else {
            member.assets = member.assets.saturating_sub(1);
            self.delete(&index);
        }
        self.put(&Key::Member(account), &member);
        Ok(())
    }

    /// Records that `account` holds `duty`, so a wallet recovery can move it.
    pub(crate) fn add_duty(&mut self, account: AccountId, duty: Duty) -> Outcome<()> {
        let index = Key::DutyOf(account, duty);
        if self.get::<()>(&index)?.is_some() {
            return Ok(());
        }
        let mut member = self.member_or(account, ErrorCode::UnknownAccount)?;
        ensure(member.duties < MEMBER_DUTIES_MAX, ErrorCode::TooManyDuties)?;
        member.duties += 1;
        self.put(&index, &());
        self.put(&Key::Member(account), &member);
        Ok(())
    }

    /// Forgets that `account` holds `duty` (the record it names ended or changed hands).
    pub(crate) fn remove_duty(&mut self, account: AccountId, duty: Duty) -> Outcome<()> {
        let index = Key::DutyOf(account, duty);
        if self.get::<()>(&index)?.is_none() {
            return Ok(());
        }
        let mut member = self.member_or(account, ErrorCode::UnknownAccount)?;
        member.duties = member.duties.saturating_sub(1);
        self.delete(&index);
        self.put(&Key::Member(account), &member);
        Ok(())
    }

    /// The keys under `prefix`, as this transaction sees them (store, then the block's writes,
    /// then its own), decoded.
    pub(crate) fn scan(&self, prefix: &[u8]) -> Outcome<Vec<Key>> {
        let mut present: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
        for (key, _) in self.store.scan_prefix(prefix)? {
            present.insert(key, true);
        }
        for layer in [self.block, &self.writes] {
            let pending = layer.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix));
            for (key, value) in pending {
                present.insert(key.clone(), value.is_some());
            }
        }
        let mut keys = Vec::new();
        for (bytes, _) in present.into_iter().filter(|(_, live)| *live) {
            let key = codec::decode::<Key>(&bytes, STATE_VALUE_BYTES_MAX).map_err(|error| {
                let reason = error.to_string();
                Fail::Storage(StorageError::Corrupt { key: volt_proto_hex(&bytes), reason })
            })?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// True if the signer is `owner` or a delegate `owner` named.
    pub(crate) fn acts_for(&self, owner: AccountId) -> Outcome<bool> {
        self.allows(owner, self.signer)
    }

    /// True if `actor` is `owner`, or a delegate `owner` named while `owner` is in good
    /// standing: a frozen or revoked owner's delegations are suspended with it.
    pub(crate) fn allows(&self, owner: AccountId, actor: AccountId) -> Outcome<bool> {
        if cfg!(feature = "canary-skip-owner-check") || actor == owner {
            return Ok(true);
        }
        if self.get::<()>(&Key::Delegate(owner, actor))?.is_none() {
            return Ok(false);
        }
        let member: Option<Member> = self.get(&Key::Member(owner))?;
        Ok(member.is_some_and(|m| !m.revoked && !m.frozen))
    }

    /// Fails with `NotOwner` unless the signer is `owner` or its delegate.
    pub(crate) fn require_acts_for(&self, owner: AccountId) -> Outcome<()> {
        ensure(self.acts_for(owner)?, ErrorCode::NotOwner)
    }

    /// Moves `amount` of `asset` between two accounts.
    pub(crate) fn transfer(
        &mut self,
        asset: &Asset,
        from: AccountId,
        to: AccountId,
        amount: Amount,
    ) -> Outcome<()> {
        self.debit(asset, from, amount)?;
        self.credit(asset, to, amount)
    }

    /// Fails with `RecordTooLarge` if any value this transaction wrote is over the store's
    /// limit: refused at write as the transaction's failure, never found at read as corruption.
    pub(crate) fn check_sizes(&self) -> Outcome<()> {
        ensure(!self.oversized, ErrorCode::RecordTooLarge)
    }
}

/// True if a holding belongs in its holder's index: shares or cash, or a whole unit of revenue.
pub(crate) fn listed(holding: &Holding) -> bool {
    !holding.amount.is_zero() || holding.revenue_accrued >> SCALE_BITS != 0
}

/// Roles that hold balances. Admins govern, stations attest and auditors read: none of them
/// holds assets, so none can be paid by mistake.
pub(crate) fn holds_assets(role: Role) -> bool {
    matches!(role, Role::Investor | Role::Issuer | Role::Operator)
}

/// Decodes a stored value; a failure means the store is corrupt.
pub(crate) fn decode_value<T: Serialize + DeserializeOwned>(
    key: &[u8],
    value: &[u8],
) -> Outcome<T> {
    codec::decode(value, STATE_VALUE_BYTES_MAX).map_err(|error| {
        Fail::Storage(StorageError::Corrupt { key: volt_proto_hex(key), reason: error.to_string() })
    })
}

fn volt_proto_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    #[test]
    fn a_write_over_the_value_limit_fails_the_transaction() {
        // Proves an oversized value is refused when written, as the call's failure, while a
        // value at the limit is accepted.
        let store = MemStore::new();
        let block = Pending::new();
        let chain = ChainId::new("volt-test").unwrap();
        let ctx = BlockContext { height: Height(1), time: Timestamp(1) };
        let mut cx = Cx::new(&store, &block, ctx, &chain, AccountId([1; 32]));
        // A Vec<u8> encodes with an 8-byte length prefix.
        cx.put(&Key::Meta, &vec![0u8; STATE_VALUE_BYTES_MAX - 8]);
        assert!(cx.check_sizes().is_ok());
        cx.put(&Key::Meta, &vec![0u8; STATE_VALUE_BYTES_MAX - 7]);
        assert!(matches!(cx.check_sizes(), Err(Fail::Code(ErrorCode::RecordTooLarge))));
    }
}
