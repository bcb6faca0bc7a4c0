//! Simplex BFT for Volt: a sans-IO core, its vote journal, and a seeded simulator.
//!
//! Modules: [`types`] (wire and journal types), [`validators`] (the genesis set, quorum,
//! leaders, vote and certificate checks), [`core`] (the state machine), [`journal`] (the vote
//! journal and its storages), [`sim`] (the deterministic simulator and invariant checker).
//!
//! (The full specification follows in the next revision of this file.)

pub mod core;
pub mod journal;
pub mod sim;
pub mod types;
pub mod validators;

pub use crate::core::{
    Config, Core, CoreError, Counters, Input, Output, Rejection, Timeouts, Timer, TimerKind, Tip,
};
pub use journal::{FileStorage, Journal, JournalError, JournalStorage, MemoryStorage, Record};
pub use types::{
    Block, Certificate, Epoch, Message, Proposal, Request, Round, SignedVote, ValidatorIndex, View,
    Vote, VoteKind,
};
pub use validators::ValidatorSet;
