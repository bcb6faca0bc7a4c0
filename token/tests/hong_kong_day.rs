//! One day in Hong Kong: 55 swap stations, 900 batteries in 3 pools leased to 3 taxi fleets, 360
//! taxis, 20 investors trading pool shares for HKD, 11,000 settled swaps over 24 hours of block
//! time, hourly rent, and investors claiming their revenue at random times.
//!
//! A deterministic driver (splitmix64, fixed seed) plays the day. It keeps its own picture of
//! every battery (which slot or taxi holds it, and when it is charged again), so each swap takes
//! a charged battery of the taxi's own pool that really sits in that station's slot. Stations
//! upload in batches: each block covers ten minutes of the day (144 blocks), with rush hours
//! carrying up to about 200 attestations. About one attestation in fifty is deliberately bad
//! (wrong custody, a duplicate, a conflicting one for a used counter, a fee above the lease's
//! tariff) and must come out disputed or failed exactly as predicted.
//!
//! Every set-up call is signed by the party whose asset or consent it uses: the operator owns
//! the batteries and names the issuer its delegate so the issuer can pool them; the issuer, the
//! pools' lessor, opens each lease with its fleet's signed offer; each fleet registers its own
//! taxis; batteries go into taxis only once their pool is leased to the taxi's fleet.
//!
//! At the end: `invariants::check` passes (it also runs every two hours of the day); per station
//! the counter, swaps, disputes, fees and operator cut equal the driver's counts; Σ station fees
//! = Σ settled fees; per pool, revenue deposited = Σ (fee − operator cut) of its swaps + rent,
//! and claimed + Σ claimable + remainder = deposited exactly; the fleets, the operator and the
//! investors hold exactly the HKD the driver accounts for; and 11,000 swaps settled.

// The summary line reports wall time: `Instant::now` is banned in the pure crates' code, not in
// their tests.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;
use volt_proto::sig::Keypair;
use volt_proto::{
    Amount, Asset, Attestation, BatteryReading, Call, Custody, ErrorCode, Height, LeaseTerms, Leg,
    Signature, SignedTx, SwapAttestation, Symbol, Timestamp, TradeTerms, TxOutcome,
};
use volt_token::invariants;
use volt_token::keys::{Battery, Holding, Key, Lease, ShareClass, Station};
use volt_token::revenue::claimable;
use volt_token::testkit::Rng;
use volt_token::testkit::{GENESIS_TIME, World, account, hkd, key, passport, serial, sym, text};

const STATIONS: usize = 55;
const SLOTS: u16 = 12;
const POOLS: [&str; 3] = ["HK-POOL-KLN", "HK-POOL-HKI", "HK-POOL-NT"];
const FLEETS: [&str; 3] = ["fleet-kowloon", "fleet-island", "fleet-nt"];
const BATTERIES_PER_POOL: usize = 300;
const TAXIS_PER_FLEET: usize = 120;
const INVESTORS: usize = 20;
/// Settled swaps the day must reach.
const SWAPS: u64 = 11_000;
const BLOCK_MS: u64 = 10 * 60 * 1_000;
const BLOCKS: usize = 144;
/// A returned battery is full again this long after it enters a slot.
const CHARGE_MS: u64 = 30 * 60 * 1_000;
/// Hourly taxi demand, relative (00:00 to 23:00): quiet before dawn, peaks at the shift
/// changes around 08:00 and 18:00.
const DEMAND: [u64; 24] =
    [5, 4, 3, 2, 2, 3, 5, 8, 10, 9, 7, 7, 8, 7, 7, 8, 9, 10, 10, 9, 8, 7, 6, 6];
const SHARES_PER_POOL: u128 = 1_000_000;
/// HK$10 million each, in cents.
const INVESTOR_HKD: u128 = 1_000_000_000;
const FLEET_HKD: u128 = 1_000_000_000;
/// HK$500 an hour per pool.
const RENT_PER_HOUR: u128 = 50_000;
/// The fleets' tariff: at most HK$100 a swap plus HK$10 a kWh. Every fee the stations charge
/// (HK$150 to HK$400 for 35 kWh or more) is within it.
const FEE_PER_SWAP_MAX: u128 = 10_000;
const FEE_PER_KWH_MAX: u128 = 1_000;
const DEPOSIT: u128 = 10_000_000;
const HOUR_MS: u64 = 3_600_000;
const RELAY: &str = "station";
const CHECK_EVERY_BLOCKS: usize = 12;

