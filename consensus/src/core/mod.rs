//! The sans-IO Simplex core: `handle(now, input) -> Vec<Output>`.
//!
//! The core reads no clock (time is the `now` argument, in milliseconds), draws no randomness
//! and performs no I/O: it returns what to journal, send, time and deliver, in the order the
//! driver must carry them out (journal appends, then one sync, then everything else).

mod batch;
mod fetch;
mod proposals;
mod runs;
mod sync;
mod votes;

pub use fetch::WANT_STALE_RETRIES;

use crate::journal::Record;
use crate::types::{
    Block, Certificate, Epoch, Message, Proposal, Request, SignedVote, ValidatorIndex, View,
    VoteKind,
};
use crate::validators::ValidatorSet;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash, Height};

/// Finalized blocks kept in memory to serve peers that catch up (older ones come from the
/// node's block store).
pub const FINALIZED_BLOCKS_KEPT: usize = 256;
/// Outstanding fetches tracked at once. At the limit the least useful want is evicted; a fetch
/// the finalized chain needs is never refused.
pub const WANTS_MAX: usize = 256;
/// The journal is rewritten without old records once the finalized view passes the last floor
/// by this many views.
pub const JOURNAL_PRUNE_VIEWS: u64 = 32;
/// Historical walk limit of parent choice (issue 8, defect 2). The validity rule no longer
/// depends on it: runs of nullified views are looked up, not walked. Kept for the canary that
/// re-enables the old limit, and as the gap length the simulator must cross.
pub const PARENT_GAP_MAX: u64 = 1024;
/// Most blocks finalized (delivered) in one turn; the rest follow in the next turns, lowest
/// first. Small, so one turn's outputs hold at most 16 MiB of payload (it was 1,024, up to
/// 1 GiB in one output vector).
pub const FINALIZE_BLOCKS_PER_TURN_MAX: usize = 16;
/// Most parent links followed per turn while walking down from a finalization to the last
/// delivered block (the walk resumes where it stopped).
pub const FINALIZE_WALK_PER_TURN_MAX: usize = 4096;
/// Proposals (blocks) of views this far below the current one are forgotten unless certified
/// or notarized by this node: a byzantine leader cannot park 1 MiB per view it leads while
/// finality stalls.
pub const PROPOSALS_KEPT_VIEWS: u64 = 64;
/// Requests one peer may have answered per second; past it, its requests get nothing until the
/// second is over (`Rejection::OverBudget`). An honest node asks each thing of one peer at a
/// time, at most once per `fetch_retry_ms`.
pub const ANSWERS_PER_PEER_PER_SECOND_MAX: u32 = 1024;
/// Bytes of answers (blocks and certificates) one peer may be sent per second; past it, as
/// above. At least one answer goes out per second, however large.
pub const ANSWER_BYTES_PER_PEER_PER_SECOND_MAX: usize = 16 << 20;
/// Certificates that failed verification, remembered by digest so that a forged certificate
/// sent again is refused without verifying it again; the oldest is forgotten first.
pub const BAD_CERTIFICATES_KEPT: usize = 256;
/// Peer votes of views this far below the current one are forgotten, and later ones refused
/// (`OldView`): the view was left through a certificate, so its votes can no longer move this
/// node, and a stall of any length keeps at most this many views of votes (certificates stay:
/// they are the proof of each skipped view).
pub const VOTES_KEPT_VIEWS: u64 = 64;
/// Timeouts double every this many consecutive views entered through a nullification...
pub const TIMEOUT_BACKOFF_VIEWS: u64 = 8;
/// ...up to `2^TIMEOUT_BACKOFF_SHIFT_MAX` times the configured timeouts.
pub const TIMEOUT_BACKOFF_SHIFT_MAX: u64 = 3;

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
    /// ([`ANSWERS_PER_PEER_PER_SECOND_MAX`], [`ANSWER_BYTES_PER_PEER_PER_SECOND_MAX`]).
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

