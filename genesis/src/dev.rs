//! The dev chain: the Hong Kong pilot's fixtures on ONE validator, with a short block interval,
//! for `volt node run --dev` — what a developer or a wallet author points a client at.
//!
//! One validator tolerates no fault (f = 0, quorum 1): it is a development chain, never a
//! network. Its keys are the pilot's demo keys ([`KeyScheme::DemoLabels`]), so anyone can sign
//! as any member; it must never hold real value.

use crate::doc::{ConsensusParams, GenesisDoc, KeyScheme};
use crate::pilot::hong_kong_pilot_with_validators;
use volt_proto::{ChainId, Timestamp};

/// The dev chain's id: distinct from the pilot's, so a dev transaction never verifies on the
/// pilot network (every signature covers the chain id).
pub const DEV_CHAIN_ID: &str = "volt-hk-dev";

/// Dev consensus timing: a block at most every 100 ms while there is work. With one validator
/// the leader timeout only bounds how long the leader waits for work: an idle dev chain makes
/// one empty block per heartbeat (half the leader timeout, 10 s), not a stream of them.
pub const DEV_CONSENSUS: ConsensusParams = ConsensusParams {
    block_interval_ms: 100,
    leader_timeout_ms: 20_000,
    advance_timeout_ms: 30_000,
    retry_ms: 1_000,
    fetch_retry_ms: 500,
};

/// DEMO ONLY: the Hong Kong pilot's fixtures (55 stations, 660 batteries in 3 pools, 180
/// taxis, 20 investors) with one validator (`hkt-1`), [`DEV_CONSENSUS`] timing and chain id
/// [`DEV_CHAIN_ID`].
///
/// The genesis time is an argument, not a constant: the pilot's set-up offers expire 7 days
/// and its leases 90 days after genesis, so a dev chain started on a wall clock needs a
/// genesis time near its start. The caller (the `volt` command) passes the current time when
/// it writes the document; this crate reads no clock. The same time gives the same document
/// and id.
pub fn dev_pilot(genesis_time: Timestamp) -> GenesisDoc {
    let mut doc = hong_kong_pilot_with_validators(1);
    doc.chain_id = match ChainId::new(DEV_CHAIN_ID) {
        Ok(id) => id,
        Err(e) => panic!("dev chain id is invalid: {e}"),
    };
    doc.genesis_time = genesis_time;
    doc.consensus = DEV_CONSENSUS;
    debug_assert_eq!(doc.key_scheme, KeyScheme::DemoLabels);
    doc
}
