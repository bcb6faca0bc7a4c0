//! The Volt node: the `volt` command and everything that runs behind it.
//!
//! # The node process (`volt node run [--dev]`)
//! - [`runtime`]: boots storage, the ledger and consensus from disk and runs the actors — the
//!   consensus driver (Simplex core, vote journal, real timers; proposals wait for work or a
//!   heartbeat), the executor on its own thread (finalized block → ledger → one atomic sled
//!   batch → a signed state-root vote), the mempool actor — joined by bounded channels.
//! - [`certificate`]: state certificates (2f+1 validators' signatures over
//!   `(chain, height, block digest, state root)`), what wallets and auditors trust.
//! - [`storage`]: the sled database: the ledger's `Store` (writes staged, then committed with
//!   their block in one atomic batch), blocks, finalization and state certificates, receipts,
//!   the tx index, a key-bound checksum on every value, durability, the tree snapshot.
//! - [`mempool`]: admission-checked (codec, chain, expiry, signer, nonce, signature once),
//!   bounded in count and bytes, per-account capped, nonce-ordered.
//! - [`api`]: the gRPC service `volt.ledger.v1.Ledger` with health and reflection, rich errors.
//! - [`config`], [`telemetry`]: the config file, logs and Prometheus metrics.
//!
//! # The in-process pilot (`volt pilot`)
//! [`pilot::run`] runs n validators in one process, each with the production consensus core,
//! its own fsynced vote journal and its own ledger over `MemStore`, on a virtual clock, so a
//! run is fast and the same seed gives the same chain and state root. [`setup`] turns a
//! genesis document into the ledger genesis and signed set-up transactions, [`payload`] is the
//! block payload, [`load`] the load driver (swaps, trades, rent, claims).
//!
//! # Not built yet
//! The validator network (libp2p, block sync) and the `wallet` / `station` / `admin` / `audit`
//! commands.

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
