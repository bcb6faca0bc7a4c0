//! Property tests of the battery ledger: random interleavings of registrations, transfers,
//! trades, leases, swaps, energy events, deposits, issues and claims, including deliberately bad
//! ones (wrong counters, duplicates, conflicts, wrong custody, unleased batteries, fees above the
//! lease's tariff, payers short of funds, bad signatures, status moved backwards, early
//! defaults, early closes with rent outstanding, claims with nothing, another operator acting on
//! batteries it does not own, lapsed
//! lease offers, batteries loaded into vehicles outside a lease to their fleet).
//!
//! Whose is it: the operator owns the batteries and names the issuer its delegate (so the
//! issuer pools them, and either may move them or change their status); the issuer is the
//! lessor of its classes and names the operator its delegate (so the operator opens and
//! defaults leases); each fleet registers its own vehicles; a second operator owns nothing.
//!
//! After every block: `invariants::check` and `invariants::check_transition` (against the state
//! one block earlier) pass; every receipt matches the outcome the planner predicted (exactly
//! for attestations, leases, statuses, registrations, issues and the bad calls; "anything" only
//! for investor transfers, trades and claims, whose amounts are random); an independent model,
//! updated only from receipts, holds exactly the ledger's custody of every battery, each
//! station's counter, swaps, disputes, fees and operator cut, each lease's periods paid and
//! released and the rent and deposit it holds in escrow (rent paid ahead reaches the class only
//! as each period starts), and each pool's revenue deposited, shares issued and revenue held
//! for unissued shares (released pro rata at issuance); HKD and shares add up to what was
//! minted and issued; and revenue deposited = claimed + Σ claimable + carried remainder,
//! exactly, in integer and in scaled units.
//!
//! A second test runs two worlds with the same swaps and deposits, where in one the other
//! holders claim and trade shares among themselves in every block and in the other they never
//! do, and proves a fixed holder's claimable revenue is the same in both after every block.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use volt_proto::{
    Amount, Asset, Attestation, BatteryStatus, Call, Custody, EnergyAttestation, ErrorCode, Hash,
    Height, LeaseTerms, Leg, Role, Signature, SignedTx, SwapAttestation, Symbol, Timestamp,
    TradeTerms, TxOutcome,
};
use volt_token::keys::{Battery, Holding, Key, Lease, LeaseStatus, ShareClass, Station};
use volt_token::revenue::{SCALE_BITS, claimable};
use volt_token::testkit::Rng;
use volt_token::testkit::{World, account, genesis, hkd, key, passport, serial, swap, sym, text};
use volt_token::{State, invariants};

// ----- the cast -----

const INVESTORS: [&str; 4] = ["inv0", "inv1", "inv2", "inv3"];
const FLEETS: [&str; 2] = ["fleet0", "fleet1"];
/// Relays every attestation (any member may; the station's controller key signs the content).
const RELAY: &str = "station";
const STATIONS: usize = 4;
const SLOTS: u16 = 4;
/// Leasable pools: pool `p` is leased to `FLEETS[p]`. Pool 2 (`PC`) is never leased. Pool 3
/// (`PD`, one battery in the warehouse) starts with no shares issued: revenue it earns is held
/// for its unissued shares until the issuer issues them.
const POOLS: [&str; 4] = ["PA", "PB", "PC", "PD"];
const POOL_SIZE: [usize; 4] = [6, 6, 2, 1];
/// Pools with shares issued at set-up (the first three).
const ISSUED_POOLS: usize = 3;
const SHARES_MAX: [u128; 4] = [1_000_000, 1_000_000, 1_000_000, 300];
/// Owns nothing and is nobody's delegate.
const STRANGER_OPERATOR: &str = "operator2";
const FLEET_FUNDS: u128 = 1_000_000_000;
const INVESTOR_FUNDS: u128 = 100_000_000;
const OPERATOR_FUNDS: u128 = 100_000_000;
/// A fee no fleet can pay.
const FEE_UNPAYABLE: u128 = 1_000_000_000_000_000;
/// The leases' tariff: a fixed part no fleet can pay (so short payers are disputed for their
/// funds, not the tariff) plus a part per kWh.
const FEE_PER_SWAP_MAX: u128 = FEE_UNPAYABLE;
const FEE_PER_KWH_MAX: u128 = 10;
const RENT: u128 = 1_000;
const PERIOD_MS: u64 = 10_000;
const PERIODS: u32 = 30;
const DEPOSIT: u128 = 5_000;
const GRACE_MS: u64 = 5_000;
const BPS_ONE: u128 = 10_000;

fn station_id(s: usize) -> Symbol {
    sym(&format!("ST{s}"))
}

fn controller(s: usize) -> String {
    format!("ctl-st{s}")
}

fn vehicle_id(v: usize) -> Symbol {
    sym(&format!("V{v}"))
}

fn battery_name(pool: usize, i: usize) -> String {
    format!("{}-{i}", POOLS[pool].to_lowercase())
}

/// `expect` for records a test set up itself, without tripping the workspace's lint.
trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T> Must<T> for Option<T> {
    fn must(self, what: &str) -> T {
        match self {
            Some(value) => value,
            None => panic!("{what} is missing"),
        }
    }
}

fn fail(message: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(message.to_string())
}

// ----- what the planner predicts and what the model learns from receipts -----

#[derive(Clone, Debug)]
enum Expect {
    Exactly(TxOutcome),
    /// Random amounts: any authenticated outcome (applied or failed).
    Free,
}

#[derive(Clone, Debug)]
enum Effect {
    None,
    Swap { station: usize, vehicle: Symbol, out: String, into: String, fee: u128 },
    Energy { station: usize, battery: String, payment: u128 },
    Move { battery: String, to: Custody },
    Register { battery: String },
    Rent { pool: usize, periods: u32, time: u64 },
    Settle { pool: usize, time: u64 },
    Deposit { pool: usize, amount: u128 },
    Default { pool: usize },
    Close { pool: usize, time: u64 },
    Lease { pool: usize, id: Hash, start: u64 },
    Vehicle { vehicle: Symbol, fleet: usize },
    Issue { pool: usize, amount: u128 },
}

/// The kinds of op, each a deliberate good or bad call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    GoodSwap,
    CounterGap,
    Duplicate,
    Conflict,
    WrongCustody,
    Unleased,
    PayerShort,
    BadTxSignature,
    BadAttestationSignature,
    Energy,
    TransferShares,
    TransferCash,
    Trade,
    Deposit,
    Claim,
    ClaimNothing,
    PayRent,
    Default,
    OpenLease,
    Status,
    Move,
    RegisterBattery,
    RegisterVehicle,
    OverTariff,
    NotOwner,
    Load,
    Settle,
    Issue,
    Close,
}

/// Op weights out of 100.
const KINDS: [(Kind, u8); 29] = [
    (Kind::GoodSwap, 20),
    (Kind::CounterGap, 3),
    (Kind::Duplicate, 3),
    (Kind::Conflict, 3),
    (Kind::WrongCustody, 4),
    (Kind::Unleased, 3),
    (Kind::PayerShort, 3),
    (Kind::BadTxSignature, 2),
    (Kind::BadAttestationSignature, 2),
    (Kind::Energy, 4),
    (Kind::TransferShares, 4),
    (Kind::TransferCash, 2),
    (Kind::Trade, 4),
    (Kind::Deposit, 4),
    (Kind::Claim, 5),
    (Kind::ClaimNothing, 2),
    (Kind::PayRent, 6),
    (Kind::Default, 4),
    (Kind::OpenLease, 2),
    (Kind::Status, 3),
    (Kind::Move, 2),
    (Kind::RegisterBattery, 1),
    (Kind::RegisterVehicle, 2),
    (Kind::OverTariff, 2),
    (Kind::NotOwner, 2),
    (Kind::Load, 3),
    (Kind::Settle, 2),
    (Kind::Issue, 2),
    (Kind::Close, 1),
];

fn kind_of(roll: u8) -> Kind {
    let mut left = roll % 100;
    for (kind, weight) in KINDS {
        if left < weight {
            return kind;
        }
        left -= weight;
    }
    Kind::GoodSwap
}

/// A lease as the model knows it, from receipts only.
#[derive(Clone, Debug)]
struct LeaseModel {
    id: Hash,
    active: bool,
    /// Ended by its lessee (else, once inactive, by a default).
    closed: bool,
    start: u64,
    paid: u32,
    /// Paid periods whose rent reached the class (each as it started); the rest is in escrow.
    released: u32,
    total: u32,
}

