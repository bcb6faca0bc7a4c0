//! Votes, certificates, entering views and timeouts.

use super::{
    BAD_CERTIFICATES_KEPT, Canary, Core, Output, Rejection, TIMEOUT_BACKOFF_SHIFT_MAX,
    TIMEOUT_BACKOFF_VIEWS, Timer, TimerKind, VOTES_KEPT_VIEWS,
};
use crate::journal::Record;
use crate::types::{
    Certificate, Message, Proposal, Round, SignedVote, VIEWS_AHEAD_MAX, ValidatorIndex, View, Vote,
    VoteKind,
};
use crate::validators::sign_vote;
use volt_proto::Hash;

impl Core {
    /// Checks that need no signature: signer, epoch, view window, shape.
    fn screen(&self, vote: &Vote, signer: ValidatorIndex) -> Result<(), Rejection> {
        if usize::from(signer) >= self.cfg.validators.len() {
            return Err(Rejection::UnknownSigner);
        }
        let round = vote.round();
        if round.epoch != self.cfg.epoch {
            return Err(Rejection::WrongEpoch);
        }
        if round.view <= self.finalized.view {
            return Err(Rejection::OldView);
        }
        if round.view.0.saturating_add(VOTES_KEPT_VIEWS) < self.view.0 {
            return Err(Rejection::OldView);
        }
        if round.view.0 > self.view.0.saturating_add(VIEWS_AHEAD_MAX) {
            return Err(Rejection::FutureView);
        }
        if let Some(p) = vote.proposal()
            && p.parent_view >= p.view
        {
            return Err(Rejection::Malformed);
        }
        Ok(())
    }

    /// Screens a peer vote, skips copies, verifies the signature. `Ok(false)`: a copy.
    pub(super) fn admit_vote(&mut self, vote: &SignedVote) -> Result<bool, Rejection> {
        if !self.precheck_vote(vote)? {
            return Ok(false);
        }
        self.cfg
            .validators
            .verify_vote(&self.cfg.chain_id, vote)
            .map_err(|_| Rejection::BadSignature)?;
        Ok(true)
    }

    /// Everything [`Core::admit_vote`] checks except the signature. `Ok(false)`: a copy.
    pub(super) fn precheck_vote(&self, vote: &SignedVote) -> Result<bool, Rejection> {
        self.screen(&vote.vote, vote.signer)?;
        if let Some(state) = self.views.get(&vote.vote.view()) {
            let (held, certified) = match vote.vote.kind() {
                VoteKind::Notarize => {
                    (state.notarizes.get(&vote.signer), state.notarization.is_some())
                }
                VoteKind::Nullify => {
                    (state.nullifies.get(&vote.signer), state.nullification.is_some())
                }
                VoteKind::Finalize => {
                    (state.finalizes.get(&vote.signer), state.finalization.is_some())
                }
            };
            if certified && held.is_none() {
                // The certificate exists: the vote can change nothing, so it is not verified.
                return Err(Rejection::Late);
            }
            match held {
                Some(h) if h == vote => return Ok(false),
                // The first vote of a signer counts; a different one is equivocation. It is not
                // verified: it changes nothing either way.
                Some(_) => return Err(Rejection::Conflicting),
                None => {}
            }
        }
        Ok(true)
    }

    pub(super) fn on_vote(&mut self, from: ValidatorIndex, vote: SignedVote) {
        let view = vote.vote.view();
        let stale_nullify = matches!(vote.vote, Vote::Nullify(_)) && view < self.view;
        if stale_nullify && self.cfg.canary == Canary::HelpUnverified {
            self.help(from, view); // BROKEN ON PURPOSE: help before any check (defect 5).
        }
        if !stale_nullify && self.cfg.canary != Canary::VerifyEachVote {
            // A vote of a view not yet left waits unverified until it can complete a
            // certificate; then the waiting votes are verified in one batch.
            match self.precheck_vote(&vote) {
                Ok(true) => self.defer_vote(from, vote),
                Ok(false) => self.reject(Rejection::Duplicate),
                Err(reason) => self.reject(reason),
            }
            return;
        }
        let admitted = match self.admit_vote(&vote) {
            Ok(true) => {
                self.add_vote(vote);
                true
            }
            Ok(false) => {
                self.reject(Rejection::Duplicate);
                true
            }
            // A vote that needs no check because its view is settled is checked now, so that
            // only a vote its signer really sent earns help.
            Err(reason @ (Rejection::Late | Rejection::OldView)) if stale_nullify => {
                let valid = self.cfg.validators.verify_vote(&self.cfg.chain_id, &vote).is_ok();
                self.reject(if valid { reason } else { Rejection::BadSignature });
                valid
            }
            Err(reason) => {
                self.reject(reason);
                false
            }
        };
        // A peer still nullifying a view we left is stuck: hand it the way out, once per peer
        // and certificate (its own fetches and other peers cover a lost answer).
        if admitted && stale_nullify && vote.signer == from {
            self.help(from, view);
        }
    }

