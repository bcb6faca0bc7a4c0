//! Proposing, checking proposals against the validity rule, and notarizing.

use super::{
    Canary, Core, Output, PARENT_GAP_MAX, PROPOSALS_KEPT_VIEWS, Rejection, Status, VOTES_KEPT_VIEWS,
};
use crate::types::{
    BLOCK_PAYLOAD_BYTES_MAX, Block, Message, Proposal, Request, SignedVote, View, Vote,
};
use volt_proto::{Hash, Height};

/// Missing nullifications fetched per check of a proposal.
const GAP_FETCHES_PER_CHECK: usize = 8;

/// The outcome of the validity rule for one proposal.
enum Check {
    Valid,
    /// Certificates or the parent block are missing (fetches were issued).
    Missing,
    Invalid,
}

impl Core {
    pub(super) fn on_propose(&mut self, block: Block, vote: SignedVote) {
        let Vote::Notarize(p) = vote.vote else {
            return self.reject(Rejection::Malformed);
        };
        if block.payload.len() > BLOCK_PAYLOAD_BYTES_MAX || block.proposal() != p {
            return self.reject(Rejection::Malformed);
        }
        if vote.signer != self.cfg.validators.leader(p.view) {
            return self.reject(Rejection::NotLeader);
        }
        let fresh = match self.admit_vote(&vote) {
            Ok(fresh) => fresh,
            Err(Rejection::Conflicting) => {
                // The leader equivocated; its first proposal stands.
                self.reject(Rejection::Conflicting);
                self.maybe_canary_second_proposal(p, block);
                return;
            }
            Err(Rejection::Late) => {
                // The view is already notarized: keep the block if it is the certified one (the
                // certificate vouches for it; it may be a parent later).
                let certified = self.views.get(&p.view).and_then(|s| s.certified());
                if certified == Some(p.digest) {
                    self.blocks.entry(p.digest).or_insert(block);
                }
                return self.reject(Rejection::Late);
            }
            Err(reason) => return self.reject(reason),
        };
        // A proposal of a view already left by more than the window is not kept: it can only
        // matter if the view gets certified, and then its notarizers serve it.
        let in_window = p.view.0.saturating_add(PROPOSALS_KEPT_VIEWS) >= self.view.0;
        let state = self.views.entry(p.view).or_default();
        if state.proposal.is_none() && in_window {
            state.proposal = Some(p);
            state.status = Status::Waiting;
            self.blocks.insert(p.digest, block);
        }
        if fresh {
            self.add_vote(vote);
        } else {
            self.reject(Rejection::Duplicate);
        }
    }

    /// Forgets the proposals of views that fell out of the window below the current view,
    /// unless certified or notarized by this node (those must stay fetchable: a notarized
    /// block lives at its f + 1 honest notarizers). Bounds what a byzantine leader can park
    /// while finality stalls to [`PROPOSALS_KEPT_VIEWS`] blocks.
    pub(super) fn sweep_proposals(&mut self) {
        self.sweep_votes();
        let until = View(self.view.0.saturating_sub(PROPOSALS_KEPT_VIEWS));
        let from = self.proposals_swept.max(self.finalized.view).next();
        if from >= until {
            return;
        }
        let mut drop = Vec::new();
        for (_, state) in self.views.range(from..until) {
            let Some(p) = state.proposal else { continue };
            let mine = state.mine.notarize.and_then(|v| v.vote.proposal().map(|q| q.digest));
            if state.certified() != Some(p.digest) && mine != Some(p.digest) {
                drop.push(p.digest);
            }
        }
        for digest in drop {
            if !self.catchup.values().any(|d| *d == digest) {
                self.blocks.remove(&digest);
            }
        }
        self.proposals_swept = View(until.0 - 1);
    }

    /// Forgets peer votes of views more than [`VOTES_KEPT_VIEWS`] below the current one (own
    /// votes and certificates stay): while finality stalls, votes no longer grow with the
    /// number of failed views.
    fn sweep_votes(&mut self) {
        let until = View(self.view.0.saturating_sub(VOTES_KEPT_VIEWS));
        let from = self.votes_swept.max(self.finalized.view);
        if from >= until {
            return;
        }
        for (_, state) in self.views.range_mut(from..until) {
            state.notarizes = Default::default();
            state.nullifies = Default::default();
            state.finalizes = Default::default();
            state.waiting = Default::default();
        }
        self.votes_swept = until;
    }