fn station_id(s: usize) -> Symbol {
    sym(&format!("HK{:02}", s + 1))
}

fn battery_serial(b: usize) -> String {
    format!("CATL-20-{}-{:04}", b / BATTERIES_PER_POOL, b % BATTERIES_PER_POOL)
}

fn taxi_id(v: usize) -> Symbol {
    sym(&format!("TX{v:04}"))
}

fn investor(i: usize) -> String {
    format!("investor{i:02}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Slot(usize, u16),
    Taxi(usize),
}

#[derive(Clone, Debug)]
struct BatteryState {
    pool: usize,
    place: Place,
    charged_at: u64,
    soh_permille: u16,
    cycles: u32,
}

/// What the driver counted per station.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Counts {
    counter: u64,
    swaps: u64,
    disputed: u64,
    fees: u128,
    cut: u128,
}

/// What a planned attestation should do to the driver's counts once it settles.
#[derive(Clone, Debug)]
enum Plan {
    Swap { station: usize, taxi: usize, into: usize, fee: u128 },
    Disputed { station: usize },
    Refused,
}

struct Day {
    w: World,
    rng: Rng,
    controllers: Vec<Keypair>,
    cut_bps: Vec<u16>,
    batteries: Vec<BatteryState>,
    slots: Vec<Vec<Option<usize>>>,
    taxis: Vec<(usize, usize)>,
    counts: Vec<Counts>,
    revenue: [u128; 3],
    fleet_paid: [u128; 3],
    leases: Vec<volt_proto::Hash>,
    recorded: Vec<(Attestation, Signature)>,
    conflicts: u64,
    salt: u64,
    disputed_seen: u64,
    failed_seen: u64,
    over_tariff: u64,
    trades: [u64; 2],
    claims: [u64; 2],
}

impl Day {
    fn new() -> Day {
        let mut names: Vec<String> = (0..INVESTORS).map(investor).collect();
        names.extend(FLEETS.iter().map(|f| f.to_string()));
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut rng = Rng(0x484b_2026);
        let controllers =
            (0..STATIONS).map(|s| key(&format!("controller/{}", station_id(s)))).collect();
        let cut_bps = (0..STATIONS).map(|_| 1_000 + 250 * rng.below(7) as u16).collect();
        Day {
            w: World::new(&refs),
            rng,
            controllers,
            cut_bps,
            batteries: Vec::new(),
            slots: vec![vec![None; usize::from(SLOTS)]; STATIONS],
            taxis: Vec::new(),
            counts: vec![Counts::default(); STATIONS],
            revenue: [0; 3],
            fleet_paid: [0; 3],
            leases: Vec::new(),
            recorded: Vec::new(),
            conflicts: 0,
            salt: 0,
            disputed_seen: 0,
            failed_seen: 0,
            over_tariff: 0,
            trades: [0; 2],
            claims: [0; 2],
        }
    }

    fn setup_block(&mut self, calls: Vec<(String, Call)>) {
        let txs: Vec<SignedTx> = calls.into_iter().map(|(name, c)| self.w.tx(&name, c)).collect();
        let result = self.w.block(&txs);
        for (i, receipt) in result.receipts.iter().enumerate() {
            assert_eq!(receipt.outcome, TxOutcome::Applied, "set-up tx {i}: {:?}", txs[i].body);
        }
    }

