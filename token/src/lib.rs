//! The Volt ledger state machine: pure, deterministic, no I/O.
//!
//! [`State::apply_block`] takes a [`BlockContext`] (height and agreed time: the ledger's only
//! clock) and a block's signed transactions, and returns one [`volt_proto::Receipt`] per
//! transaction and the new state root. The same blocks give the same root on every machine.
//!
//! # Transaction pipeline
//! 1. **Authenticate** (a failure is `Rejected`: nothing changes, the nonce stays): chain id,
//!    signature (the block's signatures are batch-verified in block order), expiry height,
//!    signer registered and not revoked, `nonce == next_nonce`.
//! 2. **Execute** the call over an overlay. Success (`Applied`) keeps all its writes; a refusal
//!    (`Failed(code)`) keeps none. Either way the nonce is used, so a signed transaction applies
//!    at most once. Every call first requires the signer unfrozen and its identity current.
//!
//! # Calls (signer role → effect)
//! | call | who | effect and refusals |
//! |---|---|---|
//! | `RegisterMember` | admin | new member with role and identity expiry; weak keys refused |
//! | `RevokeMember` | admin | member can no longer sign or receive |
//! | `Freeze` / `Unfreeze` | admin | frozen accounts neither send nor receive |
//! | `RecoverWallet` | admin | moves membership and every balance to a new key; old key revoked |
//! | `PauseClass` / `UnpauseClass` | admin or class issuer | paused classes do not move |
//! | `RegisterCurrency` | admin | a cash token whose issuer must have the issuer role |
//! | `Mint` / `Burn` | the currency's issuer | mint to a verified member; burn own balance |
//! | `Transfer` | holder | cash or shares to a verified, unfrozen member |
//! | `CreateClass` | issuer | share class with a fixed maximum supply |
//! | `IssueShares` | the class's issuer | up to the maximum supply |
//! | `RedeemShares` | holder | burns shares |
//! | `Trade` | either party | two legs signed by both parties, settles wholly or not at all, once, before expiry |
//!
//! Only investors, issuers and operators hold assets; admins, stations and auditors do not.
//!
//! # Invariants (checked by [`invariants::check`] after every block in tests)
//! - supply per asset = minted − burned (cash) and issued − redeemed (shares) = Σ balances;
//! - no balance below zero (amounts are unsigned, all arithmetic checked);
//! - every non-zero balance is listed in its holder's `holdings`;
//! - nonces strictly sequential per account;
//! - the same blocks give the same state root on every replica.

mod calls;
mod exec;
pub mod invariants;
pub mod keys;
pub mod revenue;
mod state;
pub mod store;
pub mod testkit;
pub mod tree;

pub use exec::{BlockContext, STATE_VALUE_BYTES_MAX};
pub use keys::Key;
pub use state::{
    BLOCK_TXS_MAX, BlockError, BlockResult, Genesis, GenesisError, GenesisMember, State,
};
pub use store::{MemStore, StorageError, Store};