impl LeaseModel {
    fn opened(id: Hash, start: u64) -> LeaseModel {
        LeaseModel { id, active: true, closed: false, start, paid: 0, released: 0, total: PERIODS }
    }

    /// The lessee closes at `time`: the rent of the periods started so far (the terms set no
    /// notice) reaches the class; rent paid beyond them goes back with the deposit. Returns the
    /// periods credited now.
    fn close(&mut self, time: u64) -> u32 {
        let credited = self.started(time).min(self.paid).saturating_sub(self.released);
        self.released += credited;
        self.active = false;
        self.closed = true;
        credited
    }

    fn status(&self) -> LeaseStatus {
        match (self.active, self.closed) {
            (true, _) => LeaseStatus::Active,
            (false, true) => LeaseStatus::Closed,
            (false, false) => LeaseStatus::Defaulted,
        }
    }

    /// Periods started by `time` (the first at the start), up to the term.
    fn started(&self, time: u64) -> u32 {
        let started = time.saturating_sub(self.start) / PERIOD_MS + 1;
        u32::try_from(started).unwrap_or(u32::MAX).min(self.total)
    }

    /// Releases the rent of every paid period started by `time`; returns how many periods.
    fn release_due(&mut self, time: u64) -> u32 {
        let due = self.paid.min(self.started(time)).saturating_sub(self.released);
        self.released += due;
        due
    }

    /// Rent still in escrow (none once the lease ended: credited or refunded).
    fn rent_held(&self) -> u128 {
        if !self.active {
            return 0;
        }
        RENT * u128::from(self.paid - self.released)
    }
}

/// The planner's view: the model at the start of the block, advanced by each planned op as
/// predicted.
#[derive(Clone, Debug)]
struct View {
    custody: BTreeMap<String, Custody>,
    status: BTreeMap<String, BatteryStatus>,
    counters: Vec<u64>,
    leases: Vec<LeaseModel>,
    recorded: Vec<(usize, Attestation, Signature)>,
    evidence: BTreeSet<Hash>,
    serials: BTreeSet<String>,
    vehicles: Vec<(Symbol, usize)>,
    issued: Vec<u128>,
}

/// The model, updated only from receipts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct StationModel {
    counter: u64,
    swaps: u64,
    disputed: u64,
    fees: u128,
    cut: u128,
}

#[derive(Default)]
struct Stats {
    blocks: usize,
    by_kind: BTreeMap<Kind, [usize; 4]>,
    codes: BTreeMap<String, usize>,
    /// Revenue held for unissued shares and released at issuance.
    held_released: u128,
}

impl Stats {
    fn count(&mut self, kind: Kind, outcome: &TxOutcome) {
        let slot = match outcome {
            TxOutcome::Applied => 0,
            TxOutcome::Failed(_) => 1,
            TxOutcome::Rejected(_) => 2,
            TxOutcome::Disputed(_) => 3,
        };
        self.by_kind.entry(kind).or_default()[slot] += 1;
        if outcome != &TxOutcome::Applied {
            *self.codes.entry(format!("{outcome:?}")).or_default() += 1;
        }
    }
}

struct Planned {
    kind: Kind,
    tx: SignedTx,
    expect: Expect,
    effect: Effect,
}

fn swap_effect(station: usize, att: &SwapAttestation) -> Effect {
    Effect::Swap {
        station,
        vehicle: att.vehicle.clone(),
        out: att.battery_out.serial.to_string(),
        into: att.battery_in.serial.to_string(),
        fee: att.fee.0,
    }
}

/// The model reacts to whatever outcome an attestation actually had.
fn attestation_effect(station: usize, att: &Attestation) -> Effect {
    match att {
        Attestation::Swap(swap) => swap_effect(station, swap),
        Attestation::Energy(e) => {
            Effect::Energy { station, battery: e.battery.to_string(), payment: e.payment.0 }
        }
    }
}

// ----- the harness -----

struct Harness {
    w: World,
    cut_bps: Vec<u16>,
    /// Pool of every battery in a class.
    pool_of: BTreeMap<String, usize>,
    custody: BTreeMap<String, Custody>,
    stations: Vec<StationModel>,
    deposited: Vec<u128>,
    recorded: Vec<(usize, Attestation, Signature)>,
    evidence: BTreeSet<Hash>,
    vehicles: Vec<(Symbol, usize)>,
    leases: Vec<LeaseModel>,
    /// Shares issued per pool (none are redeemed here, so also the shares outstanding).
    issued: Vec<u128>,
    /// Revenue held per pool for its unissued shares.
    held: Vec<u128>,
    /// Held revenue released at issuance, in all (for the statistics).
    released_held: u128,
    minted: u128,
    salt: u64,
    rng: Rng,
}

/// Every name that may hold HKD or shares.
fn holders() -> Vec<&'static str> {
    let mut names = vec!["issuer", "operator", STRANGER_OPERATOR];
    names.extend(INVESTORS);
    names.extend(FLEETS);
    names
}

/// The fleet's offer for `pool`, open until `offer_expiry` (block time).
fn lease_terms(pool: usize, salt: u64, offer_expiry: u64) -> LeaseTerms {
    LeaseTerms {
        class: sym(POOLS[pool]),
        lessor: account("issuer"),
        lessee: account(FLEETS[pool]),
        offer_expiry: Timestamp(offer_expiry),
        fee_per_swap_max: Amount(FEE_PER_SWAP_MAX),
        fee_per_kwh_max: Amount(FEE_PER_KWH_MAX),
        rent_per_period: Amount(RENT),
        period_ms: PERIOD_MS,
        periods: PERIODS,
        deposit: Amount(DEPOSIT),
        grace_ms: GRACE_MS,
        extension_periods_max: 0,
        notice_periods: 0,
        salt,
    }
}

/// The most a swap delivering `energy_wh` may charge under the leases' tariff.
fn tariff(energy_wh: u64) -> u128 {
    FEE_PER_SWAP_MAX + FEE_PER_KWH_MAX * u128::from(energy_wh) / 1_000
}

