//! Fault mixes and scenarios: what one seed runs.

use crate::core::{Canary, Timeouts};

/// A family of faults; each seed draws its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mix {
    /// No faults.
    Clean,
    /// Up to 30% loss, duplication, corruption, reordering by jitter.
    Lossy,
    /// Symmetric partitions that heal.
    PartitionSymmetric,
    /// One-way partitions that heal.
    PartitionAsymmetric,
    /// Crashes and restarts from the journal, with torn, holed and lost unsynced writes.
    Crash,
    /// Many crashes (20 to 40), often several nodes down at once: every node may lose its
    /// memory of a view, so only journaled state carries the chain forward.
    CrashStorm,
    /// Up to f equivocating leaders.
    Equivocator,
    /// Up to f conflicting voters.
    Conflicter,
    /// Up to f nodes that nullify and finalize one view.
    NullifyFinalize,
    /// Up to f nodes with bad signatures.
    BadSignature,
    /// Up to f silent nodes.
    Silent,
    /// One validator run twice with one key, recipients split.
    Twins,
    /// Loss, a partition, crashes and one byzantine node together.
    Chaos,
    /// Up to f leaders that break the validity rule (wrong parent, a skipped view that was not
    /// nullified, wrong height, oversized payload), plus crashes.
    InvalidProposer,
    /// Up to f leaders that withhold their block from one node per view, and never serve
    /// blocks, plus loss and a window in which the application refuses payloads.
    Withholder,
    /// Long: one node down while more than [`crate::core::FINALIZE_BLOCKS_PER_TURN_MAX`] blocks
    /// are finalized (past every per-turn, kept-blocks and views-ahead limit), crashes of the
    /// others between a journal sync and the application's store.
    LongOutage,
    /// Long: the application refuses every payload for more than
    /// [`crate::core::PARENT_GAP_MAX`] views, then the network is slower than the timeouts for
    /// a while, with one node down across the stall and crashes.
    LongStall,
    /// Long: an eclipse. One node is cut off from every honest peer for longer than
    /// [`crate::core::WANTS_MAX`] views; the only peer it hears is a withholding leader, which
    /// relays certificates (so the node keeps entering views and asking for what they need) but
    /// never serves a block. Its fetches go unanswered until the eclipse ends, then it must
    /// catch up: outstanding fetches have to expire, or it never gets a slot for what finality
    /// needs (issue 8, defect 4).
    LongEclipse,
}

impl Mix {
    /// The short mixes, in the order the default seeds cycle through them.
    pub const ALL: [Mix; 15] = [
        Mix::Clean,
        Mix::Lossy,
        Mix::PartitionSymmetric,
        Mix::PartitionAsymmetric,
        Mix::Crash,
        Mix::CrashStorm,
        Mix::Equivocator,
        Mix::Conflicter,
        Mix::NullifyFinalize,
        Mix::BadSignature,
        Mix::Silent,
        Mix::Twins,
        Mix::Chaos,
        Mix::InvalidProposer,
        Mix::Withholder,
    ];

    /// The long mixes (thousands of views), run by their own seeds.
    pub const LONG: [Mix; 3] = [Mix::LongOutage, Mix::LongStall, Mix::LongEclipse];
}

/// A node kept down over a window of virtual time.
#[derive(Clone, Copy, Debug)]
pub struct Outage {
    /// Which node (slot).
    pub slot: usize,
    /// Down from (ms).
    pub start_ms: u64,
    /// Up again at (ms).
    pub end_ms: u64,
}

/// Seeds of the long scenarios start here (so they never collide with short ones).
pub const LONG_SEEDS_BASE: u64 = 1 << 32;

