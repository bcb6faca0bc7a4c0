//! The state layout: every key the ledger writes and the record stored under it.
//!
//! A key's bytes are the canonical encoding of [`Key`]; a value's bytes are the canonical
//! encoding of its record. The authenticated tree commits to exactly these bytes, so a wallet
//! that wants a proof for its balance builds `Key::Balance(asset, account)` and encodes it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use volt_proto::{AccountId, Amount, Asset, ChainId, Hash, Height, Nonce, Role, Symbol, Text};
use volt_proto::{
    Attestation, BatteryStatus, Custody, ErrorCode, LeaseTerms, Passport, Serial, Signature,
    Timestamp, codec,
};

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
    /// A battery, by serial: [`Battery`].
    Battery(Serial),
    /// A station: [`Station`].
    Station(Symbol),
    /// A vehicle: [`Vehicle`].
    Vehicle(Symbol),
    /// A lease, by lease id: [`Lease`].
    Lease(Hash),
    /// A recorded attestation, by station and counter: [`AttestationRecord`].
    Attestation(Symbol, u64),
    /// A conflicting attestation for a used counter, by station, counter and attestation id:
    /// [`Evidence`].
    Evidence(Symbol, u64, Hash),
    /// The battery in a station slot, by station and slot: its [`Serial`].
    Slot(Symbol, u16),
    /// The batteries of a battery share class: a `Vec<Serial>`.
    ClassBatteries(Symbol),
    /// An index entry: the account holds a [`Key::Balance`] record of the asset (value `()`).
    /// Lives under its own key, so a member record stays small however much it holds.
    Holds(AccountId, Asset),
    /// An index entry: the account is named in this role on a record (value `()`), so a wallet
    /// recovery can hand every role to the new key.
    DutyOf(AccountId, Duty),
    /// A delegation: the second account may act for the first on its batteries and classes
    /// (value `()`).
    Delegate(AccountId, AccountId),
    /// Trade terms cancelled by a party, by trade id: the [`Height`] of the cancellation.
    TradeCancelled(Hash),
}

/// Variant indexes of the keys that are scanned by account prefix. Checked against the codec
/// by a test, so a reordering of [`Key`] cannot silently break the scans.
const HOLDS_TAG: u32 = 14;
const DUTY_OF_TAG: u32 = 15;

impl Key {
    /// The byte prefix shared by every `Key::Holds(account, _)`.
    pub fn holds_prefix(account: AccountId) -> Vec<u8> {
        codec::encode(&(HOLDS_TAG, account))
    }

    /// The byte prefix shared by every `Key::DutyOf(account, _)`.
    pub fn duties_prefix(account: AccountId) -> Vec<u8> {
        codec::encode(&(DUTY_OF_TAG, account))
    }
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
    /// How many assets it has a balance record of (each listed under [`Key::Holds`]); at most
    /// [`MEMBER_ASSETS_MAX`].
    pub assets: u32,
    /// How many roles on records name it (each listed under [`Key::DutyOf`]); at most
    /// [`MEMBER_DUTIES_MAX`].
    pub duties: u32,
    /// The key its wallet was recovered to, once recovered.
    pub recovered_to: Option<AccountId>,
}

/// Most different assets one member may hold a record of. Others can send a member new assets,
/// so the member can always make room: a balance that reaches zero (transfer it away, redeem
/// it, claim its revenue) drops its record.
pub const MEMBER_ASSETS_MAX: u32 = 1_024;

/// Most roles on records one member may hold (vehicles it pays for, stations, classes,
/// batteries, leases). Every one is taken on with the member's own signature.
pub const MEMBER_DUTIES_MAX: u32 = 16_384;

