//! The canonical codec: one fixed bincode 2 configuration for everything that is signed or hashed.
//!
//! Encoding is little-endian with fixed-width integers (no varints), so every value has exactly
//! one encoding. Decoding is strict: the input must fit the caller's byte limit, must be consumed
//! to the last byte, and must re-encode to the very same bytes. The last rule closes every gap the
//! format leaves open (a `bool` byte of 2, a non-minimal length, an out-of-range enum tag), so no
//! two byte strings ever decode to the same value and a transaction id names one byte string.
//!
//! Everything goes through [`encode`] and [`decode`], so the codec can be replaced in one place.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Hard ceiling for any single decode, whatever the caller asks for (64 MiB). Callers pass a
/// tighter, named limit such as [`crate::TX_BYTES_MAX`].
pub const DECODE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The fixed configuration, with the limit as a parameter. The limit bounds every length
/// prefix bincode reads (bincode allocates a claimed string or byte vector before reading it),
/// so a forged length can never make the decoder allocate more than the limit.
type Config<const LIMIT: usize> = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<LIMIT>,
>;

const fn config<const LIMIT: usize>() -> Config<LIMIT> {
    bincode::config::standard().with_little_endian().with_fixed_int_encoding().with_limit::<LIMIT>()
}

/// Encoding never depends on the limit; this one is used for every encode.
const CONFIG: Config<DECODE_BYTES_MAX> = config::<DECODE_BYTES_MAX>();

/// Decoding limits come in tiers: the smallest tier at least as large as the caller's limit
/// bounds what a forged length prefix can make the decoder allocate (64 KiB for a transaction,
/// not the 64 MiB ceiling).
fn decode_tiered<T: DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<(T, usize), bincode::error::DecodeError> {
    const KIB_64: usize = 64 * 1024;
    const MIB_1: usize = 1024 * 1024;
    const MIB_16: usize = 16 * 1024 * 1024;
    if limit <= KIB_64 {
        bincode::serde::decode_from_slice(bytes, config::<KIB_64>())
    } else if limit <= MIB_1 {
        bincode::serde::decode_from_slice(bytes, config::<MIB_1>())
    } else if limit <= MIB_16 {
        bincode::serde::decode_from_slice(bytes, config::<MIB_16>())
    } else {
        bincode::serde::decode_from_slice(bytes, config::<DECODE_BYTES_MAX>())
    }
}

/// Why bytes were refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The input is longer than the caller allows.
    #[error("input of {actual} bytes exceeds the limit of {limit} bytes")]
    TooLong {
        /// Bytes given.
        actual: usize,
        /// Bytes allowed.
        limit: usize,
    },
    /// The bytes do not form a value of the expected type.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// A value was decoded but bytes were left over.
    #[error("{trailing} trailing bytes after a value of {used} bytes")]
    TrailingBytes {
        /// Bytes the value used.
        used: usize,
        /// Bytes left over.
        trailing: usize,
    },
    /// The bytes decode, but are not the canonical encoding of what they decode to.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// A value could not be encoded (a programmer error in practice: e.g. a map key type serde
    /// cannot write).
    #[error("cannot encode: {0}")]
    Encode(String),
}

/// Encodes `value` canonically.
///
/// # Panics
/// Never for the types of this workspace: they are plain data with no serde errors. A type that
/// fails to encode is a programmer error and panics with its message.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match try_encode(value) {
        Ok(bytes) => bytes,
        Err(error) => panic!("canonical encoding failed (programmer error): {error}"),
    }
}

/// Encodes `value` canonically, returning an error instead of panicking.
pub fn try_encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, CONFIG).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes a value from `bytes`, accepting only the canonical encoding of that value and only
/// inputs of at most `bytes_max` bytes.
pub fn decode<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    bytes_max: usize,
) -> Result<T, CodecError> {
    let limit = bytes_max.min(DECODE_BYTES_MAX);
    if bytes.len() > limit {
        return Err(CodecError::TooLong { actual: bytes.len(), limit });
    }
    let (value, used): (T, usize) =
        decode_tiered(bytes, limit).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes { used, trailing: bytes.len() - used });
    }
    if try_encode(&value)?.as_slice() != bytes {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

/// blake3 of the canonical encoding of `value`.
pub fn hash<T: Serialize + ?Sized>(value: &T) -> crate::Hash {
    crate::Hash::of(&encode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_fixed_width_little_endian() {
        // Proves the configuration: a u64 is always 8 bytes, least significant first.
        assert_eq!(encode(&1u64), vec![1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(&300u16), vec![44, 1]);
    }

    #[test]
    fn bool_other_than_zero_or_one_is_rejected() {
        // Proves a byte that is not a valid bool is an error, not `true`.
        assert!(decode::<bool>(&[2], 1).is_err());
        assert_eq!(decode::<bool>(&[1], 1), Ok(true));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        // Proves a valid value followed by garbage is refused.
        let err = decode::<u32>(&[1, 0, 0, 0, 9], 16).unwrap_err();
        assert_eq!(err, CodecError::TrailingBytes { used: 4, trailing: 1 });
    }

    #[test]
    fn oversized_input_is_rejected_before_decoding() {
        // Proves the caller's limit is enforced on the raw input length.
        let bytes = encode(&vec![0u8; 100]);
        assert!(matches!(decode::<Vec<u8>>(&bytes, 50), Err(CodecError::TooLong { .. })));
    }

    #[test]
    fn forged_huge_length_prefix_is_an_error() {
        // Proves a length prefix far beyond the input neither panics nor allocates it.
        let mut bytes = u64::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[1, 2, 3]);
        assert!(decode::<Vec<u8>>(&bytes, 1024).is_err());
        assert!(decode::<String>(&bytes, 1024).is_err());
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        // Proves strings must be valid UTF-8.
        let mut bytes = 2u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        assert!(decode::<String>(&bytes, 1024).is_err());
    }
}