    /// Stations, batteries, pools, shares, taxis, cash, placement and leases, before 01:00.
    fn set_up(&mut self) {
        // The operator lets the issuer put its batteries into the pools' classes.
        let delegate = Call::SetDelegate { delegate: account("issuer"), allowed: true };
        self.setup_block(vec![("operator".to_string(), delegate)]);
        let op = || "operator".to_string();
        let mut calls = Vec::new();
        for s in 0..STATIONS {
            calls.push((
                op(),
                Call::RegisterStation {
                    station: station_id(s),
                    controller: self.controllers[s].account(),
                    location: text(&format!("Hong Kong swap station {}", s + 1)),
                    slots: SLOTS,
                    operator_cut_bps: self.cut_bps[s],
                },
            ));
        }
        for b in 0..POOLS.len() * BATTERIES_PER_POOL {
            let name = battery_serial(b);
            let warehouse = sym("TSING-YI");
            calls.push((
                op(),
                Call::RegisterBattery {
                    serial: serial(&name),
                    passport: passport(&name),
                    warehouse,
                },
            ));
        }
        self.setup_block(calls);

        let mut calls = Vec::new();
        for (p, pool) in POOLS.iter().enumerate() {
            let range = p * BATTERIES_PER_POOL..(p + 1) * BATTERIES_PER_POOL;
            calls.push((
                "issuer".to_string(),
                Call::CreateBatteryClass {
                    class: sym(pool),
                    name: text(&format!("Battery pool {pool}")),
                    supply_max: Amount(SHARES_PER_POOL),
                    batteries: range.map(|b| serial(&battery_serial(b))).collect(),
                    revenue_currency: sym("HKD"),
                },
            ));
            // The whole supply, in uneven lots.
            let mut left = SHARES_PER_POOL;
            for i in 0..INVESTORS {
                let lot = if i + 1 == INVESTORS {
                    left
                } else {
                    (left / 4).min(10_000 + self.rng.below(80_000) as u128)
                };
                left -= lot;
                let call = Call::IssueShares {
                    class: sym(pool),
                    to: account(&investor(i)),
                    amount: Amount(lot),
                };
                calls.push(("issuer".to_string(), call));
            }
        }
        for (f, fleet) in FLEETS.iter().enumerate() {
            for _ in 0..TAXIS_PER_FLEET {
                let v = self.taxis.len();
                // Each fleet registers its own taxis: it is the one that pays for their swaps.
                calls.push((fleet.to_string(), Call::RegisterVehicle { vehicle: taxi_id(v) }));
                self.taxis.push((f, usize::MAX));
            }
        }
        let funds = (0..INVESTORS)
            .map(|i| (investor(i), INVESTOR_HKD))
            .chain(FLEETS.iter().map(|f| (f.to_string(), FLEET_HKD)));
        for (name, amount) in funds {
            let call =
                Call::Mint { currency: sym("HKD"), to: account(&name), amount: Amount(amount) };
            calls.push(("issuer".to_string(), call));
        }
        self.setup_block(calls);
        let into_taxis = self.place();
        self.open_leases();
        self.setup_block(into_taxis);
    }

    /// Each taxi carries one battery of its fleet's pool; the rest are spread over the station
    /// slots, fully charged. Moves the station batteries now and returns the moves into taxis,
    /// which wait for the leases.
    fn place(&mut self) -> Vec<(String, Call)> {
        let mut calls = Vec::new();
        let mut into_taxis = Vec::new();
        let mut next_slot = 0usize;
        for b in 0..POOLS.len() * BATTERIES_PER_POOL {
            let pool = b / BATTERIES_PER_POOL;
            let taxi =
                (self.taxis.iter()).position(|(f, battery)| *f == pool && *battery == usize::MAX);
            let place = match taxi {
                Some(v) => {
                    self.taxis[v].1 = b;
                    Place::Taxi(v)
                }
                None => {
                    // Round-robin over stations, so every station stocks every pool.
                    let (s, slot) = (next_slot % STATIONS, (next_slot / STATIONS) as u16);
                    next_slot += 1;
                    self.slots[s][usize::from(slot)] = Some(b);
                    Place::Slot(s, slot)
                }
            };
            let to = custody(place);
            let call = Call::MoveCustody { serial: serial(&battery_serial(b)), to };
            match place {
                Place::Taxi(_) => into_taxis.push(("operator".to_string(), call)),
                Place::Slot(..) => calls.push(("operator".to_string(), call)),
            }
            self.batteries.push(BatteryState {
                pool,
                place,
                charged_at: 0,
                soh_permille: 1_000,
                cycles: 0,
            });
        }
        self.setup_block(calls);
        into_taxis
    }

