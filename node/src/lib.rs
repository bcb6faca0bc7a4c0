//! The Volt node: the only crate with tokio, libp2p, sled, the gRPC server and the `volt` CLI.
//!
//! Not built yet: this crate holds no code until the node issue lands. It will drive the
//! consensus core (`volt-consensus`) and the ledger (`volt-token`) as described in
//! `shared/DESIGN.md` and `docs/architecture.md`.
