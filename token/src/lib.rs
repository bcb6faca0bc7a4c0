//! The Volt ledger state machine (in progress).

pub mod tree;
