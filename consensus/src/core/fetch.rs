//! Outstanding fetches ("wants"): asked once, repeated no sooner than `fetch_retry_ms`, expired
//! once finality passes the view they serve or once nothing has needed them for a while, and
//! bounded by [`WANTS_MAX`] without ever refusing the fetch finality needs.

use super::{Canary, Core, Output, WANTS_MAX};
use crate::types::{Request, View};

/// A want nobody re-asserted for this many fetch retry periods is dropped: whatever needed it
/// (a proposal to check, a parent to choose) has moved on, and asks again if it comes back.
pub const WANT_STALE_RETRIES: u64 = 8;

/// One outstanding fetch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Want {
    /// When it was last sent.
    asked_ms: u64,
    /// When something last needed it.
    needed_ms: u64,
    /// Useless once the finalized view reaches this view.
    view: View,
    /// Needed to deliver finalized blocks: never evicted for another want.
    finality: bool,
}

impl Core {
    /// Asks peers for `request`, needed to make progress at `view`, unless it was asked within
    /// `fetch_retry_ms`.
    pub(crate) fn want(&mut self, request: Request, view: View) {
        self.want_with(request, view, false);
    }

    /// As [`Core::want`], for a block the finalized chain needs.
    pub(crate) fn want_for_finality(&mut self, request: Request, view: View) {
        self.want_with(request, view, true);
    }

    fn want_with(&mut self, request: Request, view: View, finality: bool) {
        let now = self.now;
        let retry = self.cfg.timeouts.fetch_retry_ms;
        if let Some(want) = self.wants.get_mut(&request) {
            want.needed_ms = now;
            want.view = want.view.max(view);
            want.finality |= finality;
            if now < want.asked_ms.saturating_add(retry) {
                return;
            }
            want.asked_ms = now;
        } else {
            if self.wants.len() >= WANTS_MAX && !self.evict_want(finality) {
                return;
            }
            self.wants.insert(request, Want { asked_ms: now, needed_ms: now, view, finality });
        }
        self.out.push(Output::Fetch(request));
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
