//! Volt's wire and storage types.
//!
//! - [`codec`]: the one canonical binary codec for everything that is signed or hashed.
//! - [`sig`]: the one signature-validity rule, domain separation, and signing keys.
//! - [`tx`]: the signed transaction envelope, its calls, and receipts.
//! - [`battery`]: passports, health, custody, station attestations and lease terms.
//! - the core newtypes ([`AccountId`], [`Hash`], [`Signature`], [`Height`], [`Nonce`],
//!   [`Amount`], [`Timestamp`], [`Symbol`], [`ChainId`], [`Text`]).
//! - `grpc` (feature `grpc`, on by default): the tonic/prost gRPC API generated from
//!   `proto/volt/ledger.proto` at build time by a pure-Rust protobuf compiler (`protox`).
//!
//! This crate is pure: it reads no clock, no random source, no socket and no file.

pub mod battery;
pub mod codec;
pub mod sig;
pub mod tx;
mod types;

pub use battery::{
    Attestation, BatteryCategory, BatteryReading, BatteryStatus, Custody, EnergyAttestation,
    LeaseTerms, Passport, Serial, SwapAttestation,
};
pub use tx::{
    Asset, Call, ErrorCode, Leg, Receipt, Role, SignedTx, TX_BYTES_MAX, TradeTerms, TxBody,
    TxOutcome,
};
pub use types::{
    AccountId, Amount, ChainId, Hash, Height, NameError, Nonce, Signature, Symbol, Text, Timestamp,
};

/// The gRPC API, generated from `proto/volt/ledger.proto`.
#[cfg(feature = "grpc")]
#[allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod grpc {
    tonic::include_proto!("volt.ledger.v1");

    /// The encoded file descriptor set of `volt/ledger.proto`, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/ledger_descriptor.bin"));
}
