//! The Volt node.
//!
//! # What is built
//! `volt pilot` ([`pilot::run`]): the main job on the embedded default genesis, the Hong Kong
//! pilot. It runs n validators **in one process**, each with the production consensus core
//! (`volt_consensus::Core`), its own **file vote journal** (real `fsync`) in the data dir and
//! its own ledger (`volt_token::State` over `MemStore`). Messages go through an in-process
//! router with a fixed latency; time is virtual (an event queue, as in the consensus
//! simulator), so a run is fast and the same seed gives the same chain and state root.
//! - [`setup`]: the genesis document → the ledger genesis and the signed set-up transactions.
//! - [`payload`]: the block payload (proposer time + transactions) and its limits.
//! - [`mempool`]: the shared, bounded mempool the leaders draw from.
//! - [`load`]: the load driver: station-signed swaps of charged packs it tracks slot by slot,
//!   share trades, rent and revenue claims.
//! - [`storage`]: the node's sled database: the ledger's `Store` (writes staged, then
//!   committed with their block in one atomic batch), finalized blocks, certificates,
//!   receipts, the tx index, a checksum on every value, durability (the pilot still runs on
//!   `MemStore`).
//! - [`pilot`]: the event loop, the application's propose / verify / apply, the reports, and a
//!   restart drill (a validator crashes, reopens its vote journal, re-executes its finalized
//!   blocks into a fresh ledger and catches up from its peers).
//!
//! # Not built yet
//! The real networked node: libp2p transport, sled block and state storage, restart from
//! storage, the gRPC API, the `wallet` / `station` / `admin` / `audit` commands. The pilot is
//! an honest stand-in that drives the same cores end to end; it is not a deployment.

// Only the binary reads the wall clock, to print elapsed time; the library takes none.

pub mod api;
pub mod certificate;
pub mod config;
pub mod load;
pub mod mempool;
pub mod payload;
pub mod pilot;
pub mod runtime;
pub mod setup;
pub mod storage;
pub mod telemetry;
