//! The authenticated state tree (in progress).
