//! Tests of the state tree: roots, proofs, forged proofs and history independence.

use std::collections::BTreeMap;

use proptest::prelude::*;
use volt_proto::Hash;

use super::hash::{self, EMPTY_KEY};
use super::node::{Link, Node};
use super::*;

type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn key(i: u32) -> Vec<u8> {
    format!("account/{i}").into_bytes()
}

fn value(i: u32, version: u32) -> Vec<u8> {
    format!("balance/{i}/{version}").into_bytes()
}

fn tree_with(n: u32) -> StateTree {
    let mut tree = StateTree::new();
    tree.apply((0..n).map(|i| (key(i), Some(value(i, 0)))));
    tree
}

/// The root recomputed from scratch from the key/value set, by the definition in the module
/// docs: an independent specification for the incremental tree.
fn reference_root(model: &BTreeMap<Vec<u8>, Vec<u8>>) -> Hash {
    let mut items: Vec<([u8; 32], [u8; 32])> =
        model.iter().map(|(k, v)| (hash::key_hash(k), hash::value_hash(v))).collect();
    items.sort();
    Hash(reference_subtree(0, &items))
}

fn reference_subtree(depth: usize, items: &[([u8; 32], [u8; 32])]) -> [u8; 32] {
    match items {
        [] => hash::EMPTY,
        [(k, v)] => hash::leaf(k, v),
        _ => {
            let split = items.partition_point(|(k, _)| !hash::bit(k, depth));
            let (left, right) = items.split_at(split);
            hash::internal(
                &reference_subtree(depth + 1, left),
                &reference_subtree(depth + 1, right),
            )
        }
    }
}

/// Walks the tree and checks the shape invariant and every stored hash; returns the leaf count.
fn check_shape(link: &Link, depth: usize) -> usize {
    match &link.node {
        Node::Empty => {
            assert_eq!(link.hash, hash::EMPTY);
            0
        }
        Node::Leaf(leaf) => {
            assert_eq!(leaf.hash, hash::leaf(&leaf.key_hash, &leaf.value_hash));
            assert_eq!(link.hash, leaf.hash);
            1
        }
        Node::Internal(node) => {
            assert!(depth < hash::KEY_BITS);
            let lone_leaf = matches!(
                (&node.left.node, &node.right.node),
                (Node::Empty, Node::Empty | Node::Leaf(_)) | (Node::Leaf(_), Node::Empty)
            );
            assert!(!lone_leaf, "internal node at depth {depth} holds fewer than 2 keys");
            assert_eq!(link.hash, hash::internal(&node.left.hash, &node.right.hash));
            check_shape(&node.left, depth + 1) + check_shape(&node.right, depth + 1)
        }
    }
}

/// Finds absent keys whose proofs end at an empty subtree and at another leaf, respectively.
fn absent_keys(tree: &StateTree) -> (Vec<u8>, Vec<u8>) {
    let mut empty = None;
    let mut other = None;
    for i in 0u32.. {
        let candidate = format!("absent/{i}").into_bytes();
        match tree.prove(&candidate).leaf {
            None if empty.is_none() => empty = Some(candidate),
            Some(_) if other.is_none() => other = Some(candidate),
            _ => {}
        }
        if let (Some(empty), Some(other)) = (&empty, &other) {
            return (empty.clone(), other.clone());
        }
    }
    unreachable!()
}

#[test]
fn empty_root_is_a_fixed_constant() {
    // Proves the empty tree's root is the documented constant, on every machine.
    let expected = *blake3::keyed_hash(EMPTY_KEY, b"").as_bytes();
    assert_eq!(EMPTY_ROOT, Hash(expected));
    assert_eq!(StateTree::new().root(), EMPTY_ROOT);
    assert_eq!(
        hex_of(&EMPTY_ROOT),
        "8f05a4c683725f649b0ebfab9b580872c0bad607dd6ff44fe90be734d736b96f"
    );
    assert_eq!(StateTree::new().len(), 0);
}

