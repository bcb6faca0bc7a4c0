//! Why the mempool refused (or later dropped) a transaction.

use volt_proto::codec::CodecError;
use volt_proto::sig::SigError;
use volt_proto::{AccountId, ChainId, ErrorCode, Hash, Height, Nonce};

/// Why a transaction was refused on admission, or evicted after a finalized block made it stale.
/// [`Refusal::reason`] is the machine-readable reason: the ledger's [`ErrorCode`] name where
/// one exists.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The bytes are not the canonical encoding of a transaction.
    #[error("malformed transaction: {0}")]
    Malformed(CodecError),
    /// The encoding is longer than a transaction may be.
    #[error("transaction of {bytes} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Bytes given.
        bytes: usize,
        /// Bytes allowed (`TX_BYTES_MAX`).
        max: usize,
    },
    /// The transaction names another chain.
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The chain the transaction names.
        got: ChainId,
    },
    /// The signature does not verify under the one signature rule (`volt_proto::sig::verify`).
    #[error("bad signature: {0}")]
    BadSignature(SigError),
    /// The transaction's last valid height is below the next block's height.
    #[error("transaction expired at height {expiry_height}; the next block is {next_height}")]
    Expired {
        /// The transaction's last valid height.
        expiry_height: Height,
        /// The height of the next block.
        next_height: Height,
    },
    /// The transaction would stay valid further ahead than the mempool keeps anything: a
    /// transaction stuck behind a nonce gap could otherwise hold its slot for ever.
    #[error(
        "transaction expires at height {expiry_height}; at most {max} blocks after the next \
         block ({next_height}) are accepted"
    )]
    ExpiryTooFar {
        /// The transaction's last valid height.
        expiry_height: Height,
        /// The height of the next block.
        next_height: Height,
        /// [`crate::mempool::EXPIRY_HORIZON_BLOCKS_MAX`].
        max: u64,
    },
    /// The signer is not a member, or was revoked.
    #[error("signer {account} is {}", if *.revoked { "revoked" } else { "not a member" })]
    UnknownSigner {
        /// The signer.
        account: AccountId,
        /// True if a member record exists but is revoked.
        revoked: bool,
    },
    /// The signer's account is frozen: its call would fail.
    #[error("signer {0} is frozen")]
    Frozen(AccountId),
    /// The nonce was already used.
    #[error("nonce {nonce} already used; the signer's next nonce is {next}")]
    NonceReplayed {
        /// The transaction's nonce.
        nonce: Nonce,
        /// The signer's next nonce on the ledger.
        next: Nonce,
    },
    /// The nonce runs further ahead of the signer's next nonce than the mempool keeps.
    #[error("nonce {nonce} is more than {max} beyond the signer's next nonce {next}")]
    NonceTooFarAhead {
        /// The transaction's nonce.
        nonce: Nonce,
        /// The signer's next nonce on the ledger.
        next: Nonce,
        /// How far ahead a nonce may be.
        max: u64,
    },
    /// The same transaction (same id) is already pending.
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    /// Another transaction with the same signer and nonce is pending. There is no
    /// replace-by-fee (Volt has no fees): the first one stays until it is included, expires or
    /// goes stale.
    #[error("nonce {nonce} of this signer is taken by pending transaction {pending}")]
    NoncePending {
        /// The nonce.
        nonce: Nonce,
        /// The transaction already pending with it.
        pending: Hash,
    },
    /// The signer already has as many transactions waiting as one account may.
    #[error("signer {account} already has {max} transactions waiting, the most allowed")]
    AccountQueueFull {
        /// The signer.
        account: AccountId,
        /// Transactions one account may have waiting.
        max: usize,
    },
    /// The mempool holds as many transactions or bytes as it may.
    #[error(
        "mempool full: {txs} of {txs_max} transactions, {bytes} + {tx_bytes} bytes over \
         {bytes_max}"
    )]
    MempoolFull {
        /// Transactions waiting.
        txs: usize,
        /// Most transactions allowed.
        txs_max: usize,
        /// Bytes waiting.
        bytes: usize,
        /// The refused transaction's bytes.
        tx_bytes: usize,
        /// Most bytes allowed.
        bytes_max: usize,
    },
}

impl Refusal {
    /// The machine-readable reason: the [`ErrorCode`] name where one exists.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "Malformed",
            Refusal::TooLarge { .. } => "TxTooLarge",
            Refusal::WrongChain { .. } => "WrongChain",
            Refusal::BadSignature(_) => "BadSignature",
            Refusal::Expired { .. } => "Expired",
            Refusal::ExpiryTooFar { .. } => "ExpiryTooFar",
            Refusal::UnknownSigner { .. } => "UnknownSigner",
            Refusal::Frozen(_) => "SignerFrozen",
            Refusal::NonceReplayed { .. } => "NonceReplayed",
            Refusal::NonceTooFarAhead { .. } => "NonceTooFarAhead",
            Refusal::Duplicate(_) => "Duplicate",
            Refusal::NoncePending { .. } => "NoncePending",
            Refusal::AccountQueueFull { .. } => "AccountQueueFull",
            Refusal::MempoolFull { .. } => "MempoolFull",
        }
    }

    /// The ledger's code for this refusal, where it has one.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Refusal::WrongChain { .. } => Some(ErrorCode::WrongChain),
            Refusal::BadSignature(_) => Some(ErrorCode::BadSignature),
            Refusal::Expired { .. } => Some(ErrorCode::Expired),
            Refusal::UnknownSigner { .. } => Some(ErrorCode::UnknownSigner),
            Refusal::Frozen(_) => Some(ErrorCode::SignerFrozen),
            Refusal::NonceReplayed { .. } => Some(ErrorCode::NonceReplayed),
            _ => None,
        }
    }

    /// True when the refusal is for lack of room (the whole mempool, or one account's share of
    /// it): the gRPC answer is `ResourceExhausted`, and the same transaction may be admitted
    /// later.
    pub fn is_resource_exhausted(&self) -> bool {
        matches!(self, Refusal::MempoolFull { .. } | Refusal::AccountQueueFull { .. })
    }

    /// The gRPC status code to answer with.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            Refusal::Malformed(_)
            | Refusal::TooLarge { .. }
            | Refusal::WrongChain { .. }
            | Refusal::BadSignature(_) => tonic::Code::InvalidArgument,
            Refusal::Duplicate(_) => tonic::Code::AlreadyExists,
            Refusal::MempoolFull { .. } | Refusal::AccountQueueFull { .. } => {
                tonic::Code::ResourceExhausted
            }
            Refusal::Expired { .. }
            | Refusal::ExpiryTooFar { .. }
            | Refusal::UnknownSigner { .. }
            | Refusal::Frozen(_)
            | Refusal::NonceReplayed { .. }
            | Refusal::NonceTooFarAhead { .. }
            | Refusal::NoncePending { .. } => tonic::Code::FailedPrecondition,
        }
    }
}