/// A record that names a member in a role other than holder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Duty {
    /// The issuer of a currency.
    CurrencyIssuer(Symbol),
    /// The issuer of a share class.
    ClassIssuer(Symbol),
    /// The operator of a station.
    StationOperator(Symbol),
    /// The fleet paying for a vehicle's swaps.
    Fleet(Symbol),
    /// The lessor of a lease.
    Lessor(Hash),
    /// The lessee of a lease.
    Lessee(Hash),
    /// The owner of a battery.
    BatteryOwner(Serial),
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
    /// Share classes with revenue: the class's revenue per share (scaled by 2⁶⁴) when this
    /// holding was last settled.
    pub revenue_checkpoint: u128,
    /// Share classes with revenue: revenue settled to this holder and not yet claimed, scaled
    /// by 2⁶⁴ (the fraction below one unit stays here, so no claim schedule loses any).
    pub revenue_accrued: u128,
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
    /// How many batteries the class is a share of (the list is under [`Key::ClassBatteries`],
    /// so the record every swap and share transfer reads stays small).
    pub battery_count: u32,
    /// The revenue accumulator (battery classes only).
    pub revenue: Option<Revenue>,
}

/// A share class's revenue: an accumulator of revenue per share, so distribution and claims are
/// O(1) whatever the number of holders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revenue {
    /// The currency revenue is paid in.
    pub currency: volt_proto::Symbol,
    /// Revenue per outstanding share ever distributed, scaled by 2⁶⁴.
    pub per_share: u128,
    /// The scaled remainder of the last division, carried into the next distribution.
    pub carry: u128,
    /// Revenue that arrived while no shares were outstanding; distributed with the next deposit
    /// that finds shares outstanding.
    pub held: Amount,
    /// Cash the class holds for its holders: deposited − claimed.
    pub pot: Amount,
    /// Revenue ever deposited (fees, energy payments, rent, forfeited deposits).
    pub deposited: Amount,
    /// Revenue ever claimed.
    pub claimed: Amount,
}

impl Revenue {
    /// An accumulator with nothing deposited yet.
    pub fn new(currency: Symbol) -> Revenue {
        let zero = Amount::ZERO;
        Revenue {
            currency,
            per_share: 0,
            carry: 0,
            held: zero,
            pot: zero,
            deposited: zero,
            claimed: zero,
        }
    }
}

/// A battery's dynamic health, from attestations (never rises, except by remanufacturing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Last reported state of charge, per mille.
    pub soc_permille: u16,
    /// State of health, per mille: never rises unless remanufactured.
    pub soh_permille: u16,
    /// Full equivalent cycles: never falls.
    pub full_cycles: u32,
    /// Energy delivered over its life, in watt-hours.
    pub energy_throughput_wh: u64,
}

/// A registered battery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Battery {
    /// Static passport.
    pub passport: Passport,
    /// Who owns it: the registrar, until it hands the battery over. Only the owner or its
    /// delegate changes its passport document, status, custody (outside swaps) or class.
    pub owner: AccountId,
    /// The account the owner offered the battery to, until it accepts.
    pub offered_to: Option<AccountId>,
    /// Lifecycle status (forward only).
    pub status: BatteryStatus,
    /// Its one custodian.
    pub custody: Custody,
    /// Dynamic health.
    pub health: Health,
    /// The share class it belongs to, if any.
    pub class: Option<Symbol>,
    /// The active lease, if any.
    pub lease: Option<Hash>,
    /// The last attestation that moved it.
    pub last_attestation: Option<(Symbol, u64)>,
}

/// A swap station.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Station {
    /// The operator that registered it.
    pub operator: AccountId,
    /// The current controller key; only it signs attestations.
    pub controller: AccountId,
    /// Where it is.
    pub location: Text,
    /// Number of battery slots.
    pub slots: u16,
    /// The operator's cut of each fee, in basis points.
    pub operator_cut_bps: u16,
    /// False once decommissioned.
    pub active: bool,
    /// The last recorded attestation counter (0 = none yet).
    pub counter: u64,
    /// Swaps settled.
    pub swaps: u64,
    /// Attestations recorded as disputed.
    pub disputed: u64,
    /// Energy delivered through settled swaps and exports, in watt-hours.
    pub energy_wh: u64,
    /// Fees and energy payments settled, per currency (one entry per currency it was paid in).
    pub totals: BTreeMap<Symbol, FeeTotals>,
}

/// A station's settled fees in one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeTotals {
    /// Fees and energy payments settled.
    pub fees: Amount,
    /// The operator's cut of them.
    pub operator_cut: Amount,
}