fn hex_of(hash: &Hash) -> String {
    hash.0.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn single_key_root_is_its_leaf_hash() {
    // Proves a lone key sits at the root (shortest unique prefix is the empty prefix).
    let mut tree = StateTree::new();
    let root = tree.apply([(b"k".to_vec(), Some(b"v".to_vec()))]);
    let leaf = hash::leaf(&hash::key_hash(b"k"), &hash::value_hash(b"v"));
    assert_eq!(root, Hash(leaf));
    let proof = tree.prove(b"k");
    assert!(proof.siblings.is_empty());
    assert_eq!(verify(&root, b"k", Some(b"v"), &proof), Ok(()));
}

#[test]
fn inclusion_proofs_verify() {
    // Proves every stored key has a proof that verifies against the root with its value.
    let tree = tree_with(2000);
    let root = tree.root();
    for i in 0..2000 {
        let proof = tree.prove(&key(i));
        assert!(proof.leaf.is_some());
        assert_eq!(verify(&root, &key(i), Some(&value(i, 0)), &proof), Ok(()));
    }
    assert_eq!(check_shape(&tree.root, 0), 2000);
}

#[test]
fn non_inclusion_proof_through_an_empty_subtree_verifies() {
    // Proves absence when the key's path ends at an empty subtree.
    let tree = tree_with(2000);
    let (absent, _) = absent_keys(&tree);
    let proof = tree.prove(&absent);
    assert_eq!(proof.leaf, None);
    assert_eq!(verify(&tree.root(), &absent, None, &proof), Ok(()));
    assert_eq!(
        verify(&tree.root(), &absent, Some(b"x"), &proof),
        Err(ProofError::ExpectedInclusion)
    );
}

#[test]
fn non_inclusion_proof_through_another_leaf_verifies() {
    // Proves absence when the key's path ends at another key's leaf.
    let tree = tree_with(2000);
    let (_, absent) = absent_keys(&tree);
    let proof = tree.prove(&absent);
    assert!(proof.leaf.is_some());
    assert_eq!(verify(&tree.root(), &absent, None, &proof), Ok(()));
    assert!(verify(&tree.root(), &absent, Some(b"x"), &proof).is_err());
}

#[test]
fn empty_tree_proves_absence() {
    // Proves the empty tree gives a sibling-free non-inclusion proof.
    let tree = StateTree::new();
    let proof = tree.prove(b"anything");
    assert_eq!(proof, Proof { leaf: None, siblings: vec![] });
    assert_eq!(verify(&EMPTY_ROOT, b"anything", None, &proof), Ok(()));
}

#[test]
fn proof_for_a_changed_value_fails() {
    // Proves a proof commits to the value: another value, or a stale proof, is refused.
    let mut tree = tree_with(500);
    let old_root = tree.root();
    let old_proof = tree.prove(&key(7));
    assert!(matches!(
        verify(&old_root, &key(7), Some(&value(7, 1)), &old_proof),
        Err(ProofError::ValueMismatch { .. })
    ));
    let new_root = tree.apply([(key(7), Some(value(7, 1)))]);
    assert_ne!(new_root, old_root);
    // The stale proof with the new value: the leaf still commits to the old value.
    assert!(verify(&new_root, &key(7), Some(&value(7, 1)), &old_proof).is_err());
    // The stale proof with the old value against the new root.
    assert!(matches!(
        verify(&new_root, &key(7), Some(&value(7, 0)), &old_proof),
        Err(ProofError::RootMismatch { .. })
    ));
    let new_proof = tree.prove(&key(7));
    assert_eq!(verify(&new_root, &key(7), Some(&value(7, 1)), &new_proof), Ok(()));
}

#[test]
fn proof_against_another_root_fails() {
    // Proves a valid proof only verifies against the root it was made for.
    let tree = tree_with(500);
    let other = tree_with(501).root();
    let proof = tree.prove(&key(3));
    assert_eq!(
        verify(&other, &key(3), Some(&value(3, 0)), &proof),
        Err(ProofError::RootMismatch { expected: other, actual: tree.root() })
    );
    let (absent, _) = absent_keys(&tree);
    assert!(verify(&other, &absent, None, &tree.prove(&absent)).is_err());
}

#[test]
fn proof_for_another_key_fails() {
    // Proves an inclusion proof cannot be reused for a different key or to claim absence.
    let tree = tree_with(100);
    let proof = tree.prove(&key(1));
    assert!(matches!(
        verify(&tree.root(), &key(2), Some(&value(1, 0)), &proof),
        Err(ProofError::KeyMismatch { .. })
    ));
    assert_eq!(verify(&tree.root(), &key(1), None, &proof), Err(ProofError::KeyPresent));
}

#[test]
fn other_leaf_off_the_path_is_refused() {
    // Proves a non-inclusion proof must show a leaf on the key's own path.
    let tree = tree_with(100);
    let key_hash = hash::key_hash(&key(1));
    // Find a stored key whose first bit differs, so it is off the path of key(1) at depth 1.
    let off = (2..100)
        .map(key)
        .find(|k| hash::bit(&hash::key_hash(k), 0) != hash::bit(&key_hash, 0))
        .unwrap();
    let mut forged = tree.prove(&off);
    assert!(!forged.siblings.is_empty());
    forged.siblings.truncate(1);
    assert_eq!(
        verify(&tree.root(), &key(1), None, &forged),
        Err(ProofError::LeafOffPath { shared: 0, depth: 1 })
    );
}

#[test]
fn too_many_siblings_are_refused_without_panic() {
    // Proves the sibling cap and that a maximal forged proof is just an error.
    let tree = tree_with(10);
    let mut proof = tree.prove(&key(1));
    proof.siblings = vec![Hash([7; 32]); PROOF_SIBLINGS_MAX + 1];
    assert_eq!(
        verify(&tree.root(), &key(1), Some(&value(1, 0)), &proof),
        Err(ProofError::TooManySiblings { actual: 257, max: 256 })
    );
    proof.siblings.pop();
    assert!(matches!(
        verify(&tree.root(), &key(1), Some(&value(1, 0)), &proof),
        Err(ProofError::RootMismatch { .. })
    ));
    proof.leaf = None;
    assert!(verify(&tree.root(), &key(1), None, &proof).is_err());
}

#[test]
fn proof_encoding_round_trips_within_the_bound() {
    // Proves proofs go through the canonical codec and the size bound holds at the maximum.
    let tree = tree_with(1000);
    let proof = tree.prove(&key(5));
    let bytes = proof.encode();
    assert_eq!(bytes.len(), 1 + 64 + 8 + 32 * proof.siblings.len());
    assert_eq!(Proof::decode(&bytes), Ok(proof));
    let largest = Proof {
        leaf: Some(ProofLeaf { key_hash: Hash([1; 32]), value_hash: Hash([2; 32]) }),
        siblings: vec![Hash([3; 32]); PROOF_SIBLINGS_MAX],
    };
    assert_eq!(largest.encode().len(), PROOF_BYTES_MAX);
    let too_large = Proof { siblings: vec![Hash([3; 32]); PROOF_SIBLINGS_MAX + 1], ..largest };
    assert!(Proof::decode(&too_large.encode()).is_err());
}

#[test]
fn deletion_restores_the_earlier_root() {
    // Proves deleting what was added gives back the exact earlier root and length.
    let mut tree = tree_with(300);
    let before = tree.root();
    tree.apply((1000..1100).map(|i| (key(i), Some(value(i, 0)))));
    assert_ne!(tree.root(), before);
    assert_eq!(tree.len(), 400);
    let after = tree.apply((1000..1100).map(|i| (key(i), None)));
    assert_eq!(after, before);
    assert_eq!(tree.len(), 300);
    assert_eq!(tree.apply((0..300).map(|i| (key(i), None))), EMPTY_ROOT);
    assert!(tree.is_empty());
    assert_eq!(check_shape(&tree.root, 0), 0);
}

#[test]
fn deleting_an_absent_key_changes_nothing() {
    // Proves a delete of a missing key leaves root and length alone.
    let mut tree = tree_with(50);
    let root = tree.root();
    assert_eq!(tree.apply([(b"missing".to_vec(), None)]), root);
    assert_eq!(tree.len(), 50);
}

#[test]
fn last_write_of_a_repeated_key_wins() {
    // Proves repeated keys in one batch resolve to the last write, deletes included.
    let mut a = StateTree::new();
    a.apply([
        (key(1), Some(value(1, 0))),
        (key(2), Some(value(2, 0))),
        (key(1), Some(value(1, 9))),
        (key(2), None),
    ]);
    let mut b = StateTree::new();
    b.apply([(key(1), Some(value(1, 9)))]);
    assert_eq!(a.root(), b.root());
    assert_eq!(a.len(), 1);
    assert_eq!(a.get(&key(1)), Some(&value(1, 9)[..]));
    assert_eq!(a.get(&key(2)), None);
}

#[test]
fn get_returns_stored_values() {
    // Proves the convenience reader sees current values and misses absent keys.
    let mut tree = tree_with(200);
    tree.apply([(key(5), Some(value(5, 3))), (key(6), None)]);
    assert_eq!(tree.get(&key(5)), Some(&value(5, 3)[..]));
    assert_eq!(tree.get(&key(6)), None);
    assert_eq!(tree.get(&key(7)), Some(&value(7, 0)[..]));
    assert_eq!(tree.get(b"absent"), None);
}

#[test]
fn a_clone_is_an_independent_snapshot() {
    // Proves updating a tree leaves its clones, and proofs made from them, untouched.
    let mut tree = tree_with(300);
    let snapshot = tree.clone();
    let root = snapshot.root();
    tree.apply((0..50).map(|i| (key(i), Some(value(i, 1)))));
    tree.apply((50..100).map(|i| (key(i), None)));
    assert_eq!(snapshot.root(), root);
    assert_eq!(snapshot.len(), 300);
    let proof = snapshot.prove(&key(60));
    assert_eq!(verify(&root, &key(60), Some(&value(60, 0)), &proof), Ok(()));
    assert_eq!(check_shape(&snapshot.root, 0), 300);
    assert_eq!(check_shape(&tree.root, 0), 250);
}

/// A small key space so that random writes collide, overwrite and delete.
fn write_strategy() -> impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)> {
    (0u8..40, prop::option::weighted(0.7, prop::collection::vec(any::<u8>(), 0..6)))
        .prop_map(|(k, v)| (vec![b'k', k], v))
}

