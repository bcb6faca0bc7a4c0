//! What goes in and out of a core: inputs, outputs, timers, and the reasons inputs are dropped.

use crate::journal::Record;
use crate::types::{Block, Certificate, Message, Request, ValidatorIndex, View};
use std::collections::BTreeMap;
use volt_proto::{Hash, Height};

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// No proposal in time.
    Leader,
    /// No notarization in time.
    Advance,
    /// Rebroadcast a nullify.
    Retry,
}

/// A timer: a view and a kind. Timers of views the node has left are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timer {
    /// The view it was set in.
    pub view: View,
    /// What it is for.
    pub kind: TimerKind,
}

/// What the driver hands the core.
#[derive(Clone, Debug)]
pub enum Input {
    /// The node (re)started: arm timers, re-send journaled votes. Must be the first input.
    Start,
    /// Bytes from validator `from` (authenticated by the transport; never trusted for votes).
    Message {
        /// The transport-level sender.
        from: ValidatorIndex,
        /// The encoded [`Message`].
        bytes: Vec<u8>,
    },
    /// A timer set by [`Output::SetTimer`] expired.
    Timeout(Timer),
    /// The application's answer to [`Output::Propose`].
    Proposed {
        /// The view asked for.
        view: View,
        /// The block payload.
        payload: Vec<u8>,
    },
    /// The application's answer to [`Output::Verify`].
    Verified {
        /// The view of the block.
        view: View,
        /// The block digest.
        digest: Hash,
        /// Whether the payload is valid on top of its parent.
        valid: bool,
    },
    /// A certificate delivered by block sync (checked like any other).
    Certificate(Certificate),
    /// Blocks delivered by block sync (accepted only if asked for, or ancestors of those).
    Blocks(Vec<Block>),
}

/// What the core asks the driver to do, in order.
#[derive(Clone, Debug)]
pub enum Output {
    /// Append a record to the vote journal.
    JournalAppend(Record),
    /// Replace the whole journal with these records, atomically and durably (pruning).
    JournalRewrite(Vec<Record>),
    /// Make the journal durable. Always after the turn's appends and before any send.
    JournalSync,
    /// Send to one validator.
    Send {
        /// The recipient.
        to: ValidatorIndex,
        /// The message.
        message: Message,
    },
    /// Send to every other validator.
    Broadcast(Message),
    /// Ask every peer for certificates or blocks. **No longer emitted** (issue 8, defect 7):
    /// the core asks one peer at a time, as `Send { to, message: Message::Request(..) }`, and
    /// asks the next peer when no answer came within `fetch_retry_ms`. Kept so drivers that
    /// still match on it compile; it will be removed.
    Fetch(Request),
    /// Arm a timer at an absolute time.
    SetTimer {
        /// The timer.
        timer: Timer,
        /// When, in the driver's milliseconds.
        at_ms: u64,
    },
    /// Ask the application for a payload on top of this parent (answer: [`Input::Proposed`]).
    Propose {
        /// The view to propose in.
        view: View,
        /// The parent's view.
        parent_view: View,
        /// The parent's digest.
        parent: Hash,
        /// The height of the new block.
        height: Height,
    },
    /// Ask the application to check a block (answer: [`Input::Verified`]).
    Verify(Block),
    /// A block is final, in height order without gaps. `certificate` finalizes this block or a
    /// descendant of it.
    Finalized {
        /// The block.
        block: Block,
        /// The finalization that made it final.
        certificate: Certificate,
    },
}

/// Why an input was dropped. Every drop is counted, none is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rejection {
    /// Bytes that do not decode canonically within the size limit, or a self-contradictory
    /// message (a parent view not below the view, a block not matching its vote).
    Malformed,
    /// A signer or peer index outside the validator set.
    UnknownSigner,
    /// A vote whose signature does not verify.
    BadSignature,
    /// A certificate that does not verify (bitmap, quorum or signatures).
    BadCertificate,
    /// Another epoch.
    WrongEpoch,
    /// A view at or below the last finalized view.
    OldView,
    /// A view more than [`crate::types::VIEWS_AHEAD_MAX`] ahead.
    FutureView,
    /// A proposal from a validator that is not the view's leader.
    NotLeader,
    /// A second, different vote of one kind from one signer in one view (equivocation).
    Conflicting,
    /// A copy of something already held.
    Duplicate,
    /// A request from a peer that used up its answer budget for this second
    /// ([`super::ANSWERS_PER_PEER_PER_SECOND_MAX`],
    /// [`super::ANSWER_BYTES_PER_PEER_PER_SECOND_MAX`]).
    OverBudget,
    /// A vote whose certificate is already held (dropped unverified: it cannot change anything).
    Late,
    /// A proposal that breaks the validity rule or that the application refused.
    InvalidProposal,
    /// A block nobody asked for.
    Unwanted,
    /// Two finalized chains that are not prefixes of one another (more than f faults).
    Fork,
}

/// Counts of dropped inputs, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Drops by reason.
    pub rejected: BTreeMap<Rejection, u64>,
}

impl Counters {
    /// Drops for one reason.
    pub fn get(&self, reason: Rejection) -> u64 {
        self.rejected.get(&reason).copied().unwrap_or(0)
    }
}