/// A registered vehicle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    /// The fleet account that pays its swaps.
    pub fleet: AccountId,
}

/// Lease status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseStatus {
    /// Running.
    Active,
    /// Closed with rent paid; deposit returned.
    Closed,
    /// Defaulted; deposit forfeited to the class.
    Defaulted,
}

/// A lease of a share class's batteries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The agreed terms.
    pub terms: LeaseTerms,
    /// The lessor (the class's issuer when it was opened; follows a wallet recovery).
    pub lessor: AccountId,
    /// The current lessee: `terms.lessee` unless the lessee's wallet was recovered to a new key.
    pub lessee: AccountId,
    /// When it started (block time).
    pub start: Timestamp,
    /// Periods in the term, including extensions.
    pub periods_total: u32,
    /// Periods paid.
    pub periods_paid: u32,
    /// Periods whose rent has been credited to the class (rent is credited as each paid
    /// period starts, so prepaid rent reaches the holders of each period).
    pub periods_released: u32,
    /// Rent paid for periods not started yet, held in escrow.
    pub rent_held: Amount,
    /// Deposit held in escrow (zero once returned or forfeited; kept while the lessee cannot
    /// receive it).
    pub deposit_held: Amount,
    /// Status.
    pub status: LeaseStatus,
}

/// What a recorded attestation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttestationEffect {
    /// A settled swap and the usage receipt it minted.
    Swap(UsageReceipt),
    /// A settled energy export.
    Energy(UsageReceipt),
    /// Recorded, but it conflicted with the ledger for this reason: no other effect.
    Disputed(ErrorCode),
}

/// A usage receipt: minted by each settled swap or energy export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReceipt {
    /// The station.
    pub station: Symbol,
    /// The attestation counter.
    pub counter: u64,
    /// The batteries involved (out, in for a swap; one for an export).
    pub batteries: Vec<Serial>,
    /// Energy, in watt-hours.
    pub energy_wh: u64,
    /// The fee or payment.
    pub fee: Amount,
    /// The station operator's cut of it.
    pub operator_cut: Amount,
    /// Who paid.
    pub payer: AccountId,
    /// The share class credited with the rest.
    pub class: Symbol,
}

/// A recorded attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRecord {
    /// The attestation id (blake3 of its canonical bytes).
    pub id: Hash,
    /// The height it was recorded at.
    pub height: Height,
    /// What it did.
    pub effect: AttestationEffect,
}

/// A second, different attestation signed for a counter that was already used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The conflicting attestation.
    pub attestation: Attestation,
    /// The controller's signature on it.
    pub signature: Signature,
    /// The height it was seen at.
    pub height: Height,
}

impl ShareClass {
    /// A new class with nothing issued yet.
    pub fn new(
        issuer: AccountId,
        name: Text,
        supply_max: Amount,
        battery_count: u32,
        revenue: Option<Revenue>,
    ) -> ShareClass {
        let zero = Amount::ZERO;
        ShareClass {
            issuer,
            name,
            supply_max,
            issued: zero,
            redeemed: zero,
            paused: false,
            battery_count,
            revenue,
        }
    }

    /// Shares outstanding: issued − redeemed.
    pub fn outstanding(&self) -> Amount {
        // Redemptions are bounded by holdings, which are bounded by issues.
        Amount(self.issued.0.saturating_sub(self.redeemed.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_prefixes_match_the_encoded_keys() {
        // Proves the account prefixes used by scans are exactly the start of the encoded keys.
        let account = AccountId([7; 32]);
        let asset = Asset::Cash(Symbol::new("HKD").unwrap());
        let holds = Key::Holds(account, asset).encode();
        assert!(holds.starts_with(&Key::holds_prefix(account)));
        let duty = Key::DutyOf(account, Duty::Lessee(Hash([1; 32]))).encode();
        assert!(duty.starts_with(&Key::duties_prefix(account)));
        let other = Key::Holds(AccountId([8; 32]), Asset::Shares(Symbol::new("A").unwrap()));
        assert!(!other.encode().starts_with(&Key::holds_prefix(account)));
        assert!(!duty.starts_with(&Key::holds_prefix(account)));
    }
}
