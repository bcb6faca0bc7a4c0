//! One test per rule of the core and per rejected message kind, driven through `handle`.

// Test helpers panic on purpose: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_consensus::core::{Core, Input, Output, Rejection, Timeouts, Timer, TimerKind};
use volt_consensus::journal::Record;
use volt_consensus::sim::persistence_order_holds;
use volt_consensus::types::{
    Block, Epoch, Message, Proposal, Request, Round, ValidatorIndex, View, Vote,
};
use volt_proto::{Hash, Height};

mod common;
use common::*;

/// Delivers a valid proposal of view 1 and the app's approval; returns the block and outputs.
fn notarize_view_1(h: &H, core: &mut Core) -> (Block, Vec<Output>) {
    let block = h.block(1, &h.genesis, b"one");
    let out = core.handle(10, msg(1, &h.propose(&block)));
    assert!(out.iter().any(|o| matches!(o, Output::Verify(b) if *b == block)));
    let out =
        core.handle(11, Input::Verified { view: View(1), digest: block.digest(), valid: true });
    (block, out)
}

#[test]
fn quorum_and_leader_rotation() {
    // Proves quorum = 2f+1 for n = 3f+1 and round-robin leaders.
    assert_eq!(H::new(4).set.quorum(), 3);
    assert_eq!(H::new(7).set.quorum(), 5);
    let set = &H::new(4).set;
    assert_eq!((1..=5).map(|v| set.leader(View(v))).collect::<Vec<_>>(), [1, 2, 3, 0, 1]);
}

#[test]
fn start_arms_both_view_timers() {
    // Proves entering a view sets the leader (2Δ) and advance (3Δ) timers.
    let h = H::new(4);
    let mut core = Core::new(h.config(ME), h.genesis.clone(), &[]).unwrap();
    let out = core.handle(100, Input::Start);
    let t = Timeouts::default();
    for (kind, after) in [(TimerKind::Leader, t.leader_ms), (TimerKind::Advance, t.advance_ms)] {
        assert!(out.iter().any(|o| matches!(o, Output::SetTimer { timer, at_ms }
            if *timer == Timer { view: View(1), kind } && *at_ms == 100 + after)));
    }
}

#[test]
fn leader_proposes_on_the_certified_parent_and_journals_first() {
    // Proves the leader asks the app for a payload on the right parent, and its proposal
    // leaves only after the vote is journaled and synced.
    let h = H::new(4);
    let mut core = Core::new(h.config(1), h.genesis.clone(), &[]).unwrap();
    let out = core.handle(0, Input::Start);
    let ask = out.iter().find_map(|o| match o {
        Output::Propose { view, parent_view, parent, height } => {
            Some((*view, *parent_view, *parent, *height))
        }
        _ => None,
    });
    assert_eq!(ask, Some((View(1), View(0), h.genesis.digest(), Height(1))));
    let out = core.handle(1, Input::Proposed { view: View(1), payload: b"p".to_vec() });
    assert!(persistence_order_holds(&out));
    assert!(matches!(sent(&out)[..], [Message::Propose { .. }]));
    assert!(matches!(journal(&out)[..], [Record::Block(_), Record::Vote(_)]));
}

#[test]
fn replica_notarizes_a_valid_proposal_after_the_app_agrees() {
    // Proves the first valid proposal is notarized, journaled, synced, then broadcast.
    let h = H::new(4);
    let mut core = h.core(ME);
    let (block, out) = notarize_view_1(&h, &mut core);
    assert_eq!(own_votes(&out), [Vote::Notarize(block.proposal())]);
    assert!(persistence_order_holds(&out));
    assert!(matches!(out.first(), Some(Output::JournalAppend(_))));
}

#[test]
fn app_refusal_nullifies_the_view() {
    // Proves an invalid payload gets a nullify, not a notarize.
    let h = H::new(4);
    let mut core = h.core(ME);
    let block = h.block(1, &h.genesis, b"bad");
    core.handle(10, msg(1, &h.propose(&block)));
    let out =
        core.handle(11, Input::Verified { view: View(1), digest: block.digest(), valid: false });
    assert_eq!(own_votes(&out), [nullify(1)]);
    assert_eq!(core.counters().get(Rejection::InvalidProposal), 1);
}

