//! Driving one turn of a node's core and carrying out its outputs in order, with the checks
//! made at every turn.

use super::{Event, Sim};
use crate::core::{Core, Input, Output, Rejection};
use crate::types::{BLOCKS_PER_RESPONSE_MAX, Block, Message, Request, ValidatorIndex};
use volt_proto::codec;

impl Sim {
    pub(super) fn step(&mut self, slot: usize, input: Input) {
        let now = self.now;
        let Some(core) = self.nodes[slot].core.as_mut() else {
            return;
        };
        let sender = match &input {
            Input::Message { from, .. } => Some(*from),
            _ => None,
        };
        let refused_before = refused_inputs(core);
        let outputs = core.handle(now, input);
        let refused = refused_inputs(core) > refused_before;
        // An honest peer is never blamed (unless the network flipped its bytes). The blamed
        // peer may not be the input's sender: a waiting vote is verified in a later turn.
        let blamed = core.offender();
        if let Some((peer, reason)) = blamed
            && self.nodes[usize::from(peer)].behavior.is_honest()
            && self.corrupt_permille == 0
            && self.nodes[slot].behavior.is_honest()
        {
            let text = format!("node {slot} blamed honest peer {peer} for {reason:?}");
            self.checker.fail(text);
        }
        // The input itself was refused (not a waiting vote of another peer, found bad now).
        let input_refused = refused && blamed.is_none_or(|(peer, _)| Some(peer) == sender);
        if input_refused && sender.is_some() && self.nodes[slot].behavior.is_honest() {
            // An answer goes to the sender; fetches (requests) are the node's own asks.
            let answered = outputs.iter().any(|o| match o {
                Output::Send { to, message } => {
                    Some(*to) == sender && !matches!(message, Message::Request(_))
                }
                _ => false,
            });
            if answered {
                let sent: Vec<String> = outputs
                    .iter()
                    .filter_map(|o| match o {
                        Output::Send { to, message } => Some(format!("{to}: {message:?}")),
                        _ => None,
                    })
                    .map(|m| m.chars().take(120).collect())
                    .collect();
                let text = format!(
                    "node {slot} answered a message it refused as unverifiable (at {} ms, \
                     {blamed:?}; sent {sent:?})",
                    self.now
                );
                self.checker.fail(text);
            }
        }
        // A crash meant to land inside a turn waits for a turn that writes the journal.
        let synced = outputs.iter().position(|o| matches!(o, Output::JournalSync));
        let cut = match synced {
            Some(i) if self.nodes[slot].crash_in_turn => {
                self.nodes[slot].crash_in_turn = false;
                Some(match self.rng.below(3) {
                    // Between the journal sync and the application storing the turn's blocks.
                    0 => i + 1,
                    // Every journal write issued, none synced: the whole turn may tear.
                    1 => i,
                    _ => self.rng.below(outputs.len() as u64 + 1) as usize,
                })
            }
            _ => None,
        };
        if !persistence_order_holds(&outputs) {
            let text = format!("node {slot} would send before syncing its journal");
            self.checker.fail(text);
        }
        let rewrote = outputs.iter().any(|o| matches!(o, Output::JournalRewrite(_)));
        for (i, output) in outputs.into_iter().enumerate() {
            if cut == Some(i) {
                return self.crash(slot);
            }
            let synced = matches!(output, Output::JournalSync);
            self.perform(slot, output);
            if synced && rewrote {
                self.check_durability(slot, "right after a journal rewrite");
            }
        }
        if cut.is_some() {
            return self.crash(slot);
        }
        self.observe_turn(slot);
    }

    /// Entered view and finalized height never go down, across restarts too.
    pub(super) fn observe_turn(&mut self, slot: usize) {
        let node = &mut self.nodes[slot];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        if !node.behavior.is_honest() {
            return;
        }
        self.wants_max = self.wants_max.max(core.wants_held());
        // Counting walks every view held: sampled, one turn in 32.
        if self.events.is_multiple_of(32) {
            let held = core.held();
            if let Some(text) = unbounded(&held, self.scenario.n) {
                self.checker.fail(format!("node {slot} at view {}: {text}", core.view()));
            }
            let max = &mut self.held_max;
            max.votes = max.votes.max(held.votes);
            max.views = max.views.max(held.views);
            max.certificates = max.certificates.max(held.certificates);
            max.proposals = max.proposals.max(held.proposals);
        }
        let view = core.view();
        if view < node.view_max {
            let text = format!("node {slot} went back from view {} to {view}", node.view_max);
            self.checker.fail(text);
        }
        node.view_max = node.view_max.max(view);
        if core.finalized().height.0 + 1 != node.chain.len() as u64 {
            let text = format!("node {slot} core and application disagree on the final height");
            self.checker.fail(text);
        }
    }

