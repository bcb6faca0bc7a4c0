//! The sans-IO Simplex core: `handle(now, input) -> Vec<Output>`.
//!
//! The core reads no clock (time is the `now` argument, in milliseconds), draws no randomness
//! and performs no I/O: it returns what to journal, send, time and deliver, in the order the
//! driver must carry them out (journal appends, then one sync, then everything else).

mod batch;
mod config;
mod fetch;
mod inspect;
mod io;
mod proposals;
mod recover;
mod runs;
mod state;
mod sync;
mod turn;
mod votes;

pub use config::{Canary, Config, CoreError, Timeouts};
pub use fetch::WANT_STALE_RETRIES;
pub use io::{Counters, Input, Output, Rejection, Timer, TimerKind};
pub use state::{Held, Tip};
pub(crate) use state::{Status, ViewState};

use crate::journal::Record;
use crate::types::{Block, Certificate, Request, ValidatorIndex, View};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use volt_proto::{Hash, Height};

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
/// (`OldView`): the node is past those views, so their votes can no longer move it (a
/// certificate of such a view still comes whole from a peer), and a stall of any length keeps
/// at most this many views of votes (certificates stay: they are the proof of each skipped
/// view).
pub const VOTES_KEPT_VIEWS: u64 = 64;
/// Timeouts double every this many consecutive views entered through a nullification...
pub const TIMEOUT_BACKOFF_VIEWS: u64 = 8;
/// ...up to `2^TIMEOUT_BACKOFF_SHIFT_MAX` times the configured timeouts.
pub const TIMEOUT_BACKOFF_SHIFT_MAX: u64 = 3;

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