    /// The issuer, lessor of every pool, opens each pool's lease with its fleet's offer.
    fn open_leases(&mut self) {
        let mut calls = Vec::new();
        for (p, fleet) in FLEETS.iter().enumerate() {
            let terms = LeaseTerms {
                class: sym(POOLS[p]),
                lessor: account("issuer"),
                lessee: account(fleet),
                offer_expiry: Timestamp(GENESIS_TIME.0 + HOUR_MS),
                fee_per_swap_max: Amount(FEE_PER_SWAP_MAX),
                fee_per_kwh_max: Amount(FEE_PER_KWH_MAX),
                rent_per_period: Amount(RENT_PER_HOUR),
                period_ms: HOUR_MS,
                periods: 30,
                deposit: Amount(DEPOSIT),
                grace_ms: 2 * HOUR_MS,
                extension_periods_max: 0,
                notice_periods: 1,
                salt: 2026,
            };
            self.leases.push(terms.id());
            let lessee_signature = self.w.lessee_signs(fleet, &terms);
            calls.push(("issuer".to_string(), Call::OpenLease { terms, lessee_signature }));
        }
        self.setup_block(calls);
        self.fleet_paid = [DEPOSIT; 3];
    }

    fn sign(&self, s: usize, attestation: &Attestation) -> Signature {
        self.controllers[s].sign_raw(&attestation.signing_message(&self.w.chain_id))
    }

    fn reading(&mut self, b: usize, soc_permille: u16) -> BatteryReading {
        let battery = &self.batteries[b];
        BatteryReading {
            serial: serial(&battery_serial(b)),
            soc_permille,
            soh_permille: battery.soh_permille,
            cycles: battery.cycles,
        }
    }

    fn swap_attestation(
        &mut self,
        s: usize,
        taxi: usize,
        out: usize,
        into: usize,
        now: u64,
    ) -> SwapAttestation {
        let soc_out = 80 + self.rng.below(200) as u16;
        let soc_in = 950 + self.rng.below(51) as u16;
        SwapAttestation {
            station: station_id(s),
            counter: self.counts[s].counter + 1,
            station_time: Timestamp(now - self.rng.below(500_000) as u64),
            vehicle: taxi_id(taxi),
            battery_out: self.reading(out, soc_out),
            battery_in: self.reading(into, soc_in),
            energy_wh: 52 * u64::from(1_000 - soc_out) - self.rng.below(2_000) as u64,
            // HK$150 to HK$400.
            fee: Amount(15_000 + 5 * self.rng.below(5_000) as u128),
            currency: sym("HKD"),
        }
    }

    /// A good swap: a taxi that has not swapped in this block, at a station holding a charged
    /// battery of its pool. `None` if this draw found none.
    fn good_swap(&mut self, now: u64, busy: &mut [bool]) -> Option<(Attestation, Plan)> {
        let taxi = self.rng.below(self.taxis.len());
        if busy[taxi] {
            return None;
        }
        let (pool, out) = self.taxis[taxi];
        let s = self.rng.below(STATIONS);
        let ready: Vec<(u16, usize)> = (self.slots[s].iter().enumerate())
            .filter_map(|(slot, b)| b.map(|b| (slot as u16, b)))
            .filter(|(_, b)| {
                self.batteries[*b].pool == pool && self.batteries[*b].charged_at <= now
            })
            .collect();
        if ready.is_empty() {
            return None;
        }
        let (slot, into) = ready[self.rng.below(ready.len())];
        busy[taxi] = true;
        // The returned battery aged by one cycle, and now and then loses a little health.
        let aged = &mut self.batteries[out];
        aged.cycles += 1;
        if self.rng.below(10) == 0 {
            aged.soh_permille -= 1;
        }
        let att = self.swap_attestation(s, taxi, out, into, now);
        let fee = att.fee.0;
        // The driver's picture moves at once, so later swaps in the block see it.
        self.slots[s][usize::from(slot)] = Some(out);
        self.batteries[out].place = Place::Slot(s, slot);
        self.batteries[out].charged_at = now + CHARGE_MS;
        self.batteries[into].place = Place::Taxi(taxi);
        self.taxis[taxi].1 = into;
        self.counts[s].counter += 1;
        Some((Attestation::Swap(att), Plan::Swap { station: s, taxi, into, fee }))
    }