    /// BROKEN ON PURPOSE under [`Canary::NotarizeTwice`]: adopt a second proposal of the view so
    /// it gets notarized too. Proves the simulator's checker catches double notarization.
    fn maybe_canary_second_proposal(&mut self, p: Proposal, block: Block) {
        if self.cfg.canary != Canary::NotarizeTwice || p.view != self.view {
            return;
        }
        let state = self.views.entry(p.view).or_default();
        if state.proposal != Some(p) && state.mine.nullify.is_none() {
            state.proposal = Some(p);
            state.status = Status::Waiting;
            state.mine.notarize = None;
            self.blocks.insert(p.digest, block);
        }
    }

    /// Runs the validity rule on the current view's proposal; hands a valid one to the
    /// application and nullifies an invalid one.
    pub(super) fn try_verify(&mut self) {
        let view = self.view;
        let Some(state) = self.views.get(&view) else {
            return;
        };
        if state.status != Status::Waiting
            || state.mine.notarize.is_some()
            || state.mine.nullify.is_some()
        {
            return;
        }
        let Some(p) = state.proposal else { return };
        // Only the header fields are read while certificates are missing: the block (up to
        // 1 MiB) is cloned once, for the application, when the rule passes.
        let Some((parent, height)) = self.blocks.get(&p.digest).map(|b| (b.parent, b.height))
        else {
            return;
        };
        match self.check(&p, parent, height) {
            Check::Valid => {
                if let Some(state) = self.views.get_mut(&view) {
                    state.status = Status::Verifying;
                }
                if let Some(block) = self.blocks.get(&p.digest).cloned() {
                    self.emit(Output::Verify(block));
                }
            }
            Check::Missing => {}
            Check::Invalid => {
                if let Some(state) = self.views.get_mut(&view) {
                    state.status = Status::Invalid;
                }
                self.reject(Rejection::InvalidProposal);
                self.nullify(view);
            }
        }
    }

    /// The validity rule: the parent is the last finalized block or notarized (or finalized) at
    /// its view with this digest, every view strictly between is nullified, and the height is
    /// the parent's plus one. The gap is checked against the runs of nullified views in one
    /// lookup, however long it is; at most [`GAP_FETCHES_PER_CHECK`] missing views are fetched
    /// per check (the next check asks for the next ones).
    fn check(&mut self, p: &Proposal, parent: Hash, height: Height) -> Check {
        let gap_limited = self.cfg.canary == Canary::ParentGapLimit
            && p.view.0.saturating_sub(p.parent_view.0) > PARENT_GAP_MAX;
        if p.parent_view >= p.view || p.parent_view < self.finalized.view || gap_limited {
            return Check::Invalid;
        }
        let mut missing = false;
        let last = View(p.view.0 - 1);
        let mut from = p.parent_view.next();
        for _ in 0..GAP_FETCHES_PER_CHECK {
            let Some(w) = self.nullified.first_missing(from, last) else {
                break;
            };
            self.want(Request::Certificates(w), p.view);
            missing = true;
            from = w.next();
        }
        let parent_height = if p.parent_view == self.finalized.view {
            if parent != self.finalized.digest {
                return Check::Invalid;
            }
            Some(self.finalized.height)
        } else {
            match self.views.get(&p.parent_view).and_then(|s| s.certified()) {
                Some(digest) if digest != parent => return Check::Invalid,
                Some(digest) => match self.blocks.get(&digest) {
                    Some(parent) => Some(parent.height),
                    None => {
                        self.want_certified(Request::Block(digest), p.view, p.parent_view);
                        None
                    }
                },
                None => {
                    self.want(Request::Certificates(p.parent_view), p.view);
                    None
                }
            }
        };
        let Some(parent_height) = parent_height else {
            return Check::Missing;
        };
        if parent_height.checked_next() != Some(height) {
            return Check::Invalid;
        }
        if missing { Check::Missing } else { Check::Valid }
    }

    pub(super) fn on_verified(&mut self, view: View, digest: Hash, valid: bool) {
        if view != self.view {
            return;
        }
        let Some(state) = self.views.get_mut(&view) else {
            return;
        };
        let Some(p) = state.proposal else { return };
        if p.digest != digest || state.status != Status::Verifying {
            return;
        }
        if valid {
            state.status = Status::Verified;
            self.notarize(p);
        } else {
            state.status = Status::Invalid;
            self.reject(Rejection::InvalidProposal);
            self.nullify(view);
        }
    }

