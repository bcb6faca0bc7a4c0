//! Runs of consecutive nullified views, so the validity rule's "every view strictly between
//! the parent and the proposal is nullified" is one lookup, however long the gap.

use crate::types::View;
use std::collections::BTreeMap;

/// Maximal runs of nullified views: start → end, both inclusive, disjoint and not adjacent.
#[derive(Clone, Debug, Default)]
pub(crate) struct NullifiedRuns {
    runs: BTreeMap<View, View>,
}

impl NullifiedRuns {
    /// Records that `view` is nullified, merging it with the runs beside it.
    pub(crate) fn insert(&mut self, view: View) {
        if self.run_containing(view).is_some() {
            return;
        }
        let mut start = view;
        let mut end = view;
        if let Some((&s, &e)) = self.runs.range(..view).next_back()
            && e.next() == view
        {
            start = s;
        }
        if let Some(&e) = self.runs.get(&view.next()) {
            self.runs.remove(&view.next());
            end = e;
        }
        self.runs.insert(start, end);
    }

    /// The run holding `view`, if it is nullified.
    pub(crate) fn run_containing(&self, view: View) -> Option<(View, View)> {
        let (&start, &end) = self.runs.range(..=view).next_back()?;
        (end >= view).then_some((start, end))
    }

    /// The lowest view of `[from, to]` that is not nullified (`None`: all are, or it is empty).
    pub(crate) fn first_missing(&self, from: View, to: View) -> Option<View> {
        if from > to {
            return None;
        }
        let first = match self.run_containing(from) {
            Some((_, end)) => end.next(),
            None => from,
        };
        (first <= to).then_some(first)
    }

    /// Forgets every view at or below `view` (settled by finality).
    pub(crate) fn prune_through(&mut self, view: View) {
        let keep = self.runs.split_off(&view.next());
        if let Some((_, &end)) = self.runs.iter().next_back()
            && end > view
        {
            let mut keep = keep;
            keep.insert(view.next(), end);
            self.runs = keep;
            return;
        }
        self.runs = keep;
    }

    /// Number of runs held (for memory figures).
    pub(crate) fn len(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_and_answer_gaps() {
        // Proves inserts in any order merge into maximal runs and gap queries see holes.
        let mut runs = NullifiedRuns::default();
        for v in [5, 3, 4, 9, 7, 8] {
            runs.insert(View(v));
        }
        assert_eq!(runs.len(), 2);
        assert_eq!(runs.run_containing(View(4)), Some((View(3), View(5))));
        assert_eq!(runs.first_missing(View(3), View(9)), Some(View(6)));
        runs.insert(View(6));
        assert_eq!(runs.first_missing(View(3), View(9)), None);
        assert_eq!(runs.first_missing(View(3), View(10)), Some(View(10)));
        runs.prune_through(View(4));
        assert_eq!(runs.run_containing(View(5)), Some((View(5), View(9))));
        assert_eq!(runs.run_containing(View(4)), None);
    }
}
