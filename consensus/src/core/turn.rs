//! One turn of the core: dispatch an input, make progress, and order the outputs (journal,
//! one sync, then everything else).

use super::{Canary, Core, Input, Output, Rejection, Timer, TimerKind};
use crate::journal::Record;
use crate::types::{Message, SignedVote, ValidatorIndex};

impl Core {
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
}
