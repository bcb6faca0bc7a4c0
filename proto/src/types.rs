//! Core newtypes: identifiers, hashes, heights, amounts and validated names.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A blake3 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash, used as "none" (e.g. the parent of genesis).
    pub const ZERO: Hash = Hash([0; 32]);

    /// blake3 of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", hex::encode(&self.0[..8]))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// An account: the 32-byte ed25519 public key that signs for it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account({})", hex::encode(&self.0[..6]))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A 64-byte ed25519 signature (`R ‖ s`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The raw bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..6]))
    }
}

// serde has no impls for arrays longer than 32: write the two 32-byte halves as a pair, which
// the canonical codec lays out as exactly 64 bytes.
impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&self.0[..32]);
        s.copy_from_slice(&self.0[32..]);
        (r, s).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (r, s): ([u8; 32], [u8; 32]) = Deserialize::deserialize(deserializer)?;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r);
        bytes[32..].copy_from_slice(&s);
        Ok(Signature(bytes))
    }
}

macro_rules! counter_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize,
            Deserialize,
        )]
        pub struct $name(pub u64);

        impl $name {
            /// The next value, or `None` on overflow.
            pub fn checked_next(self) -> Option<Self> {
                self.0.checked_add(1).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

counter_newtype!(
    /// A block height; genesis is height 0 and the first block is height 1.
    Height
);
counter_newtype!(
    /// A per-account transaction sequence number; an account's first transaction uses nonce 0.
    Nonce
);
counter_newtype!(
    /// Milliseconds since the Unix epoch, as agreed by consensus (never read from a local clock
    /// inside the ledger).
    Timestamp
);

/// An amount of an asset in its smallest unit (cents for HKD, whole shares for share classes).
/// All arithmetic is checked: overflow and underflow are errors, never wrap-arounds.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct Amount(pub u128);

impl Amount {
    /// Zero units.
    pub const ZERO: Amount = Amount(0);

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self - other`, or `None` if `other > self`.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// True for zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a name was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Empty or longer than allowed.
    #[error("name of {actual} bytes must have 1 to {max} bytes")]
    Length {
        /// Bytes given.
        actual: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// A character outside the allowed set.
    #[error("name {name:?} has a character outside {allowed}")]
    Character {
        /// The refused name.
        name: String,
        /// The allowed set, in words.
        allowed: &'static str,
    },
}

/// A short upper-case identifier: a currency code (`HKD`), a share class (`HK-POOL-A`), a
/// station id (`HK-KC-001`). 1 to [`Symbol::BYTES_MAX`] bytes of `A-Z 0-9 - _ .`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

impl Symbol {
    /// Longest symbol, in bytes.
    pub const BYTES_MAX: usize = 24;

    /// Validates `name` as a symbol.
    pub fn new(name: &str) -> Result<Symbol, NameError> {
        check_name(name, Self::BYTES_MAX, "A-Z 0-9 - _ .", |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
        })?;
        Ok(Symbol(name.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Symbol {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Symbol::new(&value)
    }
}

impl From<Symbol> for String {
    fn from(value: Symbol) -> Self {
        value.0
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The chain's name, mixed into every signature so a signature for one chain never verifies on
/// another. 1 to [`ChainId::BYTES_MAX`] bytes of `a-z 0-9 -`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChainId(String);

impl ChainId {
    /// Longest chain id, in bytes.
    pub const BYTES_MAX: usize = 32;

    /// Validates `name` as a chain id.
    pub fn new(name: &str) -> Result<ChainId, NameError> {
        check_name(name, Self::BYTES_MAX, "a-z 0-9 -", |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        })?;
        Ok(ChainId(name.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChainId {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ChainId::new(&value)
    }
}

impl From<ChainId> for String {
    fn from(value: ChainId) -> Self {
        value.0
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn check_name(
    name: &str,
    max: usize,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), NameError> {
    if name.is_empty() || name.len() > max {
        return Err(NameError::Length { actual: name.len(), max });
    }
    if !name.chars().all(ok) {
        return Err(NameError::Character { name: name.to_owned(), allowed });
    }
    Ok(())
}

/// Bounded free text (a reason, a location, a URI): at most [`Text::BYTES_MAX`] bytes of UTF-8.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    /// Longest text, in bytes.
    pub const BYTES_MAX: usize = 256;

    /// Validates the length of `text`.
    pub fn new(text: &str) -> Result<Text, NameError> {
        if text.len() > Self::BYTES_MAX {
            return Err(NameError::Length { actual: text.len(), max: Self::BYTES_MAX });
        }
        Ok(Text(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Text::new(&value)
    }
}

impl From<Text> for String {
    fn from(value: Text) -> Self {
        value.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
