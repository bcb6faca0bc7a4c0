//! Why a document is refused. Every variant names the field (`stations[3].slots`).

/// A genesis document failed validation.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum GenesisError {
    /// A list holds too few or too many entries.
    #[error("{field}: {actual} entries, expected {min} to {max}")]
    Count {
        /// The list.
        field: String,
        /// Entries found.
        actual: usize,
        /// Fewest allowed.
        min: usize,
        /// Most allowed.
        max: usize,
    },
    /// A name, id or key appears twice.
    #[error("{field}: {value} is already used by {first}")]
    Duplicate {
        /// The second occurrence.
        field: String,
        /// The repeated value.
        value: String,
        /// The first occurrence.
        first: String,
    },
    /// A key is malformed or of small order (weak).
    #[error("{field}: the key {account} is malformed or weak")]
    WeakKey {
        /// The field holding the key.
        field: String,
        /// The key, hex.
        account: String,
    },
    /// A demo-scheme key does not derive from its label.
    #[error("{field}: the key does not derive from the label {label:?} (key scheme DemoLabels)")]
    KeyMismatch {
        /// The field holding the key.
        field: String,
        /// The label.
        label: String,
    },
    /// A reference to something the document does not define.
    #[error("{field}: unknown {kind} {value}")]
    Unknown {
        /// The referring field.
        field: String,
        /// What kind of thing was expected (member, station, pool, vehicle, currency).
        kind: &'static str,
        /// The name referred to.
        value: String,
    },
    /// A member referred to has the wrong role.
    #[error("{field}: member {member} has role {actual}, expected {expected}")]
    WrongRole {
        /// The referring field.
        field: String,
        /// The member.
        member: String,
        /// The role it must have.
        expected: String,
        /// The role it has.
        actual: String,
    },
    /// A number outside its allowed range.
    #[error("{field}: {actual} is outside {min}..={max}")]
    OutOfRange {
        /// The field.
        field: String,
        /// The value.
        actual: u128,
        /// Lowest allowed.
        min: u128,
        /// Highest allowed.
        max: u128,
    },
    /// Two batteries start in one place (a slot or a vehicle).
    #[error("{field}: {place} already holds battery {other}")]
    PlaceTaken {
        /// The second battery's placement.
        field: String,
        /// The place.
        place: String,
        /// The battery already there.
        other: String,
    },
    /// Something required is missing.
    #[error("{field}: {reason}")]
    Missing {
        /// The field.
        field: String,
        /// What is missing.
        reason: String,
    },
}
