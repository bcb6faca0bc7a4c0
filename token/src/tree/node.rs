//! The in-memory nodes of the tree and the batch update that rewrites them.
//!
//! Shape (the invariant every function here keeps): a subtree that holds no key is
//! [`Node::Empty`]; a subtree that holds exactly one key is that key's [`Node::Leaf`], placed at
//! the shortest prefix of its key hash that no other key shares; a subtree with two or more keys
//! is a [`Node::Internal`] with one child per next bit. So an internal node never has a leaf
//! alone beside an empty sibling, and the shape, hence the root, is a function of the key/value
//! set alone (history independence).
//!
//! Nodes sit behind `Arc`: cloning a tree is O(1), and [`update`] changes a node in place with
//! `Arc::make_mut` when nothing else shares it, or copies just the path it touches when a clone
//! does.

use std::sync::Arc;

use super::hash::{self, EMPTY, KEY_BITS};

/// One stored key and value with their hashes.
#[derive(Debug)]
pub(super) struct Leaf {
    pub key_hash: [u8; 32],
    pub value_hash: [u8; 32],
    /// `hash::leaf(key_hash, value_hash)`.
    pub hash: [u8; 32],
    // `Vec`, not `Box<[u8]>`: the ledger hands over `Vec`s, and boxing would shrink (realloc).
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl Leaf {
    pub fn new(key: Vec<u8>, value: Vec<u8>) -> Leaf {
        let key_hash = hash::key_hash(&key);
        let value_hash = hash::value_hash(&value);
        Leaf { key_hash, value_hash, hash: hash::leaf(&key_hash, &value_hash), key, value }
    }
}

/// A node with two or more keys below it.
#[derive(Clone, Debug)]
pub(super) struct Internal {
    pub left: Link,
    pub right: Link,
}

/// A subtree and its hash. The hash sits beside the pointer, in the parent, so rehashing a node
/// reads its off-path child's hash without following (and cache-missing) that child's pointer.
#[derive(Clone, Debug)]
pub(super) struct Link {
    pub hash: [u8; 32],
    pub node: Node,
}

/// What a [`Link`] points to: nothing, one leaf, or an internal node.
#[derive(Clone, Debug)]
pub(super) enum Node {
    Empty,
    Leaf(Arc<Leaf>),
    Internal(Arc<Internal>),
}

impl Default for Link {
    fn default() -> Link {
        Link::EMPTY
    }
}

impl Link {
    pub const EMPTY: Link = Link { hash: EMPTY, node: Node::Empty };

    fn leaf(leaf: &Arc<Leaf>) -> Link {
        Link { hash: leaf.hash, node: Node::Leaf(Arc::clone(leaf)) }
    }

    fn internal(node: Arc<Internal>) -> Link {
        Link { hash: hash::internal(&node.left.hash, &node.right.hash), node: Node::Internal(node) }
    }
}

/// One write of a batch, by key hash: `Some` leaf to put, `None` to delete.
#[derive(Debug)]
pub(super) struct Op {
    pub key_hash: [u8; 32],
    pub leaf: Option<Arc<Leaf>>,
}

impl Op {
    pub fn new(key: Vec<u8>, value: Option<Vec<u8>>) -> Op {
        match value {
            Some(value) => {
                let leaf = Leaf::new(key, value);
                Op { key_hash: leaf.key_hash, leaf: Some(Arc::new(leaf)) }
            }
            None => Op { key_hash: hash::key_hash(&key), leaf: None },
        }
    }
}

/// Leaves removed from and added to the tree by one [`update`]; a replaced leaf counts once in
/// each, so `len + added - removed` is the new number of keys.
#[derive(Debug, Default)]
pub(super) struct Count {
    pub added: usize,
    pub removed: usize,
}

/// Applies `ops` (sorted by key hash, key hashes distinct) to the subtree `link` whose root sits
/// at `depth` bits, and returns the new subtree. Only the paths the ops touch are visited, and
/// each internal node on them is rehashed once, however many ops pass through it.
pub(super) fn update(link: Link, depth: usize, ops: &[Op], count: &mut Count) -> Link {
    if ops.is_empty() {
        return link;
    }
    match link.node {
        Node::Empty => build(depth, ops, count),
        Node::Leaf(leaf) => {
            count.removed += 1;
            if let [op] = ops
                && op.key_hash == leaf.key_hash
            {
                // The common case of a changed or deleted key: no merge needed.
                return build(depth, ops, count);
            }
            build(depth, &merge(leaf, ops), count)
        }
        Node::Internal(mut node) => {
            let split = ops.partition_point(|op| !hash::bit(&op.key_hash, depth));
            let (left_ops, right_ops) = ops.split_at(split);
            let inner = Arc::make_mut(&mut node);
            let left = update(std::mem::take(&mut inner.left), depth + 1, left_ops, count);
            let right = update(std::mem::take(&mut inner.right), depth + 1, right_ops, count);
            match (&left.node, &right.node) {
                (Node::Empty, Node::Empty) => Link::EMPTY,
                (Node::Empty, Node::Leaf(_)) => right,
                (Node::Leaf(_), Node::Empty) => left,
                _ => {
                    inner.left = left;
                    inner.right = right;
                    Link::internal(node)
                }
            }
        }
    }
}

/// `ops` plus the existing `leaf` as a put, unless an op writes the same key; still sorted.
fn merge(leaf: Arc<Leaf>, ops: &[Op]) -> Vec<Op> {
    let at = ops.partition_point(|op| op.key_hash < leaf.key_hash);
    let overwritten = ops.get(at).is_some_and(|op| op.key_hash == leaf.key_hash);
    let mut merged = Vec::with_capacity(ops.len() + 1);
    for op in &ops[..at] {
        merged.push(op.clone_ref());
    }
    if !overwritten {
        merged.push(Op { key_hash: leaf.key_hash, leaf: Some(leaf) });
    }
    for op in &ops[at..] {
        merged.push(op.clone_ref());
    }
    merged
}

impl Op {
    fn clone_ref(&self) -> Op {
        Op { key_hash: self.key_hash, leaf: self.leaf.clone() }
    }
}

/// Builds the subtree at `depth` that holds exactly the puts among `ops` (sorted, distinct);
/// deletes are skipped, since nothing is below an empty position or a replaced leaf.
fn build(depth: usize, ops: &[Op], count: &mut Count) -> Link {
    let mut puts = ops.iter().filter_map(|op| op.leaf.as_ref());
    let Some(first) = puts.next() else {
        return Link::EMPTY;
    };
    if puts.next().is_none() {
        count.added += 1;
        return Link::leaf(first);
    }
    // Two distinct 256-bit key hashes differ in some bit below KEY_BITS, so the recursion
    // separates them before running out of bits.
    debug_assert!(depth < KEY_BITS, "two puts share a key hash");
    let split = ops.partition_point(|op| !hash::bit(&op.key_hash, depth));
    let (left_ops, right_ops) = ops.split_at(split);
    let left = build(depth + 1, left_ops, count);
    let right = build(depth + 1, right_ops, count);
    // Both sides together hold two or more puts, so if one side is empty the other is an
    // internal node, and this node is internal too (no collapse here).
    Link::internal(Arc::new(Internal { left, right }))
}
