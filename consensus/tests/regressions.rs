//! One regression test per defect of issue 8, each driven through the public API. Every test
//! here failed on the code before the fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{H, ME, OTHERS, fetches, journal, msg, nullify, own_votes, sent};
use std::collections::BTreeMap;
use volt_consensus::core::{
    ANSWERS_PER_PEER_PER_SECOND_MAX, BAD_CERTIFICATES_KEPT, Core, Input, Output, Rejection, Timer,
    TimerKind,
};
use volt_consensus::journal::Record;
use volt_consensus::types::{Block, Epoch, Message, Proposal, Request, View, Vote};
use volt_proto::{Hash, Height};

fn finalize(p: Proposal) -> Vote {
    Vote::Finalize(p)
}

fn notarize(p: Proposal) -> Vote {
    Vote::Notarize(p)
}

fn finalized_blocks(outputs: &[Output]) -> Vec<Block> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Finalized { block, .. } => Some(block.clone()),
            _ => None,
        })
        .collect()
}

fn rewrite_of(outputs: &[Output]) -> Option<Vec<Record>> {
    outputs.iter().find_map(|o| match o {
        Output::JournalRewrite(records) => Some(records.clone()),
        _ => None,
    })
}

#[test]
fn defect_1_rewrite_keeps_votes_of_views_finalized_in_the_same_turn() {
    // Proves a journal rewrite due in a turn that also finalizes further keeps the node's
    // nullify of a skipped view, so a restart from the older anchor never finalizes that view.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut chain = vec![h.genesis.clone()];
    for v in 1..=32u64 {
        let block = h.block(v, chain.last().unwrap(), b"x");
        core.handle(v * 10, msg(0, &h.propose(&block)));
        core.handle(v * 10 + 1, msg(0, &h.cert_msg(notarize(block.proposal()))));
        chain.push(block);
    }
    assert_eq!(core.view(), View(33));
    let out = core.handle(400, Input::Timeout(Timer { view: View(33), kind: TimerKind::Leader }));
    assert_eq!(own_votes(&out), vec![nullify(33)]);
    core.handle(401, msg(0, &h.cert_msg(nullify(33))));
    let b34 = h.block(34, &chain[32], b"skips 33");
    core.handle(402, msg(0, &h.propose(&b34)));
    core.handle(403, msg(0, &h.cert_msg(notarize(b34.proposal()))));
    assert_eq!(core.view(), View(35));
    // Turn T: finality reaches view 32 (16 blocks a turn; an idle input lets the rest follow)
    // and a rewrite becomes due.
    let out = core.handle(404, msg(0, &h.cert_msg(finalize(chain[32].proposal()))));
    let mut delivered = finalized_blocks(&out).len();
    while core.finalized().height < Height(32) {
        let idle = Input::Timeout(Timer { view: View(1), kind: TimerKind::Leader });
        let out = core.handle(404, idle);
        assert!(rewrite_of(&out).is_none());
        delivered += finalized_blocks(&out).len();
    }
    assert_eq!(delivered, 32);
    // Turn T + 1: finality jumps to view 34 in the same turn the rewrite is written.
    let out = core.handle(405, msg(0, &h.cert_msg(finalize(b34.proposal()))));
    let records = rewrite_of(&out).expect("the rewrite is written in this turn");
    let kept = records.iter().any(|r| matches!(r, Record::Vote(v) if v.vote == nullify(33)));
    assert!(kept, "the rewrite dropped the node's Nullify(33): {records:?}");
    // Crash after the rewrite's sync, before the application stored block 34.
    let mut restarted = Core::new(h.config(ME), chain[32].clone(), &records).unwrap();
    restarted.handle(500, Input::Start);
    let b33 = h.block(33, &chain[32], b"notarized and skipped");
    let out = restarted.handle(501, msg(0, &h.cert_msg(notarize(b33.proposal()))));
    let finalized_33 = own_votes(&out).iter().any(|v| matches!(v, Vote::Finalize(_)));
    assert!(!finalized_33, "the restarted node finalized view 33 after nullifying it");
}

