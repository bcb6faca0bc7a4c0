//! The Volt genesis document: the chain id, the validators with their keys and addresses, the
//! initial members and roles, currencies, batteries, stations and balances, and the consensus
//! timeouts; validated once at load.
//!
//! Not built yet: this crate holds no code until the genesis issue lands. The ledger's
//! `volt_token::Genesis` is the in-memory starting state the document will produce.
