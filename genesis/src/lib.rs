//! The Volt genesis document: the chain id, the validators with their keys, the initial members
//! and roles, currencies, and the network's fixtures (stations, batteries in pools, vehicles,
//! share allocations, opening balances, leases) plus the consensus timing, validated once.
//!
//! # What is built
//! - [`GenesisDoc`]: plain data, no I/O, depending only on `volt-proto` (the design's arrows are
//!   `proto ← genesis ← node`; converting the document into the ledger's `volt_token::Genesis`
//!   and its set-up transactions is the node's job).
//! - [`GenesisDoc::validate`]: every cross-reference, uniqueness rule, key check and range,
//!   with a [`GenesisError`] naming the offending field (`stations[3].slots`).
//! - [`hong_kong_pilot`]: the embedded default network, the Hong Kong pilot (chain
//!   `volt-hk-pilot`): 4 validators, 55 swap stations, 660 batteries in 3 pools, 180 taxis in
//!   3 fleets, 20 investors.
//! - [`dev_pilot`]: the same fixtures on one validator with a 1 s block interval (chain
//!   `volt-hk-dev`), for `volt node run --dev`.
//!
//! # Keys: a demo-only scheme
//! Every key in the embedded pilot is derived from a public label with
//! `volt_proto::sig::Keypair::for_testing` ([`KeyScheme::DemoLabels`]): anyone who reads this
//! crate can sign as any pilot member. That is what a self-contained demo needs and must never
//! hold real value. A production genesis lists public keys only ([`KeyScheme::External`]) and
//! the secrets stay in each operator's key file.
//!
//! # Not built yet
//! Generating a network with fresh random keys, and validator network addresses (libp2p peer
//! ids) arrive with the networked node. The document is read from and written to JSON files by
//! the node (`volt_node::config::load_genesis`, `volt genesis`).

mod dev;
mod doc;
mod error;
mod pilot;
mod validate;

pub use dev::{DEV_CHAIN_ID, DEV_CONSENSUS, dev_pilot};
pub use doc::{
    Allocation, Balance, BatteryEntry, ConsensusParams, CurrencyEntry, GenesisDoc, KeyScheme,
    LeasePlan, MemberEntry, Placement, PoolEntry, StationEntry, ValidatorEntry, VehicleEntry,
    demo_keypair,
};
pub use error::GenesisError;
pub use pilot::{
    PILOT_CHAIN_ID, PILOT_GENESIS_TIME, hong_kong_pilot, hong_kong_pilot_with_validators,
};

/// Fewest validators a network may list (n = 3f + 1 with f = 1). The one exception is
/// [`VALIDATORS_DEV`].
pub const VALIDATORS_MIN: usize = 4;
/// A document may also list exactly this many validators: a dev chain (f = 0, quorum 1). Two
/// or three validators are refused: they tolerate no fault either (f = 0), yet any one of them
/// stopping halts the chain, so they are a misconfiguration, not a smaller network.
pub const VALIDATORS_DEV: usize = 1;
/// Most validators a document may list (the consensus crate's own ceiling is higher).
pub const VALIDATORS_MAX: usize = 64;
/// Fewest slots a station may declare.
pub const STATION_SLOTS_MIN: u16 = 1;
/// Most slots a station may declare.
pub const STATION_SLOTS_MAX: u16 = 64;
/// One hundred per cent, in basis points.
pub const BPS_ONE: u16 = 10_000;