/// A core that saw nullifications of views 1..=through, one per turn.
fn nullified_through(h: &H, through: u64) -> (Core, Vec<Output>) {
    let mut core = h.core(ME);
    let mut last = Vec::new();
    for v in 1..=through {
        last = core.handle(v, msg(0, &h.cert_msg(nullify(v))));
    }
    assert_eq!(core.view(), View(through + 1));
    (core, last)
}

#[test]
fn defect_2_a_parent_gap_longer_than_the_old_walk_limit_still_makes_progress() {
    // Proves more than 1,024 consecutive nullified views neither stop a replica from accepting
    // a proposal over them nor stop a leader from proposing.
    let h = H::new(4);
    let (mut core, _) = nullified_through(&h, 1100);
    let block = h.block(1101, &h.genesis, b"after a long outage");
    let out = core.handle(5000, msg(1, &h.propose(&block)));
    assert!(out.iter().any(|o| matches!(o, Output::Verify(b) if *b == block)), "{out:?}");
    let (_, out) = nullified_through(&h, 1101);
    let proposes = out
        .iter()
        .any(|o| matches!(o, Output::Propose { view: View(1102), parent_view: View(0), .. }));
    assert!(proposes, "the leader of view 1102 did not propose: {out:?}");
}

#[test]
fn defect_3_a_node_far_behind_catches_up_lowest_blocks_first() {
    // Proves a node 1,100 blocks behind delivers the lowest blocks first and reaches the
    // finalized tip, however many turns it takes.
    let h = H::new(4);
    let mut core = h.core(ME);
    let mut chain = vec![h.genesis.clone()];
    for v in 1..=1100u64 {
        let block = h.block(v, chain.last().unwrap(), b"old");
        chain.push(block);
    }
    let index: BTreeMap<Hash, usize> =
        chain.iter().enumerate().map(|(i, b)| (b.digest(), i)).collect();
    let tip = chain.last().unwrap().proposal();
    let mut out = core.handle(1, msg(0, &h.cert_msg(finalize(tip))));
    let mut delivered: Vec<Block> = Vec::new();
    for turn in 0..2000u64 {
        delivered.extend(finalized_blocks(&out));
        if core.finalized().height == Height(1100) {
            break;
        }
        let wanted = fetches(&out).into_iter().find_map(|r| match r {
            Request::Block(d) => Some(d),
            _ => None,
        });
        out = match wanted {
            Some(d) => {
                let top = index[&d];
                let blocks: Vec<Block> =
                    (top.saturating_sub(15).max(1)..=top).rev().map(|i| chain[i].clone()).collect();
                core.handle(10 + turn, Input::Blocks(blocks))
            }
            // Nothing asked this turn: let time pass so retries and deliveries go on.
            None => core.handle(
                10 + turn * 1000,
                Input::Timeout(Timer { view: core.view(), kind: TimerKind::Retry }),
            ),
        };
    }
    assert_eq!(core.finalized().height, Height(1100), "{}", core.describe());
    assert_eq!(delivered.first().map(|b| b.height), Some(Height(1)));
    assert_eq!(core.counters().get(Rejection::Fork), 0);
}