    pub(super) fn perform(&mut self, slot: usize, output: Output) {
        let incarnation = self.nodes[slot].incarnation;
        let journal_result = {
            let journal = self.nodes[slot].journal.as_mut();
            match (&output, journal) {
                (Output::JournalAppend(r), Some(j)) => Some(j.append(r)),
                (Output::JournalRewrite(rs), Some(j)) => Some(j.rewrite(rs)),
                (Output::JournalSync, Some(j)) => Some(j.sync()),
                _ => None,
            }
        };
        if let Some(Err(e)) = journal_result {
            self.checker.fail(format!("node {slot} journal failed: {e}"));
        }
        let durability = &mut self.nodes[slot].durability;
        match &output {
            Output::JournalAppend(record) => durability.append(record),
            Output::JournalRewrite(records) => durability.reset(records),
            Output::JournalSync => durability.sync(),
            _ => {}
        }
        match output {
            Output::JournalAppend(_) | Output::JournalRewrite(_) | Output::JournalSync => {}
            Output::Send { to, message } => {
                if let Message::Request(Request::Block(digest)) = &message {
                    self.serve_from_store(slot, to, *digest);
                }
                self.transmit(slot, Some(to), message)
            }
            Output::Broadcast(message) => self.transmit(slot, None, message),
            Output::Fetch(request) => {
                // Not emitted any more (fetches go to one peer as a `Send`); served as a
                // broadcast in case an older core emits it.
                for to in 0..self.scenario.n as ValidatorIndex {
                    if let Request::Block(digest) = request {
                        self.serve_from_store(slot, to, digest);
                    }
                }
                self.transmit(slot, None, Message::Request(request));
            }
            Output::SetTimer { timer, at_ms } => {
                self.push(at_ms, Event::Timer { slot, incarnation, timer })
            }
            Output::Propose { view, .. } => {
                let validator = self.nodes[slot].validator;
                let payload = codec::encode(&(view, validator, b"volt-sim payload".to_vec()));
                let input = Input::Proposed { view, payload };
                self.push(self.now + 1, Event::App { slot, incarnation, input });
            }
            Output::Verify(block) => {
                // The trivial application refuses payloads starting with "bad", and every payload
                // during the scenario's refusal window.
                let valid =
                    !block.payload.starts_with(b"bad") && !self.within(self.scenario.refuse_ms);
                let input = Input::Verified { view: block.view, digest: block.digest(), valid };
                self.push(self.now + 1, Event::App { slot, incarnation, input });
            }
            Output::Finalized { block, certificate } => {
                self.finalized(slot, block, &certificate);
            }
        }
    }

    pub(super) fn finalized(
        &mut self,
        slot: usize,
        block: Block,
        certificate: &crate::types::Certificate,
    ) {
        let honest = self.nodes[slot].behavior.is_honest();
        self.checker.observe_certificate(certificate, honest);
        let digest = block.digest();
        self.trace.update(&[6, slot as u8]);
        self.trace.update(digest.as_bytes());
        let node = &mut self.nodes[slot];
        let last = node.chain.last().map(|b| (b.height, b.digest()));
        let follows =
            last.is_some_and(|(h, d)| h.checked_next() == Some(block.height) && d == block.parent);
        if honest {
            if !follows {
                let text = format!("node {slot} finalized height {} out of order", block.height);
                self.checker.fail(text);
            }
            self.checker.observe_finalized(slot, &block);
            if certificate.vote.view() == block.view
                && let Some(at) = self.proposed_at.get(&digest)
            {
                self.finality.0 += self.now - at;
                self.finality.1 += 1;
            }
            if let Some(h) = self.height_at_heal
                && block.height.0 > h
                && node.recovered_at.is_none()
            {
                node.recovered_at = Some(self.now);
            }
        }
        node.index.insert(digest, block.height.0);
        node.chain.push(block);
    }
}

/// What a core may hold however long finality stalls: votes only in the views near the current
/// one, at most three certificates per view, and uncertified proposals only in the window.
/// `None` when within bounds, else what is over.
fn unbounded(held: &crate::core::Held, n: usize) -> Option<String> {
    use crate::core::{PROPOSALS_KEPT_VIEWS, VOTES_KEPT_VIEWS};
    use crate::types::VIEWS_AHEAD_MAX;
    let votes_max = 3 * n * (VOTES_KEPT_VIEWS + VIEWS_AHEAD_MAX + 1) as usize;
    let proposals_max =
        (PROPOSALS_KEPT_VIEWS + VIEWS_AHEAD_MAX + 1) as usize + BLOCKS_PER_RESPONSE_MAX;
    if held.votes > votes_max {
        return Some(format!("holds {} votes (bound {votes_max})", held.votes));
    }
    if held.certificates > 3 * held.views {
        return Some(format!("holds {} certificates in {} views", held.certificates, held.views));
    }
    if held.proposals > proposals_max {
        let text =
            format!("holds {} uncertified proposals (bound {proposals_max})", held.proposals);
        return Some(text);
    }
    None
}

/// Drops for reasons that mean the message could not be trusted at all.
fn refused_inputs(core: &Core) -> u64 {
    let c = core.counters();
    [Rejection::BadSignature, Rejection::BadCertificate, Rejection::Malformed]
        .iter()
        .map(|r| c.get(*r))
        .sum()
}

/// True when no message leaves before the turn's journal writes are synced.
pub fn persistence_order_holds(outputs: &[Output]) -> bool {
    let mut unsynced = false;
    for output in outputs {
        match output {
            Output::JournalAppend(_) | Output::JournalRewrite(_) => unsynced = true,
            Output::JournalSync => unsynced = false,
            Output::Send { .. } | Output::Broadcast(_) | Output::Fetch(_) if unsynced => {
                return false;
            }
            _ => {}
        }
    }
    !unsynced
}