/// Where a proposal of the current view stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Status {
    /// No proposal yet.
    #[default]
    None,
    /// Waiting for certificates or the parent block.
    Waiting,
    /// Handed to the application.
    Verifying,
    /// Notarized by this node.
    Verified,
    /// Refused.
    Invalid,
}

/// This node's own votes in one view.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mine {
    pub(crate) notarize: Option<SignedVote>,
    pub(crate) nullify: Option<SignedVote>,
    pub(crate) finalize: Option<SignedVote>,
}

/// Everything known about one view.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViewState {
    pub(crate) proposal: Option<Proposal>,
    pub(crate) status: Status,
    pub(crate) notarizes: BTreeMap<ValidatorIndex, SignedVote>,
    pub(crate) nullifies: BTreeMap<ValidatorIndex, SignedVote>,
    pub(crate) finalizes: BTreeMap<ValidatorIndex, SignedVote>,
    /// Peer votes not verified yet, by kind and signer, with the peer that sent each: they
    /// wait until they can complete a certificate, then are verified in one batch.
    pub(crate) waiting: BTreeMap<(VoteKind, ValidatorIndex), (ValidatorIndex, SignedVote)>,
    pub(crate) notarization: Option<Certificate>,
    pub(crate) nullification: Option<Certificate>,
    pub(crate) finalization: Option<Certificate>,
    pub(crate) mine: Mine,
    /// The parent the application was asked to build on (leader only).
    pub(crate) propose_parent: Option<(View, Hash, Height)>,
    /// The certificate that moved this node into the view (rebroadcast with nullifies).
    pub(crate) entry: Option<Certificate>,
}

impl ViewState {
    /// The digest certified at this view (by a notarization or a finalization).
    pub(crate) fn certified(&self) -> Option<Hash> {
        self.finalization
            .as_ref()
            .or(self.notarization.as_ref())
            .and_then(|c| c.vote.proposal().map(|p| p.digest))
    }
}

/// Counts of what a core holds in memory.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Views with state.
    pub views: usize,
    /// Peer and own votes kept per view (to form certificates), verified or waiting.
    pub votes: usize,
    /// Notarizations, nullifications and finalizations kept (entry copies not counted).
    pub certificates: usize,
    /// Blocks that are neither certified, nor notarized by this node, nor finalized.
    pub proposals: usize,
}

/// The last block delivered as final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Its view.
    pub view: View,
    /// Its height.
    pub height: Height,
    /// Its digest.
    pub digest: Hash,
}

/// The Simplex state machine of one validator.
#[derive(Debug)]
pub struct Core {
    pub(crate) cfg: Config,
    pub(crate) now: u64,
    pub(crate) view: View,
    journaled_view: View,
    pub(crate) floor: View,
    pub(crate) views: BTreeMap<View, ViewState>,
    pub(crate) blocks: BTreeMap<Hash, Block>,
    pub(crate) finalized: Tip,
    pub(crate) finalized_chain: VecDeque<Hash>,
    pub(crate) best_finalization: Option<Certificate>,
    pub(crate) wants: BTreeMap<Request, fetch::Want>,
    pub(crate) counters: Counters,
    /// Runs of nullified views above the finalized one.
    pub(crate) nullified: runs::NullifiedRuns,
    /// Views above the finalized one with a certified (notarized or finalized) digest.
    pub(crate) certified_views: BTreeSet<View>,
    /// The finalized chain still to deliver, by height (ancestors of the best finalization).
    pub(crate) catchup: BTreeMap<Height, Hash>,
    /// The digest the catch-up walk looks up next, and the tip it walks from.
    pub(crate) catchup_cursor: Option<Hash>,
    pub(crate) catchup_tip: Option<Hash>,
    /// Consecutive views entered through a nullification (timeouts back off with it).
    pub(crate) nullified_streak: u64,
    /// (peer, certificate view) pairs already helped: help goes out once per pair.
    pub(crate) helped: BTreeSet<(ValidatorIndex, View)>,
    /// When each (peer, request) was last answered.
    pub(crate) served: BTreeMap<(ValidatorIndex, Request), u64>,
    /// What each peer was answered in the current second: (second, answers, bytes).
    pub(crate) budgets: BTreeMap<ValidatorIndex, (u64, u32, usize)>,
    /// Digests of certificates that failed verification, oldest first, and as a set.
    pub(crate) bad_certificates: (VecDeque<Hash>, BTreeSet<Hash>),
    /// Views below this one had their peer votes swept.
    pub(crate) votes_swept: View,
    /// Views below this one had their stale proposals swept.
    pub(crate) proposals_swept: View,
    /// The transport peer of the input being handled, and the misbehaviour it showed.
    input_peer: Option<ValidatorIndex>,
    offender: Option<(ValidatorIndex, Rejection)>,
    journal_out: Vec<Record>,
    rewrite: bool,
    rewrite_due: bool,
    out: Vec<Output>,
}

