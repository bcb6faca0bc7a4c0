//! gRPC errors in the rich-error convention: a status code plus a `google.rpc.ErrorInfo`
//! detail whose `reason` is machine-readable (the ledger's `ErrorCode` name, or the node's own
//! reason such as `MempoolFull`) and whose `domain` is [`ERROR_DOMAIN`].

use crate::mempool::Refusal;
// tonic-types takes its metadata as a HashMap; it is empty, so no iteration order leaks.
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// The `ErrorInfo.domain` of every Volt error.
pub const ERROR_DOMAIN: &str = "volt.ledger.v1";

/// A status with an `ErrorInfo` detail.
#[allow(clippy::disallowed_types)]
pub fn status(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details =
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
    Status::with_error_details(code, message, details)
}

/// A malformed request field.
pub fn invalid(reason: &str, message: impl Into<String>) -> Status {
    status(Code::InvalidArgument, reason, message)
}

/// Something looked up that does not exist.
pub fn not_found(reason: &str, message: impl Into<String>) -> Status {
    status(Code::NotFound, reason, message)
}

/// The node cannot answer now (shutting down, storage failure).
pub fn unavailable(message: impl Into<String>) -> Status {
    status(Code::Unavailable, "Unavailable", message)
}

/// A storage error: the node reports it, never a wrong answer.
pub fn storage(error: impl std::fmt::Display) -> Status {
    status(Code::Internal, "StorageError", format!("storage: {error}"))
}

/// The gRPC code of a mempool refusal: malformed input is `InvalidArgument`, a full mempool
/// `ResourceExhausted`, a duplicate `AlreadyExists`, anything the ledger's state decides
/// (nonce, signer, expiry) `FailedPrecondition`.
pub fn refusal(refusal: &Refusal) -> Status {
    let reason = refusal.reason();
    let code = if refusal.is_resource_exhausted() {
        Code::ResourceExhausted
    } else {
        match reason {
            "Malformed" | "TxTooLarge" | "BadSignature" | "WrongChain" => Code::InvalidArgument,
            "Duplicate" => Code::AlreadyExists,
            _ => Code::FailedPrecondition,
        }
    };
    status(code, reason, refusal.to_string())
}

/// Gives an over-limit request, which tonic refuses before any handler runs (as `OutOfRange`
/// without details), the same shape as every other error: `ResourceExhausted` with the reason
/// `MessageTooLarge`. No handler of this API answers `OutOfRange` itself.
pub fn rich_transport_error(
    response: http::Response<tonic::body::Body>,
    message_max: usize,
) -> http::Response<tonic::body::Body> {
    let out_of_range = Code::OutOfRange as i32;
    let code = response.headers().get("grpc-status").and_then(|v| v.to_str().ok());
    if code.and_then(|c| c.parse::<i32>().ok()) != Some(out_of_range) {
        return response;
    }
    let message = format!("the request is larger than this node accepts ({message_max} bytes)");
    status(Code::ResourceExhausted, "MessageTooLarge", message).into_http()
}

/// The `ErrorInfo.reason` of a status, if it carries one (clients and tests).
pub fn reason_of(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}
