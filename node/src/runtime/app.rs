//! The application side of consensus: what a proposal carries and whether a proposal is valid.
//!
//! Keeps the blocks it has seen above the last applied one (parent, height, time, transaction
//! ids), so a leader can leave out transactions already in unapplied ancestors and a replica
//! can check a proposal's time against its parent's.

use crate::payload::Payload;
use std::collections::{BTreeMap, BTreeSet};
use volt_consensus::Block;
use volt_proto::{Hash, SignedTx, Timestamp};

/// Blocks remembered at once; past it, those at or below the applied height go first, then the
/// lowest. A parent walk that finds a gap proposes an empty block instead of guessing.
pub const KNOWN_BLOCKS_MAX: usize = 1_024;

/// A proposal may carry a time at most this far ahead of the checking validator's clock.
pub const BLOCK_TIME_AHEAD_MS_MAX: u64 = 5_000;

/// A block as the application saw it.
#[derive(Clone, Debug)]
struct Known {
    parent: Hash,
    height: u64,
    time: Timestamp,
    ids: Vec<Hash>,
}

/// Why a proposal was refused (logged and counted; consensus gets `valid: false`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The payload does not decode within its limits.
    #[error("payload: {0}")]
    Payload(#[from] crate::payload::PayloadError),
    /// Its time is before its parent's.
    #[error("block time {time} is before its parent's {parent}")]
    TimeBeforeParent {
        /// The block's time, ms.
        time: u64,
        /// The parent's time, ms.
        parent: u64,
    },
    /// Its time is too far ahead of this validator's clock.
    #[error("block time {time} is more than {BLOCK_TIME_AHEAD_MS_MAX} ms ahead of {now}")]
    TimeAhead {
        /// The block's time, ms.
        time: u64,
        /// This validator's clock, ms.
        now: u64,
    },
}

/// Blocks seen above the applied height.
#[derive(Debug, Default)]
pub struct App {
    known: BTreeMap<Hash, Known>,
    applied: (Hash, u64),
}

impl App {
    /// Starts from the last applied block and its time.
    pub fn new(applied: &Block, time: Timestamp) -> App {
        let mut app = App::default();
        app.known.insert(
            applied.digest(),
            Known { parent: applied.parent, height: applied.height.0, time, ids: Vec::new() },
        );
        app.applied = (applied.digest(), applied.height.0);
        app
    }

    /// The executor applied `digest` at `height`: ancestors walks stop there.
    pub fn set_applied(&mut self, digest: Hash, height: u64, time: Timestamp) {
        self.applied = (digest, height);
        self.known.entry(digest).or_insert(Known {
            parent: Hash::ZERO,
            height,
            time,
            ids: Vec::new(),
        });
        self.known.retain(|_, k| k.height >= height);
    }

    /// Remembers a block whose payload decoded.
    pub fn remember(&mut self, block: &Block, payload: &Payload) {
        let digest = block.digest();
        if self.known.contains_key(&digest) {
            return;
        }
        if self.known.len() >= KNOWN_BLOCKS_MAX {
            let lowest = self.known.iter().min_by_key(|(_, k)| k.height).map(|(d, _)| *d);
            if let Some(lowest) = lowest {
                self.known.remove(&lowest);
            }
        }
        let ids = payload.txs.iter().map(SignedTx::id).collect();
        let known = Known { parent: block.parent, height: block.height.0, time: payload.time, ids };
        self.known.insert(digest, known);
    }

    /// The time of a known block.
    pub fn time_of(&self, digest: &Hash) -> Option<Timestamp> {
        self.known.get(digest).map(|k| k.time)
    }

    /// Transaction ids in the unapplied ancestors of `parent` (inclusive), or `None` if a link
    /// is missing (then propose nothing rather than risk including a transaction twice).
    pub fn pending_ids(&self, parent: Hash) -> Option<BTreeSet<Hash>> {
        let mut ids = BTreeSet::new();
        let mut at = parent;
        while at != self.applied.0 {
            let known = self.known.get(&at)?;
            if known.height <= self.applied.1 {
                return None;
            }
            ids.extend(known.ids.iter().copied());
            at = known.parent;
        }
        Some(ids)
    }

    /// Checks a proposal: payload limits, time not before its parent's (when known) and not
    /// more than [`BLOCK_TIME_AHEAD_MS_MAX`] ahead of `now_ms` (wall clock, ms since the epoch).
    pub fn verify(&mut self, block: &Block, now_ms: u64) -> Result<(), Invalid> {
        let payload = Payload::decode(&block.payload)?;
        let time = payload.time.0;
        if let Some(parent) = self.time_of(&block.parent)
            && time < parent.0
        {
            return Err(Invalid::TimeBeforeParent { time, parent: parent.0 });
        }
        if time > now_ms.saturating_add(BLOCK_TIME_AHEAD_MS_MAX) {
            return Err(Invalid::TimeAhead { time, now: now_ms });
        }
        self.remember(block, &payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use volt_consensus::{Epoch, View};
    use volt_proto::Height;

    fn child(parent: &Block, view: u64, time: u64) -> Block {
        Block {
            epoch: Epoch(0),
            view: View(view),
            height: Height(parent.height.0 + 1),
            parent_view: parent.view,
            parent: parent.digest(),
            payload: Payload { time: Timestamp(time), txs: Vec::new() }.encode(),
        }
    }

    #[test]
    fn proposals_keep_time_order_and_stay_near_the_clock() {
        // Proves a proposal is refused if its time goes back or runs ahead of the clock.
        let genesis = Block::genesis(Epoch(0), Vec::new());
        let mut app = App::new(&genesis, Timestamp(1_000));
        let b1 = child(&genesis, 1, 2_000);
        assert_eq!(app.verify(&b1, 2_000), Ok(()));
        let back = child(&b1, 2, 1_500);
        assert!(matches!(app.verify(&back, 3_000), Err(Invalid::TimeBeforeParent { .. })));
        let ahead = child(&b1, 2, 9_000);
        assert!(matches!(app.verify(&ahead, 3_000), Err(Invalid::TimeAhead { .. })));
        let mut garbage = child(&b1, 2, 2_500);
        garbage.payload = vec![0xff; 3];
        assert!(matches!(app.verify(&garbage, 3_000), Err(Invalid::Payload(_))));
        assert!(app.pending_ids(b1.digest()).is_some());
        assert!(app.pending_ids(Hash::of(b"unknown")).is_none());
    }
}