fn apply_to_model(model: &mut BTreeMap<Vec<u8>, Vec<u8>>, writes: &Writes) {
    for (k, v) in writes {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

proptest! {
    #[test]
    fn root_depends_only_on_the_key_value_set(
        batches in prop::collection::vec(prop::collection::vec(write_strategy(), 0..20), 1..8),
        seed in any::<u64>(),
    ) {
        // Proves history independence: after any batches, the root equals the from-scratch
        // reference root of the resulting set and that of one batch in another order.
        let mut tree = StateTree::new();
        let mut model = BTreeMap::new();
        for batch in &batches {
            let root = tree.apply(batch.clone());
            apply_to_model(&mut model, batch);
            prop_assert_eq!(root, reference_root(&model));
            prop_assert_eq!(tree.len(), model.len());
        }
        prop_assert_eq!(check_shape(&tree.root, 0), model.len());
        let mut shuffled: Vec<_> = model.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        shuffled.sort_by_key(|(k, _)| blake3::keyed_hash(&[seed as u8; 32], k).as_bytes().to_vec());
        let mut fresh = StateTree::new();
        prop_assert_eq!(fresh.apply(shuffled), tree.root());
    }

    #[test]
    fn batching_and_order_do_not_change_the_root(
        writes in prop::collection::vec(write_strategy(), 0..60),
        cuts in prop::collection::vec(0usize..60, 0..6),
    ) {
        // Proves the same writes give the same root whether applied in one batch, one by one,
        // or in arbitrary chunks; writes to distinct keys may also be reordered.
        let mut whole = StateTree::new();
        whole.apply(writes.clone());
        let mut single = StateTree::new();
        for w in &writes {
            single.apply([w.clone()]);
        }
        let mut chunked = StateTree::new();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(writes.len())).collect();
        cuts.sort();
        let mut start = 0;
        for cut in cuts.into_iter().chain([writes.len()]) {
            chunked.apply(writes[start..cut].to_vec());
            start = cut;
        }
        prop_assert_eq!(whole.root(), single.root());
        prop_assert_eq!(whole.root(), chunked.root());
        // Reordering: keep only the last write per key, then apply in reverse order.
        let mut last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for (k, v) in &writes {
            last.insert(k.clone(), v.clone());
        }
        let mut reversed = StateTree::new();
        reversed.apply(last.into_iter().rev());
        prop_assert_eq!(whole.root(), reversed.root());
    }

    #[test]
    fn every_key_proves_its_presence_or_absence(
        writes in prop::collection::vec(write_strategy(), 0..60),
    ) {
        // Proves proofs for all present and absent keys of a random state verify, and fail for
        // the opposite claim.
        let mut tree = StateTree::new();
        tree.apply(writes.clone());
        let mut model = BTreeMap::new();
        apply_to_model(&mut model, &writes);
        let root = tree.root();
        for k in (0u8..40).map(|k| vec![b'k', k]) {
            let proof = tree.prove(&k);
            let present = model.get(&k).map(Vec::as_slice);
            prop_assert_eq!(tree.get(&k), present);
            prop_assert_eq!(verify(&root, &k, present, &proof), Ok(()));
            match present {
                Some(v) => {
                    prop_assert!(verify(&root, &k, None, &proof).is_err());
                    let mut other = v.to_vec();
                    other.push(0);
                    prop_assert!(verify(&root, &k, Some(&other), &proof).is_err());
                }
                None => prop_assert!(verify(&root, &k, Some(b"x"), &proof).is_err()),
            }
        }
    }

    #[test]
    fn mutated_proof_bytes_never_panic_and_never_verify(
        n in 1u32..300,
        which in any::<u32>(),
        absent in any::<bool>(),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in prop::option::of(any::<usize>()),
    ) {
        // Proves a proof decoded from corrupted bytes is either refused by the decoder or
        // refused by the verifier (unless the bytes did not really change): never a panic.
        let tree = tree_with(n);
        let (k, v) = if absent {
            (format!("absent/{which}").into_bytes(), None)
        } else {
            let i = which % n;
            (key(i), Some(value(i, 0)))
        };
        let proof = tree.prove(&k);
        prop_assert_eq!(verify(&tree.root(), &k, v.as_deref(), &proof), Ok(()));
        let mut bytes = proof.encode();
        for (at, xor) in flips {
            let at = at % bytes.len();
            bytes[at] ^= xor;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        if let Ok(decoded) = Proof::decode(&bytes) {
            let result = verify(&tree.root(), &k, v.as_deref(), &decoded);
            if decoded == proof {
                prop_assert_eq!(result, Ok(()));
            } else {
                prop_assert!(result.is_err());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_verifier(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        root in any::<[u8; 32]>(),
        k in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        // Proves decoding and verifying attacker-chosen bytes returns, whatever they are.
        if let Ok(proof) = Proof::decode(&bytes) {
            let _ = verify(&Hash(root), &k, None, &proof);
            let _ = verify(&Hash(root), &k, Some(&bytes), &proof);
        }
    }

    #[test]
    fn forged_structured_proofs_never_panic(
        leaf in prop::option::of((any::<[u8; 32]>(), any::<[u8; 32]>())),
        siblings in prop::collection::vec(any::<[u8; 32]>(), 0..300),
        k in prop::collection::vec(any::<u8>(), 0..8),
        value in prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
    ) {
        // Proves any well-formed but forged proof (wrong leaf, up to 300 siblings) is an error.
        let tree = tree_with(20);
        let proof = Proof {
            leaf: leaf.map(|(key_hash, value_hash)| ProofLeaf {
                key_hash: Hash(key_hash),
                value_hash: Hash(value_hash),
            }),
            siblings: siblings.into_iter().map(Hash).collect(),
        };
        prop_assert!(verify(&tree.root(), &k, value.as_deref(), &proof).is_err());
    }
}