    fn notarize(&mut self, p: Proposal) {
        if p.view != self.view || p.view < self.floor {
            return;
        }
        let mine = &self.views.entry(p.view).or_default().mine;
        if mine.notarize.is_some() || mine.nullify.is_some() {
            return;
        }
        let vote = self.sign(Vote::Notarize(p));
        self.broadcast(Message::Vote(vote));
        self.add_vote(vote);
    }

    /// Chooses the parent for the leader's proposal: the highest certified view below `view`
    /// such that every view between is nullified, or the last finalized block. One lookup in
    /// the nullified runs, however many views failed in a row.
    fn select_parent(&mut self, view: View) -> Option<(View, Hash, Height)> {
        let top = View(view.0.checked_sub(1)?);
        if self.cfg.canary == Canary::ParentGapLimit {
            return self.select_parent_walk_limited(view);
        }
        let low = self.nullified.run_containing(top).map_or(view, |(start, _)| start);
        let below = View(low.0.saturating_sub(1));
        let certified = self.certified_views.range(below..=top).next_back().copied();
        if let Some(w) = certified.filter(|w| *w > self.finalized.view) {
            let digest = self.views.get(&w).and_then(|s| s.certified())?;
            return match self.blocks.get(&digest) {
                Some(parent) => Some((w, digest, parent.height)),
                None => {
                    self.want_certified(Request::Block(digest), view, w);
                    None
                }
            };
        }
        if below <= self.finalized.view {
            return Some((self.finalized.view, self.finalized.digest, self.finalized.height));
        }
        self.want(Request::Certificates(below), view);
        None
    }

    /// BROKEN ON PURPOSE under [`Canary::ParentGapLimit`]: the old walk, one view at a time, that
    /// gives up after [`PARENT_GAP_MAX`] views (issue 8, defect 2).
    fn select_parent_walk_limited(&mut self, view: View) -> Option<(View, Hash, Height)> {
        let mut w = View(view.0.checked_sub(1)?);
        for _ in 0..PARENT_GAP_MAX {
            if w <= self.finalized.view {
                return Some((self.finalized.view, self.finalized.digest, self.finalized.height));
            }
            let state = self.views.get(&w);
            if let Some(digest) = state.and_then(|s| s.certified()) {
                let parent = self.blocks.get(&digest).map(|b| (w, digest, b.height));
                if parent.is_none() {
                    self.want_certified(Request::Block(digest), view, w);
                }
                return parent;
            }
            if state.is_none_or(|s| s.nullification.is_none()) {
                self.want(Request::Certificates(w), view);
                return None;
            }
            w = View(w.0 - 1);
        }
        None
    }

    /// As leader of the current view, asks the application for a payload once.
    pub(super) fn try_propose(&mut self) {
        let view = self.view;
        if view < self.floor {
            return;
        }
        let state = self.views.entry(view).or_default();
        if state.propose_parent.is_some()
            || state.proposal.is_some()
            || state.mine.notarize.is_some()
            || state.mine.nullify.is_some()
        {
            return;
        }
        let Some((parent_view, parent, height)) = self.select_parent(view) else {
            return;
        };
        let Some(next) = height.checked_next() else {
            return;
        };
        self.views.entry(view).or_default().propose_parent = Some((parent_view, parent, height));
        self.emit(Output::Propose { view, parent_view, parent, height: next });
    }

    pub(super) fn on_proposed(&mut self, view: View, payload: Vec<u8>) {
        if view != self.view || payload.len() > BLOCK_PAYLOAD_BYTES_MAX {
            return;
        }
        let Some(state) = self.views.get(&view) else {
            return;
        };
        let Some((parent_view, parent, height)) = state.propose_parent else {
            return;
        };
        if state.proposal.is_some() || state.mine.notarize.is_some() || state.mine.nullify.is_some()
        {
            return;
        }
        let Some(height) = height.checked_next() else {
            return;
        };
        let block = Block { epoch: self.cfg.epoch, view, height, parent_view, parent, payload };
        let p = block.proposal();
        if let Some(state) = self.views.get_mut(&view) {
            state.proposal = Some(p);
            state.status = Status::Verified;
        }
        self.blocks.insert(p.digest, block.clone());
        let vote = self.sign(Vote::Notarize(p));
        self.broadcast(Message::Propose { block, vote });
        self.add_vote(vote);
    }
}
