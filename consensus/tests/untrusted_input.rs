//! Property tests: no peer input makes the core panic, and every message round-trips through the
//! canonical codec.

// Test helpers panic on purpose: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use volt_consensus::core::{Config, Core, Input, Timeouts};
use volt_consensus::types::{Block, Epoch, Message, Proposal, Request, Round, View, Vote};
use volt_consensus::validators::{ValidatorSet, sign_vote};
use volt_proto::sig::Keypair;
use volt_proto::{ChainId, Hash, Height};

fn keys() -> Vec<Keypair> {
    (0..4).map(|i| Keypair::for_testing(&format!("untrusted-{i}"))).collect()
}

fn core(keys: &[Keypair]) -> Core {
    let config = Config {
        chain_id: ChainId::new("untrusted").unwrap(),
        epoch: Epoch(0),
        validators: ValidatorSet::from_keypairs(keys).unwrap(),
        me: 2,
        key: keys[2].clone(),
        timeouts: Timeouts::default(),
        canary: Default::default(),
    };
    let mut core = Core::new(config, Block::genesis(Epoch(0), b"g".to_vec()), &[]).unwrap();
    core.handle(0, Input::Start);
    core
}

/// A few valid messages to mutate.
fn samples(keys: &[Keypair]) -> Vec<Vec<u8>> {
    let chain = ChainId::new("untrusted").unwrap();
    let genesis = Block::genesis(Epoch(0), b"g".to_vec());
    let block = Block {
        epoch: Epoch(0),
        view: View(1),
        height: Height(1),
        parent_view: View(0),
        parent: genesis.digest(),
        payload: b"payload".to_vec(),
    };
    let p = block.proposal();
    let nullify = Vote::Nullify(Round { epoch: Epoch(0), view: View(1) });
    let votes: Vec<_> =
        (0..3u16).map(|i| sign_vote(&keys[usize::from(i)], &chain, i, nullify)).collect();
    let cert = volt_consensus::types::Certificate::from_votes(
        nullify,
        4,
        &votes.iter().map(|v| (v.signer, v.signature)).collect::<Vec<_>>(),
    );
    [
        Message::Propose {
            block: block.clone(),
            vote: sign_vote(&keys[1], &chain, 1, Vote::Notarize(p)),
        },
        Message::Vote(votes[0]),
        Message::Vote(sign_vote(&keys[0], &chain, 0, Vote::Finalize(p))),
        Message::Certificate(cert),
        Message::Request(Request::Certificates(View(1))),
        Message::Request(Request::Block(Hash::ZERO)),
        Message::Blocks(vec![block]),
    ]
    .iter()
    .map(Message::encode)
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                from in 0u16..6) {
        // Proves arbitrary bytes from any peer index are dropped or handled, never a panic.
        let keys = keys();
        let mut core = core(&keys);
        core.handle(1, Input::Message { from, bytes });
    }

    #[test]
    fn mutated_messages_never_panic(which in 0usize..7, at in any::<prop::sample::Index>(),
                                    value in any::<u8>(), cut in any::<prop::sample::Index>()) {
        // Proves one changed byte, or a truncation, of a valid message never makes the core
        // panic, and a changed vote or certificate is never accepted as a different one.
        let keys = keys();
        let mut bytes = samples(&keys)[which].clone();
        let i = at.index(bytes.len());
        bytes[i] = value;
        let mut core = core(&keys);
        core.handle(1, Input::Message { from: 0, bytes: bytes.clone() });
        let end = cut.index(bytes.len());
        core.handle(2, Input::Message { from: 1, bytes: bytes[..end].to_vec() });
        core.handle(3, Input::Message { from: 3, bytes });
    }

    #[test]
    fn messages_round_trip(view in 0u64..1_000_000, parent in 0u64..1_000_000,
                           payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Proves the canonical codec round-trips every message shape.
        let block = Block {
            epoch: Epoch(3),
            view: View(view),
            height: Height(view / 2),
            parent_view: View(parent),
            parent: Hash::of(&payload),
            payload,
        };
        let p = Proposal { epoch: Epoch(3), view: View(view), parent_view: View(parent),
                           digest: block.digest() };
        let keys = keys();
        let chain = ChainId::new("untrusted").unwrap();
        for message in [
            Message::Propose { block: block.clone(),
                               vote: sign_vote(&keys[1], &chain, 1, Vote::Notarize(p)) },
            Message::Blocks(vec![block.clone(), block]),
            Message::Request(Request::Certificates(View(view))),
        ] {
            prop_assert_eq!(Message::decode(&message.encode()).unwrap(), message);
        }
    }
}