impl Harness {
    /// Two pools leased to two fleets, one unleased pool, one pool with no shares yet, four
    /// stations, four vehicles with a battery each, batteries in station slots, funded fleets,
    /// investors and operator.
    fn new(seed: u64) -> Harness {
        let mut members = vec![
            ("admin", Role::Admin),
            ("issuer", Role::Issuer),
            ("operator", Role::Operator),
            (STRANGER_OPERATOR, Role::Operator),
            ("auditor", Role::Auditor),
            (RELAY, Role::Station),
        ];
        members.extend(INVESTORS.iter().chain(&FLEETS).map(|name| (*name, Role::Investor)));
        let mut h = Harness {
            w: World::from_genesis(&genesis(&members)),
            cut_bps: Vec::new(),
            pool_of: BTreeMap::new(),
            custody: BTreeMap::new(),
            stations: vec![StationModel::default(); STATIONS],
            deposited: vec![0; POOLS.len()],
            recorded: Vec::new(),
            evidence: BTreeSet::new(),
            vehicles: Vec::new(),
            leases: Vec::new(),
            issued: vec![0; POOLS.len()],
            held: vec![0; POOLS.len()],
            released_held: 0,
            minted: 0,
            salt: 0,
            rng: Rng(seed),
        };
        // The operator (owner of the batteries) and the issuer (their classes' lessor) act for
        // each other.
        let mut calls: Vec<(&str, Call)> = vec![
            ("operator", Call::SetDelegate { delegate: account("issuer"), allowed: true }),
            ("issuer", Call::SetDelegate { delegate: account("operator"), allowed: true }),
        ];
        for s in 0..STATIONS {
            let cut = [0, 1_500, 2_500, 9_999][h.rng.below(4)];
            h.cut_bps.push(cut);
            calls.push((
                "operator",
                Call::RegisterStation {
                    station: station_id(s),
                    controller: account(&controller(s)),
                    location: text(&format!("Kowloon {s}")),
                    slots: SLOTS,
                    operator_cut_bps: cut,
                },
            ));
        }
        for (pool, size) in POOL_SIZE.iter().enumerate() {
            let batteries: Vec<String> = (0..*size).map(|i| battery_name(pool, i)).collect();
            for b in &batteries {
                let call = Call::RegisterBattery {
                    serial: serial(b),
                    passport: passport(b),
                    warehouse: sym("TSING-YI"),
                };
                calls.push(("operator", call));
                h.pool_of.insert(b.clone(), pool);
                h.custody.insert(b.clone(), Custody::Warehouse(sym("TSING-YI")));
            }
            calls.push((
                "issuer",
                Call::CreateBatteryClass {
                    class: sym(POOLS[pool]),
                    name: text(&format!("Pool {pool}")),
                    supply_max: Amount(SHARES_MAX[pool]),
                    batteries: batteries.iter().map(|b| serial(b)).collect(),
                    revenue_currency: sym("HKD"),
                },
            ));
            if pool >= ISSUED_POOLS {
                continue;
            }
            for inv in INVESTORS {
                let amount = 1 + h.rng.below(1_000) as u128;
                h.issued[pool] += amount;
                let to = account(inv);
                calls.push((
                    "issuer",
                    Call::IssueShares { class: sym(POOLS[pool]), to, amount: Amount(amount) },
                ));
            }
        }
        for v in 0..4 {
            // Each fleet registers its own vehicles.
            calls.push((FLEETS[v / 2], Call::RegisterVehicle { vehicle: vehicle_id(v) }));
            h.vehicles.push((vehicle_id(v), v / 2));
        }
        let funds: Vec<(&str, u128)> = INVESTORS
            .iter()
            .map(|i| (*i, INVESTOR_FUNDS))
            .chain(FLEETS.iter().map(|f| (*f, FLEET_FUNDS)))
            .chain([("operator", OPERATOR_FUNDS)])
            .collect();
        for (name, amount) in funds {
            h.minted += amount;
            let call =
                Call::Mint { currency: sym("HKD"), to: account(name), amount: Amount(amount) };
            calls.push(("issuer", call));
        }
        h.setup_block(calls);

        // Placement: each initial vehicle carries one battery of its fleet's pool (loaded once
        // the pool is leased to the fleet); the rest of pools A and B sit two per station in
        // slots 0 and 1; the unleased pool in slot 2; pool D's battery stays in the warehouse.
        let mut moves = Vec::new();
        let mut at_station = (2..6).flat_map(|i| [battery_name(0, i), battery_name(1, i)]);
        for s in 0..STATIONS {
            for slot in 0..2 {
                if let Some(b) = at_station.next() {
                    moves.push((b, Custody::Station { station: station_id(s), slot }));
                }
            }
        }
        for i in 0..2 {
            moves.push((battery_name(2, i), Custody::Station { station: station_id(i), slot: 2 }));
        }
        let mut calls = Vec::new();
        for (pool, fleet) in FLEETS.iter().enumerate() {
            let terms = lease_terms(pool, 0, h.w.next.time.0);
            h.leases.push(LeaseModel::opened(terms.id(), h.w.next.time.0));
            let lessee_signature = h.w.lessee_signs(fleet, &terms);
            calls.push(("operator", Call::OpenLease { terms, lessee_signature }));
        }
        for v in 0..4 {
            moves.push((battery_name(v / 2, v % 2), Custody::Vehicle(vehicle_id(v))));
        }
        for (b, to) in moves {
            h.custody.insert(b.clone(), to.clone());
            calls.push(("operator", Call::MoveCustody { serial: serial(&b), to }));
        }
        h.setup_block(calls);
        // The first period started at the opening: its rent reaches the class at once.
        let mut calls = Vec::new();
        for (pool, fleet) in FLEETS.iter().enumerate() {
            h.learn(&Effect::Rent { pool, periods: 1, time: h.w.next.time.0 }, &TxOutcome::Applied);
            calls.push((*fleet, Call::PayRent { lease: h.leases[pool].id, periods: 1 }));
        }
        h.setup_block(calls);
        h
    }

    fn setup_block(&mut self, calls: Vec<(&str, Call)>) {
        let txs: Vec<SignedTx> = calls.into_iter().map(|(name, c)| self.w.tx(name, c)).collect();
        let result = self.w.block(&txs);
        for (i, receipt) in result.receipts.iter().enumerate() {
            assert_eq!(receipt.outcome, TxOutcome::Applied, "set-up tx {i}: {:?}", txs[i].body);
        }
    }

    fn record<T: serde::Serialize + serde::de::DeserializeOwned>(&self, key: &Key) -> Option<T> {
        match self.w.state.record(key) {
            Ok(record) => record,
            Err(error) => panic!("read failed: {error}"),
        }
    }

    /// The planner's view at the start of a block: the model plus statuses read from the
    /// ledger.
    fn view(&self) -> View {
        let leases = self.leases.clone();
        let status = self
            .custody
            .keys()
            .map(|b| {
                let record: Battery = self.record(&Key::Battery(serial(b))).must("battery");
                (b.clone(), record.status)
            })
            .collect();
        View {
            custody: self.custody.clone(),
            status,
            counters: self.stations.iter().map(|s| s.counter).collect(),
            leases,
            recorded: self.recorded.clone(),
            evidence: self.evidence.clone(),
            serials: self.custody.keys().cloned().collect(),
            vehicles: self.vehicles.clone(),
            issued: self.issued.clone(),
        }
    }

    fn attest_call(&self, signer: &str, attestation: Attestation) -> (Call, Signature) {
        let signature = self.w.attest(signer, &attestation);
        (Call::SubmitAttestation { attestation, signature }, signature)
    }

    fn relay(&mut self, kind: Kind, call: Call, expect: Expect, effect: Effect) -> Planned {
        Planned { kind, tx: self.w.tx(RELAY, call), expect, effect }
    }

    fn plan(&mut self, kind: Kind, call: Call, signer: &str, expect: Expect) -> Planned {
        Planned { kind, tx: self.w.tx(signer, call), expect, effect: Effect::None }
    }

    /// Batteries of `pool` in a station slot, with that slot.
    fn in_slots(
        view: &View,
        pool: Option<usize>,
        pool_of: &BTreeMap<String, usize>,
    ) -> Vec<String> {
        view.custody
            .iter()
            .filter(|(b, c)| {
                matches!(c, Custody::Station { .. })
                    && pool.is_none_or(|p| pool_of.get(*b) == Some(&p))
            })
            .map(|(b, _)| b.clone())
            .collect()
    }

    fn station_of(custody: &Custody) -> Option<usize> {
        match custody {
            Custody::Station { station, .. } => {
                station.as_str().strip_prefix("ST").and_then(|n| n.parse().ok())
            }
            _ => None,
        }
    }

    /// A swap the ledger should settle: a vehicle with a battery swaps it for a battery of its
    /// fleet's pool at the station that holds it. `None` if no such swap exists now.
    fn valid_swap(&mut self, view: &View) -> Option<(usize, SwapAttestation, usize)> {
        let carrying: Vec<(Symbol, usize, String)> = view
            .vehicles
            .iter()
            .filter_map(|(v, fleet)| {
                let out = view.custody.iter().find(|(_, c)| **c == Custody::Vehicle(v.clone()));
                out.map(|(b, _)| (v.clone(), *fleet, b.clone()))
            })
            .collect();
        let (vehicle, fleet, out) = self.rng.pick(&carrying)?;
        let candidates = Self::in_slots(view, Some(fleet), &self.pool_of);
        let into = self.rng.pick(&candidates)?;
        let s = Self::station_of(&view.custody[&into])?;
        let fee = 50 + self.rng.below(950) as u128;
        let counter = view.counters[s] + 1;
        let att = swap(&format!("ST{s}"), counter, vehicle.as_str(), &out, &into, fee);
        Some((s, att, fleet))
    }

    /// What a swap the planner believes valid will do, given the lease of its pool.
    fn swap_outcome(view: &View, pool: usize, att: &SwapAttestation) -> TxOutcome {
        let fee = att.fee.0;
        if !view.leases[pool].active {
            TxOutcome::Disputed(ErrorCode::BatteryNotLeased)
        } else if fee > tariff(att.energy_wh) {
            TxOutcome::Disputed(ErrorCode::FeeAboveTariff)
        } else if fee > FLEET_FUNDS / 2 {
            TxOutcome::Disputed(ErrorCode::PayerShortOfFunds)
        } else {
            TxOutcome::Applied
        }
    }