#[test]
fn defect_4_orphaned_fetches_never_block_the_fetch_finality_needs() {
    // Proves 300 unanswered fetches of orphaned blocks do not stop the node from fetching,
    // and then delivering, a newly finalized block.
    let h = H::new(4);
    let mut core = h.core(ME);
    for v in 1..=300u64 {
        let orphan = Proposal {
            epoch: Epoch(0),
            view: View(v),
            parent_view: View(v - 1),
            digest: Hash::of(&v.to_le_bytes()),
        };
        core.handle(v * 10, msg(0, &h.cert_msg(notarize(orphan))));
        let child = Block {
            epoch: Epoch(0),
            view: View(v + 1),
            height: Height(v + 1),
            parent_view: View(v),
            parent: orphan.digest,
            payload: b"child of an orphan".to_vec(),
        };
        core.handle(v * 10 + 1, msg(0, &h.propose(&child)));
    }
    let z = h.block(301, &h.genesis, b"final");
    let out = core.handle(5000, msg(0, &h.cert_msg(finalize(z.proposal()))));
    let asked = fetches(&out).contains(&Request::Block(z.digest()));
    assert!(asked, "the fetch finality needs was refused: {out:?}");
    let out = core.handle(5001, msg(0, &Message::Blocks(vec![z.clone()])));
    assert_eq!(finalized_blocks(&out), vec![z]);
}

#[test]
fn defect_5_a_stale_nullify_is_verified_before_any_help_and_helped_once() {
    // Proves a stale nullify with a bad signature gets no certificate back and counts as a bad
    // signature, and a valid one is helped once per peer and view.
    let h = H::new(4);
    let mut core = h.core(ME);
    core.handle(1, msg(0, &h.cert_msg(nullify(1))));
    core.handle(2, msg(0, &h.cert_msg(nullify(2))));
    assert_eq!(core.view(), View(3));
    let mut forged = h.vote(0, nullify(1));
    forged.signature.0[5] ^= 1;
    let out = core.handle(3, msg(0, &Message::Vote(forged)));
    assert!(sent(&out).is_empty(), "helped an unverified vote: {out:?}");
    assert_eq!(core.counters().get(Rejection::BadSignature), 1);
    assert_eq!(core.offender(), Some((0, Rejection::BadSignature)));
    let good = Message::Vote(h.vote(0, nullify(1)));
    let first = core.handle(4, msg(0, &good));
    let second = core.handle(5, msg(0, &good));
    assert_eq!(sent(&first).len(), 1, "{first:?}");
    assert!(sent(&second).is_empty(), "helped twice: {second:?}");
    assert_eq!(core.offender(), None);
    let _ = (OTHERS, journal(&[]));
}

/// The peers a turn sends fetches to, with what.
fn fetched_from(outputs: &[Output]) -> Vec<(u16, Request)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Message::Request(r) } => Some((*to, *r)),
            _ => None,
        })
        .collect()
}

#[test]
fn defect_7_a_fetch_asks_one_signer_at_a_time_and_fails_over() {
    // Proves a fetch goes to one peer, a signer of the certificate that names the block, and
    // to the next signer when no answer came within fetch_retry_ms (never to every peer).
    let h = H::new(7);
    let mut core = h.core(ME);
    let b1 = h.block(1, &h.genesis, b"one");
    let signers = [0, 1, 4, 5, 6];
    let cert = h.cert(finalize(b1.proposal()), &signers);
    let out = core.handle(1, msg(0, &Message::Certificate(cert)));
    let first = fetched_from(&out);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, Request::Block(b1.digest()));
    let retry = h.config(ME).timeouts.fetch_retry_ms;
    let tick = |core: &mut Core, now: u64| {
        core.handle(now, Input::Timeout(Timer { view: View(0), kind: TimerKind::Retry }))
    };
    assert!(fetched_from(&tick(&mut core, 1 + retry - 1)).is_empty(), "asked again too soon");
    let mut asked = vec![first[0].0];
    for k in 1..signers.len() as u64 {
        let again = fetched_from(&tick(&mut core, 1 + k * retry));
        assert_eq!(again.len(), 1, "{again:?}");
        asked.push(again[0].0);
    }
    let mut sorted = asked.clone();
    sorted.sort();
    assert_eq!(sorted, signers, "every signer is asked once before anyone else: {asked:?}");
    let out = core.handle(10_000, msg(asked[0], &Message::Blocks(vec![b1.clone()])));
    assert_eq!(finalized_blocks(&out), vec![b1]);
}

