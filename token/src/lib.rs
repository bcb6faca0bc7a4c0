//! The Volt ledger state machine (in progress).