    fn advance_swap(view: &mut View, s: usize, att: &SwapAttestation, sig: Signature) {
        let (out, into) = (att.battery_out.serial.to_string(), att.battery_in.serial.to_string());
        let slot = view.custody[&into].clone();
        view.custody.insert(out, slot);
        view.custody.insert(into, Custody::Vehicle(att.vehicle.clone()));
        view.counters[s] += 1;
        view.recorded.push((s, Attestation::Swap(att.clone()), sig));
    }

    /// Plans one op against the view; `None` when the op has nothing to act on now.
    fn plan_op(&mut self, kind: Kind, view: &mut View, time: u64) -> Option<Planned> {
        match kind {
            Kind::GoodSwap | Kind::PayerShort | Kind::OverTariff => {
                let (s, mut att, pool) = self.valid_swap(view)?;
                if kind == Kind::PayerShort {
                    att.fee = Amount(FEE_UNPAYABLE);
                }
                if kind == Kind::OverTariff {
                    att.fee = Amount(tariff(att.energy_wh) + 1 + self.rng.below(1_000) as u128);
                }
                let outcome = Self::swap_outcome(view, pool, &att);
                let (call, sig) = self.attest_call(&controller(s), Attestation::Swap(att.clone()));
                if outcome == TxOutcome::Applied {
                    Self::advance_swap(view, s, &att, sig);
                } else {
                    view.counters[s] += 1;
                    view.recorded.push((s, Attestation::Swap(att.clone()), sig));
                }
                let effect = swap_effect(s, &att);
                Some(self.relay(kind, call, Expect::Exactly(outcome), effect))
            }
            Kind::CounterGap => {
                let (s, mut att, _) = self.valid_swap(view)?;
                att.counter += 1 + self.rng.below(3) as u64;
                let effect = swap_effect(s, &att);
                let (call, _) = self.attest_call(&controller(s), Attestation::Swap(att));
                let expect = Expect::Exactly(TxOutcome::Failed(ErrorCode::CounterGap));
                Some(self.relay(kind, call, expect, effect))
            }
            Kind::Duplicate => {
                let (s, att, sig) = self.rng.pick(&view.recorded)?;
                let effect = attestation_effect(s, &att);
                // An energy attestation must be relayed by its payer.
                let relay = match &att {
                    Attestation::Energy(e) => {
                        INVESTORS.into_iter().find(|i| account(i) == e.payer)?
                    }
                    Attestation::Swap(_) => RELAY,
                };
                let call = Call::SubmitAttestation { attestation: att, signature: sig };
                let expect = Expect::Exactly(TxOutcome::Failed(ErrorCode::DuplicateAttestation));
                Some(Planned { kind, tx: self.w.tx(relay, call), expect, effect })
            }
            Kind::Conflict => {
                let (s, att, _) = self.rng.pick(&view.recorded)?;
                let Attestation::Swap(mut att) = att else { return None };
                att.fee = Amount(att.fee.0 + 1 + self.rng.below(3) as u128);
                let att = Attestation::Swap(att);
                let fresh = view.evidence.insert(att.id());
                let outcome = if fresh {
                    TxOutcome::Disputed(ErrorCode::AttestationConflict)
                } else {
                    TxOutcome::Failed(ErrorCode::DuplicateAttestation)
                };
                let effect = attestation_effect(s, &att);
                let (call, _) = self.attest_call(&controller(s), att);
                Some(self.relay(kind, call, Expect::Exactly(outcome), effect))
            }
            Kind::WrongCustody => {
                let (s, mut att, _) = self.valid_swap(view)?;
                // A battery of the same pool that is not at this station.
                let pool = self.pool_of[att.battery_in.serial.as_str()];
                let elsewhere: Vec<String> = (view.custody.iter())
                    .filter(|(b, c)| {
                        self.pool_of.get(*b) == Some(&pool)
                            && Self::station_of(c) != Some(s)
                            && b.as_str() != att.battery_out.serial.as_str()
                    })
                    .map(|(b, _)| b.clone())
                    .collect();
                att.battery_in.serial = serial(&self.rng.pick(&elsewhere)?);
                let (call, sig) = self.attest_call(&controller(s), Attestation::Swap(att.clone()));
                view.counters[s] += 1;
                let effect = swap_effect(s, &att);
                view.recorded.push((s, Attestation::Swap(att), sig));
                let expect = Expect::Exactly(TxOutcome::Disputed(ErrorCode::WrongCustody));
                Some(self.relay(kind, call, expect, effect))
            }
            Kind::Unleased => {
                let (_, mut att, _) = self.valid_swap(view)?;
                let unleased: Vec<String> = Self::in_slots(view, Some(2), &self.pool_of)
                    .into_iter()
                    .filter(|b| view.status[b] != BatteryStatus::Waste)
                    .collect();
                let into = self.rng.pick(&unleased)?;
                let s = Self::station_of(&view.custody[&into])?;
                att.station = station_id(s);
                att.counter = view.counters[s] + 1;
                att.battery_in.serial = serial(&into);
                let (call, sig) = self.attest_call(&controller(s), Attestation::Swap(att.clone()));
                view.counters[s] += 1;
                let effect = swap_effect(s, &att);
                view.recorded.push((s, Attestation::Swap(att), sig));
                let expect = Expect::Exactly(TxOutcome::Disputed(ErrorCode::BatteryNotLeased));
                Some(self.relay(kind, call, expect, effect))
            }
            Kind::BadTxSignature => {
                let (s, att, _) = self.valid_swap(view)?;
                let effect = swap_effect(s, &att);
                let (call, _) = self.attest_call(&controller(s), Attestation::Swap(att));
                let body = self.w.body(RELAY, call);
                // A rejected transaction does not use its nonce.
                self.w.unuse_nonce(RELAY);
                let tx = body.sign(&key("inv0"));
                let expect = Expect::Exactly(TxOutcome::Rejected(ErrorCode::BadSignature));
                Some(Planned { kind, tx, expect, effect })
            }
            Kind::BadAttestationSignature => {
                let (s, att, _) = self.valid_swap(view)?;
                let other = (s + 1) % STATIONS;
                let effect = swap_effect(s, &att);
                let (call, _) = self.attest_call(&controller(other), Attestation::Swap(att));
                let expect = Expect::Exactly(TxOutcome::Failed(ErrorCode::BadAttestationSignature));
                Some(self.relay(kind, call, expect, effect))
            }
            Kind::Energy => {
                let batteries: Vec<String> = Self::in_slots(view, None, &self.pool_of)
                    .into_iter()
                    .filter(|b| view.status[b] != BatteryStatus::Waste)
                    .collect();
                let battery = self.rng.pick(&batteries)?;
                let s = Self::station_of(&view.custody[&battery])?;
                let payer = INVESTORS[self.rng.below(INVESTORS.len())];
                let payment = 1 + self.rng.below(500) as u128;
                let att = Attestation::Energy(EnergyAttestation {
                    station: station_id(s),
                    counter: view.counters[s] + 1,
                    station_time: Timestamp(time),
                    battery: serial(&battery),
                    energy_wh: 5_000,
                    payer: account(payer),
                    payment: Amount(payment),
                    currency: sym("HKD"),
                });
                let (call, sig) = self.attest_call(&controller(s), att.clone());
                view.counters[s] += 1;
                view.recorded.push((s, att.clone(), sig));
                let effect = attestation_effect(s, &att);
                let tx = self.w.tx(payer, call);
                Some(Planned { kind, tx, expect: Expect::Exactly(TxOutcome::Applied), effect })
            }
            Kind::TransferShares | Kind::TransferCash => {
                let (from, to) = self.two_investors();
                let asset = if kind == Kind::TransferCash {
                    hkd()
                } else {
                    Asset::Shares(sym(POOLS[self.rng.below(POOLS.len())]))
                };
                let amount = self.some_of(&asset, from);
                let call = Call::Transfer { asset, to: account(to), amount };
                Some(self.plan(kind, call, from, Expect::Free))
            }
            Kind::Trade => {
                let (maker, taker) = self.two_investors();
                let shares = Asset::Shares(sym(POOLS[self.rng.below(POOLS.len())]));
                let amount = self.some_of(&shares, maker);
                let price = Amount(amount.0 * (1 + self.rng.below(200) as u128));
                self.salt += 1;
                let terms = TradeTerms {
                    maker: account(maker),
                    taker: account(taker),
                    maker_gives: Leg { asset: shares, amount },
                    taker_gives: Leg { asset: hkd(), amount: price },
                    expiry_height: Height(self.w.next.height.0 + 5),
                    salt: self.salt,
                };
                let counterparty_signature =
                    key(maker).sign_raw(&terms.signing_message(&self.w.chain_id));
                let call = Call::Trade { terms, counterparty_signature };
                Some(self.plan(kind, call, taker, Expect::Free))
            }
            Kind::Deposit => {
                let pool = self.rng.below(POOLS.len());
                let amount = 1 + self.rng.below(10_000) as u128;
                let call = Call::DepositRevenue { class: sym(POOLS[pool]), amount: Amount(amount) };
                let tx = self.w.tx("operator", call);
                let effect = Effect::Deposit { pool, amount };
                Some(Planned { kind, tx, expect: Expect::Exactly(TxOutcome::Applied), effect })
            }
            Kind::Issue => {
                // Mostly the pool with revenue held for its unissued shares.
                let pool = if self.rng.below(4) == 0 { self.rng.below(ISSUED_POOLS) } else { 3 };
                let amount = 1 + self.rng.below(60) as u128;
                let to = INVESTORS[self.rng.below(INVESTORS.len())];
                let outcome = if view.issued[pool] + amount > SHARES_MAX[pool] {
                    TxOutcome::Failed(ErrorCode::SupplyCapExceeded)
                } else {
                    view.issued[pool] += amount;
                    TxOutcome::Applied
                };
                let class = sym(POOLS[pool]);
                let call = Call::IssueShares { class, to: account(to), amount: Amount(amount) };
                let tx = self.w.tx("issuer", call);
                let effect = Effect::Issue { pool, amount };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::Claim => {
                let who = INVESTORS[self.rng.below(INVESTORS.len())];
                let call = Call::ClaimRevenue { class: sym(POOLS[self.rng.below(POOLS.len())]) };
                Some(self.plan(kind, call, who, Expect::Free))
            }
            Kind::ClaimNothing => {
                // The operator holds no shares of any class.
                let call = Call::ClaimRevenue { class: sym(POOLS[self.rng.below(POOLS.len())]) };
                let expect = Expect::Exactly(TxOutcome::Failed(ErrorCode::NothingToClaim));
                Some(self.plan(kind, call, "operator", expect))
            }
            Kind::PayRent => {
                let pool = self.rng.below(2);
                let periods = 1 + self.rng.below(3) as u32;
                let lease = &mut view.leases[pool];
                let outcome = if !lease.active {
                    TxOutcome::Failed(ErrorCode::LeaseNotActive)
                } else if lease.paid + periods > lease.total {
                    TxOutcome::Failed(ErrorCode::RentBeyondTerm)
                } else {
                    lease.paid += periods;
                    lease.release_due(time);
                    TxOutcome::Applied
                };
                let call = Call::PayRent { lease: lease.id, periods };
                let tx = self.w.tx(FLEETS[pool], call);
                let effect = Effect::Rent { pool, periods, time };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::Settle => {
                // Anyone may credit the rent of paid periods that have started.
                let pool = self.rng.below(2);
                let lease = &mut view.leases[pool];
                let outcome = if !lease.active {
                    TxOutcome::Failed(ErrorCode::LeaseNotActive)
                } else if lease.release_due(time) == 0 {
                    TxOutcome::Failed(ErrorCode::NothingToRelease)
                } else {
                    TxOutcome::Applied
                };
                let who = INVESTORS[self.rng.below(INVESTORS.len())];
                let tx = self.w.tx(who, Call::SettleLease { lease: lease.id });
                let effect = Effect::Settle { pool, time };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::Default => {
                let pool = self.rng.below(2);
                let lease = &mut view.leases[pool];
                let deadline = lease.start + PERIOD_MS * u64::from(lease.paid) + GRACE_MS;
                let outcome = if !lease.active {
                    TxOutcome::Failed(ErrorCode::LeaseNotActive)
                } else if lease.paid < lease.total && time > deadline {
                    lease.active = false;
                    lease.released = lease.paid;
                    TxOutcome::Applied
                } else {
                    TxOutcome::Failed(ErrorCode::LeaseInGoodStanding)
                };
                let tx = self.w.tx("operator", Call::DefaultLease { lease: lease.id });
                let effect = Effect::Default { pool };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::Close => {
                // The lessee ends its lease early: it must have paid the periods started so
                // far (the terms set no notice); rent paid beyond them comes back to it.
                let pool = self.rng.below(2);
                let lease = &mut view.leases[pool];
                let outcome = if !lease.active {
                    TxOutcome::Failed(ErrorCode::LeaseNotActive)
                } else if lease.paid < lease.started(time) {
                    TxOutcome::Failed(ErrorCode::RentOutstanding)
                } else {
                    lease.close(time);
                    TxOutcome::Applied
                };
                let tx = self.w.tx(FLEETS[pool], Call::CloseLease { lease: lease.id });
                let effect = Effect::Close { pool, time };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::OpenLease => {
                let pool = self.rng.below(2);
                self.salt += 1;
                // Now and then an offer that lapsed a moment ago, or terms naming a lessor that
                // is not the class's issuer.
                let roll = self.rng.below(8);
                let expiry = if roll == 0 { time - 1 } else { time + PERIOD_MS };
                let mut terms = lease_terms(pool, self.salt, expiry);
                if roll == 1 {
                    terms.lessor = account("operator");
                }
                let lease = &mut view.leases[pool];
                let outcome = if roll == 0 {
                    TxOutcome::Failed(ErrorCode::OfferExpired)
                } else if roll == 1 {
                    TxOutcome::Failed(ErrorCode::NotLessorOfTerms)
                } else if lease.active {
                    TxOutcome::Failed(ErrorCode::BatteryLeased)
                } else {
                    *lease = LeaseModel::opened(terms.id(), time);
                    TxOutcome::Applied
                };
                let lessee_signature = self.w.lessee_signs(FLEETS[pool], &terms);
                let effect = Effect::Lease { pool, id: terms.id(), start: time };
                let tx = self.w.tx("operator", Call::OpenLease { terms, lessee_signature });
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::Status => {
                // Half the time a battery that has already moved on, to try moving it back.
                let moved: Vec<String> = (view.status.iter())
                    .filter(|(_, status)| **status != BatteryStatus::Original)
                    .map(|(b, _)| b.clone())
                    .collect();
                let all: Vec<String> = view.status.keys().cloned().collect();
                let batteries =
                    if self.rng.below(2) == 0 && !moved.is_empty() { moved } else { all };
                let b = self.rng.pick(&batteries)?;
                let old = view.status[&b];
                let unleased = self.pool_of.get(&b).is_none_or(|p| *p == 2);
                let (status, outcome) = match old {
                    BatteryStatus::Original if unleased && self.rng.below(2) == 0 => {
                        (BatteryStatus::Waste, TxOutcome::Applied)
                    }
                    BatteryStatus::Original => (BatteryStatus::Reused, TxOutcome::Applied),
                    BatteryStatus::Waste => {
                        (BatteryStatus::Reused, TxOutcome::Failed(ErrorCode::StatusBackwards))
                    }
                    _ => (BatteryStatus::Original, TxOutcome::Failed(ErrorCode::StatusBackwards)),
                };
                if outcome == TxOutcome::Applied {
                    view.status.insert(b.clone(), status);
                }
                let call =
                    Call::SetBatteryStatus { serial: serial(&b), status, soh_permille: None };
                // The owner or its delegate.
                let signer = self.owner_or_delegate();
                Some(self.plan(kind, call, signer, Expect::Exactly(outcome)))
            }
            Kind::NotOwner => {
                // Another operator tries to move, retire or rewrite a battery it does not own.
                let all: Vec<String> = view.custody.keys().cloned().collect();
                let b = self.rng.pick(&all)?;
                let call = match self.rng.below(3) {
                    0 => Call::MoveCustody {
                        serial: serial(&b),
                        to: Custody::Warehouse(sym("ELSEWHERE")),
                    },
                    1 => Call::SetBatteryStatus {
                        serial: serial(&b),
                        status: BatteryStatus::Waste,
                        soh_permille: None,
                    },
                    _ => Call::UpdatePassportDocument {
                        serial: serial(&b),
                        document_hash: Hash::of(b.as_bytes()),
                        document_uri: text("https://forged.example"),
                    },
                };
                let expect = Expect::Exactly(TxOutcome::Failed(ErrorCode::NotOwner));
                Some(self.plan(kind, call, STRANGER_OPERATOR, expect))
            }
            Kind::Load => {
                // A battery from a slot into an empty vehicle: only within an active lease of
                // its pool to the vehicle's fleet.
                let empty: Vec<(Symbol, usize)> = (view.vehicles.iter())
                    .filter(|(v, _)| {
                        !view.custody.values().any(|c| *c == Custody::Vehicle(v.clone()))
                    })
                    .cloned()
                    .collect();
                let (vehicle, fleet) = self.rng.pick(&empty)?;
                // Half the time a battery of the fleet's own pool, else any.
                let pool = if self.rng.below(2) == 0 { Some(fleet) } else { None };
                let b = self.rng.pick(&Self::in_slots(view, pool, &self.pool_of))?;
                let leased = self.pool_of.get(&b) == Some(&fleet) && view.leases[fleet].active;
                let to = Custody::Vehicle(vehicle);
                let outcome = if view.status[&b] == BatteryStatus::Waste {
                    TxOutcome::Failed(ErrorCode::BatteryRetired)
                } else if !leased {
                    TxOutcome::Failed(ErrorCode::BatteryNotLeased)
                } else {
                    view.custody.insert(b.clone(), to.clone());
                    TxOutcome::Applied
                };
                let call = Call::MoveCustody { serial: serial(&b), to: to.clone() };
                let tx = self.w.tx("operator", call);
                let effect = Effect::Move { battery: b, to };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::Move => {
                let batteries = Self::in_slots(view, None, &self.pool_of);
                let b = self.rng.pick(&batteries)?;
                let from = Self::station_of(&view.custody[&b])?;
                let free: Vec<Custody> = (0..STATIONS)
                    .filter(|s| *s != from)
                    .flat_map(|s| (0..SLOTS).map(move |slot| (s, slot)))
                    .map(|(s, slot)| Custody::Station { station: station_id(s), slot })
                    .filter(|c| !view.custody.values().any(|held| held == c))
                    .collect();
                let to = self.rng.pick(&free)?;
                let outcome = if view.status[&b] == BatteryStatus::Waste {
                    TxOutcome::Failed(ErrorCode::BatteryRetired)
                } else {
                    view.custody.insert(b.clone(), to.clone());
                    TxOutcome::Applied
                };
                let call = Call::MoveCustody { serial: serial(&b), to: to.clone() };
                let signer = self.owner_or_delegate();
                let tx = self.w.tx(signer, call);
                let effect = Effect::Move { battery: b, to };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::RegisterBattery => {
                let existing: Vec<String> = view.serials.iter().cloned().collect();
                let (b, outcome) = if self.rng.below(3) == 0 {
                    (self.rng.pick(&existing)?, TxOutcome::Failed(ErrorCode::AlreadyExists))
                } else {
                    let b = format!("new-{}", view.serials.len());
                    view.serials.insert(b.clone());
                    view.custody.insert(b.clone(), Custody::Warehouse(sym("TSING-YI")));
                    view.status.insert(b.clone(), BatteryStatus::Original);
                    (b, TxOutcome::Applied)
                };
                let call = Call::RegisterBattery {
                    serial: serial(&b),
                    passport: passport(&b),
                    warehouse: sym("TSING-YI"),
                };
                let tx = self.w.tx("operator", call);
                let effect = Effect::Register { battery: b };
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
            Kind::RegisterVehicle => {
                let fleet = self.rng.below(2);
                let (vehicle, outcome) = if self.rng.below(3) == 0 {
                    let (v, _) = self.rng.pick(&view.vehicles)?;
                    (v, TxOutcome::Failed(ErrorCode::AlreadyExists))
                } else {
                    let v = vehicle_id(view.vehicles.len());
                    view.vehicles.push((v.clone(), fleet));
                    (v, TxOutcome::Applied)
                };
                let effect = Effect::Vehicle { vehicle: vehicle.clone(), fleet };
                // The fleet registers its own vehicle (it will pay for its swaps).
                let tx = self.w.tx(FLEETS[fleet], Call::RegisterVehicle { vehicle });
                Some(Planned { kind, tx, expect: Expect::Exactly(outcome), effect })
            }
        }
    }

    /// The batteries' owner (the operator) or its delegate (the issuer), at random.
    fn owner_or_delegate(&mut self) -> &'static str {
        if self.rng.below(3) == 0 { "issuer" } else { "operator" }
    }

    fn two_investors(&mut self) -> (&'static str, &'static str) {
        let a = self.rng.below(INVESTORS.len());
        let b = (a + 1 + self.rng.below(INVESTORS.len() - 1)) % INVESTORS.len();
        (INVESTORS[a], INVESTORS[b])
    }

    /// A plausible amount of `asset` for `holder` to hand over: up to its balance, sometimes
    /// more.
    fn some_of(&mut self, asset: &Asset, holder: &str) -> Amount {
        let balance = self.w.balance(asset, holder).0;
        let cap = (balance + balance / 8).clamp(1, 1 << 40) as usize;
        Amount(1 + self.rng.below(cap) as u128)
    }
}

// ----- applying a block and checking it -----

fn cut_of(fee: u128, bps: u16) -> u128 {
    fee * u128::from(bps) / BPS_ONE
}

impl Harness {
    /// Applies the planned block, checks every receipt against its prediction, teaches the
    /// model from the receipts, then checks the invariants and the model against the ledger.
    fn apply(&mut self, planned: Vec<Planned>, stats: &mut Stats) -> Result<(), TestCaseError> {
        let before = State::open(self.w.state.store().clone()).map_err(fail)?;
        let txs: Vec<SignedTx> = planned.iter().map(|p| p.tx.clone()).collect();
        let result = self.w.try_block(&txs).map_err(fail)?;
        stats.blocks += 1;
        for (p, receipt) in planned.iter().zip(&result.receipts) {
            stats.count(p.kind, &receipt.outcome);
            match &p.expect {
                Expect::Exactly(outcome) => prop_assert_eq!(
                    &receipt.outcome,
                    outcome,
                    "{:?} at height {}: {:?}",
                    p.kind,
                    self.w.next.height.0 - 1,
                    p.tx.body.call
                ),
                Expect::Free => prop_assert!(
                    matches!(receipt.outcome, TxOutcome::Applied | TxOutcome::Failed(_)),
                    "{:?}: {:?}",
                    p.kind,
                    receipt.outcome
                ),
            }
            self.learn(&p.effect, &receipt.outcome);
            self.remember(&p.tx.body.call, &receipt.outcome);
        }
        invariants::check(&self.w.state).map_err(fail)?;
        invariants::check_transition(&before, &self.w.state).map_err(fail)?;
        self.compare()
    }

    /// Keeps recorded attestations (for duplicates and conflicts) and evidence ids.
    fn remember(&mut self, call: &Call, outcome: &TxOutcome) {
        let Call::SubmitAttestation { attestation, signature } = call else { return };
        let s =
            Self::station_of(&Custody::Station { station: attestation.station().clone(), slot: 0 })
                .must("test stations are named ST<n>");
        match outcome {
            TxOutcome::Disputed(ErrorCode::AttestationConflict) => {
                self.evidence.insert(attestation.id());
            }
            TxOutcome::Applied | TxOutcome::Disputed(_) => {
                self.recorded.push((s, attestation.clone(), *signature));
            }
            _ => {}
        }
    }

    /// The model's update for one receipt: it follows what happened, not what was planned.
    fn learn(&mut self, effect: &Effect, outcome: &TxOutcome) {
        let applied = *outcome == TxOutcome::Applied;
        match effect {
            Effect::Swap { station, .. } | Effect::Energy { station, .. } => match outcome {
                TxOutcome::Applied => {}
                TxOutcome::Disputed(ErrorCode::AttestationConflict) => return,
                TxOutcome::Disputed(_) => {
                    self.stations[*station].counter += 1;
                    self.stations[*station].disputed += 1;
                    return;
                }
                _ => return,
            },
            _ => {}
        }
        if !applied {
            return;
        }
        match effect {
            Effect::None => {}
            Effect::Swap { station, vehicle, out, into, fee } => {
                let slot = self.custody[into].clone();
                self.custody.insert(out.clone(), slot);
                self.custody.insert(into.clone(), Custody::Vehicle(vehicle.clone()));
                self.settle(*station, self.pool_of[into], *fee);
                self.stations[*station].swaps += 1;
            }
            Effect::Energy { station, battery, payment } => {
                self.settle(*station, self.pool_of[battery], *payment);
            }
            Effect::Move { battery, to } => {
                self.custody.insert(battery.clone(), to.clone());
            }
            Effect::Register { battery } => {
                self.custody.insert(battery.clone(), Custody::Warehouse(sym("TSING-YI")));
            }
            Effect::Rent { pool, periods, time } => {
                // Paid rent waits in escrow until its period starts.
                let lease = &mut self.leases[*pool];
                lease.paid += periods;
                let released = lease.release_due(*time);
                self.distribute(*pool, RENT * u128::from(released));
            }
            Effect::Settle { pool, time } => {
                let released = self.leases[*pool].release_due(*time);
                self.distribute(*pool, RENT * u128::from(released));
            }
            Effect::Deposit { pool, amount } => self.distribute(*pool, *amount),
            Effect::Default { pool } => {
                // Ending the lease credits the escrowed rent, then forfeits the deposit.
                let lease = &mut self.leases[*pool];
                let unreleased = lease.paid - lease.released;
                lease.released = lease.paid;
                lease.active = false;
                self.distribute(*pool, RENT * u128::from(unreleased));
                self.distribute(*pool, DEPOSIT);
            }
            Effect::Close { pool, time } => {
                let credited = self.leases[*pool].close(*time);
                self.distribute(*pool, RENT * u128::from(credited));
            }
            Effect::Lease { pool, id, start } => {
                self.leases[*pool] = LeaseModel::opened(*id, *start);
            }
            Effect::Vehicle { vehicle, fleet } => self.vehicles.push((vehicle.clone(), *fleet)),
            Effect::Issue { pool, amount } => {
                // Revenue held for the unissued shares goes with them, pro rata.
                let unissued = SHARES_MAX[*pool] - self.issued[*pool];
                let released = self.held[*pool] * amount / unissued;
                self.held[*pool] -= released;
                self.released_held += released;
                self.issued[*pool] += amount;
            }
        }
    }

    /// Revenue into a pool: shared by its shares outstanding, or held while there are none.
    fn distribute(&mut self, pool: usize, amount: u128) {
        if amount == 0 {
            return;
        }
        self.deposited[pool] += amount;
        if self.issued[pool] == 0 {
            self.held[pool] += amount;
        }
    }

    fn settle(&mut self, station: usize, pool: usize, fee: u128) {
        let cut = cut_of(fee, self.cut_bps[station]);
        let model = &mut self.stations[station];
        model.counter += 1;
        model.fees += fee;
        model.cut += cut;
        self.distribute(pool, fee - cut);
    }

    /// The model against the ledger: custody, stations, revenue deposited, conservation of cash
    /// and shares, and revenue = claimed + claimable + remainder, exactly.
    fn compare(&self) -> Result<(), TestCaseError> {
        for (b, custody) in &self.custody {
            let record: Battery = self.record(&Key::Battery(serial(b))).ok_or_else(|| fail(b))?;
            prop_assert_eq!(&record.custody, custody, "custody of {}", b);
        }
        for (s, model) in self.stations.iter().enumerate() {
            let record: Station = self.record(&Key::Station(station_id(s))).must("station");
            // Every fee here is in HKD: one total per currency, and only HKD's.
            prop_assert!(record.totals.keys().all(|c| *c == sym("HKD")), "{:?}", record.totals);
            let hkd_totals = record.totals.get(&sym("HKD")).cloned().unwrap_or_default();
            let got = StationModel {
                counter: record.counter,
                swaps: record.swaps,
                disputed: record.disputed,
                fees: hkd_totals.fees.0,
                cut: hkd_totals.operator_cut.0,
            };
            prop_assert_eq!(&got, model, "station {}", s);
        }
        let mut cash = 0u128;
        for name in holders() {
            cash += self.w.balance(&hkd(), name).0;
        }
        for (pool, model) in self.leases.iter().enumerate() {
            let lease: Lease = self.record(&Key::Lease(model.id)).must("lease");
            // A closed lease returned its deposit (the fleets can always receive it).
            let deposit = if model.active { DEPOSIT } else { 0 };
            let got = (lease.start.0, lease.periods_total, lease.periods_paid, lease.status);
            let want = (model.start, model.total, model.paid, model.status());
            prop_assert_eq!(got, want, "lease of pool {}", pool);
            prop_assert_eq!(lease.periods_released, model.released, "released of pool {}", pool);
            prop_assert_eq!(lease.rent_held.0, model.rent_held(), "rent held of pool {}", pool);
            prop_assert_eq!(lease.deposit_held.0, deposit, "deposit held of pool {}", pool);
            cash += lease.deposit_held.0 + lease.rent_held.0;
        }
        for (pool, name) in POOLS.iter().enumerate() {
            let class = self.w.state.class(&sym(name)).map_err(fail)?.must("class");
            let revenue = class.revenue.clone().must("battery class has revenue");
            prop_assert_eq!(revenue.deposited.0, self.deposited[pool], "deposited to {}", name);
            prop_assert_eq!(class.issued.0, self.issued[pool], "issued of {}", name);
            prop_assert_eq!(revenue.held.0, self.held[pool], "held for unissued {}", name);
            cash += revenue.pot.0;
            self.check_revenue(name, &class)?;
        }
        prop_assert_eq!(cash, self.minted, "HKD is conserved");
        Ok(())
    }

    /// `deposited = claimed + Σ claimable + remainder` in whole units, where the remainder is
    /// revenue held while no shares were out plus fractions below one unit (less than one per
    /// holder, plus the carry); and the exact scaled identity behind it.
    fn check_revenue(&self, name: &str, class: &ShareClass) -> Result<(), TestCaseError> {
        let revenue = class.revenue.as_ref().must("revenue");
        let asset = Asset::Shares(sym(name));
        let (mut shares, mut units, mut scaled, mut holders_count) = (0u128, 0u128, 0u128, 0);
        for holder in holders() {
            let holding: Option<Holding> =
                self.record(&Key::Balance(asset.clone(), account(holder)));
            let Some(holding) = holding else { continue };
            holders_count += 1;
            shares += holding.amount.0;
            units += claimable(&holding, revenue.per_share).map_err(|e| fail(format!("{e:?}")))?.0;
            let delta = revenue.per_share - holding.revenue_checkpoint;
            scaled += holding.revenue_accrued + holding.amount.0 * delta;
        }
        prop_assert_eq!(shares, class.outstanding().0, "shares of {} are conserved", name);
        let owed = revenue.deposited.0 - revenue.claimed.0 - revenue.held.0;
        prop_assert_eq!(scaled + revenue.carry, owed << SCALE_BITS, "scaled revenue of {}", name);
        prop_assert!(units <= owed, "{}: claimable {} exceeds owed {}", name, units, owed);
        let remainder = owed - units + revenue.held.0;
        prop_assert!(
            remainder - revenue.held.0 <= holders_count,
            "{}: remainder {} with {} holders",
            name,
            remainder,
            holders_count
        );
        prop_assert_eq!(revenue.deposited.0, revenue.claimed.0 + units + remainder);
        Ok(())
    }
}

// ----- the tests -----

type Blocks = Vec<(u8, Vec<u8>)>;

/// Up to 15 blocks of up to 14 ops each, with 1 to 4 seconds between blocks.
fn blocks() -> impl Strategy<Value = Blocks> {
    prop::collection::vec((0u8..4, prop::collection::vec(any::<u8>(), 1..15)), 1..=15)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        // No regression files: a failure prints its minimal input instead.
        failure_persistence: None,
        ..Config::default()
    }
}

fn run(seed: u64, blocks: &Blocks, stats: &mut Stats) -> Result<(), TestCaseError> {
    let mut h = Harness::new(seed);
    invariants::check(&h.w.state).map_err(fail)?;
    for (gap_s, rolls) in blocks {
        h.w.next.time = Timestamp(h.w.next.time.0 + u64::from(*gap_s) * 1_000);
        let time = h.w.next.time.0;
        let mut view = h.view();
        let planned: Vec<Planned> =
            rolls.iter().filter_map(|roll| h.plan_op(kind_of(*roll), &mut view, time)).collect();
        h.apply(planned, stats)?;
    }
    stats.held_released += h.released_held;
    Ok(())
}

#[test]
fn random_battery_blocks_keep_every_invariant() {
    // Proves conservation, exact revenue, one custodian, one lease, gap-free counters, forward
    // status and the predicted outcome of every good and bad call, over random blocks.
    let stats = RefCell::new(Stats::default());
    let mut runner = TestRunner::new(config(48));
    let result = runner.run(&(any::<u64>(), blocks()), |(seed, blocks)| {
        run(seed, &blocks, &mut stats.borrow_mut())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let stats = stats.into_inner();
    eprintln!(
        "{} blocks, {} of held revenue released at issuance",
        stats.blocks, stats.held_released
    );
    for (kind, [a, f, r, d]) in &stats.by_kind {
        eprintln!("  {kind:?}: applied {a}, failed {f}, rejected {r}, disputed {d}");
    }
    for (code, count) in &stats.codes {
        eprintln!("  {code}: {count}");
    }
    // Not vacuous: most good swaps settled, every bad attestation kind occurred, and swaps
    // were disputed for several reasons.
    let [settled, _, _, disputed] = stats.by_kind[&Kind::GoodSwap];
    assert!(settled * 2 >= settled + disputed && settled >= 200, "{settled} swaps settled");
    for kind in [
        Kind::CounterGap,
        Kind::Duplicate,
        Kind::Conflict,
        Kind::WrongCustody,
        Kind::Unleased,
        Kind::PayerShort,
        Kind::BadTxSignature,
        Kind::BadAttestationSignature,
        Kind::Status,
        Kind::ClaimNothing,
        Kind::OverTariff,
        Kind::NotOwner,
        Kind::Settle,
        Kind::OpenLease,
    ] {
        let [a, f, r, d] = stats.by_kind.get(&kind).copied().unwrap_or_default();
        assert!(f + r + d >= 5, "{kind:?} refused only {} times", f + r + d);
        let may_apply = [Kind::Status, Kind::Settle, Kind::OpenLease];
        assert!(may_apply.contains(&kind) || a == 0, "{kind:?} applied");
    }
    // The consent paths were taken both ways: loads within a lease, rent credited by anyone,
    // held revenue released at issuance.
    for kind in [Kind::Load, Kind::Settle, Kind::Issue, Kind::RegisterVehicle, Kind::Close] {
        let applied = stats.by_kind.get(&kind).copied().unwrap_or_default()[0];
        assert!(applied > 0, "{kind:?} never applied");
    }
    let loads = stats.by_kind.get(&Kind::Load).copied().unwrap_or_default();
    assert!(loads[1] > 0, "no battery was refused entry to a vehicle outside its lease");
    assert!(stats.held_released > 0, "no held revenue was released at issuance");
    for code in [
        ErrorCode::WrongCustody,
        ErrorCode::BatteryNotLeased,
        ErrorCode::PayerShortOfFunds,
        ErrorCode::FeeAboveTariff,
    ] {
        let count = stats.codes.get(&format!("{:?}", TxOutcome::Disputed(code))).copied();
        assert!(count.unwrap_or(0) >= 5, "too few swaps disputed with {code:?}");
    }
    let defaults = stats.by_kind.get(&Kind::Default).copied().unwrap_or_default();
    assert!(defaults[0] > 0 && defaults[1] > 0, "defaults both refused and applied: {defaults:?}");
}

// ----- a holder's claim does not depend on what others do -----

/// The ops that bring revenue in: swaps, energy payments, deposits and rent.
const REVENUE_KINDS: [Kind; 4] = [Kind::GoodSwap, Kind::Energy, Kind::Deposit, Kind::PayRent];

/// The fixed holder, who claims at the same points in both worlds.
const FIXED: &str = "inv0";
const OTHERS: [&str; 3] = ["inv1", "inv2", "inv3"];

impl Harness {
    /// A claim, transfer or trade among the other holders (never the fixed one), drawn from
    /// `rng` so the revenue ops draw the same parameters in both worlds.
    fn plan_other(&mut self, rng: &mut Rng) -> Planned {
        let a = rng.below(OTHERS.len());
        let b = (a + 1 + rng.below(OTHERS.len() - 1)) % OTHERS.len();
        let (from, to) = (OTHERS[a], OTHERS[b]);
        let class = sym(POOLS[rng.below(POOLS.len())]);
        let shares = Asset::Shares(class.clone());
        let held = self.w.balance(&shares, from).0;
        let amount = Amount(1 + rng.below(held.max(1) as usize) as u128);
        let (kind, call, signer) = match rng.below(3) {
            0 => (Kind::Claim, Call::ClaimRevenue { class }, from),
            1 => (
                Kind::TransferShares,
                Call::Transfer { asset: shares, to: account(to), amount },
                from,
            ),
            _ => {
                self.salt += 1;
                let terms = TradeTerms {
                    maker: account(from),
                    taker: account(to),
                    maker_gives: Leg { asset: shares, amount },
                    taker_gives: Leg { asset: hkd(), amount: Amount(amount.0 * 7) },
                    expiry_height: Height(self.w.next.height.0 + 5),
                    salt: self.salt,
                };
                let counterparty_signature =
                    key(from).sign_raw(&terms.signing_message(&self.w.chain_id));
                (Kind::Trade, Call::Trade { terms, counterparty_signature }, to)
            }
        };
        self.plan(kind, call, signer, Expect::Free)
    }

    fn fixed_holding(&self, pool: usize) -> (Holding, u128) {
        let asset = Asset::Shares(sym(POOLS[pool]));
        let holding: Holding =
            self.record(&Key::Balance(asset, account(FIXED))).must("fixed holder has shares");
        let class = self.w.state.class(&sym(POOLS[pool])).ok().flatten().must("class");
        (holding, class.revenue.must("revenue").per_share)
    }
}

fn run_pair(seed: u64, blocks: &Blocks, others_seed: u64) -> Result<usize, TestCaseError> {
    let (mut busy, mut idle) = (Harness::new(seed), Harness::new(seed));
    let mut others = Rng(others_seed);
    let mut moves = 0;
    for (b, (gap_s, rolls)) in blocks.iter().enumerate() {
        let mut planned = [Vec::new(), Vec::new()];
        for (w, h) in [&mut busy, &mut idle].into_iter().enumerate() {
            h.w.next.time = Timestamp(h.w.next.time.0 + u64::from(*gap_s) * 1_000);
            let time = h.w.next.time.0;
            let mut view = h.view();
            for roll in rolls {
                let kind = REVENUE_KINDS[usize::from(*roll) % REVENUE_KINDS.len()];
                planned[w].extend(h.plan_op(kind, &mut view, time));
                // In the busy world the others claim, transfer and trade after every op.
                if w == 0 {
                    planned[w].push(h.plan_other(&mut others));
                }
            }
            if b % 3 == 2 {
                for pool in POOLS {
                    let call = Call::ClaimRevenue { class: sym(pool) };
                    planned[w].push(h.plan(Kind::Claim, call, FIXED, Expect::Free));
                }
            }
        }
        let [busy_block, idle_block] = planned;
        moves += busy_block.len() - idle_block.len();
        busy.apply(busy_block, &mut Stats::default())?;
        idle.apply(idle_block, &mut Stats::default())?;
        for pool in 0..ISSUED_POOLS {
            let (busy_holding, busy_per_share) = busy.fixed_holding(pool);
            let (idle_holding, idle_per_share) = idle.fixed_holding(pool);
            let busy_claimable = claimable(&busy_holding, busy_per_share);
            let idle_claimable = claimable(&idle_holding, idle_per_share);
            prop_assert_eq!(busy_claimable, idle_claimable, "claimable of {} in {}", FIXED, pool);
            prop_assert_eq!(busy_per_share, idle_per_share);
        }
        prop_assert_eq!(busy.w.balance(&hkd(), FIXED), idle.w.balance(&hkd(), FIXED));
    }
    Ok(moves)
}

#[test]
fn a_holders_claim_does_not_depend_on_others_claiming_or_trading() {
    // Proves that with the same swaps, energy payments, deposits and rent, a fixed holder's
    // claimable revenue and cash are the same whether the other holders claim and move their
    // shares in every block or never do.
    let moves = RefCell::new(0usize);
    let mut runner = TestRunner::new(config(24));
    let strategy = (any::<u64>(), blocks(), any::<u64>());
    let result = runner.run(&strategy, |(seed, blocks, others_seed)| {
        *moves.borrow_mut() += run_pair(seed, &blocks, others_seed)?;
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let moves = moves.into_inner();
    assert!(moves >= 500, "only {moves} claims and share moves by the others");
}
