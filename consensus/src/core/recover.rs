//! Building a core: from its configuration, the application's last final block and the records
//! replayed from its vote journal.

use super::{Config, Core, CoreError, Counters, Tip, runs};
use crate::journal::Record;
use crate::types::{Block, Certificate, View};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl Core {
    /// Builds a node from its configuration, the last block its application holds as final
    /// (`anchor`: genesis on a fresh node) and the records replayed from its vote journal.
    pub fn new(cfg: Config, anchor: Block, journal: &[Record]) -> Result<Core, CoreError> {
        let n = cfg.validators.len();
        let key =
            cfg.validators.key(cfg.me).map_err(|_| CoreError::NotAValidator { me: cfg.me, n })?;
        if key.account() != cfg.key.account() {
            return Err(CoreError::WrongKey { me: cfg.me });
        }
        if anchor.epoch != cfg.epoch {
            return Err(CoreError::AnchorEpoch { expected: cfg.epoch, actual: anchor.epoch });
        }
        let digest = anchor.digest();
        let finalized = Tip { view: anchor.view, height: anchor.height, digest };
        let mut core = Core {
            now: 0,
            view: anchor.view.next(),
            journaled_view: View(0),
            floor: View(0),
            views: BTreeMap::new(),
            blocks: BTreeMap::new(),
            finalized,
            finalized_chain: VecDeque::from([digest]),
            best_finalization: None,
            wants: BTreeMap::new(),
            counters: Counters::default(),
            nullified: runs::NullifiedRuns::default(),
            certified_views: BTreeSet::new(),
            catchup: BTreeMap::new(),
            catchup_cursor: None,
            catchup_tip: None,
            nullified_streak: 0,
            helped: BTreeSet::new(),
            input_peer: None,
            offender: None,
            proposals_swept: View(0),
            votes_swept: View(0),
            served: BTreeMap::new(),
            budgets: BTreeMap::new(),
            bad_certificates: (VecDeque::new(), BTreeSet::new()),
            journal_out: Vec::new(),
            rewrite: false,
            rewrite_due: false,
            out: Vec::new(),
            cfg,
        };
        core.blocks.insert(digest, anchor);
        core.recover(journal)?;
        Ok(core)
    }

    fn recover(&mut self, journal: &[Record]) -> Result<(), CoreError> {
        for record in journal {
            match record {
                Record::Entered(view) => {
                    self.journaled_view = self.journaled_view.max(*view);
                    self.view = self.view.max(*view);
                }
                Record::Floor(view) => self.floor = self.floor.max(*view),
                Record::Certificate(certificate) => self.restore_certificate(certificate)?,
                Record::Block(block) => {
                    if block.epoch != self.cfg.epoch {
                        return Err(CoreError::AnchorEpoch {
                            expected: self.cfg.epoch,
                            actual: block.epoch,
                        });
                    }
                    if block.view > self.finalized.view {
                        self.blocks.insert(block.digest(), block.clone());
                    }
                }
                Record::Vote(vote) => {
                    let epoch = vote.vote.round().epoch;
                    if vote.signer != self.cfg.me || epoch != self.cfg.epoch {
                        return Err(CoreError::ForeignJournal {
                            signer: vote.signer,
                            epoch,
                            me: self.cfg.me,
                        });
                    }
                    let view = vote.vote.view();
                    self.view = self.view.max(view);
                    let mine = &mut self.views.entry(view).or_default().mine;
                    match vote.vote {
                        crate::types::Vote::Notarize(_) => mine.notarize = Some(*vote),
                        crate::types::Vote::Nullify(_) => mine.nullify = Some(*vote),
                        crate::types::Vote::Finalize(_) => mine.finalize = Some(*vote),
                    }
                }
            }
        }
        // Votes at or below the anchor are settled; keep only what can still matter.
        let keep_from = self.finalized.view;
        self.views.retain(|v, _| *v >= keep_from);
        self.certified_views.retain(|v| *v > keep_from);
        self.nullified.prune_through(keep_from);
        Ok(())
    }

    /// Puts a journaled entry certificate back: it ends view `v`, so it is held for `v` and it
    /// is the entry of `v + 1`. It was verified before it was journaled.
    fn restore_certificate(&mut self, certificate: &Certificate) -> Result<(), CoreError> {
        let round = certificate.vote.round();
        if round.epoch != self.cfg.epoch {
            return Err(CoreError::ForeignJournal {
                signer: self.cfg.me,
                epoch: round.epoch,
                me: self.cfg.me,
            });
        }
        let state = self.views.entry(round.view).or_default();
        match certificate.vote {
            crate::types::Vote::Notarize(_) => {
                state.notarization = Some(certificate.clone());
                self.certified_views.insert(round.view);
            }
            crate::types::Vote::Nullify(_) => {
                state.nullification = Some(certificate.clone());
                self.nullified.insert(round.view);
            }
            crate::types::Vote::Finalize(_) => {
                self.certified_views.insert(round.view);
                state.finalization = Some(certificate.clone());
                let better = self
                    .best_finalization
                    .as_ref()
                    .is_none_or(|best| best.vote.view() < round.view);
                if better {
                    self.best_finalization = Some(certificate.clone());
                }
            }
        }
        self.views.entry(round.view.next()).or_default().entry = Some(certificate.clone());
        Ok(())
    }
}