impl Core {
    /// Builds a node from its configuration, the last block its application holds as final
    /// (`anchor`: genesis on a fresh node) and the records replayed from its vote journal.
    pub fn new(cfg: Config, anchor: Block, journal: &[Record]) -> Result<Core, CoreError> {
        let n = cfg.validators.len();
        let key =
            cfg.validators.key(cfg.me).map_err(|_| CoreError::NotAValidator { me: cfg.me, n })?;
        if key.account() != cfg.key.account() {
            return Err(CoreError::WrongKey { me: cfg.me });
        }
        if anchor.epoch != cfg.epoch {
            return Err(CoreError::AnchorEpoch { expected: cfg.epoch, actual: anchor.epoch });
        }
        let digest = anchor.digest();
        let finalized = Tip { view: anchor.view, height: anchor.height, digest };
        let mut core = Core {
            now: 0,
            view: anchor.view.next(),
            journaled_view: View(0),
            floor: View(0),
            views: BTreeMap::new(),
            blocks: BTreeMap::new(),
            finalized,
            finalized_chain: VecDeque::from([digest]),
            best_finalization: None,
            wants: BTreeMap::new(),
            counters: Counters::default(),
            nullified: runs::NullifiedRuns::default(),
            certified_views: BTreeSet::new(),
            catchup: BTreeMap::new(),
            catchup_cursor: None,
            catchup_tip: None,
            nullified_streak: 0,
            helped: BTreeSet::new(),
            input_peer: None,
            offender: None,
            proposals_swept: View(0),
            votes_swept: View(0),
            served: BTreeMap::new(),
            budgets: BTreeMap::new(),
            bad_certificates: (VecDeque::new(), BTreeSet::new()),
            journal_out: Vec::new(),
            rewrite: false,
            rewrite_due: false,
            out: Vec::new(),
            cfg,
        };
        core.blocks.insert(digest, anchor);
        core.recover(journal)?;
        Ok(core)
    }

    fn recover(&mut self, journal: &[Record]) -> Result<(), CoreError> {
        for record in journal {
            match record {
                Record::Entered(view) => {
                    self.journaled_view = self.journaled_view.max(*view);
                    self.view = self.view.max(*view);
                }
                Record::Floor(view) => self.floor = self.floor.max(*view),
                Record::Certificate(certificate) => self.restore_certificate(certificate)?,
                Record::Block(block) => {
                    if block.epoch != self.cfg.epoch {
                        return Err(CoreError::AnchorEpoch {
                            expected: self.cfg.epoch,
                            actual: block.epoch,
                        });
                    }
                    if block.view > self.finalized.view {
                        self.blocks.insert(block.digest(), block.clone());
                    }
                }
                Record::Vote(vote) => {
                    let epoch = vote.vote.round().epoch;
                    if vote.signer != self.cfg.me || epoch != self.cfg.epoch {
                        return Err(CoreError::ForeignJournal {
                            signer: vote.signer,
                            epoch,
                            me: self.cfg.me,
                        });
                    }
                    let view = vote.vote.view();
                    self.view = self.view.max(view);
                    let mine = &mut self.views.entry(view).or_default().mine;
                    match vote.vote {
                        crate::types::Vote::Notarize(_) => mine.notarize = Some(*vote),
                        crate::types::Vote::Nullify(_) => mine.nullify = Some(*vote),
                        crate::types::Vote::Finalize(_) => mine.finalize = Some(*vote),
                    }
                }
            }
        }
        // Votes at or below the anchor are settled; keep only what can still matter.
        let keep_from = self.finalized.view;
        self.views.retain(|v, _| *v >= keep_from);
        self.certified_views.retain(|v| *v > keep_from);
        self.nullified.prune_through(keep_from);
        Ok(())
    }

