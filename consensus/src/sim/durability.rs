//! The check that a node's durable journal, together with its application's last final block,
//! covers every vote the node has sent: exactly what a restart at that instant would remember.
//! It runs at every crash and right after every journal rewrite is synced (the instant
//! defect 1 of issue 8 lost votes), so a lost vote is caught whether or not a later conflicting
//! vote happens to follow.

use crate::journal::Record;
use crate::types::{View, VoteKind};
use std::collections::BTreeSet;

/// What one node has sent and what its journal holds durably.
#[derive(Clone, Debug, Default)]
pub(crate) struct Durability {
    sent: BTreeSet<(View, VoteKind)>,
    durable: BTreeSet<(View, VoteKind)>,
    pending: Vec<(View, VoteKind)>,
    floor: View,
}

fn vote_of(record: &Record) -> Option<(View, VoteKind)> {
    match record {
        Record::Vote(v) => Some((v.vote.view(), v.vote.kind())),
        _ => None,
    }
}

impl Durability {
    /// The node sent one of its own votes.
    pub(crate) fn sent(&mut self, view: View, kind: VoteKind) {
        self.sent.insert((view, kind));
    }

    /// The driver appended a record (durable at the next sync).
    pub(crate) fn append(&mut self, record: &Record) {
        self.pending.extend(vote_of(record));
        if let Record::Floor(view) = record {
            self.floor = self.floor.max(*view);
        }
    }

    /// The driver synced the journal.
    pub(crate) fn sync(&mut self) {
        self.durable.extend(self.pending.drain(..));
    }

    /// The journal now holds exactly `records` (a rewrite, or what a restart replayed).
    pub(crate) fn reset(&mut self, records: &[Record]) {
        self.durable = records.iter().filter_map(vote_of).collect();
        self.pending.clear();
        self.floor = records
            .iter()
            .filter_map(|r| if let Record::Floor(v) = r { Some(*v) } else { None })
            .max()
            .unwrap_or(View(0));
    }

    /// A crash: unsynced records are gone (or torn; never counted).
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
    }

    /// A sent vote a restart would not remember, given the application's anchor view: above
    /// the anchor and at or above the journal floor, but not durable.
    pub(crate) fn missing(&mut self, anchor: View) -> Option<(View, VoteKind)> {
        self.sent = self.sent.split_off(&(anchor.next(), VoteKind::Notarize));
        self.durable = self.durable.split_off(&(anchor.next(), VoteKind::Notarize));
        let floor = self.floor;
        self.sent.iter().find(|k| k.0 >= floor && !self.durable.contains(k)).copied()
    }
}