    /// Sends `to` the certificate that ends `view`, or the best finalization if that view is
    /// already settled here; at most once per peer and certificate view.
    pub(super) fn help(&mut self, to: ValidatorIndex, view: View) {
        let certificate = self.views.get(&view).and_then(|s| {
            s.finalization
                .clone()
                .or_else(|| s.notarization.clone())
                .or_else(|| s.nullification.clone())
        });
        let certificate = certificate.or_else(|| {
            (view <= self.finalized.view).then(|| self.best_finalization.clone()).flatten()
        });
        let Some(certificate) = certificate else {
            return;
        };
        let once = self.helped.insert((to, certificate.vote.view()));
        if once || self.cfg.canary == Canary::HelpUnverified {
            self.send(to, Message::Certificate(certificate));
        }
    }

    /// Records a verified vote and forms a certificate when a quorum agrees.
    pub(super) fn add_vote(&mut self, vote: SignedVote) {
        let view = vote.vote.view();
        let n = self.cfg.validators.len();
        let quorum = self.cfg.validators.quorum();
        let state = self.views.entry(view).or_default();
        let (votes, held) = match vote.vote.kind() {
            VoteKind::Notarize => (&mut state.notarizes, state.notarization.is_some()),
            VoteKind::Nullify => (&mut state.nullifies, state.nullification.is_some()),
            VoteKind::Finalize => (&mut state.finalizes, state.finalization.is_some()),
        };
        votes.entry(vote.signer).or_insert(vote);
        if held {
            return;
        }
        self.verify_waiting(vote.vote);
        let state = self.views.entry(view).or_default();
        let votes = match vote.vote.kind() {
            VoteKind::Notarize => &state.notarizes,
            VoteKind::Nullify => &state.nullifies,
            VoteKind::Finalize => &state.finalizes,
        };
        let matching: Vec<_> = votes
            .values()
            .filter(|v| v.vote == vote.vote)
            .map(|v| (v.signer, v.signature))
            .collect();
        if matching.len() < quorum {
            return;
        }
        let certificate = Certificate::from_votes(vote.vote, n, &matching);
        // Every vote in it was verified on arrival, so the certificate is valid by construction.
        self.broadcast(Message::Certificate(certificate.clone()));
        self.accept_certificate(certificate);
    }

    pub(super) fn on_certificate(&mut self, certificate: Certificate) {
        let round = certificate.vote.round();
        if round.epoch != self.cfg.epoch {
            return self.reject(Rejection::WrongEpoch);
        }
        if round.view <= self.finalized.view {
            return self.reject(Rejection::OldView);
        }
        if let Some(p) = certificate.vote.proposal()
            && p.parent_view >= p.view
        {
            return self.reject(Rejection::Malformed);
        }
        if let Some(state) = self.views.get(&round.view) {
            let held = match certificate.vote.kind() {
                VoteKind::Notarize => state.notarization.is_some(),
                VoteKind::Nullify => state.nullification.is_some(),
                VoteKind::Finalize => state.finalization.is_some(),
            };
            if held {
                return self.reject(Rejection::Duplicate);
            }
        }
        // A certificate that failed before fails again: refuse it without verifying.
        let digest = Hash::of(&volt_proto::codec::encode(&certificate));
        if self.bad_certificates.1.contains(&digest) {
            return self.reject(Rejection::BadCertificate);
        }
        // Signatures identical to votes already verified here need no second check.
        let held = self.views.get(&round.view).map(|s| match certificate.vote.kind() {
            VoteKind::Notarize => &s.notarizes,
            VoteKind::Nullify => &s.nullifies,
            VoteKind::Finalize => &s.finalizes,
        });
        let verified = |signer, signature: &volt_proto::Signature| {
            held.and_then(|votes| votes.get(&signer))
                .is_some_and(|v| v.vote == certificate.vote && v.signature == *signature)
        };
        let checked = self.cfg.validators.verify_certificate_skipping(
            &self.cfg.chain_id,
            &certificate,
            verified,
        );
        if checked.is_err() {
            self.remember_bad_certificate(digest);
            return self.reject(Rejection::BadCertificate);
        }
        self.accept_certificate(certificate);
    }