    /// A deliberately bad attestation: wrong custody, a duplicate, a conflicting one, or a fee
    /// above the tariff the fleet agreed to.
    fn bad_swap(&mut self, now: u64) -> Option<(Attestation, Plan, TxOutcome)> {
        match self.rng.below(4) {
            0 => {
                // The battery named as going in sits at another station.
                let s = self.rng.below(STATIONS);
                let taxi = self.rng.below(self.taxis.len());
                let (pool, out) = self.taxis[taxi];
                let into = (self.batteries.iter().enumerate()).position(|(_, b)| {
                    b.pool == pool && matches!(b.place, Place::Slot(at, _) if at != s)
                })?;
                let att = self.swap_attestation(s, taxi, out, into, now);
                self.counts[s].counter += 1;
                let outcome = TxOutcome::Disputed(ErrorCode::WrongCustody);
                Some((Attestation::Swap(att), Plan::Disputed { station: s }, outcome))
            }
            1 => {
                let (att, _) = self.recorded.get(self.rng.below(self.recorded.len()))?.clone();
                let outcome = TxOutcome::Failed(ErrorCode::DuplicateAttestation);
                Some((att, Plan::Refused, outcome))
            }
            2 => {
                // A swap the ledger would settle, but for a fee a little above the tariff: the
                // station's counter advances, nothing else moves.
                let s = self.rng.below(STATIONS);
                let taxi = self.rng.below(self.taxis.len());
                let (pool, out) = self.taxis[taxi];
                let into = self.slots[s]
                    .iter()
                    .flatten()
                    .copied()
                    .find(|b| self.batteries[*b].pool == pool)?;
                let mut att = self.swap_attestation(s, taxi, out, into, now);
                let tariff = FEE_PER_SWAP_MAX + FEE_PER_KWH_MAX * u128::from(att.energy_wh) / 1_000;
                att.fee = Amount(tariff + 1 + self.rng.below(1_000) as u128);
                self.counts[s].counter += 1;
                let outcome = TxOutcome::Disputed(ErrorCode::FeeAboveTariff);
                Some((Attestation::Swap(att), Plan::Disputed { station: s }, outcome))
            }
            _ => {
                let (att, _) = self.recorded.get(self.rng.below(self.recorded.len()))?.clone();
                let Attestation::Swap(mut swap) = att else { return None };
                // A different record for a used counter: evidence of a cloned controller.
                self.conflicts += 1;
                swap.energy_wh += self.conflicts;
                let outcome = TxOutcome::Disputed(ErrorCode::AttestationConflict);
                Some((Attestation::Swap(swap), Plan::Refused, outcome))
            }
        }
    }

    /// Investors trade shares for HKD, between two and six times a block.
    fn trades(&mut self, txs: &mut Vec<(SignedTx, Expected)>) {
        for _ in 0..2 + self.rng.below(5) {
            let maker = self.rng.below(INVESTORS);
            let taker = (maker + 1 + self.rng.below(INVESTORS - 1)) % INVESTORS;
            let pool = self.rng.below(POOLS.len());
            let shares = Asset::Shares(sym(POOLS[pool]));
            let held = self.w.balance(&shares, &investor(maker)).0;
            if held == 0 {
                continue;
            }
            let amount = 1 + self.rng.below((held / 10).max(1) as usize) as u128;
            // Around HK$1.00 to HK$1.50 a share.
            let price = amount * (100 + self.rng.below(51) as u128);
            self.salt += 1;
            let terms = TradeTerms {
                maker: account(&investor(maker)),
                taker: account(&investor(taker)),
                maker_gives: Leg { asset: shares, amount: Amount(amount) },
                taker_gives: Leg { asset: hkd(), amount: Amount(price) },
                expiry_height: Height(self.w.next.height.0 + 2),
                salt: self.salt,
            };
            let counterparty_signature =
                key(&investor(maker)).sign_raw(&terms.signing_message(&self.w.chain_id));
            let tx = self.w.tx(&investor(taker), Call::Trade { terms, counterparty_signature });
            txs.push((tx, Expected::Trade));
        }
    }