/// One simulated run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The seed of every random choice.
    pub seed: u64,
    /// Validators.
    pub n: usize,
    /// Fault family.
    pub mix: Mix,
    /// Faults stop at this virtual time (ms).
    pub fault_ms: u64,
    /// The run ends at this virtual time (ms).
    pub run_ms: u64,
    /// Link latency bounds (ms); each directed link draws a base in this range.
    pub latency_ms: (u64, u64),
    /// Extra jitter per message, up to this (ms).
    pub jitter_ms_max: u64,
    /// Core timeouts.
    pub timeouts: Timeouts,
    /// Test-only broken rule for honest nodes.
    pub canary: Canary,
    /// A symmetric partition of the first ⌊n/2⌋ validators from the rest over this time window
    /// (start, end), in addition to the mix's faults (used to measure recovery after a heal).
    pub halves_partition_ms: Option<(u64, u64)>,
    /// Overrides the number of crash-and-restart events the mix draws.
    pub crash_count: Option<u64>,
    /// The application refuses every payload over this window (start, end).
    pub refuse_ms: Option<(u64, u64)>,
    /// Every message sent over this window (start, end) takes this much longer (ms): timeouts
    /// shorter than the network delay.
    pub slow_ms: Option<(u64, u64, u64)>,
    /// A node kept down over a window.
    pub outage: Option<Outage>,
    /// A node cut off from every honest peer over a window (byzantine peers still reach it).
    pub eclipse: Option<Outage>,
}

impl Scenario {
    /// The standard scenario of a seed: n alternates 4 / 7, mixes cycle through [`Mix::ALL`];
    /// seeds from [`LONG_SEEDS_BASE`] on are long scenarios ([`Scenario::long`]).
    pub fn from_seed(seed: u64) -> Scenario {
        if seed >= LONG_SEEDS_BASE {
            return Scenario::long(seed);
        }
        let n = if seed.is_multiple_of(2) { 4 } else { 7 };
        let mix = Mix::ALL[((seed / 2) % Mix::ALL.len() as u64) as usize];
        Scenario::new(seed, n, mix)
    }

    /// A scenario with the default timing.
    pub fn new(seed: u64, n: usize, mix: Mix) -> Scenario {
        let mut scenario = Scenario {
            seed,
            n,
            mix,
            fault_ms: 1_500,
            run_ms: 3_000,
            latency_ms: (5, 40),
            jitter_ms_max: 20,
            timeouts: Timeouts {
                leader_ms: 250,
                advance_ms: 400,
                retry_ms: 250,
                fetch_retry_ms: 200,
            },
            canary: Canary::None,
            halves_partition_ms: None,
            crash_count: None,
            refuse_ms: None,
            slow_ms: None,
            outage: None,
            eclipse: None,
        };
        if mix == Mix::Withholder {
            scenario.refuse_ms = Some((300, 700));
        }
        if Mix::LONG.contains(&mix) {
            scenario.make_long();
        }
        scenario
    }

    /// The long scenario of a seed at or above [`LONG_SEEDS_BASE`]: n = 4, mixes cycle.
    pub fn long(seed: u64) -> Scenario {
        let offset = seed.saturating_sub(LONG_SEEDS_BASE);
        let mix = Mix::LONG[(offset % Mix::LONG.len() as u64) as usize];
        Scenario::new(seed, 4, mix)
    }

    /// Fast links and timeouts, so thousands of views fit in a few seconds of CPU; the windows
    /// of the long mixes.
    fn make_long(&mut self) {
        self.latency_ms = (1, 3);
        self.jitter_ms_max = 1;
        self.timeouts =
            Timeouts { leader_ms: 25, advance_ms: 40, retry_ms: 25, fetch_retry_ms: 20 };
        self.crash_count = Some(4);
        match self.mix {
            Mix::LongOutage => {
                self.fault_ms = 22_000;
                self.run_ms = 25_000;
                self.outage = Some(Outage { slot: 0, start_ms: 200, end_ms: 21_000 });
            }
            Mix::LongEclipse => {
                self.crash_count = Some(0);
                self.fault_ms = 14_000;
                self.run_ms = 17_000;
                self.eclipse = Some(Outage { slot: 0, start_ms: 200, end_ms: 13_500 });
            }
            _ => {
                // Messages slower than every timeout, then a few ms per refused view: well over
                // 1,024 nullified views in a row. (A node down during the refusal would slow
                // each view to the leader's backed-off advance timeout: the leader notarized its
                // own block, so the nullify quorum needs every other node.)
                self.slow_ms = Some((300, 2_300, 100));
                self.refuse_ms = Some((2_500, 18_000));
                self.crash_count = Some(2);
                self.fault_ms = 18_500;
                self.run_ms = 21_500;
            }
        }
    }
}