#[test]
fn leader_timeout_nullifies_and_retry_rebroadcasts() {
    // Proves a view without a proposal is nullified at the leader timeout, and the nullify is
    // rebroadcast on retry together with the entry certificate.
    let h = H::new(4);
    let mut core = h.core(ME);
    let timer = Timer { view: View(1), kind: TimerKind::Leader };
    let out = core.handle(1000, Input::Timeout(timer));
    assert_eq!(own_votes(&out), [nullify(1)]);
    let retry = Timer { view: View(1), kind: TimerKind::Retry };
    assert!(out.iter().any(|o| matches!(o, Output::SetTimer { timer, .. } if *timer == retry)));
    let out = core.handle(2000, Input::Timeout(retry));
    assert_eq!(own_votes(&out), [nullify(1)]);
    assert!(journal(&out).is_empty(), "a rebroadcast is not a new vote");
}

#[test]
fn notarized_replica_waits_for_the_advance_timeout() {
    // Proves the leader timer does not nullify a view this node notarized; the advance one does.
    let h = H::new(4);
    let mut core = h.core(ME);
    notarize_view_1(&h, &mut core);
    let leader = Timer { view: View(1), kind: TimerKind::Leader };
    assert!(own_votes(&core.handle(1000, Input::Timeout(leader))).is_empty());
    let advance = Timer { view: View(1), kind: TimerKind::Advance };
    assert_eq!(own_votes(&core.handle(1500, Input::Timeout(advance))), [nullify(1)]);
}

#[test]
fn notarization_moves_on_and_finalizes() {
    // Proves 2f+1 notarizes form a notarization: the node broadcasts it, sends Finalize, and
    // enters the next view.
    let h = H::new(4);
    let mut core = h.core(ME);
    let (block, _) = notarize_view_1(&h, &mut core);
    let vote = h.vote(3, Vote::Notarize(block.proposal()));
    let out = core.handle(20, msg(3, &Message::Vote(vote)));
    assert_eq!(core.view(), View(2));
    assert!(sent(&out).iter().any(|m| matches!(m, Message::Certificate(c)
        if c.vote == Vote::Notarize(block.proposal()))));
    assert_eq!(own_votes(&out), [Vote::Finalize(block.proposal())]);
    assert!(journal(&out).contains(&Record::Entered(View(2))));
}

#[test]
fn no_finalize_after_nullify() {
    // Proves a node that nullified a view never finalizes it, even when it is notarized.
    let h = H::new(4);
    let mut core = h.core(ME);
    let block = h.block(1, &h.genesis, b"one");
    core.handle(1000, Input::Timeout(Timer { view: View(1), kind: TimerKind::Leader }));
    let cert = h.cert(Vote::Notarize(block.proposal()), &[0, 1, 3]);
    let out = core.handle(1100, msg(0, &Message::Certificate(cert)));
    assert_eq!(core.view(), View(2));
    assert!(own_votes(&out).is_empty());
}

#[test]
fn nullification_moves_on_without_finalize() {
    // Proves a nullification enters the next view and sends no finalize.
    let h = H::new(4);
    let mut core = h.core(ME);
    let out = core.handle(5, msg(0, &Message::Certificate(h.cert(nullify(1), &[0, 1, 3]))));
    assert_eq!(core.view(), View(2));
    assert!(own_votes(&out).is_empty());
}

