//! What a core knows about one view, its last final block, and counts of what it holds.

use crate::types::{Certificate, Proposal, SignedVote, ValidatorIndex, View, VoteKind};
use std::collections::BTreeMap;
use volt_proto::{Hash, Height};

/// Where a proposal of the current view stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Status {
    /// No proposal yet.
    #[default]
    None,
    /// Waiting for certificates or the parent block.
    Waiting,
    /// Handed to the application.
    Verifying,
    /// Notarized by this node.
    Verified,
    /// Refused.
    Invalid,
}

/// This node's own votes in one view.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mine {
    pub(crate) notarize: Option<SignedVote>,
    pub(crate) nullify: Option<SignedVote>,
    pub(crate) finalize: Option<SignedVote>,
}

/// Everything known about one view.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViewState {
    pub(crate) proposal: Option<Proposal>,
    pub(crate) status: Status,
    pub(crate) notarizes: BTreeMap<ValidatorIndex, SignedVote>,
    pub(crate) nullifies: BTreeMap<ValidatorIndex, SignedVote>,
    pub(crate) finalizes: BTreeMap<ValidatorIndex, SignedVote>,
    /// Peer votes not verified yet, by kind and signer, with the peer that sent each: they
    /// wait until they can complete a certificate, then are verified in one batch.
    pub(crate) waiting: BTreeMap<(VoteKind, ValidatorIndex), (ValidatorIndex, SignedVote)>,
    pub(crate) notarization: Option<Certificate>,
    pub(crate) nullification: Option<Certificate>,
    pub(crate) finalization: Option<Certificate>,
    pub(crate) mine: Mine,
    /// The parent the application was asked to build on (leader only).
    pub(crate) propose_parent: Option<(View, Hash, Height)>,
    /// The certificate that moved this node into the view (rebroadcast with nullifies).
    pub(crate) entry: Option<Certificate>,
}

impl ViewState {
    /// The digest certified at this view (by a notarization or a finalization).
    pub(crate) fn certified(&self) -> Option<Hash> {
        self.finalization
            .as_ref()
            .or(self.notarization.as_ref())
            .and_then(|c| c.vote.proposal().map(|p| p.digest))
    }
}

/// Counts of what a core holds in memory.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Views with state.
    pub views: usize,
    /// Peer and own votes kept per view (to form certificates), verified or waiting.
    pub votes: usize,
    /// Notarizations, nullifications and finalizations kept (entry copies not counted).
    pub certificates: usize,
    /// Blocks that are neither certified, nor notarized by this node, nor finalized.
    pub proposals: usize,
}

/// The last block delivered as final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Its view.
    pub view: View,
    /// Its height.
    pub height: Height,
    /// Its digest.
    pub digest: Hash,
}