    /// Puts a journaled entry certificate back: it ends view `v`, so it is held for `v` and it
    /// is the entry of `v + 1`. It was verified before it was journaled.
    fn restore_certificate(&mut self, certificate: &Certificate) -> Result<(), CoreError> {
        let round = certificate.vote.round();
        if round.epoch != self.cfg.epoch {
            return Err(CoreError::ForeignJournal {
                signer: self.cfg.me,
                epoch: round.epoch,
                me: self.cfg.me,
            });
        }
        let state = self.views.entry(round.view).or_default();
        match certificate.vote {
            crate::types::Vote::Notarize(_) => {
                state.notarization = Some(certificate.clone());
                self.certified_views.insert(round.view);
            }
            crate::types::Vote::Nullify(_) => {
                state.nullification = Some(certificate.clone());
                self.nullified.insert(round.view);
            }
            crate::types::Vote::Finalize(_) => {
                self.certified_views.insert(round.view);
                state.finalization = Some(certificate.clone());
                let better = self
                    .best_finalization
                    .as_ref()
                    .is_none_or(|best| best.vote.view() < round.view);
                if better {
                    self.best_finalization = Some(certificate.clone());
                }
            }
        }
        self.views.entry(round.view.next()).or_default().entry = Some(certificate.clone());
        Ok(())
    }

    /// Handles one input at time `now` (milliseconds) and returns what to do, in order.
    pub fn handle(&mut self, now: u64, input: Input) -> Vec<Output> {
        self.now = self.now.max(now);
        // A rewrite due in this turn is taken from the views held *before* the input: the
        // input may finalize further and prune views whose votes the application's anchor does
        // not cover yet (it stores this turn's finalized blocks only after the sync).
        let rewrite = self.rewrite_due.then(|| self.retained_records());
        self.offender = None;
        self.input_peer = match &input {
            Input::Message { from, .. } => Some(*from),
            _ => None,
        };
        match input {
            Input::Start => self.on_start(),
            Input::Message { from, bytes } => self.on_bytes(from, &bytes),
            Input::Timeout(timer) => self.on_timeout(timer),
            Input::Proposed { view, payload } => self.on_proposed(view, payload),
            Input::Verified { view, digest, valid } => self.on_verified(view, digest, valid),
            Input::Certificate(certificate) => self.on_certificate(certificate),
            Input::Blocks(blocks) => self.on_blocks(blocks),
        }
        self.input_peer = None;
        self.progress();
        self.finish_turn(rewrite)
    }

