//! Outstanding fetches ("wants"): each asked of one peer at a time, first the peers that
//! should hold the answer (the signers of the certificate that names it), the next peer in
//! line when no answer came within `fetch_retry_ms` and it is still needed; expired once
//! finality passes the view they serve or once nothing has needed them for a while, and
//! bounded by [`WANTS_MAX`] without ever refusing the fetch finality needs.

use super::{Canary, Core, WANTS_MAX};
use crate::types::{Message, Request, ValidatorIndex, View};

/// A want nobody re-asserted for this many fetch retry periods is dropped: whatever needed it
/// (a proposal to check, a parent to choose) has moved on, and asks again if it comes back.
pub const WANT_STALE_RETRIES: u64 = 8;

/// One outstanding fetch.
#[derive(Clone, Debug)]
pub(crate) struct Want {
    /// When it was last sent.
    asked_ms: u64,
    /// When something last needed it.
    needed_ms: u64,
    /// Useless once the finalized view reaches this view.
    view: View,
    /// Needed to deliver finalized blocks: never evicted for another want.
    finality: bool,
    /// Every other validator, the likely holders first; asked in turn, one per retry period.
    peers: Vec<ValidatorIndex>,
    /// How many times it was sent: `peers[attempts % peers.len()]` is asked next.
    attempts: usize,
}

impl Core {
    /// Asks one peer for `request`, needed to make progress at `view`, unless it was asked
    /// within `fetch_retry_ms`; any peer may hold it.
    pub(crate) fn want(&mut self, request: Request, view: View) {
        self.want_with(request, view, false, &[]);
    }

    /// As [`Core::want`], for a block certified at `certified`: its certificate's signers
    /// are asked first (each honest one holds the block it voted for).
    pub(crate) fn want_certified(&mut self, request: Request, view: View, certified: View) {
        let holders = self.views.get(&certified).map(|s| {
            let certificate = s.finalization.as_ref().or(s.notarization.as_ref());
            certificate.map(|c| c.signer_indices()).unwrap_or_default()
        });
        self.want_with(request, view, false, &holders.unwrap_or_default());
    }

    /// As [`Core::want`], for a block the finalized chain needs: the best finalization's
    /// signers are asked first.
    pub(crate) fn want_for_finality(&mut self, request: Request, view: View) {
        let holders = self.best_finalization.as_ref().map(|c| c.signer_indices());
        self.want_with(request, view, true, &holders.unwrap_or_default());
    }

    fn want_with(
        &mut self,
        request: Request,
        view: View,
        finality: bool,
        holders: &[ValidatorIndex],
    ) {
        let now = self.now;
        let retry = self.cfg.timeouts.fetch_retry_ms;
        let want = match self.wants.get_mut(&request) {
            Some(want) => {
                want.needed_ms = now;
                want.view = want.view.max(view);
                want.finality |= finality;
                if now < want.asked_ms.saturating_add(retry) {
                    return;
                }
                // No answer within the retry period: the next peer in line.
                want.asked_ms = now;
                want.attempts = want.attempts.wrapping_add(1);
                want
            }
            None => {
                if self.wants.len() >= WANTS_MAX && !self.evict_want(finality) {
                    return;
                }
                let peers = self.peers_in_order(holders);
                let want =
                    Want { asked_ms: now, needed_ms: now, view, finality, peers, attempts: 0 };
                self.wants.entry(request).or_insert(want)
            }
        };
        let Some(to) = want.peers.get(want.attempts % want.peers.len().max(1)).copied() else {
            return; // a set of one: nobody to ask
        };
        self.send(to, Message::Request(request));
    }

    /// Every validator but this one: `holders` first, then the rest, each group rotated by
    /// this node's index so that nodes fetching the same thing start at different peers.
    fn peers_in_order(&self, holders: &[ValidatorIndex]) -> Vec<ValidatorIndex> {
        let me = self.cfg.me;
        let n = self.cfg.validators.len();
        let rotate = |mut group: Vec<ValidatorIndex>| {
            if !group.is_empty() {
                let k = usize::from(me) % group.len();
                group.rotate_left(k);
            }
            group
        };
        let valid = |v: &ValidatorIndex| *v != me && usize::from(*v) < n;
        let first: Vec<ValidatorIndex> = holders.iter().copied().filter(valid).collect();
        let rest: Vec<ValidatorIndex> = (0..n)
            .map(|i| i as ValidatorIndex)
            .filter(|v| valid(v) && !first.contains(v))
            .collect();
        let mut peers = rotate(first);
        peers.extend(rotate(rest));
        peers
    }

    /// Makes room for a new want: drops the least useful one (not needed by finality, lowest
    /// view); a finality want may displace the oldest other finality want. False: no room.
    fn evict_want(&mut self, finality: bool) -> bool {
        if self.cfg.canary == Canary::WantsNeverExpire {
            return false; // BROKEN ON PURPOSE: refuse new fetches at the limit (defect 4).
        }
        let victim = self
            .wants
            .iter()
            .filter(|(_, w)| finality || !w.finality)
            .min_by_key(|(_, w)| (w.finality, w.view, w.needed_ms))
            .map(|(request, _)| *request);
        victim.is_some_and(|request| self.wants.remove(&request).is_some())
    }

    /// Drops wants that finality made useless or that nothing needed for a while.
    pub(crate) fn expire_wants(&mut self) {
        let finalized = self.finalized.view;
        if self.cfg.canary == Canary::WantsNeverExpire {
            // BROKEN ON PURPOSE: the old rule, which forgot only settled certificate fetches.
            self.wants.retain(|r, _| !matches!(r, Request::Certificates(v) if *v <= finalized));
            return;
        }
        let now = self.now;
        let stale = WANT_STALE_RETRIES.saturating_mul(self.cfg.timeouts.fetch_retry_ms);
        self.wants.retain(|_, w| w.view > finalized && now.saturating_sub(w.needed_ms) <= stale);
    }

    /// A fetch's answer arrived (or the thing arrived another way).
    pub(crate) fn got(&mut self, request: &Request) -> bool {
        self.wants.remove(request).is_some()
    }

    /// Outstanding fetches (for the simulator's report of the most a node held).
    #[doc(hidden)]
    pub fn wants_held(&self) -> usize {
        self.wants.len()
    }

    /// Outstanding fetches and the longest time one of them went unneeded-and-unanswered, in
    /// ms (for the simulator's bounded-state check).
    #[doc(hidden)]
    pub fn wants_outstanding(&self) -> (usize, u64) {
        let oldest = self.wants.values().map(|w| self.now.saturating_sub(w.needed_ms)).max();
        (self.wants.len(), oldest.unwrap_or(0))
    }
}