    /// Investors claim at random: on average one claim every two blocks per five investors.
    fn claims(&mut self, txs: &mut Vec<(SignedTx, Expected)>) {
        for i in 0..INVESTORS {
            if self.rng.below(10) == 0 {
                let class = sym(POOLS[self.rng.below(POOLS.len())]);
                let tx = self.w.tx(&investor(i), Call::ClaimRevenue { class });
                txs.push((tx, Expected::Claim));
            }
        }
    }

    /// One ten-minute block of the day; returns the swaps it should settle.
    fn play_block(&mut self, index: usize, quota: u64) -> u64 {
        let now = self.w.next.time.0;
        let mut txs: Vec<(SignedTx, Expected)> = Vec::new();
        if index.is_multiple_of(6) {
            for (p, fleet) in FLEETS.iter().enumerate() {
                let tx = self.w.tx(fleet, Call::PayRent { lease: self.leases[p], periods: 1 });
                txs.push((tx, Expected::Rent(p)));
            }
        }
        let mut busy = vec![false; self.taxis.len()];
        let mut planned = 0;
        let mut tries = 0;
        while planned < quota && tries < quota * 20 {
            tries += 1;
            if self.rng.below(50) == 0 {
                if let Some((att, plan, outcome)) = self.bad_swap(now) {
                    let s = station_index(att.station());
                    let signature = self.sign(s, &att);
                    let call = Call::SubmitAttestation { attestation: att, signature };
                    txs.push((self.w.tx(RELAY, call), Expected::Attestation(plan, outcome)));
                }
                continue;
            }
            let Some((att, plan)) = self.good_swap(now, &mut busy) else { continue };
            let s = station_index(att.station());
            let signature = self.sign(s, &att);
            let call = Call::SubmitAttestation { attestation: att, signature };
            txs.push((self.w.tx(RELAY, call), Expected::Attestation(plan, TxOutcome::Applied)));
            planned += 1;
        }
        self.trades(&mut txs);
        self.claims(&mut txs);
        self.apply(txs);
        planned
    }

    fn apply(&mut self, planned: Vec<(SignedTx, Expected)>) {
        let txs: Vec<SignedTx> = planned.iter().map(|(tx, _)| tx.clone()).collect();
        let result = self.w.block(&txs);
        for ((tx, expected), receipt) in planned.into_iter().zip(result.receipts) {
            let outcome = receipt.outcome;
            match expected {
                Expected::Attestation(plan, want) => {
                    assert_eq!(outcome, want, "{plan:?}");
                    if want == TxOutcome::Disputed(ErrorCode::FeeAboveTariff) {
                        self.over_tariff += 1;
                    }
                    self.count(&tx, plan, &outcome);
                }
                Expected::Rent(p) => {
                    assert_eq!(outcome, TxOutcome::Applied, "rent of pool {p}");
                    self.revenue[p] += RENT_PER_HOUR;
                    self.fleet_paid[p] += RENT_PER_HOUR;
                }
                Expected::Trade => {
                    let ok = matches!(outcome, TxOutcome::Applied | TxOutcome::Failed(_));
                    assert!(ok, "trade: {outcome:?}");
                    self.trades[usize::from(outcome != TxOutcome::Applied)] += 1;
                }
                Expected::Claim => {
                    let ok = outcome == TxOutcome::Applied
                        || outcome == TxOutcome::Failed(ErrorCode::NothingToClaim);
                    assert!(ok, "claim: {outcome:?}");
                    self.claims[usize::from(outcome != TxOutcome::Applied)] += 1;
                }
            }
        }
    }

