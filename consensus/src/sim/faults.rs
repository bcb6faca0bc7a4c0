//! Drawing a run's faults from its seed: loss, duplication, corruption, partitions, crashes
//! and the scenario's windows.

use super::{Event, Mix, Partition, Sim};

impl Sim {
    pub(super) fn draw_faults(&mut self) {
        let mix = self.scenario.mix;
        let fault_ms = self.scenario.fault_ms;
        let n = self.scenario.n;
        let lossy = matches!(mix, Mix::Lossy | Mix::Chaos);
        if lossy {
            self.loss_permille = self.rng.range(0, 300);
            self.dup_permille = self.rng.range(0, 200);
            self.corrupt_permille = self.rng.range(0, 10);
        } else if mix != Mix::Clean {
            self.loss_permille = self.rng.range(0, 20);
            self.dup_permille = self.rng.range(0, 20);
        }
        let partitions = match mix {
            Mix::PartitionSymmetric | Mix::PartitionAsymmetric => self.rng.range(1, 2),
            Mix::Chaos => 1,
            _ => 0,
        };
        for _ in 0..partitions {
            let start = self.rng.range(100, fault_ms / 2);
            let end = self.rng.range(start + 200, fault_ms - 100);
            let side = (0..n).map(|_| self.rng.chance(500)).collect();
            let symmetric = match mix {
                Mix::PartitionSymmetric => true,
                Mix::PartitionAsymmetric => false,
                _ => self.rng.chance(500),
            };
            self.partitions.push(Partition { start, end, side, symmetric });
        }
        if let Some((start, end)) = self.scenario.halves_partition_ms {
            self.partitions.push(Partition {
                start,
                end,
                side: (0..n).map(|i| i < n / 2).collect(),
                symmetric: true,
            });
        }
        let crashes = match mix {
            Mix::Crash | Mix::InvalidProposer => self.rng.range(1, 4),
            Mix::CrashStorm => self.rng.range(20, 40),
            Mix::Chaos => self.rng.range(0, 2),
            _ => 0,
        };
        let crashes = self.scenario.crash_count.unwrap_or(crashes);
        for _ in 0..crashes {
            let slot = self.rng.below(self.nodes.len() as u64) as usize;
            let at = self.rng.range(100, fault_ms - 600);
            let down = self.rng.range(50, 500);
            self.push(at, Event::Crash { slot });
            self.push(at + down, Event::Restart { slot });
        }
        if let Some(outage) = self.scenario.outage {
            self.push(outage.start_ms, Event::Crash { slot: outage.slot });
            self.push(outage.end_ms, Event::Restart { slot: outage.slot });
        }
        if let Some(eclipse) = self.scenario.eclipse {
            self.push(eclipse.end_ms, Event::EclipseEnd { slot: eclipse.slot });
        }
        self.push(fault_ms, Event::Heal);
    }
}