#[test]
fn defect_7_one_peer_gets_a_bounded_number_of_answers_per_second() {
    // Proves a peer asking for more than ANSWERS_PER_PEER_PER_SECOND_MAX distinct things in
    // one second gets nothing for the rest of that second (OverBudget), and is answered again
    // in the next second; another peer is not affected.
    let h = H::new(4);
    let mut core = h.core(ME);
    let views = u64::from(ANSWERS_PER_PEER_PER_SECOND_MAX) + 8;
    for v in 1..=views {
        core.handle(1, msg(0, &h.cert_msg(nullify(v))));
    }
    let ask = |core: &mut Core, now: u64, from: u16, v: u64| {
        let request = Message::Request(Request::Certificates(View(v)));
        sent(&core.handle(now, msg(from, &request))).len()
    };
    let answered = (1..=views).filter(|v| ask(&mut core, 2000, 0, *v) > 0).count();
    assert_eq!(answered as u32, ANSWERS_PER_PEER_PER_SECOND_MAX);
    assert_eq!(core.counters().get(Rejection::OverBudget), 8);
    assert!(ask(&mut core, 2000, 1, 1) > 0, "another peer has its own budget");
    assert!(ask(&mut core, 3000, 0, views) > 0, "the next second has a new budget");
}

#[test]
fn defect_7_a_forged_certificate_is_remembered_and_the_memory_is_bounded() {
    // Proves a certificate that failed verification is refused on sight when sent again, and
    // that at most BAD_CERTIFICATES_KEPT of them are remembered.
    let h = H::new(4);
    let mut core = h.core(ME);
    let forged = |v: u64| {
        let mut c = h.cert(nullify(v), &OTHERS);
        c.signatures[0].0[0] ^= 1;
        Message::Certificate(c)
    };
    core.handle(1, msg(0, &forged(1)));
    assert_eq!(core.bad_certificates_held(), 1);
    core.handle(2, msg(0, &forged(1)));
    assert_eq!(core.bad_certificates_held(), 1, "the same forgery is not stored twice");
    assert_eq!(core.counters().get(Rejection::BadCertificate), 2);
    assert_eq!(core.offender(), Some((0, Rejection::BadCertificate)));
    for v in 2..=BAD_CERTIFICATES_KEPT as u64 + 10 {
        core.handle(3, msg(0, &forged(v)));
    }
    assert_eq!(core.bad_certificates_held(), BAD_CERTIFICATES_KEPT);
    // The real certificate of view 1 is still accepted.
    core.handle(4, msg(1, &h.cert_msg(nullify(1))));
    assert_eq!(core.view(), View(2));
}

#[test]
fn defect_8_votes_held_stay_bounded_however_long_finality_stalls() {
    // Proves that while finality stalls for 600 nullified views, the votes a node keeps stay
    // within the last VOTES_KEPT_VIEWS views (certificates, one per view, stay as proofs), and
    // that votes for views that far back are refused as old.
    use volt_consensus::core::VOTES_KEPT_VIEWS;
    let h = H::new(4);
    let mut core = h.core(ME);
    let stall = 600u64;
    for v in 1..=stall {
        for signer in [0, 1] {
            let vote = Message::Vote(h.vote(signer, nullify(v)));
            core.handle(v * 10, msg(signer, &vote));
        }
        core.handle(v * 10 + 1, msg(0, &h.cert_msg(nullify(v))));
    }
    assert_eq!(core.view(), View(stall + 1));
    let held = core.held();
    assert!(held.votes <= 2 * (VOTES_KEPT_VIEWS as usize + 1), "{held:?}");
    assert_eq!(held.certificates as u64, stall, "{held:?}");
    let old = Message::Vote(h.vote(3, nullify(stall - VOTES_KEPT_VIEWS - 1)));
    core.handle(stall * 10 + 5, msg(3, &old));
    assert_eq!(core.held().votes, held.votes, "an old vote is not stored again");
}