    fn count(&mut self, tx: &SignedTx, plan: Plan, outcome: &TxOutcome) {
        let Call::SubmitAttestation { attestation, signature } = &tx.body.call else { return };
        match plan {
            Plan::Swap { station, taxi, into, fee } => {
                let cut = fee * u128::from(self.cut_bps[station]) / 10_000;
                let counts = &mut self.counts[station];
                counts.swaps += 1;
                counts.fees += fee;
                counts.cut += cut;
                self.revenue[self.batteries[into].pool] += fee - cut;
                self.fleet_paid[self.taxis[taxi].0] += fee;
                self.recorded.push((attestation.clone(), *signature));
            }
            Plan::Disputed { station } => {
                self.counts[station].disputed += 1;
                self.disputed_seen += 1;
                self.recorded.push((attestation.clone(), *signature));
            }
            Plan::Refused => match outcome {
                TxOutcome::Disputed(_) => self.disputed_seen += 1,
                _ => self.failed_seen += 1,
            },
        }
    }

    /// The day's end: every total the driver kept against the ledger.
    fn check_totals(&self) -> u128 {
        invariants::check(&self.w.state).unwrap_or_else(|v| panic!("invariant broken: {v}"));
        let mut fees = 0;
        for (s, counts) in self.counts.iter().enumerate() {
            let station: Station = self
                .w
                .state
                .record(&Key::Station(station_id(s)))
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("station {s}"));
            // Every fee was in HKD: no other currency has totals.
            assert!(station.totals.keys().all(|c| *c == sym("HKD")), "{:?}", station.totals);
            let hkd_totals = station.totals.get(&sym("HKD")).cloned().unwrap_or_default();
            let got = Counts {
                counter: station.counter,
                swaps: station.swaps,
                disputed: station.disputed,
                fees: hkd_totals.fees.0,
                cut: hkd_totals.operator_cut.0,
            };
            assert_eq!(&got, counts, "station {}", station_id(s));
            fees += hkd_totals.fees.0;
        }
        assert_eq!(fees, self.counts.iter().map(|c| c.fees).sum::<u128>());
        // Every battery is where the driver put it: in that slot or that taxi.
        for (b, battery) in self.batteries.iter().enumerate() {
            let record: Option<Battery> =
                self.w.state.record(&Key::Battery(serial(&battery_serial(b)))).ok().flatten();
            let held = record.map(|r| r.custody);
            assert_eq!(held, Some(custody(battery.place)), "custody of {}", battery_serial(b));
        }
        let cut: u128 = self.counts.iter().map(|c| c.cut).sum();
        assert_eq!(self.w.balance(&hkd(), "operator").0, cut, "the operator holds its cut");
        let mut claimed = 0;
        for (p, pool) in POOLS.iter().enumerate() {
            claimed += self.check_pool(p, pool);
            // Rent was paid hourly for the hour under way, so none of it waits in escrow.
            let lease: Lease = self
                .w
                .state
                .record(&Key::Lease(self.leases[p]))
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("lease of {pool}"));
            assert_eq!(
                (lease.periods_released, lease.rent_held),
                (lease.periods_paid, Amount::ZERO)
            );
            assert!(lease.periods_paid >= 24, "{pool}: {} periods paid", lease.periods_paid);
            let fleet = self.w.balance(&hkd(), FLEETS[p]).0;
            assert_eq!(fleet, FLEET_HKD - self.fleet_paid[p], "HKD of {}", FLEETS[p]);
        }
        // Trades move HKD between investors, so their HKD grew by exactly what they claimed.
        let investors: u128 = (0..INVESTORS).map(|i| self.w.balance(&hkd(), &investor(i)).0).sum();
        assert_eq!(investors, INVESTOR_HKD * INVESTORS as u128 + claimed);
        fees
    }

    /// Revenue of one pool: deposited = Σ (fee − cut) + rent; claimed + Σ claimable +
    /// remainder = deposited. Returns what was claimed.
    fn check_pool(&self, p: usize, pool: &str) -> u128 {
        let class: ShareClass =
            self.w.state.class(&sym(pool)).ok().flatten().unwrap_or_else(|| panic!("{pool}"));
        let revenue = class.revenue.unwrap_or_else(|| panic!("{pool} has revenue"));
        assert_eq!(revenue.deposited.0, self.revenue[p], "revenue deposited to {pool}");
        let mut owed = 0;
        for i in 0..INVESTORS {
            let key = Key::Balance(Asset::Shares(sym(pool)), account(&investor(i)));
            let holding: Option<Holding> = self.w.state.record(&key).ok().flatten();
            if let Some(holding) = holding {
                owed +=
                    claimable(&holding, revenue.per_share).unwrap_or_else(|e| panic!("{e:?}")).0;
            }
        }
        let remainder = revenue.deposited.0 - revenue.claimed.0 - owed;
        // Below one unit per holder, plus the carry (below one unit).
        assert!(remainder <= INVESTORS as u128, "{pool}: remainder {remainder}");
        assert_eq!(revenue.claimed.0 + owed + remainder, revenue.deposited.0);
        assert!(revenue.claimed.0 > 0, "{pool}: nobody claimed");
        revenue.claimed.0
    }
}

