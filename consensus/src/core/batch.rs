//! Batched verification of peer votes (issue 8, defect 9).
//!
//! A peer vote of a view not yet left is prechecked (signer, epoch, view window, copies,
//! certificate already held) and then waits unverified: alone it changes nothing. Once the
//! verified votes for one subject plus the waiting ones reach a quorum, the waiting ones are
//! verified in one batch, and one by one only if the batch fails, to find the bad ones. Under
//! `volt_proto::sig`'s rule (the cofactored equation on both paths) a batch passes exactly when
//! each member passes alone, so the verdict on every vote is the one `verify` gives, whatever
//! else shares the batch; the node's behaviour does not depend on how votes were grouped.
//!
//! A waiting vote holds its signer's slot for its kind and view. When a second, different vote
//! of that signer arrives, the waiting one is verified then, and the two are judged as if each
//! had been verified on arrival: a valid first vote counts and the second is equivocation; a
//! bad first vote is refused (its sender blamed) and the second is verified on its own, so a
//! forged vote relayed first cannot keep the real one out. Waiting votes are bounded like
//! verified ones: one per (kind, signer) per view, within the views votes are kept for. A bad
//! vote is refused (`BadSignature`, its sender reported by `Core::offender`) when it could
//! complete a certificate or meets a second vote of its signer, not necessarily on arrival.

use super::{Core, Rejection};
use crate::types::{SignedVote, ValidatorIndex, Vote, VoteKind};
use crate::validators::ValidatorSet;
use volt_proto::sig::{self, BatchItem};

impl Core {
    /// Lets a prechecked peer vote wait for a quorum, or verifies it now when its signer's
    /// slot holds a different waiting vote.
    pub(super) fn defer_vote(&mut self, from: ValidatorIndex, vote: SignedVote) {
        let key = (vote.vote.kind(), vote.signer);
        let state = self.views.entry(vote.vote.view()).or_default();
        match state.waiting.get(&key) {
            Some((_, waiting)) if *waiting == vote => return self.reject(Rejection::Duplicate),
            Some(&(first_from, first)) => {
                // A second, different vote of the signer: settle the first as if it had been
                // verified on arrival (valid: it counts and this one is equivocation; bad: its
                // sender is blamed and this one is judged on its own).
                state.waiting.remove(&key);
                let check = |core: &Core, v: &SignedVote| {
                    core.cfg.validators.verify_vote(&core.cfg.chain_id, v).is_ok()
                };
                if check(self, &first) {
                    self.add_vote(first);
                    return self.reject(Rejection::Conflicting);
                }
                self.reject_from(first_from, Rejection::BadSignature);
                if !check(self, &vote) {
                    return self.reject(Rejection::BadSignature);
                }
                return self.add_vote(vote);
            }
            None => {
                state.waiting.insert(key, (from, vote));
            }
        }
        self.verify_waiting(vote.vote);
    }

    /// If the verified and waiting votes for `subject` reach a quorum, verifies the waiting
    /// ones (one batch; one by one if it fails), records the valid ones and blames the senders
    /// of the bad ones; forms the certificate when the valid ones make a quorum.
    pub(super) fn verify_waiting(&mut self, subject: Vote) {
        let view = subject.view();
        let quorum = self.cfg.validators.quorum();
        let Some(state) = self.views.get_mut(&view) else {
            return;
        };
        let kind = subject.kind();
        let (votes, held) = match kind {
            VoteKind::Notarize => (&state.notarizes, state.notarization.is_some()),
            VoteKind::Nullify => (&state.nullifies, state.nullification.is_some()),
            VoteKind::Finalize => (&state.finalizes, state.finalization.is_some()),
        };
        if held {
            return;
        }
        let verified = votes.values().filter(|v| v.vote == subject).count();
        let waiting: Vec<(ValidatorIndex, SignedVote)> = state
            .waiting
            .iter()
            .filter(|((k, signer), (_, v))| {
                *k == kind && v.vote == subject && !votes.contains_key(signer)
            })
            .map(|(_, w)| *w)
            .collect();
        if waiting.is_empty() || verified + waiting.len() < quorum {
            return;
        }
        for (_, vote) in &waiting {
            state.waiting.remove(&(kind, vote.signer));
        }
        let verdicts = verify_votes(&self.cfg.validators, &self.cfg.chain_id, &waiting);
        let mut valid = Vec::with_capacity(waiting.len());
        for ((from, vote), ok) in waiting.into_iter().zip(verdicts) {
            if ok {
                valid.push(vote);
            } else {
                self.reject_from(from, Rejection::BadSignature);
            }
        }
        for vote in valid {
            self.add_vote(vote);
        }
    }
}

/// The verdict on each vote: one batch, and one by one only if the batch fails.
fn verify_votes(
    validators: &ValidatorSet,
    chain_id: &volt_proto::ChainId,
    votes: &[(ValidatorIndex, SignedVote)],
) -> Vec<bool> {
    let messages: Vec<Vec<u8>> = votes
        .iter()
        .map(|(_, v)| sig::signing_message(v.vote.domain(), chain_id, &v.vote.signed_payload()))
        .collect();
    let mut items = Vec::with_capacity(votes.len());
    for ((_, vote), message) in votes.iter().zip(&messages) {
        match validators.key(vote.signer) {
            Ok(key) => items.push(BatchItem { key, message, signature: &vote.signature }),
            Err(_) => return votes.iter().map(|_| false).collect(), // screened: unreachable
        }
    }
    if sig::verify_batch(&items).is_ok() {
        return vec![true; votes.len()];
    }
    items.iter().map(|item| sig::verify(item.key, item.message, item.signature).is_ok()).collect()
}