#[test]
fn finalization_delivers_the_block_and_its_ancestors_in_order() {
    // Proves a finalization of view 2 delivers heights 1 and 2, in order.
    let h = H::new(4);
    let mut core = h.core(3);
    let b1 = h.block(1, &h.genesis, b"one");
    let b2 = h.block(2, &b1, b"two");
    core.handle(1, msg(1, &h.propose(&b1)));
    core.handle(2, msg(2, &h.propose(&b2)));
    let cert = h.cert(Vote::Notarize(b1.proposal()), &[0, 1, 2]);
    core.handle(3, msg(0, &Message::Certificate(cert)));
    let cert = h.cert(Vote::Finalize(b2.proposal()), &[0, 1, 2]);
    let out = core.handle(4, msg(0, &Message::Certificate(cert)));
    let delivered: Vec<Block> = out
        .iter()
        .filter_map(|o| match o {
            Output::Finalized { block, .. } => Some(block.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, [b1, b2]);
    assert_eq!(core.finalized().height, Height(2));
}

#[test]
fn missing_block_is_fetched_then_delivered() {
    // Proves a finalized digest without its block triggers a fetch, and the answer finalizes.
    let h = H::new(4);
    let mut core = h.core(ME);
    let b1 = h.block(1, &h.genesis, b"one");
    let cert = h.cert(Vote::Finalize(b1.proposal()), &[0, 1, 3]);
    let out = core.handle(1, msg(0, &Message::Certificate(cert)));
    assert!(fetches(&out).iter().any(|r| matches!(r, Request::Block(d) if *d == b1.digest())));
    let out = core.handle(2, msg(0, &Message::Blocks(vec![b1.clone()])));
    assert!(out.iter().any(|o| matches!(o, Output::Finalized { block, .. } if *block == b1)));
}

#[test]
fn fast_forward_on_a_far_higher_certificate() {
    // Proves any valid higher-view certificate moves the node past that view.
    let h = H::new(4);
    let mut core = h.core(ME);
    core.handle(5, msg(0, &Message::Certificate(h.cert(nullify(500), &[0, 1, 3]))));
    assert_eq!(core.view(), View(501));
}

#[test]
fn proposal_over_nullified_views_is_valid() {
    // Proves the validity rule accepts a parent several views back when every skipped view is
    // nullified (and the node fast-forwards over them).
    let h = H::new(4);
    let mut core = h.core(0);
    core.handle(1, msg(1, &Message::Certificate(h.cert(nullify(2), &[1, 2, 3]))));
    assert_eq!(core.view(), View(3));
    let b3 = h.block(3, &h.genesis, b"three");
    let out = core.handle(2, msg(3, &h.propose(&b3)));
    assert!(fetches(&out).contains(&Request::Certificates(View(1))));
    assert!(!out.iter().any(|o| matches!(o, Output::Verify(_))));
    let out = core.handle(3, msg(1, &Message::Certificate(h.cert(nullify(1), &[1, 2, 3]))));
    assert!(out.iter().any(|o| matches!(o, Output::Verify(b) if *b == b3)));
}

#[test]
fn proposal_with_a_missing_nullification_fetches_it() {
    // Proves a proposal whose skipped view lacks a nullification is held and the certificate
    // is requested.
    let h = H::new(4);
    let mut core = h.core(0);
    // Enter view 3 through a notarization of view 2 whose block skipped view 1.
    let b2 = h.block(2, &h.genesis, b"two");
    core.handle(
        1,
        msg(1, &Message::Certificate(h.cert(Vote::Notarize(b2.proposal()), &[1, 2, 3]))),
    );
    assert_eq!(core.view(), View(3));
    let b3 = h.block(3, &h.genesis, b"three-on-genesis");
    let out = core.handle(2, msg(3, &h.propose(&b3)));
    assert!(fetches(&out).contains(&Request::Certificates(View(1))));
    assert!(!out.iter().any(|o| matches!(o, Output::Verify(_))));
}

#[test]
fn proposal_with_a_wrong_height_or_parent_is_nullified() {
    // Proves a proposal whose height is not parent + 1 is invalid and nullified at once.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut block = h.block(1, &h.genesis, b"one");
    block.height = Height(5);
    let out = core.handle(1, msg(1, &h.propose(&block)));
    assert_eq!(own_votes(&out), [nullify(1)]);
    assert_eq!(core.counters().get(Rejection::InvalidProposal), 1);

    let mut core = h.core(ME);
    let mut block = h.block(1, &h.genesis, b"one");
    block.parent = Hash::of(b"elsewhere");
    let out = core.handle(1, msg(1, &h.propose(&block)));
    assert_eq!(own_votes(&out), [nullify(1)]);
}

#[test]
fn only_the_first_proposal_of_a_view_counts() {
    // Proves an equivocating leader's second block is dropped and never notarized.
    let h = H::new(4);
    let mut core = h.core(ME);
    let (_, _) = notarize_view_1(&h, &mut core);
    let other = h.block(1, &h.genesis, b"other");
    let out = core.handle(20, msg(1, &h.propose(&other)));
    assert!(own_votes(&out).is_empty());
    assert_eq!(core.counters().get(Rejection::Conflicting), 1);
}

#[test]
fn restarted_node_resends_its_vote_and_never_signs_a_conflicting_one() {
    // Proves a node restarted from its journal re-sends its journaled notarize, refuses a
    // different proposal in that view, and never nullifies a view it finalized.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut records = journal(&core.handle(0, Input::Start));
    let (block, out) = notarize_view_1(&h, &mut core);
    records.extend(journal(&out));
    drop(core);

    let mut core = Core::new(h.config(ME), h.genesis.clone(), &records).unwrap();
    let out = core.handle(100, Input::Start);
    assert_eq!(own_votes(&out), [Vote::Notarize(block.proposal())]);
    let other = h.block(1, &h.genesis, b"other");
    let out = core.handle(101, msg(1, &h.propose(&other)));
    let out2 =
        core.handle(102, Input::Verified { view: View(1), digest: other.digest(), valid: true });
    assert!(own_votes(&out).is_empty() && own_votes(&out2).is_empty());

    // Finalize view 1, restart, and fire the old view's timers: no nullify.
    let cert = h.cert(Vote::Notarize(block.proposal()), &[0, 1, 3]);
    let out = core.handle(103, msg(0, &Message::Certificate(cert)));
    assert_eq!(own_votes(&out), [Vote::Finalize(block.proposal())]);
    records.extend(journal(&out));
    let mut core = Core::new(h.config(ME), h.genesis.clone(), &records).unwrap();
    assert_eq!(core.view(), View(2));
    core.handle(200, Input::Start);
    let timer = Timer { view: View(1), kind: TimerKind::Advance };
    assert!(own_votes(&core.handle(300, Input::Timeout(timer))).is_empty());
}

#[test]
fn journal_of_another_node_is_refused() {
    // Proves a node will not start from a journal holding someone else's votes.
    let h = H::new(4);
    let foreign = Record::Vote(h.vote(1, nullify(1)));
    assert!(Core::new(h.config(ME), h.genesis.clone(), &[foreign]).is_err());
}

#[test]
fn requests_are_served_and_stuck_peers_are_helped() {
    // Proves certificate and block requests are answered, and a peer nullifying an old view
    // gets the certificate that ends it.
    let h = H::new(4);
    let mut core = h.core(ME);
    let (block, _) = notarize_view_1(&h, &mut core);
    let cert = h.cert(Vote::Notarize(block.proposal()), &[0, 1, 3]);
    core.handle(20, msg(0, &Message::Certificate(cert.clone())));
    let out = core.handle(21, msg(3, &Message::Request(Request::Certificates(View(1)))));
    assert_eq!(sent(&out), [Message::Certificate(cert.clone())]);
    let out = core.handle(22, msg(3, &Message::Request(Request::Block(block.digest()))));
    assert!(matches!(&sent(&out)[..], [Message::Blocks(b)] if b[0] == block));
    let out = core.handle(23, msg(3, &Message::Vote(h.vote(3, nullify(1)))));
    assert!(out.iter().any(
        |o| matches!(o, Output::Send { to: 3, message: Message::Certificate(c) } if *c == cert)
    ));
}

// ----- rejected message kinds -----

fn rejected_after(h: &H, core: &mut Core, from: ValidatorIndex, message: &Message) -> Rejection {
    let before = core.counters().clone();
    let out = core.handle(50, msg(from, message));
    assert!(own_votes(&out).is_empty());
    let after = core.counters();
    let mut changed =
        after.rejected.iter().filter(|(r, c)| before.get(**r) != **c).map(|(r, _)| *r);
    let _ = h;
    changed.next().expect("something was rejected")
}

#[test]
fn rejects_malformed_bytes() {
    // Proves bytes that do not decode are dropped and counted.
    let h = H::new(4);
    let mut core = h.core(ME);
    core.handle(1, Input::Message { from: 0, bytes: vec![9, 9, 9] });
    assert_eq!(core.counters().get(Rejection::Malformed), 1);
}

#[test]
fn rejects_unknown_signer() {
    // Proves a vote claiming a signer outside the set is dropped.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut vote = h.vote(0, nullify(1));
    vote.signer = 9;
    assert_eq!(rejected_after(&h, &mut core, 0, &Message::Vote(vote)), Rejection::UnknownSigner);
}

#[test]
fn rejects_bad_signature() {
    // Proves a vote whose signature does not verify is dropped, and its sender blamed, once it
    // could complete a certificate (votes wait unverified until then, then go in one batch).
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut vote = h.vote(0, nullify(1));
    vote.signature.0[3] ^= 1;
    core.handle(1, msg(0, &Message::Vote(vote)));
    assert_eq!(core.counters().get(Rejection::BadSignature), 0, "one vote waits");
    core.handle(2, msg(1, &Message::Vote(h.vote(1, nullify(1)))));
    let good = Message::Vote(h.vote(3, nullify(1)));
    assert_eq!(rejected_after(&h, &mut core, 3, &good), Rejection::BadSignature);
    assert_eq!(core.offender(), Some((0, Rejection::BadSignature)), "the bad vote's sender");
    assert_eq!(core.view(), View(1), "two valid nullifies are no quorum");
    core.handle(3, Input::Timeout(Timer { view: View(1), kind: TimerKind::Leader }));
    assert_eq!(core.view(), View(2), "its own nullify completes the quorum");
}

#[test]
fn a_batch_with_a_bad_vote_gives_each_vote_its_own_verdict() {
    // Proves the batch path agrees with one-by-one verification: with a bad vote among the
    // waiting ones the batch fails, each vote is checked alone, the good ones count.
    let h = H::new(7);
    let mut core = h.core(ME);
    let mut bad = h.vote(0, nullify(1));
    bad.signature.0[7] ^= 4;
    core.handle(1, msg(0, &Message::Vote(bad)));
    for (t, signer) in [1u16, 3, 4, 5].into_iter().enumerate() {
        core.handle(2 + t as u64, msg(signer, &Message::Vote(h.vote(signer, nullify(1)))));
    }
    assert_eq!(core.counters().get(Rejection::BadSignature), 1);
    assert_eq!(core.view(), View(1), "four valid of five needed");
    core.handle(9, msg(6, &Message::Vote(h.vote(6, nullify(1)))));
    assert_eq!(core.view(), View(2), "five valid nullifies form the nullification");
}

#[test]
fn rejects_wrong_epoch() {
    // Proves votes of another epoch are dropped.
    let h = H::new(4);
    let mut core = h.core(ME);
    let vote = h.vote(0, Vote::Nullify(Round { epoch: Epoch(1), view: View(1) }));
    assert_eq!(rejected_after(&h, &mut core, 0, &Message::Vote(vote)), Rejection::WrongEpoch);
}

#[test]
fn rejects_old_and_far_future_views() {
    // Proves votes at or below the finalized view, or too far ahead, are dropped.
    let h = H::new(4);
    let mut core = h.core(ME);
    let vote = h.vote(0, nullify(0));
    assert_eq!(rejected_after(&h, &mut core, 0, &Message::Vote(vote)), Rejection::OldView);
    let vote = h.vote(0, nullify(10_000));
    assert_eq!(rejected_after(&h, &mut core, 0, &Message::Vote(vote)), Rejection::FutureView);
}

#[test]
fn rejects_proposal_from_non_leader() {
    // Proves only the view's leader may propose.
    let h = H::new(4);
    let mut core = h.core(ME);
    let block = h.block(1, &h.genesis, b"one");
    let message = Message::Propose {
        block: block.clone(),
        vote: h.vote(3, Vote::Notarize(block.proposal())),
    };
    assert_eq!(rejected_after(&h, &mut core, 3, &message), Rejection::NotLeader);
}

#[test]
fn rejects_proposal_that_does_not_match_its_vote() {
    // Proves a block and a vote for another digest are dropped as malformed.
    let h = H::new(4);
    let mut core = h.core(ME);
    let block = h.block(1, &h.genesis, b"one");
    let other = h.block(1, &h.genesis, b"other");
    let message = Message::Propose { block, vote: h.vote(1, Vote::Notarize(other.proposal())) };
    assert_eq!(rejected_after(&h, &mut core, 1, &message), Rejection::Malformed);
}

#[test]
fn rejects_conflicting_and_duplicate_votes() {
    // Proves one vote per signer, kind and view counts; copies and conflicts are dropped.
    let h = H::new(4);
    let mut core = h.core(ME);
    let p = |d: &[u8]| Proposal {
        epoch: Epoch(0),
        view: View(1),
        parent_view: View(0),
        digest: Hash::of(d),
    };
    let first = Message::Vote(h.vote(0, Vote::Notarize(p(b"a"))));
    core.handle(1, msg(0, &first));
    assert_eq!(rejected_after(&h, &mut core, 0, &first), Rejection::Duplicate);
    let second = Message::Vote(h.vote(0, Vote::Notarize(p(b"b"))));
    assert_eq!(rejected_after(&h, &mut core, 0, &second), Rejection::Conflicting);
}

#[test]
fn rejects_bad_certificates() {
    // Proves certificates with too few signers, a bad signature or a bad bitmap are dropped.
    let h = H::new(4);
    let mut core = h.core(ME);
    let few = h.cert(nullify(1), &[0, 1]);
    assert_eq!(
        rejected_after(&h, &mut core, 0, &Message::Certificate(few)),
        Rejection::BadCertificate
    );
    let mut bad = h.cert(nullify(1), &[0, 1, 3]);
    bad.signatures[1].0[0] ^= 1;
    assert_eq!(
        rejected_after(&h, &mut core, 0, &Message::Certificate(bad)),
        Rejection::BadCertificate
    );
    let mut bitmap = h.cert(nullify(1), &[0, 1, 3]);
    bitmap.signers.push(0);
    assert_eq!(
        rejected_after(&h, &mut core, 0, &Message::Certificate(bitmap)),
        Rejection::BadCertificate
    );
    let mut wrong_signer = h.cert(nullify(1), &[0, 1, 3]);
    wrong_signer.signatures[0] = h.vote(2, nullify(1)).signature;
    assert_eq!(
        rejected_after(&h, &mut core, 0, &Message::Certificate(wrong_signer)),
        Rejection::BadCertificate
    );
    assert_eq!(core.view(), View(1));
}

#[test]
fn rejects_unwanted_blocks() {
    // Proves blocks nobody asked for are dropped.
    let h = H::new(4);
    let mut core = h.core(ME);
    let block = h.block(1, &h.genesis, b"one");
    assert_eq!(
        rejected_after(&h, &mut core, 0, &Message::Blocks(vec![block])),
        Rejection::Unwanted
    );
}

#[test]
fn rejects_late_votes_unverified() {
    // Proves a notarize arriving after its certificate is dropped without verification (even
    // a bad signature is then counted as late), while a stale nullify, which earns help, is
    // verified first (issue 8, defect 5).
    let h = H::new(4);
    let mut core = h.core(ME);
    let p =
        Proposal { epoch: Epoch(0), view: View(1), parent_view: View(0), digest: Hash::of(b"a") };
    core.handle(5, msg(0, &Message::Certificate(h.cert(Vote::Notarize(p), &[0, 1, 3]))));
    let mut vote = h.vote(2, Vote::Notarize(p));
    vote.signature.0[0] ^= 1;
    assert_eq!(rejected_after(&h, &mut core, 0, &Message::Vote(vote)), Rejection::Late);
    let mut stale = h.vote(0, nullify(1));
    stale.signature.0[0] ^= 1;
    assert_eq!(rejected_after(&h, &mut core, 0, &Message::Vote(stale)), Rejection::BadSignature);
}

#[test]
fn a_finalized_chain_that_does_not_extend_ours_is_refused() {
    // Proves a finalization whose block does not descend from our last final block (only
    // possible with more than f faults) is counted as a fork and never delivered.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut stray = h.block(1, &h.genesis, b"stray");
    stray.parent = Hash::of(b"another genesis");
    let cert = h.cert(Vote::Finalize(stray.proposal()), &[0, 1, 3]);
    core.handle(1, msg(0, &Message::Certificate(cert)));
    let out = core.handle(2, msg(0, &Message::Blocks(vec![stray])));
    assert!(!out.iter().any(|o| matches!(o, Output::Finalized { .. })));
    assert_eq!(core.counters().get(Rejection::Fork), 1);
    assert_eq!(core.finalized().height, Height(0));
}

#[test]
fn sync_inputs_are_checked_like_messages() {
    // Proves certificates and blocks delivered by sync go through the same checks.
    let h = H::new(4);
    let mut core = h.core(ME);
    let b1 = h.block(1, &h.genesis, b"one");
    let few = h.cert(Vote::Finalize(b1.proposal()), &[0, 1]);
    core.handle(1, Input::Certificate(few));
    assert_eq!(core.counters().get(Rejection::BadCertificate), 1);
    core.handle(2, Input::Blocks(vec![b1.clone()]));
    assert_eq!(core.counters().get(Rejection::Unwanted), 1);
    let cert = h.cert(Vote::Finalize(b1.proposal()), &[0, 1, 3]);
    core.handle(3, Input::Certificate(cert));
    let out = core.handle(4, Input::Blocks(vec![b1.clone()]));
    assert!(out.iter().any(|o| matches!(o, Output::Finalized { block, .. } if *block == b1)));
    assert_eq!(core.view(), View(2));
}

#[test]
fn journal_is_pruned_below_the_finalized_view() {
    // Proves the journal is rewritten with a floor once finality moves far enough, keeping the
    // entered view and the votes at or above the floor, and the node never votes below it.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut parent = h.genesis.clone();
    let mut rewrite = None;
    for v in 1..=40u64 {
        let block = h.block(v, &parent, b"x");
        let mut out = core.handle(v * 10, msg(0, &h.propose(&block)));
        let cert = h.cert(Vote::Finalize(block.proposal()), &[0, 1, 3]);
        out.extend(core.handle(v * 10 + 1, msg(0, &Message::Certificate(cert))));
        for o in out {
            if let Output::JournalRewrite(records) = o {
                rewrite = Some(records);
            }
        }
        parent = block;
    }
    let records = rewrite.expect("a rewrite happened");
    assert_eq!(records[0], Record::Floor(View(33)));
    assert!(records.iter().any(|r| matches!(r, Record::Entered(v) if *v >= View(33))));
    assert!(!records.iter().any(|r| matches!(r, Record::Vote(v) if v.vote.view() < View(33))));
    assert_eq!(core.floor(), View(33));
    let restarted = Core::new(h.config(ME), parent, &records).unwrap();
    assert_eq!(restarted.floor(), View(33));
    assert_eq!(restarted.view(), View(41));
}

#[test]
fn certificate_reusing_verified_votes_still_checks_the_rest() {
    // Proves skipping signatures already verified as votes never lets an unverified one pass.
    let h = H::new(4);
    let mut core = h.core(ME);
    let p =
        Proposal { epoch: Epoch(0), view: View(1), parent_view: View(0), digest: Hash::of(b"a") };
    for s in [0, 1] {
        core.handle(1, msg(s, &Message::Vote(h.vote(s, Vote::Notarize(p)))));
    }
    let mut cert = h.cert(Vote::Notarize(p), &[0, 1, 3]);
    cert.signatures[2].0[7] ^= 1;
    assert_eq!(
        rejected_after(&h, &mut core, 0, &Message::Certificate(cert)),
        Rejection::BadCertificate
    );
    assert_eq!(core.view(), View(1));
    let good = h.cert(Vote::Notarize(p), &[0, 1, 3]);
    core.handle(2, msg(0, &Message::Certificate(good)));
    assert_eq!(core.view(), View(2));
}

#[test]
fn restarted_leader_resends_its_proposal_with_the_block() {
    // Proves the leader's journaled block lets it re-send the whole proposal after a restart.
    let h = H::new(4);
    let mut core = Core::new(h.config(1), h.genesis.clone(), &[]).unwrap();
    let mut records = journal(&core.handle(0, Input::Start));
    let out = core.handle(1, Input::Proposed { view: View(1), payload: b"p".to_vec() });
    records.extend(journal(&out));
    let mut core = Core::new(h.config(1), h.genesis.clone(), &records).unwrap();
    let out = core.handle(5, Input::Start);
    assert!(matches!(&sent(&out)[..], [Message::Propose { block, .. }] if block.payload == b"p"));
}

#[test]
fn misconfigured_nodes_refuse_to_start() {
    // Proves a wrong key, an index outside the set, or an anchor of another epoch is refused.
    use volt_consensus::core::CoreError;
    let h = H::new(4);
    let mut wrong_key = h.config(ME);
    wrong_key.key = h.keys[0].clone();
    assert!(matches!(
        Core::new(wrong_key, h.genesis.clone(), &[]),
        Err(CoreError::WrongKey { me: ME })
    ));
    let mut outside = h.config(ME);
    outside.me = 9;
    assert!(matches!(
        Core::new(outside, h.genesis.clone(), &[]),
        Err(CoreError::NotAValidator { me: 9, n: 4 })
    ));
    let other_epoch = Block::genesis(Epoch(7), b"g".to_vec());
    assert!(matches!(
        Core::new(h.config(ME), other_epoch, &[]),
        Err(CoreError::AnchorEpoch { .. })
    ));
}