#[derive(Debug)]
enum Expected {
    Attestation(Plan, TxOutcome),
    Rent(usize),
    Trade,
    Claim,
}

fn custody(place: Place) -> Custody {
    match place {
        Place::Slot(s, slot) => Custody::Station { station: station_id(s), slot },
        Place::Taxi(v) => Custody::Vehicle(taxi_id(v)),
    }
}

fn station_index(id: &Symbol) -> usize {
    id.as_str()[2..].parse::<usize>().unwrap_or_else(|_| panic!("station {id}")) - 1
}

/// Swaps per block following the hourly demand, summing to exactly `SWAPS`.
fn quotas() -> Vec<u64> {
    let total: u64 = DEMAND.iter().sum::<u64>() * 6;
    let mut quotas: Vec<u64> = (0..BLOCKS).map(|i| SWAPS * DEMAND[i / 6] / total).collect();
    let short = SWAPS - quotas.iter().sum::<u64>();
    for q in quotas.iter_mut().take(short as usize) {
        *q += 1;
    }
    quotas
}

#[test]
fn one_day_in_hong_kong() {
    // Proves 11,000 swaps across 55 stations, with trading, rent and claims, keep every
    // invariant and add up per station, per pool and per account.
    let started = Instant::now();
    let mut day = Day::new();
    day.set_up();
    day.w.next.time = Timestamp(GENESIS_TIME.0 + HOUR_MS);
    let mut settled = 0;
    let mut carried = 0;
    let first_height = day.w.next.height.0;
    for (i, quota) in quotas().into_iter().enumerate() {
        day.w.next.time = Timestamp(GENESIS_TIME.0 + HOUR_MS + i as u64 * BLOCK_MS);
        let planned = day.play_block(i, quota + carried);
        carried = quota + carried - planned;
        settled += planned;
        if (i + 1).is_multiple_of(CHECK_EVERY_BLOCKS) {
            invariants::check(&day.w.state).unwrap_or_else(|v| panic!("block {i}: {v}"));
        }
    }
    assert_eq!(settled, SWAPS, "{carried} swaps found no charged battery");
    let fees = day.check_totals();
    let swaps: u64 = day.counts.iter().map(|c| c.swaps).sum();
    assert_eq!(swaps, SWAPS);
    assert!(day.disputed_seen > 50 && day.failed_seen > 20, "too few bad attestations");
    assert!(day.over_tariff > 10, "too few fees above the tariff: {}", day.over_tariff);
    assert!(day.trades[0] > 200 && day.claims[0] > 200, "too little trading or claiming");
    eprintln!(
        "one day in Hong Kong: {swaps} swaps settled, {} disputed ({} above the tariff), {} \
         failed, {} blocks, HK${}.{:02} of fees, {} trades, {} claims, {:.1} s",
        day.disputed_seen,
        day.over_tariff,
        day.failed_seen,
        day.w.next.height.0 - first_height,
        fees / 100,
        fees % 100,
        day.trades[0],
        day.claims[0],
        started.elapsed().as_secs_f64()
    );
}