    /// Remembers a certificate that failed verification, forgetting the oldest past
    /// [`BAD_CERTIFICATES_KEPT`]. Verification depends only on the certificate and the genesis
    /// set, so a certificate that failed once fails always.
    fn remember_bad_certificate(&mut self, digest: Hash) {
        let (order, set) = &mut self.bad_certificates;
        if set.insert(digest) {
            order.push_back(digest);
        }
        while order.len() > BAD_CERTIFICATES_KEPT {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
    }

    /// Certificates remembered as bad (for tests of the bound).
    #[doc(hidden)]
    pub fn bad_certificates_held(&self) -> usize {
        self.bad_certificates.0.len()
    }

    /// Applies a valid certificate: store it, finalize if allowed, fast-forward.
    pub(super) fn accept_certificate(&mut self, certificate: Certificate) {
        let view = certificate.vote.view();
        self.got(&crate::types::Request::Certificates(view));
        let state = self.views.entry(view).or_default();
        // Votes still waiting for this kind can change nothing now.
        let kind = certificate.vote.kind();
        state.waiting.retain(|(k, _), _| *k != kind);
        match certificate.vote {
            Vote::Notarize(p) => {
                state.notarization = Some(certificate.clone());
                self.certified_views.insert(view);
                self.maybe_finalize(p);
            }
            Vote::Nullify(_) => {
                state.nullification = Some(certificate.clone());
                self.nullified.insert(view);
            }
            Vote::Finalize(_) => {
                state.finalization = Some(certificate.clone());
                self.certified_views.insert(view);
                let better =
                    self.best_finalization.as_ref().is_none_or(|best| best.vote.view() < view);
                if better {
                    self.best_finalization = Some(certificate.clone());
                }
            }
        }
        if view >= self.view {
            self.enter_view(view.next(), certificate);
        }
    }

    /// Sends `Finalize(p)` if this node may: it did not nullify the view, has not finalized it,
    /// and the view is above its journal floor and its last finalized view.
    fn maybe_finalize(&mut self, p: Proposal) {
        if p.view < self.floor || p.view <= self.finalized.view {
            return;
        }
        let mine = &self.views.entry(p.view).or_default().mine;
        if mine.nullify.is_some() || mine.finalize.is_some() {
            return;
        }
        let vote = self.sign(Vote::Finalize(p));
        self.broadcast(Message::Vote(vote));
        self.add_vote(vote);
    }

    /// Enters `view` (only ever forward) because of `entry`, then keeps going while the new
    /// view is already settled by a held certificate.
    pub(super) fn enter_view(&mut self, view: View, entry: Certificate) {
        if view <= self.view {
            return;
        }
        let mut view = view;
        let mut entry = entry;
        loop {
            self.view = view;
            self.journal(Record::Certificate(entry.clone()));
            let state = self.views.entry(view).or_default();
            state.entry = Some(entry);
            let next = state
                .finalization
                .clone()
                .or_else(|| state.notarization.clone())
                .or_else(|| state.nullification.clone());
            match next {
                Some(certificate) => {
                    entry = certificate;
                    view = view.next();
                }
                None => break,
            }
        }
        // Timeouts back off while views keep failing, and reset on the first success.
        let nullified = self.views.get(&self.view).and_then(|s| s.entry.as_ref());
        if nullified.is_some_and(|c| matches!(c.vote, Vote::Nullify(_))) {
            self.nullified_streak = self.nullified_streak.saturating_add(1);
        } else {
            self.nullified_streak = 0;
        }
        self.arm_view_timers(self.view);
    }

    /// The factor timeouts are multiplied by: doubles every [`TIMEOUT_BACKOFF_VIEWS`] views
    /// entered in a row through nullifications, up to `2^TIMEOUT_BACKOFF_SHIFT_MAX`.
    pub(super) fn backoff(&self) -> u64 {
        1 << (self.nullified_streak / TIMEOUT_BACKOFF_VIEWS).min(TIMEOUT_BACKOFF_SHIFT_MAX)
    }

    pub(super) fn arm_view_timers(&mut self, view: View) {
        let t = self.cfg.timeouts;
        let k = self.backoff();
        let (leader_ms, advance_ms) =
            (t.leader_ms.saturating_mul(k), t.advance_ms.saturating_mul(k));
        for (kind, after) in [(TimerKind::Leader, leader_ms), (TimerKind::Advance, advance_ms)] {
            self.emit(Output::SetTimer {
                timer: Timer { view, kind },
                at_ms: self.now.saturating_add(after),
            });
        }
    }

    pub(super) fn on_timeout(&mut self, timer: Timer) {
        if timer.view != self.view {
            return;
        }
        let view = self.view;
        match timer.kind {
            TimerKind::Leader => {
                let notarized = self.views.get(&view).is_some_and(|s| s.mine.notarize.is_some());
                if !notarized {
                    self.nullify(view);
                }
            }
            TimerKind::Advance => self.nullify(view),
            TimerKind::Retry => {
                let state = self.views.get(&view);
                let vote = state.and_then(|s| s.mine.nullify);
                let entry = state.and_then(|s| s.entry.clone());
                if let Some(vote) = vote {
                    self.broadcast(Message::Vote(vote));
                    if let Some(entry) = entry {
                        self.broadcast(Message::Certificate(entry));
                    }
                    self.arm_retry(view);
                }
            }
        }
    }

    fn arm_retry(&mut self, view: View) {
        let at_ms = self.now.saturating_add(self.cfg.timeouts.retry_ms);
        self.emit(Output::SetTimer { timer: Timer { view, kind: TimerKind::Retry }, at_ms });
    }

    /// Nullifies `view` (the current view) once; the retry timer rebroadcasts it.
    pub(super) fn nullify(&mut self, view: View) {
        if view != self.view || view < self.floor {
            return;
        }
        let mine = &self.views.entry(view).or_default().mine;
        if mine.nullify.is_some() || mine.finalize.is_some() {
            return;
        }
        let vote = self.sign(Vote::Nullify(Round { epoch: self.cfg.epoch, view }));
        self.broadcast(Message::Vote(vote));
        self.arm_retry(view);
        self.add_vote(vote);
    }

    /// Signs a vote, records it as this node's and journals it. Panics if the vote conflicts
    /// with one this node already signed: callers check first, so that is a programmer error.
    pub(super) fn sign(&mut self, vote: Vote) -> SignedVote {
        let view = vote.view();
        assert!(
            view >= self.floor,
            "about to sign {vote:?} below the journal floor {}",
            self.floor
        );
        let canary = self.cfg.canary == Canary::NotarizeTwice;
        if let Vote::Notarize(p) = vote
            && let Some(block) = self.blocks.get(&p.digest)
        {
            self.journal(Record::Block(block.clone()));
        }
        let signed = sign_vote(&self.cfg.key, &self.cfg.chain_id, self.cfg.me, vote);
        let mine = &mut self.views.entry(view).or_default().mine;
        match vote {
            Vote::Notarize(_) => {
                assert!(
                    canary || mine.notarize.is_none(),
                    "about to notarize twice in view {view}"
                );
                mine.notarize = Some(signed);
            }
            Vote::Nullify(_) => {
                assert!(
                    mine.finalize.is_none(),
                    "about to nullify view {view} after finalizing it"
                );
                mine.nullify = Some(signed);
            }
            Vote::Finalize(_) => {
                assert!(
                    mine.nullify.is_none() && mine.finalize.is_none(),
                    "about to finalize view {view} after nullifying or finalizing it"
                );
                mine.finalize = Some(signed);
            }
        }
        self.journal(Record::Vote(signed));
        signed
    }
}
