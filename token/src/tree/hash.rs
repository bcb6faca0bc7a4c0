//! Domain-separated hashing for the state tree, and the bit order of key hashes.
//!
//! Every node hash is one blake3 compression: leaves and internal nodes hash exactly 64 bytes in
//! blake3's keyed mode, and each kind of node has its own fixed, public 32-byte key. The key
//! changes blake3's initial state, so a leaf hash, an internal hash and the empty-subtree
//! constant can never be confused with one another or with a plain `blake3::hash` (which is how
//! key and value hashes are made). A one-byte prefix would give the same separation but push the
//! 64-byte input into a second blake3 block, doubling the cost of every update.

/// blake3 key for leaf hashes: `leaf = blake3_keyed(LEAF_KEY, key_hash ‖ value_hash)`.
const LEAF_KEY: &[u8; 32] = b"volt/state-tree/v1/leaf-node-k+v";
/// blake3 key for internal hashes: `internal = blake3_keyed(INTERNAL_KEY, left ‖ right)`.
const INTERNAL_KEY: &[u8; 32] = b"volt/state-tree/v1/internal-node";
/// blake3 key for the empty subtree: `empty = blake3_keyed(EMPTY_KEY, "")`. Only tests use it,
/// to recompute [`EMPTY`]; the code uses the constant.
#[cfg(test)]
pub(super) const EMPTY_KEY: &[u8; 32] = b"volt/state-tree/v1/empty-subtree";

/// The hash of an empty subtree, and so the root of the empty tree:
/// `blake3_keyed(EMPTY_KEY, "")`, written out so it is a constant (a test recomputes it).
pub const EMPTY: [u8; 32] = [
    0x8f, 0x05, 0xa4, 0xc6, 0x83, 0x72, 0x5f, 0x64, 0x9b, 0x0e, 0xbf, 0xab, 0x9b, 0x58, 0x08, 0x72,
    0xc0, 0xba, 0xd6, 0x07, 0xdd, 0x6f, 0xf4, 0x4f, 0xe9, 0x0b, 0xe7, 0x34, 0xd7, 0x36, 0xb9, 0x6f,
];

/// Number of bits in a key hash, and so the greatest possible depth of the tree.
pub const KEY_BITS: usize = 256;

/// The key hash that places `key` in the tree: plain blake3 of the key bytes.
pub fn key_hash(key: &[u8]) -> [u8; 32] {
    *blake3::hash(key).as_bytes()
}

/// The value hash committed in a leaf: plain blake3 of the value bytes.
pub fn value_hash(value: &[u8]) -> [u8; 32] {
    *blake3::hash(value).as_bytes()
}

/// Hash of a leaf; it commits to both the key hash and the value hash.
pub fn leaf(key_hash: &[u8; 32], value_hash: &[u8; 32]) -> [u8; 32] {
    keyed_pair(LEAF_KEY, key_hash, value_hash)
}

/// Hash of an internal node from its two children (an absent child is [`EMPTY`]).
pub fn internal(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    keyed_pair(INTERNAL_KEY, left, right)
}

fn keyed_pair(key: &[u8; 32], a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(a);
    block[32..].copy_from_slice(b);
    *blake3::keyed_hash(key, &block).as_bytes()
}

/// Bit `index` of `hash`, most significant bit of byte 0 first, so that sorting hashes as byte
/// strings sorts them as paths from the root (`false` = left, `true` = right).
///
/// # Panics
/// If `index >= KEY_BITS`; callers bound the depth first.
pub fn bit(hash: &[u8; 32], index: usize) -> bool {
    (hash[index / 8] >> (7 - index % 8)) & 1 == 1
}

/// Number of leading bits `a` and `b` share (256 when they are equal).
pub fn common_prefix_bits(a: &[u8; 32], b: &[u8; 32]) -> usize {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return i * 8 + diff.leading_zeros() as usize;
        }
    }
    KEY_BITS
}
