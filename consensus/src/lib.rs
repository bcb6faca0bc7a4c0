//! Simplex BFT for Volt: a sans-IO core, its vote journal, and a seeded simulator.
//!
//! Modules: [`types`] (wire and journal types and size limits), [`validators`] (the genesis
//! set, quorum, leaders, vote and certificate checks), [`core`] (the state machine),
//! [`journal`] (the vote journal and its two storages), [`sim`] (the deterministic simulator
//! and its invariant checker).
//!
//! # The protocol
//!
//! `n` validators, fixed at genesis, of which at most `f = ⌊(n − 1) / 3⌋` are faulty. A quorum
//! is `q = n − f` (2f+1 when n = 3f+1). Views are numbered from 1 (view 0 is genesis); the
//! leader of view `v` is validator `v mod n` in genesis order. Every vote carries
//! `(epoch, view)`; one engine runs one epoch and drops other epochs' messages.
//!
//! Votes, each ed25519-signed over `signing_message(domain, chain_id, codec(subject))` with a
//! domain per kind (`Domain::{Notarize, Nullify, Finalize}`, see `volt_proto::sig`):
//! - `Notarize(epoch, view, parent_view, digest)`: "this block is valid and the first proposal
//!   I accepted in this view";
//! - `Nullify(epoch, view)`: "skip this view";
//! - `Finalize(epoch, view, parent_view, digest)`: "this notarized block is final".
//!
//! `q` matching votes from distinct validators form a certificate (notarization,
//! nullification, finalization): the vote, a signer bitmap and the signatures in signer order,
//! checked with one batch verification (`volt_proto::sig::verify_batch`; the set and order are
//! fixed by the certificate, so every node sees the same batch). Peer votes are checked in
//! batches too: a vote waits unverified until it and the votes already held for its subject
//! could form a certificate, then the waiting votes are verified at once, and one by one only
//! if the batch fails. Both paths check the cofactored equation, so each vote gets the verdict
//! a single check gives, whatever it was grouped with (see `core::batch`).
//!
//! A block is `(epoch, view, height, parent_view, parent digest, payload)`; its digest is blake3
//! over the canonical header in which the payload appears as its own blake3 digest.
//!
//! Rules of node `i` in view `v`:
//! 1. **Enter** `v`: arm a leader timer (2Δ) and an advance timer (3Δ). Views are entered only
//!    forward, and only through a certificate of the view before (or of any higher view).
//! 2. **Propose** (leader of `v`): the parent is the highest certified (notarized or
//!    finalized) view `p < v` such that every view in `(p, v)` is nullified, or the last
//!    finalized block. The node keeps the nullified views above its last finalized one as runs
//!    of consecutive views (a "nullified through view X" watermark per run), so this is one
//!    lookup however many views failed in a row; ask the application for a payload; send the
//!    block with the leader's own `Notarize` (the proposal *is* the leader's vote).
//! 3. **Validity rule**: a proposal for `v` from `leader(v)` is valid when `parent_view < v`,
//!    the parent is the last finalized block or carries a notarization or finalization at
//!    `parent_view` with exactly that digest, every view in `(parent_view, v)` has a
//!    nullification, `height = parent height + 1`, and the application accepts the payload.
//!    The gap is checked against the nullified runs in one lookup: no gap is too long (the old
//!    walk limit [`core::PARENT_GAP_MAX`] made 1,025 failed views in a row a permanent stall).
//!    Missing certificates or parent blocks are fetched (at most 8 missing views per check,
//!    the next check asks for the next ones); the check resumes when they arrive.
//! 4. **Notarize** the first valid proposal of `v`, once. An invalid one is nullified at once.
//! 5. **Timeouts**: at the leader timeout, if `i` notarized nothing in `v`, and at the advance
//!    timeout in any case, `i` sends `Nullify(v)`, unless it already sent `Finalize(v)`. While
//!    stuck, it rebroadcasts the nullify and the certificate that moved it into `v` every
//!    `retry_ms`. **Backoff**: while views keep failing, the leader and advance timeouts double
//!    every [`core::TIMEOUT_BACKOFF_VIEWS`] views entered in a row through nullifications, up
//!    to `2^`[`core::TIMEOUT_BACKOFF_SHIFT_MAX`] times; the first view entered through a
//!    notarization or finalization resets them. A network slower than the configured timeouts
//!    therefore still makes progress once the backed-off timeouts exceed its delay.
//! 6. **Notarization of `w`** (formed or received): if `i` did not nullify `w` and `w` is above
//!    its journal floor and last finalized view, send `Finalize(w)`; if `w ≥ v`, enter `w + 1`.
//! 7. **Nullification of `w ≥ v`**: enter `w + 1`. **Finalization of `w`**: the block and all
//!    its ancestors are final; if `w ≥ v`, enter `w + 1`. The node learns the chain by walking
//!    parent digests down from the finalized block to its last delivered one (at most
//!    [`core::FINALIZE_WALK_PER_TURN_MAX`] links a turn; a missing block is fetched by digest
//!    and the walk resumes where it stopped; a newer finalization joins the walk already done),
//!    and delivers the lowest blocks first, at most [`core::FINALIZE_BLOCKS_PER_TURN_MAX`] a
//!    turn, the rest in the next turns. A node any number of blocks behind catches up.
//! 8. **Fast-forward**: any valid certificate of a view `≥ v` moves `i` past it. A peer still
//!    nullifying a view `i` has left gets the certificate that ended it, once per (peer,
//!    certificate view), and only after its nullify's signature verified (an unverified vote
//!    must not buy a certificate: that was a 50× amplification at n = 100).
//! 9. **Untrusted input**: messages from unknown signers, with bad signatures or bad
//!    certificates, of another epoch, at or below the last finalized view, more than
//!    [`types::VIEWS_AHEAD_MAX`] views ahead (votes and proposals; certificates prove
//!    themselves), oversized, non-canonical, or unasked-for blocks are dropped and counted
//!    ([`core::Rejection`]); the first vote of a signer per kind and view counts, later
//!    different ones are counted as equivocation.
//!
//! # Safety argument
//!
//! Honest nodes are at least `n − f ≥ q`; two quorums share at least `2q − n ≥ f + 1`
//! validators, hence one honest one.
//! - *One notarized digest per view*: an honest node notarizes at most once per view (rule 4,
//!   enforced by an assertion and by the journal across restarts), so two notarizations of one
//!   view would need an honest node in both quorums to vote twice.
//! - *No view both nullified and finalized*: a finalization of `v` has `q` signers, of which
//!   `f + 1` honest ones sent `Finalize(v)` and so never `Nullify(v)` (rule 5, journal-backed);
//!   only `n − (f + 1) < q` could nullify.
//! - *Finalized chains are prefixes*: let `b` be finalized at view `v`. No nullification of `v`
//!   exists (above), and the only notarized block at `v` is `b`. A valid proposal at `w > v`
//!   either has parent view `≥ v` (then by induction its chain runs through the unique
//!   notarized block at `v`, i.e. `b`, since its parent's proposal was itself valid for a
//!   quorum including an honest node), or skips `v`, which needs a nullification of `v` that
//!   cannot exist. So every notarized (hence every finalized) block above `v` extends `b`,
//!   and finalized blocks at one height agree.
//! - *Certificates*: a node accepts a certificate only after checking the bitmap (`ceil(n/8)`
//!   bytes, no bit beyond `n`), at least `q` distinct signers, one signature per signer, and the
//!   batch verification. Certificates it forms itself contain only individually verified votes.
//!
//! Liveness: after GST, if the leader of a view is honest and every honest node enters the view
//! within Δ of each other, the proposal arrives before 2Δ and the view is notarized before 3Δ.
//! Otherwise all honest nodes nullify (timers), the nullify rebroadcast with the entry
//! certificate brings laggards forward, and a nullification forms. Fetching fills in missing
//! certificates and blocks.
//!
//! # Persistence order
//!
//! Every turn of `handle` returns its outputs in this order: the turn's journal records
//! ([`Output::JournalAppend`]) or one atomic [`Output::JournalRewrite`] when pruning, then
//! exactly one [`Output::JournalSync`] (a commit frame over the turn's records, then
//! `sync_data` on the file), then everything else (sends,
//! broadcasts, fetches, timers, application requests, finalized blocks). The driver performs
//! them in order, so nothing the turn journaled is visible to peers before it is durable; a
//! crash before the sync loses only votes nobody saw. A turn journals:
//! - every vote signed in the turn ([`journal::Record::Vote`]), and, before a `Notarize`, the
//!   block it names ([`journal::Record::Block`]);
//! - for every view entered, the certificate it was entered through
//!   ([`journal::Record::Certificate`], always a certificate of the view before) and the highest
//!   view entered ([`journal::Record::Entered`]).
//!
//! Why blocks and certificates, not only votes: votes alone keep a restarted node from
//! double-signing, but not the chain alive. If every node that held the certificate of some
//! view, or the only copies of a notarized block, crashes, no proposal can pass the validity
//! rule again. With the records above it cannot happen: an honest node that nullifies or
//! notarizes view `v` entered `v` through a certificate of exactly `v − 1` (a certificate of
//! `v` or higher would have moved it past `v`), and it journaled that certificate; so by
//! induction each view between the last finalized one and the current one is proven by the
//! journal of some honest node. A notarized block has at least f+1 honest notarizers, each of
//! which journaled the block before voting. Peers fetch both on demand. (The simulator's
//! `CrashStorm` mix found this: with votes only, a few dozen crashes stalled the chain.)
//!
//! On start, the journal is replayed: records count once the commit frame of their turn
//! checks; everything after the last valid commit is the torn tail of a crash, whatever shape
//! the disk left it in (cut, zeros, or a lost middle page with a later page kept), and is
//! truncated; a bad frame *before* a valid commit is corruption and stops the node
//! ([`journal::JournalError::Corrupt`], see [`mod@journal::frame`]). The file journal is created
//! with a directory fsync and held under an exclusive lock, so two processes never share it.
//! The core restores its own votes, entered view,
//! entry certificates and notarized blocks, re-sends the journaled votes, and its checks (rules
//! 4, 5, 6 and the assertions in `sign`) refuse any vote that would conflict with them.
//!
//! Pruning: once the finalized view passes the journal's floor by
//! [`core::JOURNAL_PRUNE_VIEWS`], the floor moves to the finalized view + 1 and, in the *next*
//! turn (so the application already holds the blocks just finalized), the journal is rewritten
//! atomically with the floor, the entered view, and the votes, entry certificates and
//! notarized blocks at or above the floor **as held at the start of that turn**, followed by
//! that turn's own records. It must not be taken at the end of the turn: if the turn finalizes
//! further, views above the floor are already pruned from memory, their votes would vanish
//! from the journal before the application stored the newly final blocks, and a crash in
//! between would restart the node from the older anchor with no record of, say, its
//! `Nullify(v)`, free to sign `Finalize(v)` (issue 8, defect 1; the simulator checks at every
//! crash and right after every rewrite that a restart would remember every vote sent above the
//! application's anchor and the journal floor). The node never signs below its floor. The finalized
//! chain itself is the application's (the anchor passed to [`Core::new`]). A core keeps only
//! the last [`core::FINALIZED_BLOCKS_KEPT`] finalized blocks in memory, and none across a
//! restart, so **the driver's block sync must answer [`types::Request::Block`] from the block
//! store** too (the simulator models this; long-mode seed 2402 stalled a lagging node without
//! it).
//!
//! # Deviations from the Simplex paper (Chan and Pass 2023)
//!
//! 1. **Explicit `Nullify` and `Finalize` votes** instead of votes for a "dummy block" and the
//!    paper's implicit finalize; separate `Notarize` and `Nullify` messages (as commonware).
//! 2. **Certificates are not embedded in proposals**: the leader's block names its parent view,
//!    and replicas fetch missing notarizations, nullifications and blocks from peers
//!    ([`types::Request`]). The paper forwards every certificate it sees; here a node
//!    broadcasts only certificates it forms, and answers stuck peers and requests.
//! 3. **Two timers** (leader 2Δ, advance 3Δ) instead of one 3Δ timer, and **nullify
//!    rebroadcast** with the entry certificate while stuck; an invalid proposal is nullified at
//!    once.
//! 4. **Finalize votes are unchained**: a node may send `Finalize(w)` for any notarized view it
//!    did not nullify, even after leaving it (above its floor and its finalized view).
//! 5. **Fast-forward** on any valid certificate of a higher view, not just the next one.
//! 6. **Epochs** in every vote; one engine per epoch; no reconfiguration inside the core.
//! 7. **Persistence**: the journal (votes, entry certificates, notarized blocks) and its
//!    pruning floor are additions (the paper assumes no crashes); a restarted node never votes
//!    below its floor.
//! 8. **Payload verification** by the application is asynchronous (`Verify` / `Verified`).
//! 9. **Heights** are part of the block header, so the application can number blocks without
//!    walking the chain.
//!
//! # Limits
//!
//! Named constants bound everything from outside: [`types::MESSAGE_BYTES_MAX`],
//! [`types::BLOCK_PAYLOAD_BYTES_MAX`], [`types::BLOCKS_PER_RESPONSE_MAX`],
//! [`types::VALIDATORS_MAX`] (bitmap size), [`types::VIEWS_AHEAD_MAX`],
//! [`journal::JOURNAL_RECORD_BYTES_MAX`], [`core::WANTS_MAX`] (outstanding fetches),
//! [`core::FINALIZED_BLOCKS_KEPT`], [`core::FINALIZE_BLOCKS_PER_TURN_MAX`],
//! [`core::FINALIZE_WALK_PER_TURN_MAX`], [`core::PROPOSALS_KEPT_VIEWS`],
//! [`core::VOTES_KEPT_VIEWS`], [`core::ANSWERS_PER_PEER_PER_SECOND_MAX`],
//! [`core::ANSWER_BYTES_PER_PEER_PER_SECOND_MAX`], [`core::BAD_CERTIFICATES_KEPT`]. A limit
//! protects and never stalls: crossing one delivers part now and the rest next turn, expires
//! what is stale, or refuses one input with a reason; `docs/consensus.md` lists each limit,
//! what happens when it is crossed, and why liveness holds; the simulator's long seeds or a
//! regression test cross each.
//!
//! **Fetches** ([`types::Request`]) carry the view they serve. A fetch goes to one peer at a
//! time (an [`Output::Send`] of a request): first the signers of the certificate that names
//! the block (at least f + 1 of them are honest and hold it), then the others. It is repeated
//! no sooner than `fetch_retry_ms`, to the next peer in line, while something still needs
//! it; it expires once the finalized view reaches the view it served, or once nothing needed
//! it for [`core::WANT_STALE_RETRIES`] retry periods (a notarized-then-orphaned block nobody
//! serves any more). At [`core::WANTS_MAX`] the least useful fetch (not needed by finality, lowest
//! view) is evicted; a fetch the finalized chain needs is never refused.
//!
//! **Answers** are bounded per peer: one per (peer, request) per `fetch_retry_ms`, and at most
//! [`core::ANSWERS_PER_PEER_PER_SECOND_MAX`] answers and
//! [`core::ANSWER_BYTES_PER_PEER_PER_SECOND_MAX`] bytes per peer per second. A certificate that
//! fails verification is remembered by digest ([`core::BAD_CERTIFICATES_KEPT`]) and refused
//! unverified when it comes again.
//!
//! Per-view state is kept from the last finalized view up; while finality stalls it grows by
//! one entry per view holding its certificates (the proofs a later proposal's gap needs) and
//! this node's own votes. Peer votes are kept only for the last [`core::VOTES_KEPT_VIEWS`]
//! views. Blocks are kept when certified or notarized by this node; other proposals only for
//! the last [`core::PROPOSALS_KEPT_VIEWS`] views.

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
