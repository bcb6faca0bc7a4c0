//! Configuration of one core: timeouts, the validator set and key, and the test-only canaries.

use crate::types::{Epoch, ValidatorIndex};
use crate::validators::ValidatorSet;
use volt_proto::ChainId;
use volt_proto::sig::Keypair;

/// Timeouts, in milliseconds of the driver's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// After entering a view, nullify it if no valid proposal arrived by then (2Δ).
    pub leader_ms: u64,
    /// After entering a view, nullify it if it is not notarized by then (3Δ).
    pub advance_ms: u64,
    /// While stuck in a nullified view, rebroadcast the nullify and the entry certificate, and
    /// repeat fetches, this often.
    pub retry_ms: u64,
    /// Do not repeat the same fetch sooner than this.
    pub fetch_retry_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { leader_ms: 1000, advance_ms: 1500, retry_ms: 1000, fetch_retry_ms: 500 }
    }
}

/// A deliberately broken rule, for the simulator's canary test only. Never set it elsewhere.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Canary {
    /// Correct behaviour.
    #[default]
    None,
    /// BROKEN: notarize a second, different proposal in a view.
    NotarizeTwice,
    /// BROKEN: never journal votes (a restarted node forgets what it signed).
    ForgetVotes,
    /// BROKEN (issue 8, defect 1): build a due journal rewrite from the views held at the end
    /// of the turn, after that turn's finality pruned some of them.
    LateRewrite,
    /// BROKEN (defect 2): give up choosing a parent, and refuse a proposal, whose parent gap
    /// exceeds [`PARENT_GAP_MAX`] views.
    ParentGapLimit,
    /// BROKEN (defect 3): refuse to finalize a chain longer than
    /// [`FINALIZE_BLOCKS_PER_TURN_MAX`] in one walk (reported as a fork).
    FinalizeAllOrNothing,
    /// BROKEN (defect 4): fetches never expire and new ones are refused at [`WANTS_MAX`].
    WantsNeverExpire,
    /// BROKEN (defect 5): help a peer's stale nullify before checking its signature.
    HelpUnverified,
    /// Not broken, slower: verify every peer vote on arrival, one by one, as before batching
    /// (issue 8, defect 9); for measuring the batch path against it.
    VerifyEachVote,
    /// BROKEN (defect 6): the simulator's nodes keep their journal in format 1 (no commit
    /// frames), so a torn tail with a hole reads as corruption. The core ignores it.
    JournalWithoutCommits,
}

/// Static configuration of one node for one epoch.
#[derive(Clone, Debug)]
pub struct Config {
    /// The chain, mixed into every signature.
    pub chain_id: ChainId,
    /// The epoch this engine runs.
    pub epoch: Epoch,
    /// The genesis validator set.
    pub validators: ValidatorSet,
    /// This node's index in the set.
    pub me: ValidatorIndex,
    /// This node's key (must be `validators[me]`).
    pub key: Keypair,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Test-only fault injection; [`Canary::None`] in production.
    #[doc(hidden)]
    pub canary: Canary,
}

/// Why a core could not be built.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// `me` is outside the validator set.
    #[error("node index {me} is outside the set of {n} validators")]
    NotAValidator {
        /// The index given.
        me: ValidatorIndex,
        /// Set size.
        n: usize,
    },
    /// The key does not belong to `validators[me]`.
    #[error("the configured key is not validator {me}'s key")]
    WrongKey {
        /// The index given.
        me: ValidatorIndex,
    },
    /// A journal record holds a vote this node did not sign for this epoch: the journal belongs
    /// to another node or chain.
    #[error("journal vote by signer {signer} in epoch {epoch:?} is not this node's (me = {me})")]
    ForeignJournal {
        /// The record's signer.
        signer: ValidatorIndex,
        /// The record's epoch.
        epoch: Epoch,
        /// This node.
        me: ValidatorIndex,
    },
    /// The anchor block belongs to another epoch.
    #[error("anchor block of epoch {actual:?}, engine runs epoch {expected:?}")]
    AnchorEpoch {
        /// Engine epoch.
        expected: Epoch,
        /// Block epoch.
        actual: Epoch,
    },
}
