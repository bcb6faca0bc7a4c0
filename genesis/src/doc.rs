//! The document's types: plain data, cross-referenced by member name and by ledger symbol.

use serde::{Deserialize, Serialize};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, ChainId, Hash, Passport, Role, Serial, Symbol, Text, Timestamp,
};

/// How the document's keys were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyScheme {
    /// DEMO ONLY: every key is `Keypair::for_testing(label)`, so anyone can derive every
    /// secret. [`crate::GenesisDoc::validate`] checks each account against its label.
    DemoLabels,
    /// Keys generated elsewhere; the document holds public keys only and labels are ignored.
    External,
}

/// The consensus timing every validator uses, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusParams {
    /// A leader proposes no sooner than this after its parent block's time.
    pub block_interval_ms: u64,
    /// Nullify a view with no valid proposal by then (must exceed the block interval).
    pub leader_timeout_ms: u64,
    /// Nullify a view not notarized by then (must exceed the leader timeout).
    pub advance_timeout_ms: u64,
    /// Rebroadcast interval while stuck in a nullified view.
    pub retry_ms: u64,
    /// Do not repeat the same fetch sooner than this.
    pub fetch_retry_ms: u64,
}

/// A validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorEntry {
    /// A unique human name (`hkt-1`).
    pub name: String,
    /// The label its demo key derives from ([`KeyScheme::DemoLabels`] only).
    pub key_label: String,
    /// Its consensus key.
    pub account: AccountId,
}

/// A ledger member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// A unique human name, used by the rest of the document to refer to it.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The label its demo key derives from ([`KeyScheme::DemoLabels`] only).
    pub key_label: String,
    /// Its account key.
    pub account: AccountId,
    /// When its identity verification lapses.
    pub identity_expiry: Timestamp,
}

/// A cash currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyEntry {
    /// Its code (`HKD`). Amounts are in its minor unit (cents).
    pub symbol: Symbol,
    /// The member (role issuer) that alone mints and burns it.
    pub issuer: String,
}

/// A swap station.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationEntry {
    /// Its id (`HK-KC-001`).
    pub id: Symbol,
    /// Where it is (district).
    pub location: Text,
    /// Battery slots.
    pub slots: u16,
    /// The operator's cut of every swap fee, in basis points.
    pub operator_cut_bps: u16,
    /// The member (role operator) that runs it.
    pub operator: String,
    /// The member (role station) whose key signs its attestations.
    pub controller: String,
}

/// A lease every pool opens at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeasePlan {
    /// Rent per period.
    pub rent_per_period: Amount,
    /// Period length.
    pub period_ms: u64,
    /// Periods in the term.
    pub periods: u32,
    /// Deposit held in escrow.
    pub deposit: Amount,
    /// Grace before a default may be declared.
    pub grace_ms: u64,
    /// The most one swap may charge the fleet as a fixed part (the lease's fee tariff).
    pub fee_per_swap_max: Amount,
    /// The most one swap may charge per kWh delivered, on top of the fixed part.
    pub fee_per_kwh_max: Amount,
    /// Periods the fleet may add alone, at the same rent.
    pub extension_periods_max: u32,
    /// Periods of notice an early close costs the fleet.
    pub notice_periods: u32,
}

/// A battery pool (a battery bank): one share class over its batteries, leased to one fleet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolEntry {
    /// The share class symbol (`POOL-KLN`).
    pub class: Symbol,
    /// A human name.
    pub name: Text,
    /// The member (role issuer) that creates and issues the class.
    pub issuer: String,
    /// The member (role operator) that leases it out.
    pub lessor: String,
    /// Shares that can ever be outstanding.
    pub supply_max: Amount,
    /// The currency revenue is paid in.
    pub revenue_currency: Symbol,
    /// The fleet member that leases every battery of the pool.
    pub lessee: String,
    /// The lease terms.
    pub lease: LeasePlan,
}

/// Where a battery starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    /// In its warehouse.
    Warehouse,
    /// In a station slot.
    Station {
        /// The station.
        station: Symbol,
        /// The slot.
        slot: u16,
    },
    /// In a vehicle.
    Vehicle(Symbol),
}

/// A battery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatteryEntry {
    /// Its serial.
    pub serial: Serial,
    /// Its battery passport.
    pub passport: Passport,
    /// The pool (share class) it belongs to.
    pub pool: Symbol,
    /// The warehouse it is registered in.
    pub warehouse: Symbol,
    /// Where it is moved at genesis.
    pub placement: Placement,
}

/// A vehicle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleEntry {
    /// Its id (`TX-KLN-001`).
    pub id: Symbol,
    /// The fleet member that pays its swaps.
    pub fleet: String,
}

/// Shares issued at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The holder (member name).
    pub holder: String,
    /// The pool's class.
    pub class: Symbol,
    /// How many.
    pub shares: Amount,
}

/// Cash minted at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// The holder (member name).
    pub holder: String,
    /// The currency.
    pub currency: Symbol,
    /// How much, in minor units.
    pub amount: Amount,
}

/// A genesis document. Build it, then call [`GenesisDoc::validate`] once before use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisDoc {
    /// The chain id every transaction and vote carries.
    pub chain_id: ChainId,
    /// Genesis time (ms since the Unix epoch).
    pub genesis_time: Timestamp,
    /// How the keys were made.
    pub key_scheme: KeyScheme,
    /// Consensus timing.
    pub consensus: ConsensusParams,
    /// The validators, in leader order.
    pub validators: Vec<ValidatorEntry>,
    /// Ledger members.
    pub members: Vec<MemberEntry>,
    /// Currencies.
    pub currencies: Vec<CurrencyEntry>,
    /// Swap stations.
    pub stations: Vec<StationEntry>,
    /// Battery pools.
    pub pools: Vec<PoolEntry>,
    /// Batteries.
    pub batteries: Vec<BatteryEntry>,
    /// Vehicles.
    pub vehicles: Vec<VehicleEntry>,
    /// Shares issued at genesis.
    pub allocations: Vec<Allocation>,
    /// Cash minted at genesis.
    pub balances: Vec<Balance>,
}

impl GenesisDoc {
    /// blake3 of the canonical document: what two operators compare to know they run the same
    /// chain.
    pub fn id(&self) -> Hash {
        volt_proto::codec::hash(self)
    }

    /// The member with this name.
    pub fn member(&self, name: &str) -> Option<&MemberEntry> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The validator accounts in leader order.
    pub fn validator_accounts(&self) -> Vec<AccountId> {
        self.validators.iter().map(|v| v.account).collect()
    }
}

/// DEMO ONLY: the key of a [`KeyScheme::DemoLabels`] document entry. Anyone can compute it.
pub fn demo_keypair(label: &str) -> Keypair {
    Keypair::for_testing(label)
}
