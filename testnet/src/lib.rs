//! Local multi-process Volt networks: starts N real node processes on loopback, drives load
//! (stations swapping, investors trading), injects faults (kill -9, restart, pause, partition)
//! and checks that every node ends with the same state.
//!
//! Not built yet: this crate holds no code until the node exists to run.