    fn on_bytes(&mut self, from: ValidatorIndex, bytes: &[u8]) {
        if usize::from(from) >= self.cfg.validators.len() {
            self.reject(Rejection::UnknownSigner);
            return;
        }
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(_) => {
                self.reject(Rejection::Malformed);
                return;
            }
        };
        match message {
            Message::Propose { block, vote } => self.on_propose(block, vote),
            Message::Vote(vote) => self.on_vote(from, vote),
            Message::Certificate(certificate) => self.on_certificate(certificate),
            Message::Request(request) => self.on_request(from, request),
            Message::Blocks(blocks) => self.on_blocks(blocks),
        }
    }

    fn on_start(&mut self) {
        let view = self.view;
        self.arm_view_timers(view);
        let mut resend: Vec<SignedVote> = Vec::new();
        for (v, state) in self.views.range(self.floor..) {
            let mine = &state.mine;
            resend.extend(mine.notarize.iter().chain(&mine.nullify).chain(&mine.finalize));
            if *v == view && mine.nullify.is_some() {
                self.out.push(Output::SetTimer {
                    timer: Timer { view, kind: TimerKind::Retry },
                    at_ms: self.now + self.cfg.timeouts.retry_ms,
                });
            }
        }
        for vote in resend {
            // A leader's own notarize goes out with its (journaled) block, as a proposal.
            let block = match vote.vote {
                crate::types::Vote::Notarize(p)
                    if self.cfg.validators.leader(p.view) == self.cfg.me =>
                {
                    self.blocks.get(&p.digest).cloned()
                }
                _ => None,
            };
            let message = match block {
                Some(block) => Message::Propose { block, vote },
                None => Message::Vote(vote),
            };
            self.out.push(Output::Broadcast(message));
        }
    }

    fn progress(&mut self) {
        self.expire_wants();
        self.sweep_proposals();
        self.advance_finalized();
        if self.cfg.validators.leader(self.view) == self.cfg.me {
            self.try_propose();
        }
        self.try_verify();
    }

    fn finish_turn(&mut self, rewrite: Option<Vec<Record>>) -> Vec<Output> {
        let mut outputs = Vec::with_capacity(self.out.len() + self.journal_out.len() + 2);
        if self.view > self.journaled_view {
            self.journal_out.push(Record::Entered(self.view));
            self.journaled_view = self.view;
        }
        // A rewrite asked for in this turn runs in the next one, after the driver has handed
        // this turn's finalized blocks to the application: the journal never drops records the
        // application does not have yet. It holds the records kept at the start of that turn
        // followed by the turn's own records, so it drops nothing at or above the floor.
        self.rewrite_due = std::mem::take(&mut self.rewrite);
        if let Some(mut records) = rewrite {
            if self.cfg.canary == Canary::LateRewrite {
                // BROKEN ON PURPOSE: rebuild from what is held after the input (defect 1).
                self.journal_out.clear();
                records = self.retained_records();
            }
            records.append(&mut self.journal_out);
            outputs.push(Output::JournalRewrite(records));
            outputs.push(Output::JournalSync);
        } else if !self.journal_out.is_empty() {
            outputs.extend(self.journal_out.drain(..).map(Output::JournalAppend));
            outputs.push(Output::JournalSync);
        }
        outputs.append(&mut self.out);
        outputs
    }

    /// The journal after pruning: the floor, the entered view, and every own vote at or above
    /// the floor.
    fn retained_records(&self) -> Vec<Record> {
        let mut records = vec![Record::Floor(self.floor), Record::Entered(self.view)];
        for state in self.views.range(self.floor..).map(|(_, s)| s) {
            if let Some(entry) = &state.entry {
                records.push(Record::Certificate(entry.clone()));
            }
            let mine = &state.mine;
            let notarized = mine.notarize.and_then(|v| v.vote.proposal().map(|p| p.digest));
            if let Some(block) = notarized.and_then(|d| self.blocks.get(&d)) {
                records.push(Record::Block(block.clone()));
            }
            for vote in mine.notarize.iter().chain(&mine.nullify).chain(&mine.finalize) {
                records.push(Record::Vote(*vote));
            }
        }
        records
    }

    pub(crate) fn reject(&mut self, reason: Rejection) {
        *self.counters.rejected.entry(reason).or_insert(0) += 1;
        let proves_misbehaviour = matches!(
            reason,
            Rejection::Malformed
                | Rejection::BadSignature
                | Rejection::BadCertificate
                | Rejection::Conflicting
        );
        if proves_misbehaviour && self.offender.is_none() {
            self.offender = self.input_peer.map(|peer| (peer, reason));
        }
    }

    /// As [`Core::reject`], blaming `peer` rather than the sender of the current input (a
    /// waiting vote found bad in a later turn).
    pub(crate) fn reject_from(&mut self, peer: ValidatorIndex, reason: Rejection) {
        let input_peer = self.input_peer.replace(peer);
        self.reject(reason);
        self.input_peer = input_peer;
    }

    pub(crate) fn broadcast(&mut self, message: Message) {
        self.out.push(Output::Broadcast(message));
    }

    pub(crate) fn send(&mut self, to: ValidatorIndex, message: Message) {
        self.out.push(Output::Send { to, message });
    }

    pub(crate) fn emit(&mut self, output: Output) {
        self.out.push(output);
    }

    pub(crate) fn journal(&mut self, record: Record) {
        if self.cfg.canary == Canary::ForgetVotes && matches!(record, Record::Vote(_)) {
            return;
        }
        self.journal_out.push(record);
    }

    pub(crate) fn request_rewrite(&mut self) {
        self.rewrite = true;
    }

    // ----- read-only accessors -----

    /// The highest view entered.
    pub fn view(&self) -> View {
        self.view
    }

    /// The last block delivered as final.
    pub fn finalized(&self) -> Tip {
        self.finalized
    }

    /// Never signs a vote below this view (journal floor after pruning).
    pub fn floor(&self) -> View {
        self.floor
    }

    /// Drop counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The peer whose message the last [`Core::handle`] dropped for a reason only a faulty or
    /// malicious sender produces (bytes that do not decode, a bad signature, a bad
    /// certificate, an equivocating vote), with that reason: for the driver to score and drop
    /// peers. `None` after any other input. (Late, old, future, duplicate and unwanted inputs
    /// are not blamed: honest peers send them under ordinary delays.)
    pub fn offender(&self) -> Option<(ValidatorIndex, Rejection)> {
        self.offender
    }

    /// This node's index.
    pub fn me(&self) -> ValidatorIndex {
        self.cfg.me
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// A one-line summary of the current view (for simulator reports and logs).
    pub fn describe(&self) -> String {
        let state = self.views.get(&self.view);
        let flag = |b: bool, c: char| if b { c } else { '-' };
        let (mine, certs) = state.map_or((String::new(), String::new()), |s| {
            let m = &s.mine;
            let mine: String = [
                flag(m.notarize.is_some(), 'N'),
                flag(m.nullify.is_some(), 'X'),
                flag(m.finalize.is_some(), 'F'),
            ]
            .iter()
            .collect();
            let certs: String = [
                flag(s.notarization.is_some(), 'N'),
                flag(s.nullification.is_some(), 'X'),
                flag(s.finalization.is_some(), 'F'),
            ]
            .iter()
            .collect();
            (mine, certs)
        });
        format!(
            "view {} (mine {mine}, certs {certs}, votes n{}/x{}/f{}), final {}@{}, floor {}, \
             nullified runs {}, catch-up {}, \
             wants {:?}",
            self.view,
            state.map_or(0, |s| s.notarizes.len()),
            state.map_or(0, |s| s.nullifies.len()),
            state.map_or(0, |s| s.finalizes.len()),
            self.finalized.height,
            self.finalized.view,
            self.floor,
            self.nullified.len(),
            self.catchup.len(),
            self.wants.keys().take(4).collect::<Vec<_>>()
        )
    }

    /// Number of views with state held in memory.
    pub fn views_held(&self) -> usize {
        self.views.len()
    }

    /// What the node holds in memory, counted (for the simulator's bounded-state check).
    #[doc(hidden)]
    pub fn held(&self) -> Held {
        let mut held = Held { views: self.views.len(), ..Held::default() };
        for state in self.views.values() {
            held.votes += state.notarizes.len() + state.nullifies.len() + state.finalizes.len();
            held.votes += state.waiting.len();
            let certificates = [&state.notarization, &state.nullification, &state.finalization];
            held.certificates += certificates.iter().filter(|c| c.is_some()).count();
        }
        let mine: BTreeSet<Hash> = self
            .views
            .values()
            .filter_map(|s| s.mine.notarize.and_then(|v| v.vote.proposal().map(|p| p.digest)))
            .collect();
        let certified: BTreeSet<Hash> = self.views.values().filter_map(|s| s.certified()).collect();
        let chain: BTreeSet<&Hash> = self.finalized_chain.iter().collect();
        held.proposals = self
            .blocks
            .keys()
            .filter(|d| !mine.contains(d) && !certified.contains(d) && !chain.contains(d))
            .filter(|d| !self.catchup.values().any(|c| c == *d))
            .count();
        held
    }
}
